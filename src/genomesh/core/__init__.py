"""Core: the error tree, settings and shared genomic vocabulary used by every layer."""
