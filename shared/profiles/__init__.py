"""Users and their published wallet profiles."""
