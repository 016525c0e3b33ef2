"""Moderation API (SPEC 4.3): queue, decisions, lists, audit log, appeals, moderators.

Every route of ``blp`` needs a moderator token (checked once, before any view runs);
``hashtags_blp`` is what users call: check tags, see why a tag was refused, appeal.
"""

from __future__ import annotations

import uuid

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from api.auth import bearer_token, current_wallet
from api.moderation import schemas
from shared.moderation import appeals, audit, check, lists, moderators, queue
from shared.moderation.errors import InvalidHashtagList
from shared.moderation.models import HashtagStatus as Status  # HashtagStatus is also a view below
from shared.moderation.models import Moderator
from shared.profiles.service import profiles_using_hashtags

blp = Blueprint("moderation", __name__, url_prefix="/api/moderation",
                description="Moderator workflow (Authorization: Bearer <moderator token>)")
hashtags_blp = Blueprint("hashtags", __name__, url_prefix="/api/hashtags",
                         description="Hashtag checks, statuses and appeals for users")


def _db():
    return current_app.extensions["showreel.db"]


@blp.before_request
def _require_moderator() -> None:
    g.moderator = moderators.authenticate(_db(), current_app.config["SETTINGS"], bearer_token())


def _moderator() -> Moderator:
    return g.moderator


def _paged(items, total, args):
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.route("/queue/")
class Queue(MethodView):
    @blp.arguments(schemas.Page, location="query")
    @blp.response(200, schemas.HashtagPage)
    def get(self, args):
        """Hashtags waiting for review, oldest first, with the matched terms and the profiles using them."""
        items, total = queue.list_hashtags(_db(), status=Status.NEEDS_REVIEW, page=args["page"],
                                           per_page=args["per_page"], profiles_of=profiles_using_hashtags)
        return _paged(items, total, args)


@blp.route("/hashtags/")
class Hashtags(MethodView):
    @blp.arguments(schemas.HashtagQuery, location="query")
    @blp.response(200, schemas.HashtagPage)
    def get(self, args):
        """Search stored hashtags by status and text."""
        items, total = queue.list_hashtags(_db(), status=args["status"], q=args["q"], page=args["page"],
                                           per_page=args["per_page"], profiles_of=profiles_using_hashtags)
        return _paged(items, total, args)


@blp.route("/hashtags/<int:hashtag_id>/")
class HashtagById(MethodView):
    @blp.response(200, schemas.Hashtag)
    def get(self, hashtag_id: int):
        """One hashtag with its findings and the profiles using it."""
        return queue.get_hashtag(_db(), hashtag_id, profiles_of=profiles_using_hashtags)


@blp.route("/hashtags/<int:hashtag_id>/decision/")
class HashtagDecision(MethodView):
    @blp.arguments(schemas.Decision)
    @blp.response(200, schemas.Hashtag)
    def post(self, body, hashtag_id: int):
        """Approve (the tag shows on profiles) or reject (hidden; the user sees the note) a hashtag."""
        return queue.decide(_db(), hashtag_id, _moderator(), body["decision"], body["note"],
                            body["feed_lexicon"])


@blp.route("/terms/")
class Terms(MethodView):
    @blp.arguments(schemas.TermQuery, location="query")
    @blp.response(200, schemas.TermPage)
    def get(self, args):
        """List terms (filter by text and language)."""
        items, total = lists.list_terms(_db(), q=args["q"], language=args["language"], page=args["page"],
                                        per_page=args["per_page"])
        return _paged(items, total, args)

    @blp.arguments(schemas.Term)
    @blp.response(201, schemas.Term)
    def post(self, body):
        """Add a term; makes a new lexicon version and re-checks stored hashtags in the background."""
        return lists.create_term(_db(), _moderator(), term=body["term"], category=body["category"],
                                 severity=body["severity"], mode=body["mode"], note=body["note"])


@blp.route("/terms/<int:term_id>/")
class TermById(MethodView):
    @blp.response(200, schemas.Term)
    def get(self, term_id: int):
        """Read a term."""
        return lists.get_term(_db(), term_id)

    @blp.arguments(schemas.TermChange)
    @blp.response(200, schemas.Term)
    def patch(self, body, term_id: int):
        """Change a term's category, severity, mode or note (new lexicon version)."""
        return lists.update_term(_db(), _moderator(), term_id, body)

    @blp.arguments(schemas.Removal, location="query")
    @blp.response(204)
    def delete(self, args, term_id: int):
        """Remove a term (new lexicon version)."""
        lists.delete_term(_db(), _moderator(), term_id, args["note"])


@blp.route("/allowlist/")
class Allowlist(MethodView):
    @blp.arguments(schemas.TermQuery, location="query")
    @blp.response(200, schemas.StemPage)
    def get(self, args):
        """List allowlisted stems (innocent words that contain a term)."""
        items, total = lists.list_allowlist(_db(), q=args["q"], page=args["page"], per_page=args["per_page"])
        return _paged(items, total, args)

    @blp.arguments(schemas.Stem)
    @blp.response(201, schemas.Stem)
    def post(self, body):
        """Allowlist a stem (new lexicon version)."""
        return lists.create_stem(_db(), _moderator(), stem=body["stem"], note=body["note"])


