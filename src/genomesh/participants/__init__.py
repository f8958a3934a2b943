"""Participant rights: access report, export, withdrawal."""
