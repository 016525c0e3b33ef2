"""The rules of the profile form, shared by ``POST /api/forms/validate/`` and submissions.

:func:`validate_profile_data` never raises for what the user typed: it returns every
field's problems at once, the cleaned values and a moderation verdict per hashtag.
A submission calls :meth:`ProfileValidation.raise_for_errors` on the same result.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from shared.db import Database
from shared.moderation.check import (
    MAX_TAG_LENGTH,
    MAX_TAGS_PER_CHECK,
    HashtagVerdict,
    check_hashtags,
    parse_hashtags,
)
from shared.moderation.errors import HashtagRejected
from shared.moderation.models import HashtagStatus
from shared.moderation.normalize import normalize_tag
from shared.profiles.errors import InvalidProfileData

NAME_MAX = 100
URL_MAX = 2048
ACTIVITY_HOBBIES_MAX = 1000
MAX_HASHTAGS = 20
FIELDS = ("name", "url", "activity_hobbies", "hashtags", "is_incognito")

# The separators parse_hashtags splits on, to name the pieces that are no hashtag at all.
_TAG_SEPARATORS = re.compile(r"[\s,;]+")
_LINE_BREAKS = {"\n", "\r", "\t"}
# Bidi embeddings, overrides and isolates reorder the text around them (a name that reads
# backwards, a link that shows another domain): refused in every text field.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width (non-)joiners belong to some words (ZWNJ in Persian, ZWJ in emoji sequences and
# Indic scripts): kept between two visible characters, as IDNA's CONTEXTJ rule keeps them.
_JOINERS = frozenset("\u200c\u200d")
# Scripts one word may mix (UTS #39 "highly restrictive"): Japanese, Korean, Chinese with Bopomofo.
_SCRIPT_MIXES = ({"CJK", "HIRAGANA", "KATAKANA"}, {"CJK", "HANGUL"}, {"CJK", "BOPOMOFO"})


@dataclass
class ProfileValidation:
    errors: dict[str, list[str]] = field(default_factory=dict)
    hashtags: list[HashtagVerdict] = field(default_factory=list)
    # Cleaned values of the fields given (all five unless partial): ready for save_profile().
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """The body of ``POST /api/forms/validate/``."""
        return {"valid": self.valid, "errors": self.errors,
                "hashtags": [{"tag": v.tag, "normalized": v.normalized, "verdict": v.verdict,
                              "reason": v.reason, "category": v.category, "term": v.term, "view": v.view}
                             for v in self.hashtags]}

    def raise_for_errors(self) -> None:
        """Raise ``hashtag_rejected`` if rejected tags are all that is wrong, else ``validation_error``."""
        if self.valid:
            return
        rejected = [f"#{v.tag}: {v.reason}" for v in self.hashtags if v.verdict == HashtagStatus.REJECTED]
        if set(self.errors) == {"hashtags"} and self.errors["hashtags"] == rejected:
            raise HashtagRejected("; ".join(rejected), errors={"hashtags": rejected})
        fields = ", ".join(sorted(self.errors))
        raise InvalidProfileData(f"the profile data is not valid: {fields}", errors=self.errors)


def validate_profile_data(data: Mapping[str, Any] | Any, db: Database, *,
                          partial: bool = False) -> ProfileValidation:
    """Check the profile form: each field's errors, cleaned values and hashtag verdicts.

    ``partial`` checks only the fields present (an edit); otherwise missing fields get their
    defaults and ``name`` is required unless the profile is incognito.
    """
    result = ProfileValidation()
    if not isinstance(data, Mapping):
        result.errors["_schema"] = ["the profile data must be a JSON object"]
        return result
    for name in data:
        if name not in FIELDS:
            result.errors.setdefault(str(name), []).append(
                f"unknown field; the fields are {', '.join(FIELDS)}")

    incognito = _is_incognito(data, result, partial)
    _name(data, result, required=not partial and not incognito)
    _url(data, result, partial)
    _activity_hobbies(data, result, partial)
    _hashtags(data, result, db, partial)
    return result


def _is_incognito(data: Mapping[str, Any], result: ProfileValidation, partial: bool) -> bool:
    value = data.get("is_incognito")
    if value is None:
        if not partial or "is_incognito" in data:
            result.data["is_incognito"] = False
        return False
    if not isinstance(value, bool):
        result.errors["is_incognito"] = ["must be true or false"]
        return False
    result.data["is_incognito"] = value
    return value


def _text(data: Mapping[str, Any], result: ProfileValidation, name: str, *, max_length: int,
          multiline: bool = False) -> str | None:
    """The stripped text of a field, None when absent or blank; records type and length errors."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        result.errors[name] = ["must be a string"]
        return None
    value = unicodedata.normalize("NFC", value).strip()
    problems = []
    if len(value) > max_length:
        problems.append(f"at most {max_length} characters ({len(value)} given)")
    allowed = _LINE_BREAKS if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in value):
        problems.append("must not contain control characters" if multiline else "must be one line of text")
    if any(unicodedata.category(ch) == "Cs" for ch in value):
        problems.append("must be valid Unicode text (a lone surrogate was sent)")
    if _hidden_formatting(value, multiline=multiline):
        problems.append("must not contain invisible formatting characters (zero-width spaces, direction "
                        "overrides and the like)")
    if problems:
        result.errors[name] = problems
        return None
    return value or None


