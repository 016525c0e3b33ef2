"""The pages' languages: Flask-Babel for templates, a JSON catalogue for the scripts, the chosen language.

Catalogues live in ``api/web/translations/<lang>/LC_MESSAGES/``: ``messages.po`` (templates and
Python of the web pages) and ``js.po`` (the scripts, served as JSON by ``/i18n/<lang>.json``).
English is the source language (the msgids), so it needs no catalogue. ``.mo`` files are compiled
by ``make install`` and never committed. docs/WEB.md, "Languages".
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.support import Translations
from flask import Flask, request
from flask_babel import Babel, format_datetime, format_decimal, get_locale, gettext, ngettext

TRANSLATIONS = Path(__file__).parent / "translations"
SOURCE_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
JS_DOMAIN = "js"


@cache
def languages() -> tuple[str, ...]:
    """English and every language with a catalogue, in that order."""
    found = sorted(path.parent.parent.name for path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))
    return (SOURCE_LANGUAGE, *[code for code in found if code != SOURCE_LANGUAGE])


def language_name(code: str) -> str:
    """The language's own name for itself ("Русский"), as a switcher shows it."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


def requested_language() -> str | None:
    """A supported ``?lang=`` of this request (it is then remembered in the cookie)."""
    value = (request.args.get("lang") or "").strip().lower()
    return value if value in languages() else None


def select_locale() -> str:
    """``?lang=``, else the remembered choice, else the browser's Accept-Language, else English."""
    chosen = requested_language() or request.cookies.get(COOKIE, "")
    if chosen in languages():
        return chosen
    return request.accept_languages.best_match(languages()) or SOURCE_LANGUAGE


def current_language() -> str:
    return str(get_locale() or SOURCE_LANGUAGE)


def init_i18n(app: Flask) -> None:
    """Flask-Babel with this package's catalogues and the language chosen per request."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", SOURCE_LANGUAGE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(languages=languages, language_name=language_name,
                                 current_language=current_language, file_size=file_size, minutes=minutes,
                                 date_time=format_datetime)


def file_size(size: int) -> str:
    """A size in the page's language: "1 GB", "1,5 ГБ", "250 bytes", "250 байт"."""
    if size < 1024:
        return ngettext("%(n)s byte", "%(n)s bytes", size, n=format_decimal(size))
    value, unit = size / 1024, 0
    while value >= 1024 and unit < 2:
        value, unit = value / 1024, unit + 1
    number = format_decimal(round(value, 1), format="#,##0.#")
    return [gettext("%(size)s KB", size=number), gettext("%(size)s MB", size=number),
            gettext("%(size)s GB", size=number)][unit]


def minutes(seconds: float) -> str:
    """A whole number of minutes in words, with the language's plural: "1 minute", "5 минут"."""
    count = max(1, round(seconds / 60))
    return ngettext("%(n)s minute", "%(n)s minutes", count, n=format_decimal(count))


@cache
def _js_translations(code: str) -> Translations:
    return Translations.load(str(TRANSLATIONS), [code], domain=JS_DOMAIN)


def plural_indexes(code: str) -> dict[str, int]:
    """CLDR plural category -> the catalogue's plural form index (what Intl.PluralRules picks -> which form).

    Learnt from integers; a category only fractions have (Russian "other": 1,5 минуты) takes the
    "few" form when the language has one, else the last form.
    """
    locale = Locale.parse(code)
    translations = _js_translations(code)
    pick = getattr(translations, "plural", None) or (lambda n: int(n != 1))
    indexes: dict[str, int] = {}
    for n in range(200):
        indexes.setdefault(locale.plural_form(n), pick(n))
    for category in ("zero", "one", "two", "few", "many", "other"):
        if category not in indexes:
            indexes[category] = indexes.get("few", max(indexes.values()))
    return indexes


@cache
def js_catalogue(code: str) -> dict[str, Any]:
    """The scripts' messages of one language: msgid -> text, or -> [plural forms]."""
    catalog = getattr(_js_translations(code), "_catalog", {})
    messages: dict[str, Any] = {}
    for key, text in catalog.items():
        if not key or not text:
            continue  # the header
        if isinstance(key, tuple):
            messages.setdefault(key[0], []).append((key[1], text))
        else:
            messages[key] = text
    for msgid, forms in messages.items():
        if isinstance(forms, list):
            messages[msgid] = [text for _, text in sorted(forms)]
    return {"language": code, "plural": plural_indexes(code), "messages": messages}


@cache
def js_catalogue_version(code: str) -> str:
    mo = TRANSLATIONS / code / "LC_MESSAGES" / f"{JS_DOMAIN}.mo"
    return hashlib.sha256(mo.read_bytes()).hexdigest()[:12] if mo.exists() else "none"
