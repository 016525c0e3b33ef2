"""Form validation of the profile flow (SPEC 4.2)."""
