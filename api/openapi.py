"""The OpenAPI side of the API: bounded integer ids and problem+json error responses."""

from __future__ import annotations

from http import HTTPStatus

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.routing import IntegerConverter, PathConverter, UnicodeConverter, ValidationError

from api.errors import PROBLEM_CONTENT_TYPE, Problem, handle_http_exception

# Integer ids are PostgreSQL bigint (SQLite's driver raises OverflowError past this, PostgreSQL casts):
# whatever cannot be an id is refused at the edge, not in the database.
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` limited to the ids a bigint column holds (1..2**63-1); anything else is a 404."""

    def __init__(self, map, fixed_digits: int = 0, min: int = 1, max: int = MAX_ID, signed: bool = False):
        super().__init__(map, fixed_digits, min, max, signed)


class TextConverter(UnicodeConverter):
    """``<name>`` / ``<string:name>`` without NUL, which no PostgreSQL text holds: a 404, not a 500."""

    def to_python(self, value: str) -> str:
        if "\x00" in value:
            raise ValidationError()
        return value


class TextPathConverter(PathConverter):
    """``<path:name>`` without NUL (see TextConverter)."""

    to_python = TextConverter.to_python


class ProblemResponses(BasePlugin):
    """Give every documented 4xx/5xx response without a body of its own the problem+json schema."""

    def init_spec(self, spec) -> None:
        super().init_spec(spec)
        self.spec = spec

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        problem = {PROBLEM_CONTENT_TYPE: {"schema": self.spec.components.get_ref("schema", "Problem")}}
        for operation in (operations or {}).values():
            for status, response in operation.get("responses", {}).items():
                # Strings are names of component responses, which are problem+json already.
                if str(status)[0] in "45" and isinstance(response, dict) and not response.keys() & {"$ref", "content"}:
                    response["content"] = dict(problem)


class ProblemApi(Api):
    """flask-smorest Api whose HTTP errors (webargs 422s included) are problem+json, and documented so."""

    ERROR_SCHEMA = Problem

    def init_app(self, app, *, spec_kwargs=None):
        # Before any blueprint is registered: rules pick their converter when they are added.
        app.url_map.converters.update(int=IdConverter, default=TextConverter, string=TextConverter,
                                      path=TextPathConverter)
        super().init_app(app, spec_kwargs=spec_kwargs)

    def _init_spec(self, *, extra_plugins=None, **options):
        super()._init_spec(extra_plugins=[*(extra_plugins or ()), ProblemResponses()], **options)

    def handle_http_exception(self, error):
        return handle_http_exception(error)

    def _register_responses(self) -> None:
        """Register the stock per-status and default error responses as problem+json, not smorest's Error."""
        self.spec.components.schema("Problem", schema=Problem)
        for status in HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = Problem
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any error: RFC 9457 problem details with a stable code (docs/ERRORS.md)",
                    "schema": Problem}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)
