"""Ops API errors (stable codes; docs/ERRORS.md)."""

from __future__ import annotations

from shared.errors import Forbidden, NotFound, Unauthorized, Unprocessable


class OpsTokenRequired(Unauthorized):
    code = "ops_token_required"


class InvalidOpsToken(Forbidden):
    code = "invalid_ops_token"


class OpsTokenNotConfigured(Forbidden):
    """Neither OPS_TOKEN nor an issued token: the ops API is off."""

    code = "ops_token_not_configured"


class OpsTokenNotFound(NotFound):
    code = "ops_token_not_found"


class RunNotFound(NotFound):
    code = "run_not_found"


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"


class InvalidCron(Unprocessable):
    code = "invalid_cron"


class InvalidTimezone(Unprocessable):
    code = "invalid_timezone"


class InvalidParams(Unprocessable):
    code = "invalid_params"
