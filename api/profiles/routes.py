"""Public profiles (SPEC 4.2): read one by wallet."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import current_wallet
from api.profiles import schemas
from shared.profiles.editing import edit_profile
from shared.profiles.media import with_media_urls
from shared.profiles.service import list_profiles, public_profile

blp = Blueprint("profiles", __name__, url_prefix="/api/profiles", description="Published wallet profiles")


@blp.route("/")
class Profiles(MethodView):
    @blp.arguments(schemas.ProfileListQuery, location="query")
    @blp.response(200, schemas.ProfilePage)
    def get(self, query):
        """List published profiles, newest first, optionally by an approved hashtag; never incognito ones."""
        return list_profiles(current_app.extensions["showreel.db"], hashtag=query["hashtag"],
                             page=query["page"], page_size=current_app.config["SETTINGS"].PROFILES_PAGE_SIZE)


@blp.route("/<string:wallet>/")
class ProfileByWallet(MethodView):
    @blp.response(200, schemas.PublicProfile)
    def get(self, wallet: str):
        """Read a published profile (any letter case of the wallet); only approved hashtags are shown."""
        return with_media_urls(public_profile(current_app.extensions["showreel.db"], wallet),
                               current_app.extensions["showreel.default_storage"], current_app.config["SETTINGS"])

    @blp.arguments(schemas.ProfileEdit)
    @blp.response(200, schemas.OwnProfile)
    def patch(self, _changes, wallet: str):
        """The owner edits the text fields (wallet token); media changes go through a new submission."""
        # The raw JSON: the form's own rules (shared/profiles/validation.py) check it field by field.
        changes = request.get_json(silent=True)
        view = edit_profile(current_app.extensions["showreel.db"], wallet, current_wallet(), changes)
        return with_media_urls(view, current_app.extensions["showreel.default_storage"],
                               current_app.config["SETTINGS"])
