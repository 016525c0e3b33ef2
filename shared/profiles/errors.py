"""Profile errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import NotFound, Unprocessable


class ProfileNotFound(NotFound):
    code = "profile_not_found"
    title = "No published profile for this wallet"


class InvalidProfileData(Unprocessable):
    """The profile form's fields break its rules; ``errors`` names each field's problems."""

    code = "validation_error"
    title = "The profile data is not valid"
