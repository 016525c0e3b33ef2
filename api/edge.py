"""What every response carries (security headers) and who the client is behind trusted proxies.

Pages set their own Content-Security-Policy (api/web/routes.py); everything else, JSON and
problem+json included, gets a policy that allows nothing, since an API answer is never a
document to run. ``/docs`` (swagger-ui) gets one that allows its own assets and the one inline
script of its page, by hash.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from shared.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_DOCS_POLICY = ("default-src 'self'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                "form-action 'self'; frame-ancestors 'none'")
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def init_edge(app: Flask, settings: Settings) -> None:
    """Trust TRUSTED_PROXY_HOPS proxies for the client address, and add the security headers."""
    if settings.TRUSTED_PROXY_HOPS > 0:
        # Only then: X-Forwarded-For from anyone else would let a client pick its own rate-limit key.
        hops = settings.TRUSTED_PROXY_HOPS
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.after_request(_security_headers)


def _security_headers(response: Response) -> Response:
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    if "Content-Security-Policy" not in response.headers:
        docs = request.endpoint == "api-docs.openapi_swagger_ui"
        response.headers["Content-Security-Policy"] = _docs_policy(response) if docs else API_POLICY
    return response


def _docs_policy(response: Response) -> str:
    """The swagger-ui page's policy: its inline start-up script is allowed by its hash, nothing else inline."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
                      for script in _INLINE_SCRIPT.findall(response.get_data()))
    return _DOCS_POLICY.format(scripts=hashes)
