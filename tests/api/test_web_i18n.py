"""The pages in Russian and English (issue 15, item 1): the chosen language, the catalogues, HTML error pages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web import i18n

WEB = Path(i18n.__file__).parent
ROOT = WEB.parents[1]
# The scripts' lookups by their literal first argument: also the ones nested in another call's
# arguments, which Babel's JavaScript extractor does not see.
JS_LOOKUP = re.compile(r'\b(?:_|ngettext)\(\s*"((?:[^"\\]|\\.)*)"')
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _extracted(config: str) -> dict[object, set[str]]:
    """msgid -> where it is used, as `pybabel extract -F <config>` finds them."""
    found: dict[object, set[str]] = {}
    with open(WEB / config, encoding="utf-8") as fh:
        from babel.messages.frontend import parse_mapping_cfg

        method_map, options_map = parse_mapping_cfg(fh)
    for filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}):
        found.setdefault(message, set()).add(filename)
    return found


def used_messages() -> dict[str, dict[object, set[str]]]:
    """Every msgid of the templates (domain messages) and of the scripts (domain js)."""
    scripts = _extracted("babel-js.cfg")
    singular = {key if isinstance(key, str) else key[0] for key in scripts}
    for path in (WEB / "static" / "js").glob("*.js"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("//"):
                continue
            for match in JS_LOOKUP.finditer(line):
                text = match.group(1).encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
                if text not in singular:
                    scripts.setdefault(text, set()).add(path.name)
    return {"messages": _extracted("babel.cfg"), "js": scripts}


def untranslated(used: dict[object, set[str]], po_path: Path) -> list[str]:
    """What ``used`` needs that the catalogue lacks: missing, empty, fuzzy or with other placeholders."""
    with open(po_path, "rb") as fh:
        catalog = read_po(fh)
    by_singular = {(m.id if isinstance(m.id, str) else m.id[0]): m for m in catalog if m.id}
    problems = []
    for msgid in used:
        key = msgid if isinstance(msgid, str) else msgid[0]
        message = by_singular.get(key)
        strings = [] if message is None else ([message.string] if isinstance(message.string, str)
                                              else list(message.string))
        if message is None or message.fuzzy or not strings or not all(strings):
            problems.append(f"{key!r} has no translation")
            continue
        expected = set(PLACEHOLDER.findall(key)) - {"{n}", "%(num)s"}
        for text in strings:
            if set(PLACEHOLDER.findall(text)) - {"{n}", "%(num)s"} != expected:
                problems.append(f"{key!r}: the translation {text!r} has other placeholders")
    return sorted(problems)


@pytest.mark.parametrize("code", [code for code in i18n.languages() if code != i18n.SOURCE_LANGUAGE])
def test_catalogue_completeness_every_message_of_templates_and_scripts_is_translated(code):
    used = used_messages()
    assert len(used["messages"]) > 150 and len(used["js"]) > 300  # the extraction itself works
    for domain in ("messages", "js"):
        po = i18n.TRANSLATIONS / code / "LC_MESSAGES" / f"{domain}.po"
        assert untranslated(used[domain], po) == [], f"{po.relative_to(ROOT)}: run pybabel update, then translate"


def test_catalogue_completeness_check_fails_on_a_missing_translation(tmp_path):
    po = i18n.TRANSLATIONS / "ru" / "LC_MESSAGES" / "js.po"
    lines = po.read_text(encoding="utf-8").splitlines(keepends=True)
    # Empty the translation of one message, as a new msgid that was never translated looks.
    at = lines.index('msgid "Published! Your profile is live."\n')
    lines[at + 1] = 'msgstr ""\n'
    broken = tmp_path / "js.po"
    broken.write_text("".join(lines), encoding="utf-8")
    used = used_messages()["js"]
    assert untranslated(used, broken) == ["'Published! Your profile is live.' has no translation"]
    assert untranslated({"A message nobody translated yet": set()}, po) == [
        "'A message nobody translated yet' has no translation"]


def test_catalogues_are_compiled_for_the_app():
    for po in i18n.TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, f"{mo} is stale: run `make install`"
    assert ".mo" in (ROOT / ".gitignore").read_text()


def test_accept_language_ru_gives_russian_without_the_switcher(client):
    page = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.8"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<html lang="ru">' in html
    assert "Опубликуйте свой видеопрофиль" in html and "Publish your video profile" not in html
    assert "Set-Cookie" not in page.headers  # nothing chosen: nothing remembered
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in page.headers["Vary"].split(",")}
    english = client.get("/", headers={"Accept-Language": "de-DE,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="en">' in english and "Publish your video profile" in english


def test_lang_in_the_url_wins_and_is_remembered_in_a_cookie(client):
    chosen = client.get("/?lang=ru", headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in chosen.get_data(as_text=True)
    cookie = chosen.headers["Set-Cookie"]
    assert cookie.startswith("lang=ru;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The next page, without ?lang=, keeps the choice over Accept-Language.
    later = client.get("/catalogue", headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in later.get_data(as_text=True)
    back = client.get("/catalogue?lang=en&q=ann", headers={"Accept-Language": "ru"})
    assert '<html lang="en">' in back.get_data(as_text=True)
    # An unknown language changes nothing.
    assert "Set-Cookie" not in client.get("/?lang=xx").headers


def test_the_switcher_links_every_language_keeping_the_page_arguments(client):
    html = client.get("/catalogue?q=ann&lang=en").get_data(as_text=True)
    assert 'href="/catalogue?q=ann&amp;lang=ru" hreflang="ru" lang="ru"' in html
    assert ">Русский<" in html and ">English<" in html


def test_the_scripts_catalogue_has_russian_plural_forms_and_their_categories(client):
    page = client.get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    url = re.search(r'<meta name="i18n-catalogue" content="([^"]+)"', page).group(1).replace("&amp;", "&")
    answer = client.get(url)
    assert answer.status_code == 200 and answer.cache_control.max_age == 86400
    catalogue = answer.get_json()
    assert catalogue["language"] == "ru"
    # Intl.PluralRules("ru") categories -> the gettext forms: 1 файл, 3 файла, 5 файлов, 1,5 файла.
    assert catalogue["plural"] == {"one": 0, "few": 1, "many": 2, "other": 1, "zero": 1, "two": 1}
    assert catalogue["messages"]["{n} file ({size})"] == ["{n} файл ({size})", "{n} файла ({size})",
                                                          "{n} файлов ({size})"]
    assert catalogue["messages"]["Published! Your profile is live."] == "Опубликовано! Ваш профиль доступен всем."
    assert client.get("/i18n/xx.json").status_code == 404


def test_sizes_and_durations_take_russian_plural_forms(app):
    with app.test_request_context("/", headers={"Accept-Language": "ru"}):
        assert [i18n.minutes(s) for s in (60, 120, 300, 21 * 60)] == ["1 минуты", "2 минут", "5 минут", "21 минуты"]
        assert i18n.file_size(3) == "3 байта" and i18n.file_size(5) == "5 байт"
        assert i18n.file_size(int(1.5 * 1024 ** 3)) == "1,5 ГБ"
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert i18n.minutes(60) == "1 minute" and i18n.file_size(int(1.5 * 1024 ** 3)) == "1.5 GB"


def test_a_web_page_that_is_not_there_is_an_html_page_in_the_visitor_language(client):
    page = client.get("/no/such/page", headers={"Accept": "text/html,*/*;q=0.8", "Accept-Language": "ru"})
    html = page.get_data(as_text=True)
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<h1>Страница не найдена</h1>" in html and "noindex" in html
    # The page's own policy (its stylesheet loads), not the API's "default-src 'none'".
    assert page.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # Scripts and API clients keep problem+json: */* alone, or any path of the API.
    assert client.get("/no/such/page").mimetype == "application/problem+json"
    api = client.get("/api/no/such/thing", headers={"Accept": "text/html"})
    assert api.status_code == 404 and api.mimetype == "application/problem+json"


def test_a_web_page_that_fails_is_an_html_page_and_the_api_keeps_problem_json(app, client, monkeypatch):
    from api.web import routes

    def broken(*_args, **_kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(routes, "list_profiles", broken)
    page = client.get("/catalogue", headers={"Accept": "text/html", "Accept-Language": "ru"})
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "Что-то пошло не так" in page.get_data(as_text=True)
    assert "the database went away" not in page.get_data(as_text=True)
    assert client.get("/catalogue", headers={"Accept": "application/json"}).mimetype == "application/problem+json"


def test_a_refused_hashtag_carries_what_it_matched_so_the_page_can_say_it_in_russian(client):
    body = client.post("/api/forms/validate/", json={"name": "Ann", "hashtags": "#travel #fuck"}).get_json()
    refused = next(tag for tag in body["hashtags"] if tag["verdict"] == "rejected")
    assert (refused["category"], refused["term"]) == ("profanity", "fuck") and refused["view"]
