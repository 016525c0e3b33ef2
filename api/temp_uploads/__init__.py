"""Temporary uploads of the profile flow (SPEC 4.2)."""