def _name(data: Mapping[str, Any], result: ProfileValidation, *, required: bool) -> None:
    value = _text(data, result, "name", max_length=NAME_MAX)
    if "name" in result.errors:
        return
    if value is None and required:
        result.errors["name"] = ["a name is required (an incognito profile may leave it out)"]
        return
    if "name" in data or required:
        result.data["name"] = value


def _url(data: Mapping[str, Any], result: ProfileValidation, partial: bool) -> None:
    value = _text(data, result, "url", max_length=URL_MAX)
    if "url" in result.errors:
        return
    if value is not None:
        problem = _url_problem(value)
        if problem:
            result.errors["url"] = [problem]
            return
    if "url" in data or not partial:
        result.data["url"] = value


def _url_problem(value: str) -> str | None:
    if any(ch.isspace() for ch in value):
        return "a link has no spaces"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number 0-65535
    except ValueError:
        return "not a valid link"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http:// and https:// links are allowed"
    if "@" in parts.netloc:
        return "a link must not carry a user name or password"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "the link has no host name"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return None if address.is_global else "the link must point at a public address"
    labels = host.split(".")
    if len(labels) < 2 or any(not label or len(label) > 63 for label in labels) or len(host) > 253:
        return "the link needs a full host name such as example.com"
    if any(not (ch.isalnum() or ch == "-") for label in labels for ch in label):
        return "the host name has characters a host name cannot have"
    return _host_script_problem(labels)


def _host_script_problem(labels: list[str]) -> str | None:
    """Refuse a host label that mixes alphabets: ``exаmple`` with a Cyrillic ``а`` looks like example."""
    for label in labels:
        if label.lower().startswith("xn--"):
            try:
                label = label[4:].encode("ascii").decode("punycode")
            except UnicodeError:
                return "the host name has a punycode label that does not decode"
        scripts = {_script(ch) for ch in label if ch.isalpha()}
        if len(scripts) > 1 and not any(scripts <= allowed for allowed in _SCRIPT_MIXES):
            return "the host name mixes alphabets (such as Latin and Cyrillic look-alike letters)"
    return None


def _script(letter: str) -> str:
    """The script of a letter, from its Unicode name (``CYRILLIC SMALL LETTER A`` -> ``CYRILLIC``)."""
    words = unicodedata.name(letter, "UNKNOWN").split()
    if words[0] in ("FULLWIDTH", "HALFWIDTH") and len(words) > 1:
        words = words[1:]
    return words[0]


def _activity_hobbies(data: Mapping[str, Any], result: ProfileValidation, partial: bool) -> None:
    value = _text(data, result, "activity_hobbies", max_length=ACTIVITY_HOBBIES_MAX, multiline=True)
    if "activity_hobbies" in result.errors:
        return
    if "activity_hobbies" in data or not partial:
        result.data["activity_hobbies"] = value


def _hashtags(data: Mapping[str, Any], result: ProfileValidation, db: Database, partial: bool) -> None:
    value = data.get("hashtags")
    if value is None:
        if "hashtags" in data or not partial:
            result.data["hashtags"] = []
        return
    if isinstance(value, str):
        pieces = _TAG_SEPARATORS.split(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        pieces = value
    else:
        result.errors["hashtags"] = ['a string such as "#travel #music" or a list of strings']
        return
    problems = []
    for piece in pieces:
        bare = piece.strip().lstrip("#").strip()
        if bare and _unprintable(bare):
            problems.append(f"{piece.strip()[:40]!r} has characters a hashtag cannot have")
        elif bare and not _has_word(bare):
            problems.append(f"{piece.strip()!r} is not a hashtag: it needs a letter or a digit")
    tags = [tag for tag in parse_hashtags(value) if _has_word(tag) and not _unprintable(tag)]
    too_long = [tag for tag in tags if len(tag) > MAX_TAG_LENGTH]
    problems += [f"#{tag[:20]}...: at most {MAX_TAG_LENGTH} characters" for tag in too_long]
    if len(tags) > MAX_HASHTAGS:
        problems.append(f"at most {MAX_HASHTAGS} hashtags ({len(tags)} given)")
    checkable = [tag for tag in tags if len(tag) <= MAX_TAG_LENGTH][:MAX_TAGS_PER_CHECK]
    result.hashtags = check_hashtags(checkable, db) if checkable else []
    problems += [f"#{v.tag}: {v.reason}" for v in result.hashtags if v.verdict == HashtagStatus.REJECTED]
    if problems:
        result.errors["hashtags"] = problems
    else:
        result.data["hashtags"] = tags


def _has_word(tag: str) -> bool:
    return bool(normalize_tag(tag)) and any(ch.isalnum() for ch in tag)


def _unprintable(text: str) -> bool:
    """Control characters and lone surrogates (no database stores them) and hidden formatting."""
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text) or _hidden_formatting(text)


def _hidden_formatting(text: str, *, multiline: bool = False) -> bool:
    """Format characters (Unicode Cf) that hide or reorder text.

    One-line fields refuse them all but a joiner between two visible characters; text of
    several lines refuses only the bidi controls (marks such as U+200F help right-to-left text).
    """
    for index, ch in enumerate(text):
        if unicodedata.category(ch) != "Cf":
            continue
        if ch in _BIDI_CONTROLS:
            return True
        if multiline:
            continue
        inside = 0 < index < len(text) - 1 and _visible(text[index - 1]) and _visible(text[index + 1])
        if not (ch in _JOINERS and inside):
            return True
    return False


def _visible(ch: str) -> bool:
    return unicodedata.category(ch)[0] not in "CZ"
