"""POST /api/forms/validate/: every field's problems at once, real moderation verdicts per hashtag."""

from __future__ import annotations

import pytest

from shared.moderation.errors import HashtagRejected
from shared.profiles.errors import InvalidProfileData
from shared.profiles.validation import validate_profile_data


def validate(client, body):
    response = client.post("/api/forms/validate/", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_good_form_is_valid_with_a_verdict_per_hashtag(client):
    body = validate(client, {"name": "Ann Lee", "url": "https://ann.example/work",
                             "activity_hobbies": "Climbing\nand film",
                             "hashtags": "#Travel #climbing, #travel", "is_incognito": False})
    assert body["valid"] is True and body["errors"] == {}
    assert body["hashtags"] == [
        {"tag": "Travel", "normalized": "travel", "verdict": "approved", "reason": None, "category": None,
         "term": None, "view": None},
        {"tag": "climbing", "normalized": "climbing", "verdict": "approved", "reason": None, "category": None,
         "term": None, "view": None},
    ]


def test_hashtags_come_as_a_list_too_and_review_tags_do_not_invalidate(client):
    body = validate(client, {"name": "Ann", "hashtags": ["#music", "sexy"]})
    assert body["valid"] is True
    verdicts = {v["tag"]: v for v in body["hashtags"]}
    assert verdicts["music"]["verdict"] == "approved"
    assert verdicts["sexy"]["verdict"] == "needs_review" and "moderator" in verdicts["sexy"]["reason"]


def test_a_rejected_hashtag_is_a_field_error_with_its_reason(client):
    body = validate(client, {"name": "Ann", "hashtags": "#travel #fuuuck"})
    assert body["valid"] is False
    assert list(body["errors"]) == ["hashtags"]
    assert body["errors"]["hashtags"][0].startswith("#fuuuck: ")
    assert [v["verdict"] for v in body["hashtags"]] == ["approved", "rejected"]
    assert body["hashtags"][1]["normalized"] and body["hashtags"][1]["reason"]


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "ftp://files.example/x", "example.com", "//example.com",
    "https://user:pw@example.com/", "http://localhost:8000/", "http://10.0.0.1/", "https://exa mple.com",
    "https://example.com:99999/", "https://ex_ample.com/", "data:text/html,<b>hi</b>",
    "https://" + "a" * 2050 + ".com"])
def test_links_other_than_public_http_and_https_ones_are_refused(client, url):
    body = validate(client, {"name": "Ann", "url": url})
    assert body["valid"] is False and list(body["errors"]) == ["url"]


@pytest.mark.parametrize("url", ["http://ann.example", "HTTPS://Ann.Example/a?b=c#d", "https://пример.рф/",
                                 "https://93.184.216.34/", "https://example.com:8443/"])
def test_ordinary_links_pass(client, url):
    assert validate(client, {"name": "Ann", "url": url})["errors"] == {}


def test_every_problem_comes_back_at_once(client):
    body = validate(client, {"name": "x" * 101, "url": 42, "activity_hobbies": "a" * 1001,
                             "hashtags": {"a": 1}, "is_incognito": "yes", "avatar": "me.png"})
    assert body["valid"] is False
    assert set(body["errors"]) == {"name", "url", "activity_hobbies", "hashtags", "is_incognito", "avatar"}
    assert body["hashtags"] == []


def test_a_name_is_required_unless_the_profile_is_incognito(client):
    assert set(validate(client, {"name": "   "})["errors"]) == {"name"}
    assert set(validate(client, {})["errors"]) == {"name"}
    assert validate(client, {"is_incognito": True})["valid"] is True
    assert set(validate(client, {"name": "Ann\u0000Lee"})["errors"]) == {"name"}


def test_hashtags_without_letters_too_long_or_too_many_are_field_errors(client):
    errors = validate(client, {"name": "Ann", "hashtags": "#!!! #ok"})["errors"]["hashtags"]
    assert len(errors) == 1 and "'#!!!'" in errors[0]
    assert validate(client, {"name": "Ann", "hashtags": "#" + "a" * 101})["errors"]["hashtags"]
    many = " ".join(f"#tag{i}" for i in range(21))
    body = validate(client, {"name": "Ann", "hashtags": many})
    assert body["errors"]["hashtags"] == ["at most 20 hashtags (21 given)"]


