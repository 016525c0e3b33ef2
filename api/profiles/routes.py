"""Public profiles (SPEC 4.2): read one by wallet."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from api.profiles import schemas
from shared.profiles.service import public_profile

blp = Blueprint("profiles", __name__, url_prefix="/api/profiles", description="Published wallet profiles")


@blp.route("/<string:wallet>/")
class ProfileByWallet(MethodView):
    @blp.response(200, schemas.PublicProfile)
    def get(self, wallet: str):
        """Read a published profile (any letter case of the wallet); only approved hashtags are shown."""
        return public_profile(current_app.extensions["showreel.db"], wallet)
