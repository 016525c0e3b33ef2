"""One HTTP POST to a callback URL, pinned to the addresses checked at send time.

Written on ``http.client`` rather than a full HTTP client so that every rule is
visible here: the name is resolved and every address checked once, the socket
connects to a checked address only (TLS still verifies the certificate against the
host name), redirects are never followed, and the whole exchange, connect to last
byte, is cut at the deadline by a watchdog, even when the receiver trickles bytes.
"""

from __future__ import annotations

import email.utils
import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.netsafe import Target, UnsafeTarget, resolve_target

USER_AGENT = "Showreel-Webhooks/1"
MAX_RESPONSE_EXCERPT = 2048


@dataclass(frozen=True)
class SendResult:
    """What one attempt got: a status code, or an error code when no answer came."""

    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None
    response_excerpt: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool = False,
         resolve=socket.getaddrinfo) -> SendResult:
    """POST ``body`` to ``url`` and return what happened; never raises for network trouble.

    Raises :class:`UnsafeTarget` when the URL (re-resolved now) leads to an internal
    address: nothing is sent then.
    """
    started = time.monotonic()
    target = resolve_target(url, allow_private=allow_private, resolve=resolve)
    deadline = started + timeout
    try:
        sock = _connect(target, deadline)
    except TimeoutError:
        return SendResult(None, "timeout", _ms(started))
    except ssl.SSLError:
        return SendResult(None, "tls_error", _ms(started))
    except OSError:
        return SendResult(None, "connection_failed", _ms(started))
    cut = threading.Event()

    def _cut() -> None:
        cut.set()
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut)
    watchdog.daemon = True
    watchdog.start()
    connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)
    connection.sock = sock  # already connected to the pinned address: http.client must not reconnect
    try:
        connection.request("POST", target.path, body=body, headers={
            "Host": target.host_header, "User-Agent": USER_AGENT, "Content-Type": "application/json",
            "Content-Length": str(len(body)), "Connection": "close", **headers})
        response = connection.getresponse()
        excerpt = response.read(MAX_RESPONSE_EXCERPT).decode("utf-8", "replace")
        return SendResult(response.status, None, _ms(started), _retry_after(response.getheader("Retry-After")),
                          excerpt)
    except TimeoutError:
        return SendResult(None, "timeout", _ms(started))
    except (OSError, http.client.HTTPException):
        return SendResult(None, "timeout" if cut.is_set() else "bad_response", _ms(started))
    except (UnicodeError, ValueError):
        # The request itself could not be encoded: an attempt that failed, not a stuck claim.
        return SendResult(None, "bad_request", _ms(started))
    finally:
        watchdog.cancel()
        connection.close()


def _connect(target: Target, deadline: float) -> socket.socket:
    last_error: OSError = OSError("no address")
    for family, sockaddr in target.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError()
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(remaining)
        try:
            sock.connect(sockaddr)
            if target.scheme == "https":
                context = ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=target.host)
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            return sock
        except TimeoutError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            last_error = exc
    raise last_error


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


__all__ = ["SendResult", "UnsafeTarget", "post"]
