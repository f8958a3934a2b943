"""The `genomesh` command line."""
