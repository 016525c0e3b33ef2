"""Rate limits: per tenant (its API key) on the media API, per client IP on every blueprint.

Every blueprint but the health probes is limited per client (an IPv4 address or an IPv6 /64,
see shared/security.py), with tighter limits where a request costs more than it looks:
sign-in (nonce rows), hashtag checks and form validation (the matcher), appeals (moderator
work). Wrong staff tokens are counted per client too: past RATE_LIMIT_STAFF_AUTH_FAILURES an
hour the staff APIs answer 429 to that client's requests without a valid staff token (a right
token still passes, so a guesser behind a shared address cannot lock staff out).

flask-limiter counts in Redis, so every API process shares one count. Responses carry
``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` (seconds) and
``RateLimit-Policy`` of the limit closest to running out; a ``429`` adds
``Retry-After``. When Redis is down the API keeps serving: counting falls back to
each process's memory with the per-IP limit (so the limit still holds per process),
and Redis is tried again as flask-limiter backs off.
"""

from __future__ import annotations

import logging
import time
from typing import ClassVar

from flask import Flask, Response, current_app, has_request_context, json, request
from flask_limiter import Limiter
from limits import parse
from limits.storage import RedisStorage

from api.auth import bearer_token, current_tenant_id
from shared.errors import RateLimited, ShowreelError
from shared.security import address_group
from shared.settings import Settings
from shared.tenants.service import tenant_limit

log = logging.getLogger(__name__)

KEY_PREFIX = "showreel-ratelimit"

# Load balancers poll these; a limit there would take a healthy process out of rotation.
UNLIMITED_BLUEPRINTS = {"health"}
# endpoint -> (setting, period, scope): one scope is one count shared by its endpoints.
ENDPOINT_LIMITS = {
    "signin.NonceView": ("RATE_LIMIT_SIGNIN_PER_IP", "minute", "signin"),
    "signin.LoginView": ("RATE_LIMIT_SIGNIN_PER_IP", "minute", "signin"),
    "hashtags.Check": ("RATE_LIMIT_HASHTAG_CHECKS_PER_IP", "minute", "hashtag-checks"),
    "forms.ValidateProfileForm": ("RATE_LIMIT_HASHTAG_CHECKS_PER_IP", "minute", "hashtag-checks"),
    "hashtags.NewAppeal": ("RATE_LIMIT_APPEALS_PER_IP", "hour", "appeals"),
}
STAFF_BLUEPRINTS = {"ops", "moderation", "tenants"}
STAFF_ENDPOINTS = {"metrics"}
# Problem codes of a wrong token (a missing one is no guess).
STAFF_TOKEN_FAILURES = {"invalid_ops_token", "invalid_moderator_token"}


class TooManyStaffTokenFailures(RateLimited):
    code = "too_many_staff_token_failures"
    title = "Too many wrong staff tokens from this address"


def client_address() -> str:
    """The rate-limit key of the caller: its address, an IPv6 one grouped by /64."""
    return address_group(request.remote_addr or "unknown")


def _tenant_key() -> str:
    try:
        return f"tenant:{current_tenant_id()}"
    except ShowreelError:
        # No usable key: the view itself answers 401; count the caller by address meanwhile.
        return f"unauthenticated:{client_address()}"


def _tenant_limit() -> str:
    settings = current_app.config["SETTINGS"]
    try:
        per_minute = tenant_limit(current_app.extensions["showreel.db"], settings, current_tenant_id(),
                                  "requests_per_minute")
    except ShowreelError:
        per_minute = settings.RATE_LIMIT_PER_TENANT
    return f"{per_minute}/minute"


class CountingRedisStorage(RedisStorage):
    """limits' Redis storage whose increment also answers the window's reads in the same request.

    flask-limiter counts a request with one script call per limit, then reads the window of the
    limit closest to running out again (GET, then TTL) for the RateLimit-* headers: four round
    trips on every request, most of the cost of a poll answered 304. Here the increment returns
    the count and the seconds its window has left, and a read of that key later in the same
    request is answered from them: two round trips. Outside a request it is limits' storage.
    """

    STORAGE_SCHEME: ClassVar[list[str]] = ["showreel+redis", "showreel+rediss"]
    SCRIPT_INCR_READ = """
        local current = redis.call("incrby", KEYS[1], ARGV[2])
        if tonumber(current) == tonumber(ARGV[2]) then
            redis.call("expire", KEYS[1], ARGV[1])
        end
        return {current, redis.call("ttl", KEYS[1])}
    """

    def __init__(self, uri: str, **options) -> None:
        super().__init__(uri.removeprefix("showreel+"), **options)

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_incr_read = self.get_connection().register_script(self.SCRIPT_INCR_READ)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        current, ttl = self.lua_incr_read([self.prefixed_key(key)], [expiry, amount])
        windows = _request_windows()
        if windows is not None:
            windows[key] = (int(current), time.time() + max(int(ttl), 0))
        return int(current)

    def get(self, key: str) -> int:
        seen = (_request_windows() or {}).get(key)
        return seen[0] if seen else super().get(key)

    def get_expiry(self, key: str) -> float:
        seen = (_request_windows() or {}).get(key)
        return seen[1] if seen else super().get_expiry(key)

    def clear(self, key: str) -> None:
        (_request_windows() or {}).pop(key, None)
        super().clear(key)


def _request_windows() -> dict[str, tuple[int, float]] | None:
    """Counts and reset times this request's increments left, by key (None outside a request)."""
    if not has_request_context():
        return None
    # The request's own environ, not g: an app context can outlive one request (tests, CLI).
    return request.environ.setdefault("showreel.rate_limit_windows", {})