@blp.route("/allowlist/<int:stem_id>/")
class AllowlistById(MethodView):
    @blp.arguments(schemas.StemChange)
    @blp.response(200, schemas.Stem)
    def patch(self, body, stem_id: int):
        """Change the note of an allowlist entry."""
        return lists.update_stem(_db(), _moderator(), stem_id, body.get("note"))

    @blp.arguments(schemas.Removal, location="query")
    @blp.response(204)
    def delete(self, args, stem_id: int):
        """Remove an allowlist entry (new lexicon version)."""
        lists.delete_stem(_db(), _moderator(), stem_id, args["note"])


@blp.route("/lexicon/")
class Lexicon(MethodView):
    @blp.response(200, schemas.Lexicon)
    def get(self):
        """The current lexicon version: checksum, term and allowlist counts."""
        return lists.lexicon_info(_db())


@blp.route("/audit/")
class Audit(MethodView):
    @blp.arguments(schemas.AuditQuery, location="query")
    @blp.response(200, schemas.ActionPage)
    def get(self, args):
        """The append-only audit log, newest first: who did what, why, under which lexicon version."""
        items, total = audit.list_actions(_db(), hashtag_id=args["hashtag_id"], moderator_id=args["moderator_id"],
                                          action=args["action"], page=args["page"], per_page=args["per_page"])
        return _paged(items, total, args)


@blp.route("/appeals/")
class Appeals(MethodView):
    @blp.arguments(schemas.AppealQuery, location="query")
    @blp.response(200, schemas.AppealPage)
    def get(self, args):
        """Appeals of rejected hashtags (open ones by default)."""
        status = None if args["status"] == "all" else args["status"]
        items, total = appeals.list_appeals(_db(), status=status, page=args["page"], per_page=args["per_page"])
        return _paged(items, total, args)


@blp.route("/appeals/<uuid:appeal_id>/decision/")
class AppealDecision(MethodView):
    @blp.arguments(schemas.AppealDecision)
    @blp.response(200, schemas.Appeal)
    def post(self, body, appeal_id: uuid.UUID):
        """Uphold or overturn a rejection; 403 inside the minting chain of the moderator who decided."""
        return appeals.decide_appeal(_db(), appeal_id, _moderator(), body["decision"], body["note"])


@blp.route("/moderators/")
class Moderators(MethodView):
    @blp.response(200, schemas.Moderator(many=True))
    def get(self):
        """List moderators (tokens are never shown again)."""
        return moderators.list_moderators(_db())

    @blp.arguments(schemas.NewModerator)
    @blp.response(201, schemas.IssuedModerator)
    def post(self, body):
        """Issue a moderator token (admins only); the response is the only time it is shown."""
        row, token = moderators.issue_moderator(_db(), body["name"], _moderator(), admin=body["admin"])
        fields = ("id", "name", "token_prefix", "is_bootstrap", "role", "created_by", "created_at", "revoked_at")
        return {**{name: getattr(row, name) for name in fields}, "token": token}


@blp.route("/moderators/<uuid:moderator_id>/")
class ModeratorById(MethodView):
    @blp.response(200, schemas.Moderator)
    def delete(self, moderator_id: uuid.UUID):
        """Revoke a moderator's token and every token minted under it (admins only)."""
        return moderators.revoke_moderator(_db(), moderator_id, _moderator())


@hashtags_blp.route("/check/")
class Check(MethodView):
    @hashtags_blp.arguments(schemas.CheckRequest)
    @hashtags_blp.response(200, schemas.CheckResult)
    def post(self, body):
        """Verdict per hashtag ('#a #b' or a list): approved, needs_review or rejected, with the reason."""
        value = body["hashtags"]
        if not isinstance(value, (str, list)) or (isinstance(value, list)
                                                   and not all(isinstance(v, str) for v in value)):
            raise InvalidHashtagList("hashtags is a string or a list of strings",
                                     errors={"hashtags": ["a string or a list of strings"]})
        verdicts = check.check_hashtags(check.parse_hashtags(value), _db())
        return {"hashtags": [v.as_dict() for v in verdicts]}


@hashtags_blp.route("/appeals/")
class NewAppeal(MethodView):
    @hashtags_blp.arguments(schemas.NewAppeal)
    @hashtags_blp.response(201, schemas.Appeal)
    @hashtags_blp.alt_response(200, schema=schemas.Appeal, description="An open appeal of this tag exists")
    def post(self, body):
        """Appeal the rejection of a hashtag as the signed-in wallet; a moderator outside the decider's chain decides."""
        appeal, created = appeals.create_appeal(_db(), body["tag"], body["message"], current_wallet())
        return appeal, 201 if created else 200


@hashtags_blp.route("/<path:tag>/")
class HashtagStatus(MethodView):
    @hashtags_blp.response(200, schemas.HashtagStatus)
    def get(self, tag: str):
        """A hashtag's status and, when refused, the reason the user is shown."""
        return check.hashtag_status(_db(), tag)
