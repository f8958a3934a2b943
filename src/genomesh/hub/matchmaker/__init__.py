"""The hub as a matchmaker of matchmakers: one /match to every node and external MME peer."""
