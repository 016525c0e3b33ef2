"""Moderation errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized, Unprocessable


class ModeratorTokenRequired(Unauthorized):
    code = "moderator_token_required"
    title = "A moderator token is required"


class InvalidModeratorToken(Unauthorized):
    code = "invalid_moderator_token"
    title = "The moderator token is unknown or revoked"


class HashtagNotFound(NotFound):
    code = "hashtag_not_found"
    title = "No such hashtag"


class TermNotFound(NotFound):
    code = "term_not_found"
    title = "No such term"


class AllowStemNotFound(NotFound):
    code = "allowlist_entry_not_found"
    title = "No such allowlist entry"


class AppealNotFound(NotFound):
    code = "appeal_not_found"
    title = "No such appeal"


class ModeratorNotFound(NotFound):
    code = "moderator_not_found"
    title = "No such moderator"


class TermExists(Conflict):
    code = "term_exists"
    title = "The term is already listed"


class AllowStemExists(Conflict):
    code = "allowlist_entry_exists"
    title = "The stem is already allowlisted"


class ModeratorExists(Conflict):
    code = "moderator_exists"
    title = "A moderator with this name exists"


class BootstrapModerator(Conflict):
    code = "moderator_is_bootstrap"
    title = "The bootstrap moderator comes from MODERATOR_TOKEN and cannot be revoked here"


class InvalidTerm(Unprocessable):
    code = "invalid_term"
    title = "Terms and stems are 2 to 100 letters"


class AppealNotAllowed(Conflict):
    code = "appeal_not_allowed"
    title = "Only rejected hashtags can be appealed"


class AppealAlreadyOpen(Conflict):
    code = "appeal_already_open"
    title = "Another wallet's appeal of this hashtag is open"


class AppealAlreadyDecided(Conflict):
    code = "appeal_already_decided"
    title = "The appeal was already decided"


class AppealNeedsAnotherModerator(Forbidden):
    code = "appeal_needs_another_moderator"
    title = "An appeal is reviewed by a moderator outside the deciding moderator's minting chain"


class DecisionNeedsAnotherModerator(Forbidden):
    code = "decision_needs_another_moderator"
    title = "An appealed hashtag is decided again only by a moderator outside the appealed decider's chain"


class ModeratorAdminRequired(Forbidden):
    code = "moderator_admin_required"
    title = "Only an admin moderator issues and revokes moderator tokens"


class InvalidHashtag(InvalidInput):
    code = "invalid_hashtag"
    title = "The hashtag is empty or too long"


class TooManyHashtags(Unprocessable):
    code = "too_many_hashtags"
    title = "Too many hashtags in one request"


class HashtagRejected(Unprocessable):
    """Raised by :func:`shared.moderation.check.ensure_publishable` (a submission with a rejected tag)."""

    code = "hashtag_rejected"
    title = "A hashtag was rejected by moderation"


class InvalidHashtagList(Unprocessable):
    """The ``hashtags`` of a check are neither a string nor a list of strings."""

    code = "validation_error"
    title = "The content cannot be processed"
