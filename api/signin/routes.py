"""Sign-In with Ethereum (SPEC 4.2): nonce, login (bearer token + HttpOnly cookie), logout."""

from __future__ import annotations

from flask import current_app, make_response
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_wallet, wallet_token
from api.signin import schemas
from shared.auth import service

blp = Blueprint("signin", __name__, url_prefix="/api/auth", description="Sign-In with Ethereum (EIP-4361)")


def _deps():
    return current_app.extensions["showreel.db"], current_app.config["SETTINGS"]


@blp.route("/nonce/")
class NonceView(MethodView):
    @blp.arguments(schemas.NonceQuery, location="query")
    @blp.response(200, schemas.Nonce)
    def get(self, query):
        """A fresh nonce and the EIP-4361 message for ``address`` to sign."""
        db, settings = _deps()
        return service.issue_nonce(db, settings, query["address"])


@blp.route("/login/")
class LoginView(MethodView):
    @blp.arguments(schemas.LoginBody)
    @blp.response(200, schemas.Session)
    def post(self, body):
        """Verify the signed message; answer a bearer token and set it as an HttpOnly cookie."""
        db, settings = _deps()
        result = service.login(db, settings, body["message"], body["signature"])
        response = make_response(schemas.Session().dump(
            {"token": result.token, "address": result.address, "expires_at": result.expires_at}))
        response.set_cookie(service.COOKIE_NAME, result.token, max_age=settings.WALLET_SESSION_TTL, httponly=True,
                            samesite="Lax", secure=settings.PUBLIC_BASE_URL.startswith("https://"), path="/")
        return response


@blp.route("/logout/")
class LogoutView(MethodView):
    @blp.response(204)
    def post(self):
        """End the session of the token (or cookie) and clear the cookie."""
        db, _ = _deps()
        service.logout(db, wallet_token())
        response = make_response("", 204)
        response.delete_cookie(service.COOKIE_NAME, path="/")
        return response


@blp.route("/me/")
class MeView(MethodView):
    @blp.response(200, schemas.Me)
    def get(self):
        """The signed-in wallet (401 without a session)."""
        return {"address": current_wallet()}
