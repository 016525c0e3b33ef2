"""Every operation of /openapi.json, fed generated input by schemathesis: no 5xx, and answers as documented.

A bounded run (a fixed seed, a few examples per operation) so it belongs in ``make test``; each
operation is called with the credentials it needs (moderator, ops or wallet token), so the
generated input reaches the views instead of stopping at a 401.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.payments.devchain import ACCOUNTS
from tests.support.wallets import bearer, sign_in

MOD_TOKEN = "schemathesis-moderator-token-0123456789"
OPS_TOKEN = "schemathesis-ops-token-0123456789abcdef"
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance, status_code_conformance]
# Nothing is left out: the live status stream never ends for an existing submission, but generated
# ids never match one, so it answers 404; uploads are small, and no route needs a chain to refuse input.
EXAMPLES_PER_OPERATION = 6


def _published_document() -> dict:
    """/openapi.json as clients get it; building the app touches neither the database nor Redis."""
    from api.app import create_app
    from shared.settings import get_settings

    return create_app(get_settings()).test_client().get("/openapi.json").get_json()


# Loaded once at collection (schemathesis' from_fixture does not work with pytest 9); each test
# then calls its own app, built on the freshly emptied database.
schema = schemathesis.openapi.from_dict(_published_document())


@pytest.fixture()
def fuzzed_app(db, redis_client, settings):
    from api.app import create_app

    app = create_app(settings.replace(MODERATOR_TOKEN=MOD_TOKEN, OPS_TOKEN=OPS_TOKEN))
    app.config["TESTING"] = True
    return app


@pytest.fixture()
def wallet_token(fuzzed_app) -> str:
    address, key = ACCOUNTS[0]
    return sign_in(fuzzed_app.test_client(), address, key)


def credentials(path: str, wallet_token: str) -> dict[str, str]:
    """The Authorization header an operation needs: staff routes their token, the rest the wallet's."""
    if path.startswith("/api/moderation/"):
        return bearer(MOD_TOKEN)
    if path.startswith(("/api/ops/", "/api/tenants/")):
        return bearer(OPS_TOKEN)
    if path.startswith("/api/media/") or path == "/api/presets/":
        return {}  # the anonymous default tenant of the embedded mode
    return bearer(wallet_token)


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx_or_breaks_its_documented_contract(case, fuzzed_app, wallet_token):
    case.headers = {**(case.headers or {}), **credentials(case.path, wallet_token)}
    case.call_and_validate(app=fuzzed_app, checks=CHECKS)


# Bugs the run found, each pinned by a plain request (the generated input is not guaranteed to recur).
NUL_AND_SURROGATE_REQUESTS = [
    ("GET", "/api/moderation/hashtags/?q=a%00b", None, "q"),
    ("GET", "/api/moderation/audit/?action=a%00b", None, "action"),
    ("GET", "/api/ops/runs/?schedule=a%00b", None, "schedule"),
    ("POST", "/api/moderation/moderators/", {"name": "a\x00b"}, "name"),
    ("POST", "/api/moderation/moderators/", {"name": "a\udaf5b"}, "name"),
    ("POST", "/api/hashtags/check/", {"hashtags": "#a\x00b"}, "hashtags"),
    ("POST", "/api/hashtags/check/", {"hashtags": ["ok", "a\udaf5"]}, "hashtags"),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), NUL_AND_SURROGATE_REQUESTS)
def test_nul_or_unpaired_surrogate_in_text_is_a_422_not_a_500(fuzzed_app, method, url, body, field):
    headers = bearer(OPS_TOKEN if url.startswith("/api/ops/") else MOD_TOKEN)
    data = None if body is None else json.dumps(body)  # json.dumps escapes the surrogate as JSON does
    response = fuzzed_app.test_client().open(url, method=method, data=data, headers=headers,
                                             content_type="application/json")
    assert response.status_code == 422, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["code"] == "validation_error" and field in problem["errors"]


def test_nul_in_a_path_parameter_is_a_404_not_a_500(client):
    response = client.get("/api/hashtags/a%00b/")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_a_form_part_without_a_name_is_a_422_not_a_500(fuzzed_app, wallet_token):
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"extra\"\r\n\r\nx\r\n"
            f"--{boundary}--\r\n")
    response = fuzzed_app.test_client().post("/api/uploads/", data=body, headers=bearer(wallet_token),
                           content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert {"None", "extra"} <= response.get_json()["errors"].keys()


def test_dev_chain_without_an_rpc_url_matches_its_documented_schema(fuzzed_app):
    operation = schema["/api/dev/chain/"]["GET"]
    case = operation.Case()
    response = case.call(app=fuzzed_app)
    assert response.status_code == 200 and response.json()["rpc_url"] is None
    case.validate_response(response, checks=[response_schema_conformance])
