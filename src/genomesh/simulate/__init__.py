"""Realistic synthetic cohorts with msprime (optional extra `genomesh[simulate]`)."""
