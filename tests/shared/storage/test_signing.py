"""Download links: signed local links refuse tampering and expiry; S3 links carry their TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from shared.storage.base import content_disposition, sanitize_filename
from shared.storage.errors import InvalidSignature, LinkExpired
from shared.storage.providers.local import LocalStorage
from shared.storage.providers.memory import MemoryBackend, MemoryStorage
from shared.storage.providers.s3 import S3Storage
from shared.storage.signing import resolve_download, sign, signed_url, verify

SECRET = "signing-tests-secret"
NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _splice(payload_from: str, signature_from: str) -> str:
    """Return a token with the payload of one and the signature of another."""
    return payload_from.rpartition(".")[0] + "." + signature_from.rpartition(".")[2]


def test_a_signed_link_grants_its_storage_key_and_file_name() -> None:
    token = sign("default", "media/1/thumb.jpg", LATER, "holiday.jpg", SECRET)

    assert verify(token, SECRET, now=NOW) == ("default", "media/1/thumb.jpg", "holiday.jpg")
    assert resolve_download(token, SECRET, NOW, key="media/1/thumb.jpg") == (
        "default", "media/1/thumb.jpg", "holiday.jpg")


def test_a_link_is_refused_once_it_expires() -> None:
    token = sign("default", "media/1/thumb.jpg", LATER, None, SECRET)

    assert resolve_download(token, SECRET, LATER - timedelta(seconds=1))[1] == "media/1/thumb.jpg"
    with pytest.raises(LinkExpired):
        resolve_download(token, SECRET, LATER)
    with pytest.raises(LinkExpired):
        resolve_download(token, SECRET, LATER + timedelta(days=1))


def test_a_link_signed_with_another_secret_is_refused() -> None:
    token = sign("default", "media/1/thumb.jpg", LATER, None, "someone-elses-secret")

    with pytest.raises(InvalidSignature):
        resolve_download(token, SECRET, NOW)


def test_a_link_with_an_altered_signature_is_refused() -> None:
    token = sign("default", "media/1/thumb.jpg", LATER, None, SECRET)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")

    with pytest.raises(InvalidSignature):
        resolve_download(altered, SECRET, NOW)


@pytest.mark.parametrize("forged", [
    ("default", "media/2/source.mp4", LATER, "thumb.jpg"),
    ("default", "media/1/thumb.jpg", LATER, "invoice.exe"),
    ("default", "media/1/thumb.jpg", LATER + timedelta(days=365), "thumb.jpg"),
    ("tenant-2", "media/1/thumb.jpg", LATER, "thumb.jpg"),
], ids=["key", "file name", "expiry", "storage"])
def test_a_link_with_a_changed_payload_is_refused(forged: tuple) -> None:
    genuine = sign("default", "media/1/thumb.jpg", LATER, "thumb.jpg", SECRET)
    # The forger cannot sign, so they pair their payload with the genuine signature.
    name, key, expires_at, filename = forged
    tampered = _splice(sign(name, key, expires_at, filename, "forger-key"), genuine)

    with pytest.raises(InvalidSignature):
        resolve_download(tampered, SECRET, NOW)


def test_a_link_whose_path_names_another_key_is_refused() -> None:
    token = sign("default", "media/1/thumb.jpg", LATER, None, SECRET)

    with pytest.raises(InvalidSignature):
        resolve_download(token, SECRET, NOW, key="media/2/source.mp4")


def test_garbage_tokens_are_refused() -> None:
    for token in ["", "not-a-token", "a.b.c", "." * 40]:
        with pytest.raises(InvalidSignature):
            resolve_download(token, SECRET, NOW)


def test_link_times_must_carry_a_time_zone() -> None:
    with pytest.raises(ValueError):
        sign("default", "media/1/thumb.jpg", datetime(2025, 5, 1, 13, 0), None, SECRET)


def test_a_signed_url_puts_the_key_in_the_path_and_the_token_in_the_query() -> None:
    url = signed_url("http://showreel.test/", "default", "media/1/thumb.jpg", LATER, None, SECRET)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "showreel.test", "/files/media/1/thumb.jpg")
    token = parse_qs(parts.query)["token"][0]
    assert verify(token, SECRET, now=NOW)[1] == "media/1/thumb.jpg"


@pytest.mark.parametrize("kind", ["memory", "local"])
def test_local_links_expire_after_the_requested_time(kind: str, tmp_path: Path) -> None:
    signed = {"public_base_url": "http://showreel.test", "secret": SECRET, "name": "default"}
    storage = (MemoryStorage(backend=MemoryBackend(), **signed) if kind == "memory"
               else LocalStorage(tmp_path, **signed))

    url = storage.presigned_url("media/1/thumb.jpg", expires=timedelta(minutes=5), filename="a.jpg")
    token = parse_qs(urlsplit(url).query)["token"][0]
    issued = datetime.now(UTC)

    assert resolve_download(token, SECRET, issued + timedelta(minutes=4)) == ("default", "media/1/thumb.jpg", "a.jpg")
    with pytest.raises(LinkExpired):
        resolve_download(token, SECRET, issued + timedelta(minutes=5, seconds=1))


def test_links_default_to_the_configured_lifetime(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, public_base_url="http://showreel.test", secret=SECRET,
                           default_url_ttl=timedelta(seconds=90))

    token = parse_qs(urlsplit(storage.presigned_url("media/1/a.jpg")).query)["token"][0]
    issued = datetime.now(UTC)

    resolve_download(token, SECRET, issued + timedelta(seconds=85))
    with pytest.raises(LinkExpired):
        resolve_download(token, SECRET, issued + timedelta(seconds=91))


def _s3(**options: object) -> S3Storage:
    # Presigning is computed locally, so no server needs to listen on this endpoint.
    return S3Storage(endpoint="127.0.0.1:9", bucket="showreel", access_key="AKIATEST", secret_key="secret",
                     **options)  # type: ignore[arg-type]


def test_s3_links_carry_their_expiry_and_download_name() -> None:
    storage = _s3(prefix="tenants/7")

    url = storage.presigned_url("media/1/clip.webm", expires=timedelta(minutes=10), filename="Mon clip.webm")

    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == "/showreel/tenants/7/media/1/clip.webm"
    assert query["X-Amz-Expires"] == ["600"]
    assert query["response-content-disposition"] == [content_disposition("Mon clip.webm")]
    assert "X-Amz-Signature" in query


def test_s3_links_default_to_the_configured_lifetime() -> None:
    url = _s3(default_url_ttl=timedelta(seconds=3600)).presigned_url("media/1/clip.webm")

    assert "X-Amz-Expires=3600" in url
    assert "response-content-disposition" not in url


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-5), timedelta(days=8)])
def test_link_lifetimes_outside_one_second_to_a_week_are_refused(lifetime: timedelta, tmp_path: Path) -> None:
    local = LocalStorage(tmp_path, public_base_url="http://showreel.test", secret=SECRET)

    for storage in (local, _s3()):
        with pytest.raises(ValueError):
            storage.presigned_url("media/1/a.jpg", expires=lifetime)


@pytest.mark.parametrize(("given", "saved_as"), [
    ("holiday.jpg", "holiday.jpg"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\clip.mp4", "clip.mp4"),
    ("  .hidden.  ", "hidden"),
    ("line\r\nbreak.jpg", "linebreak.jpg"),
    ("evil\u202egpj.exe", "evilgpj.exe"),
    ("", "download"),
    ("...", "download"),
    ("x" * 300 + ".webm", "x" * 145 + ".webm"),
])
def test_download_names_are_reduced_to_a_harmless_base_name(given: str, saved_as: str) -> None:
    assert sanitize_filename(given) == saved_as


def test_content_disposition_has_an_ascii_fallback_and_an_rfc_8187_name() -> None:
    header = content_disposition('Café "menu"; v2.pdf')

    assert header == (
        "attachment; filename=\"Cafe _menu__ v2.pdf\"; filename*=UTF-8''Caf%C3%A9%20%22menu%22%3B%20v2.pdf")
    assert unquote(header.split("''", 1)[1]) == 'Café "menu"; v2.pdf'