def test_a_body_that_is_not_a_json_object_is_a_422(client):
    response = client.post("/api/forms/validate/", json=["name", "Ann"])
    assert response.status_code == 422 and response.get_json()["code"] == "validation_error"
    response = client.post("/api/forms/validate/", data="name=Ann", content_type="text/plain")
    assert 400 <= response.status_code < 500 and response.content_type == "application/problem+json"


def test_submissions_reuse_the_rules_and_get_the_matching_error_codes(db):
    good = validate_profile_data({"name": " Ann ", "url": "https://ann.example", "hashtags": "#travel"}, db)
    good.raise_for_errors()
    assert good.data == {"is_incognito": False, "name": "Ann", "url": "https://ann.example",
                         "activity_hobbies": None, "hashtags": ["travel"]}
    with pytest.raises(HashtagRejected) as caught:
        validate_profile_data({"name": "Ann", "hashtags": "#fuck"}, db).raise_for_errors()
    assert caught.value.code == "hashtag_rejected" and caught.value.extra["errors"]["hashtags"]
    with pytest.raises(InvalidProfileData) as caught:
        validate_profile_data({"name": "", "hashtags": "#fuck"}, db).raise_for_errors()
    assert caught.value.code == "validation_error"
    assert set(caught.value.extra["errors"]) == {"name", "hashtags"}


def test_a_partial_check_covers_only_the_fields_given(db):
    edit = validate_profile_data({"url": "https://new.example"}, db, partial=True)
    assert edit.valid and edit.data == {"url": "https://new.example"}
    assert validate_profile_data({"name": None}, db, partial=True).data == {"name": None}


def test_nulls_are_absent_fields_and_unstorable_text_is_refused_not_a_500(client):
    assert validate(client, {"name": None, "url": None, "is_incognito": None, "hashtags": None})["errors"] == {
        "name": ["a name is required (an incognito profile may leave it out)"]}
    body = validate(client, {"name": "Ann\ud800", "url": "https://ann.example/\ud800",
                             "hashtags": ["ok", "bad\u0000tag"]})
    assert set(body["errors"]) == {"name", "url", "hashtags"}
    assert [v["tag"] for v in body["hashtags"]] == ["ok"]


@pytest.mark.parametrize("name", ["Ann\u202eeeL", "Ann\u200bLee", "\ufeffAnn", "Ann\u2066Lee", "An\u00adn",
                                  "Ann\u200d", "Ann \u200cLee"])
def test_look_alike_and_invisible_characters_in_names_are_refused(client, name):
    body = validate(client, {"name": name, "hashtags": [f"tag{name}"]})
    assert set(body["errors"]) == {"name", "hashtags"}
    assert "invisible formatting" in body["errors"]["name"][0]


@pytest.mark.parametrize("name", ["Zoë Lee", "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
                                  "Ann \U0001f469\u200d\U0001f4bb"])
def test_joiners_inside_words_and_emoji_sequences_stay_allowed(client, name):
    assert validate(client, {"name": name})["errors"] == {}


def test_look_alike_and_invisible_characters_hidden_in_longer_text(client):
    errors = validate(client, {"name": "Ann", "activity_hobbies": "film \u202eesrever"})["errors"]
    assert list(errors) == ["activity_hobbies"] and "invisible formatting" in errors["activity_hobbies"][0]
    assert validate(client, {"name": "Ann", "activity_hobbies": "\u05e9\u05dc\u05d5\u05dd\u200f!"})["errors"] == {}


@pytest.mark.parametrize("url", [
    "https://ex\u0430mple.com/", "https://g\u043e\u043egle.com", "https://xn--" + "ex\u0430mple".encode("punycode")
    .decode() + ".com/", "https://paypa\u04cf.com", "https://ann.example/\u202egpj.exe", "https://ex\u200bample.com/",
    "https://xn--zz-not-punycode\u00ff.com"])
def test_look_alike_and_invisible_characters_in_links_are_refused(client, url):
    body = validate(client, {"name": "Ann", "url": url})
    assert list(body["errors"]) == ["url"], body


@pytest.mark.parametrize("url", ["https://m\u00fcnchen.de/", "https://\u4f8b\u3048.jp/", "https://\u03b5\u03bb.gr",
                                 "https://xn--e1afmkfd.xn--p1ai/", "https://\ud55c\uad6d\u8a9e.kr"])
def test_single_script_international_hosts_still_pass(client, url):
    assert validate(client, {"name": "Ann", "url": url})["errors"] == {}