def storage_uri(redis_url: str) -> str:
    """flask-limiter's storage for ``redis_url``: the counting storage above on redis(s)://."""
    if not redis_url:
        return "memory://"
    return f"showreel+{redis_url}" if redis_url.startswith(("redis://", "rediss://")) else redis_url


def init_rate_limits(app: Flask, settings: Settings, blueprints) -> Limiter:
    """Limit ``blueprints`` per tenant, every blueprint per IP, and add the RateLimit-* headers.

    Call it once every blueprint is registered.
    """
    per_ip = f"{settings.RATE_LIMIT_PER_IP}/minute"
    limiter = Limiter(
        key_func=client_address,
        app=app,
        storage_uri=storage_uri(settings.REDIS_URL),
        storage_options={"socket_connect_timeout": 1, "socket_timeout": 1} if settings.REDIS_URL else {},
        key_prefix=KEY_PREFIX,
        headers_enabled=False,
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        in_memory_fallback=[per_ip],
    )
    tenant_limit_ = limiter.shared_limit(_tenant_limit, scope="tenant", key_func=_tenant_key)
    ip_limit = limiter.shared_limit(per_ip, scope="ip", key_func=client_address)
    for blueprint in blueprints:
        tenant_limit_(blueprint)
    for name, blueprint in app.blueprints.items():
        if name not in UNLIMITED_BLUEPRINTS:
            ip_limit(blueprint)
    _limit_endpoints(app, limiter, settings)
    _guard_staff_tokens(app, limiter, settings)

    @app.after_request
    def _rate_limit_headers(response: Response) -> Response:
        try:
            current = limiter.current_limit
            if current is None:
                return response
            reset = max(0, int(current.reset_at - time.time()))
            response.headers["RateLimit-Limit"] = str(current.limit.amount)
            response.headers["RateLimit-Remaining"] = str(max(0, current.remaining))
            response.headers["RateLimit-Reset"] = str(reset)
            response.headers["RateLimit-Policy"] = f"{current.limit.amount};w={current.limit.get_expiry()}"
            if response.status_code == 429:
                # A quota's own 429 (uploads) knows better when it frees up.
                response.headers.setdefault("Retry-After", str(max(1, reset)))
        except Exception:  # the counts are unreadable (Redis went away): serve without the headers
            log.debug("no rate-limit headers for %s", request.path, exc_info=True)
        return response

    app.extensions["showreel.limiter"] = limiter
    return limiter


def _limit_endpoints(app: Flask, limiter: Limiter, settings: Settings) -> None:
    scopes = {}
    for endpoint, (setting, period, scope) in ENDPOINT_LIMITS.items():
        if scope not in scopes:
            # override_defaults=False: the blueprint's per-IP limit still counts these requests.
            scopes[scope] = limiter.shared_limit(f"{getattr(settings, setting)}/{period}", scope=scope,
                                                 key_func=client_address, override_defaults=False)
        # flask-limiter checks a decorated limit in the wrapper it returns: it must be the view.
        app.view_functions[endpoint] = scopes[scope](app.view_functions[endpoint])


def _guard_staff_tokens(app: Flask, limiter: Limiter, settings: Settings) -> None:
    """Answer 429 to an address past its wrong staff tokens of the hour; count each wrong one."""
    item = parse(f"{settings.RATE_LIMIT_STAFF_AUTH_FAILURES}/hour")

    def is_staff() -> bool:
        return request.blueprint in STAFF_BLUEPRINTS or request.endpoint in STAFF_ENDPOINTS

    @app.before_request
    def _refuse_guessers() -> None:
        if not is_staff():
            return
        try:
            if limiter.limiter.test(item, "staff-token-failures", client_address()):
                return
            reset = limiter.limiter.get_window_stats(item, "staff-token-failures", client_address()).reset_time
        except Exception:  # counts unreadable (Redis went away): tokens are long enough to go on
            log.warning("staff token failures not readable", exc_info=True)
            return
        # Only guesses are refused: staff sharing the guesser's address (office NAT, VPN) keep working.
        if _holds_a_staff_token(settings):
            return
        raise TooManyStaffTokenFailures(
            f"more than {item.amount} wrong staff tokens from this address in an hour; try again later",
            retry_after=max(1, int(reset - time.time())), limit=item.amount)

    @app.after_request
    def _count_failures(response: Response) -> Response:
        if is_staff() and response.status_code in (401, 403) and _problem_code(response) in STAFF_TOKEN_FAILURES:
            try:
                limiter.limiter.hit(item, "staff-token-failures", client_address())
                if not limiter.limiter.test(item, "staff-token-failures", client_address()):
                    log.warning("staff tokens: %s is locked out for the hour after %d wrong tokens",
                                client_address(), item.amount)
            except Exception:
                log.warning("staff token failure not counted", exc_info=True)
        return response


def _holds_a_staff_token(settings: Settings) -> bool:
    """Whether the request's bearer token is a valid ops or moderator token."""
    from shared.moderation.moderators import authenticate as authenticate_moderator
    from shared.ops.tokens import authenticate as authenticate_ops

    token = bearer_token()
    if not token:
        return False
    db = current_app.extensions["showreel.db"]
    for authenticate in (authenticate_ops, authenticate_moderator):
        try:
            authenticate(db, settings, token)
        except ShowreelError:
            continue
        return True
    return False


def _problem_code(response: Response) -> str | None:
    if response.mimetype != "application/problem+json":
        return None
    try:
        return json.loads(response.get_data()).get("code")
    except ValueError:
        return None
