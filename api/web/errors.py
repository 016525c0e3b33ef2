"""HTML "not found" and "something went wrong" pages for people's browsers; the API keeps problem+json.

A request gets a page when it is for a web page (the ``web`` blueprint, or no route at all) and the
browser asked for HTML by name (``Accept: text/html``, as every navigation does): ``*/*`` from a
script or curl still gets problem+json, and so does everything under the API's prefixes.
"""

from __future__ import annotations

import logging

from flask import Flask, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from api.errors import handle_http_exception, handle_unexpected

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/files/", "/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/problems/")


def wants_page() -> bool:
    """Whether this request should be answered with an HTML page rather than problem+json."""
    if request.path.startswith(API_PREFIXES):
        return False
    if request.blueprint not in (None, "web"):
        return False
    return any(mimetype in ("text/html", "application/xhtml+xml") for mimetype, _ in request.accept_mimetypes)


def _page(status: int):
    from api.web.routes import page_policy

    template = "not_found.html" if status in (404, 405, 410) else "error.html"
    response = make_response(render_template(template, status=status), status)
    # Outside the web blueprint (no route matched) its after_request does not run: the page's own headers.
    response.headers["Content-Security-Policy"] = page_policy()
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _http_error(error: HTTPException):
    if wants_page() and (error.code or 500) >= 400:
        return _page(error.code or 500)
    return handle_http_exception(error)


def _unexpected(error: Exception):
    if wants_page():
        log.exception("unhandled error on %s %s", request.method, request.path)
        try:
            return _page(500)
        except Exception:  # the page itself failed: the API's answer still says something
            log.exception("the error page failed")
    return handle_unexpected(error)


def init_error_pages(app: Flask) -> None:
    """Put the pages in front of the API's handlers (call after api.errors.register_error_handlers)."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
