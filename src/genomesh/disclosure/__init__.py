"""Output control: thresholds, suppression, query budgets, anti-differencing."""
