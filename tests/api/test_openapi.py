"""The OpenAPI document tells the truth: bounded integer ids and problem+json errors."""

from __future__ import annotations

import jsonschema
import pytest

from api.openapi import MAX_ID

MOD_TOKEN = "openapi-moderator-token-0123456789abcdef"
PROBLEM = "application/problem+json"
METHODS = {"get", "put", "post", "patch", "delete"}
# The eight moderation routes that answered 500 internal_error for an id >= 2**63 on SQLite.
BIG_ID_ROUTES = [
    ("GET", "/api/moderation/hashtags/{id}/"),
    ("POST", "/api/moderation/hashtags/{id}/decision/"),
    ("GET", "/api/moderation/terms/{id}/"),
    ("PATCH", "/api/moderation/terms/{id}/"),
    ("DELETE", "/api/moderation/terms/{id}/"),
    ("PATCH", "/api/moderation/allowlist/{id}/"),
    ("DELETE", "/api/moderation/allowlist/{id}/"),
]
BODIES = {"POST": {"decision": "approve"}, "PATCH": {"note": "x"}}


@pytest.fixture()
def document(client) -> dict:
    return client.get("/openapi.json").get_json()


@pytest.fixture()
def sqlite_client(tmp_path, redis_client, settings):
    """The embedded default's database: SQLite, whose driver raises OverflowError past 2**63-1."""
    from api.app import create_app
    from shared.db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'showreel.db'}"
    upgrade(url)
    app = create_app(settings.replace(DATABASE_URL=url, MODERATOR_TOKEN=MOD_TOKEN))
    app.config["TESTING"] = True
    yield app.test_client()
    app.extensions["showreel.db"].dispose()


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation, [*item.get("parameters", []), *operation.get("parameters", [])]


def resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = document["components"][kind][name]
    return node


@pytest.mark.parametrize("id_", [2**63, 2**64, 10**30, 0])
@pytest.mark.parametrize(("method", "path"), BIG_ID_ROUTES)
def test_big_integer_ids_are_a_404_not_a_500_on_sqlite(sqlite_client, method, path, id_):
    response = sqlite_client.open(path.format(id=id_), method=method, json=BODIES.get(method),
                                  headers={"Authorization": f"Bearer {MOD_TOKEN}"})
    assert response.status_code == 404, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.get_json()["code"] == "not_found"


@pytest.mark.parametrize("hashtag_id", [2**63, 10**30, 0, -1])
def test_big_integer_ids_in_the_audit_query_are_a_422_not_a_500_on_sqlite(sqlite_client, hashtag_id):
    response = sqlite_client.get(f"/api/moderation/audit/?hashtag_id={hashtag_id}",
                                 headers={"Authorization": f"Bearer {MOD_TOKEN}"})
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["code"] == "validation_error"
    assert "hashtag_id" in response.get_json()["errors"]


def test_the_largest_bigint_id_is_still_routed_and_simply_not_found(sqlite_client):
    response = sqlite_client.get(f"/api/moderation/terms/{MAX_ID}/", headers={"Authorization": f"Bearer {MOD_TOKEN}"})
    assert response.status_code == 404
    assert response.get_json()["code"] == "term_not_found"  # the view ran and looked the id up


def test_big_integer_ids_every_integer_parameter_is_bounded_in_the_openapi_document(document):
    integers = [(method, path, p["name"], p["schema"]) for path, method, _, params in operations(document)
                for p in params if p.get("schema", {}).get("type") == "integer"]
    assert any(p["in"] == "path" for *_, params in operations(document) for p in params
               if p.get("schema", {}).get("type") == "integer")
    assert len(integers) >= 20, integers
    for method, path, name, schema in integers:
        assert "minimum" in schema and "maximum" in schema, (method, path, name, schema)
        assert schema["maximum"] <= MAX_ID, (method, path, name)
    path_ids = [schema for method, path, name, schema in integers if "{" + name + "}" in path]
    assert path_ids and all(s["minimum"] == 1 and s["maximum"] == MAX_ID for s in path_ids)


def test_the_openapi_document_lies_about_errors_no_more_every_operation_defaults_to_problem_json(document):
    problem = document["components"]["schemas"]["Problem"]
    assert "Error" not in document["components"]["schemas"]
    assert problem["properties"]["code"]["type"] == "string"
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert {"instance", "errors"} <= problem["properties"].keys()
    for path, method, operation, _ in operations(document):
        for status, response in operation["responses"].items():
            if status == "default" or status[0] in "45":
                content = resolve(document, response).get("content", {})
                assert list(content) == [PROBLEM], (method, path, status, content)
                assert resolve(document, content[PROBLEM]["schema"]) is problem
        assert "default" in operation["responses"], (method, path)


@pytest.mark.parametrize(("method", "url", "body", "status"), [
    ("GET", "/api/no-such-route/", None, 404),                       # werkzeug's own 404
    ("DELETE", "/api/presets/", None, 405),                          # werkzeug's 405
    ("GET", "/api/moderation/terms/18446744073709551616/", None, 404),  # out of the id range
    ("POST", "/api/forms/validate/", [1, 2], 422),                   # webargs / flask-smorest validation
    ("GET", "/api/profiles/?page=0", None, 422),
])
def test_the_openapi_document_lies_about_errors_no_more_real_errors_match_the_problem_schema(
        client, document, method, url, body, status):
    headers = {"Authorization": f"Bearer {MOD_TOKEN}"}
    response = client.open(url, method=method, json=body, headers=headers)
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    jsonschema.validate(problem, _json_schema(document["components"]["schemas"]["Problem"]))
    assert problem["status"] == status and problem["type"] == "/problems/" + problem["code"]


def _json_schema(schema: dict) -> dict:
    """OpenAPI 3.0's ``nullable`` spelled as JSON Schema, so jsonschema can check a body."""
    properties = {name: {**prop, "type": [prop["type"], "null"]} if prop.get("nullable") else prop
                  for name, prop in schema["properties"].items()}
    return {**schema, "properties": properties}
