"""Validate the profile form before uploading and paying (SPEC 4.2)."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from api.forms import schemas
from shared.profiles.validation import validate_profile_data

blp = Blueprint("forms", __name__, url_prefix="/api/forms", description="Profile form validation")


@blp.route("/validate/")
class ValidateProfileForm(MethodView):
    @blp.arguments(schemas.ProfileForm)
    @blp.response(200, schemas.Validation)
    def post(self, _form):
        """Check name, url, activity_hobbies, hashtags (with moderation verdicts) and is_incognito."""
        # The raw JSON: the schema above only documents the body and refuses what is not an object;
        # get_json() answers 415 for another content type and 400 for broken JSON.
        body = request.get_json()
        return validate_profile_data(body, current_app.extensions["showreel.db"]).as_dict()
