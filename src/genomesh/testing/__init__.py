"""Public test helpers: simulated cohorts, test keys, in-process federations."""
