"""The base of the request and response schemas of every feature (``api/<feature>/schemas.py``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import marshmallow
from marshmallow import ValidationError, pre_load

# PostgreSQL text cannot hold NUL, and an unpaired surrogate (a JSON "\udaf5") cannot be encoded
# as UTF-8: either one reached the database as a driver error, a 500.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired UTF-16 surrogates"


class Schema(marshmallow.Schema):
    """A marshmallow schema that refuses text the database cannot store, as a 422 naming the field."""

    @pre_load
    def _refuse_unstorable_text(self, data: Any, **_kwargs: Any) -> Any:
        if isinstance(data, Mapping):
            bad = sorted(str(key) for key in data if _unstorable(key) or _unstorable(data[key]))
            if bad:
                raise ValidationError({key: [UNSTORABLE_MESSAGE] for key in bad})
        return data


def _unstorable(value: Any) -> bool:
    if isinstance(value, str):
        return _UNSTORABLE.search(value) is not None
    if isinstance(value, Mapping):
        return any(_unstorable(k) or _unstorable(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_unstorable(v) for v in value)
    return False
