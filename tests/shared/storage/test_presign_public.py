"""S3 links are signed for the public S3 URL browsers reach, not for the endpoint the servers use.

moto checks no signatures, so the SigV4 query signature is recomputed here from the AWS rules, once
for the host the browser will send (the link's own) and once for the internal endpoint.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

from api.app import create_app
from shared.settings import Settings
from shared.storage import build_storage
from shared.storage.providers.s3 import S3Storage

ACCESS, SECRET, REGION = "AKIATEST", "s3-secret", "eu-central-1"


def sigv4_query_signature(url: str, host: str, secret: str = SECRET) -> str:
    """The X-Amz-Signature a server at ``host`` computes for the presigned GET ``url``."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "X-Amz-Signature"]
    canonical_query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in sorted(query))
    canonical = "\n".join(["GET", parts.path, canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"])
    fields = dict(query)
    scope = fields["X-Amz-Credential"].split("/", 1)[1]
    to_sign = "\n".join(["AWS4-HMAC-SHA256", fields["X-Amz-Date"], scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def signature_of(url: str) -> str:
    return dict(parse_qsl(urlsplit(url).query))["X-Amz-Signature"]


def storage(**options: str) -> S3Storage:
    # Presigning is computed locally: nothing listens at either host.
    return S3Storage(endpoint="minio:9000", bucket="showreel", access_key=ACCESS, secret_key=SECRET,
                     region=REGION, **options)


def test_presigned_link_is_signed_for_the_public_s3_url_not_the_internal_endpoint():
    url = storage(public_url="https://media.example.com").presigned_url("media/1/clip.webm", filename="Ann.webm")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "media.example.com")
    assert parts.path == "/showreel/media/1/clip.webm"
    assert signature_of(url) == sigv4_query_signature(url, "media.example.com")
    # A link signed for minio:9000 and rewritten to the public host afterwards would fail here.
    assert signature_of(url) != sigv4_query_signature(url, "minio:9000")
    assert f"/{REGION}/s3/aws4_request" in dict(parse_qsl(parts.query))["X-Amz-Credential"]


def test_presigned_link_keeps_a_public_port_in_its_signed_host():
    url = storage(public_url="http://localhost:9000/").presigned_url("a.jpg")

    assert urlsplit(url).netloc == "localhost:9000"
    assert signature_of(url) == sigv4_query_signature(url, "localhost:9000")


def test_presigned_link_without_a_public_url_is_signed_for_the_endpoint():
    url = storage().presigned_url("a.jpg")

    assert urlsplit(url).netloc == "minio:9000"
    assert signature_of(url) == sigv4_query_signature(url, "minio:9000")


@pytest.mark.parametrize("bad", ["media.example.com", "ftp://media.example.com", "https://example.com/s3",
                                 "https://user:pw@example.com"])
def test_presign_public_url_that_no_signature_can_serve_is_refused(bad):
    with pytest.raises(ValueError, match="S3|http|scheme"):
        storage(public_url=bad)


def test_presign_public_url_setting_reaches_the_platform_storage(settings: Settings):
    s3 = settings.replace(STORAGE_PROVIDER="s3", S3_ENDPOINT="minio:9000", S3_ACCESS_KEY=ACCESS,
                          S3_SECRET_KEY=SECRET, S3_PUBLIC_URL="https://media.example.com")

    url = build_storage(s3).presigned_url("a.jpg")

    assert urlsplit(url).netloc == "media.example.com"


def test_page_csp_allows_media_from_the_public_s3_url(settings: Settings):
    s3 = settings.replace(STORAGE_PROVIDER="s3", S3_ENDPOINT="minio:9000", S3_ACCESS_KEY=ACCESS,
                          S3_SECRET_KEY=SECRET, S3_PUBLIC_URL="https://media.example.com/")

    policy = create_app(s3).test_client().get("/p/0x" + "5a" * 20).headers["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert "https://media.example.com" in directives["img-src"].split()
    assert "https://media.example.com" in directives["media-src"].split()
    assert "minio:9000" not in policy
