"""Yandex Disk specifics the shared contract cannot express: the handshake, auth, configuration."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from shared.settings import Settings
from shared.storage import build_storage
from shared.storage.errors import StorageError, StorageUnavailable
from shared.storage.providers.yandex_disk import YandexDiskStorage
from tests.support.yandex_disk import FakeYandexDisk

from .conftest import SIGNING_SECRET


def _storage(disk: FakeYandexDisk, token: str | None = None, root: str = "app:/yd-specific") -> YandexDiskStorage:
    # The fake disk listens on loopback: private targets allowed, as WEBHOOK_ALLOW_PRIVATE_TARGETS does.
    return YandexDiskStorage(token=token or disk.token, root=root, base_url=disk.url,
                             public_base_url="http://test", secret=SIGNING_SECRET, allow_private=True)


def test_an_upload_asks_for_an_upload_url_then_puts_the_bytes_there(yandex_disk_server: FakeYandexDisk) -> None:
    storage = _storage(yandex_disk_server, root="app:/yd-handshake")
    yandex_disk_server.requests.clear()

    storage.put_bytes("media/1/thumb.jpg", b"jpeg", "image/jpeg")

    calls = yandex_disk_server.requests
    handshake = calls.index(("GET", "/v1/disk/resources/upload"))
    assert any(method == "PUT" and path.startswith("/upload-target/") for method, path in calls[handshake:])
    assert yandex_disk_server.files()["app:/yd-handshake/media/1/thumb.jpg"] == b"jpeg"


def test_a_wrong_token_makes_the_storage_unavailable(yandex_disk_server: FakeYandexDisk) -> None:
    storage = _storage(yandex_disk_server, token="not-the-token")

    with pytest.raises(StorageUnavailable):
        storage.check()
    with pytest.raises(StorageUnavailable):
        storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")


def test_an_unreachable_api_is_unavailable() -> None:
    storage = YandexDiskStorage(token="t", base_url="http://127.0.0.1:9", public_base_url="http://test",
                                secret=SIGNING_SECRET, allow_private=True)

    with pytest.raises(StorageUnavailable):
        storage.stat("media/1/a.jpg")


def test_build_storage_makes_a_yandex_disk_storage_from_a_tenant_connection(
        tmp_path: Path, yandex_disk_server: FakeYandexDisk) -> None:
    settings = Settings.from_env({}, DATA_DIR=str(tmp_path), SECRET_KEY="k", WEBHOOK_ALLOW_PRIVATE_TARGETS=True)

    storage = build_storage(settings, name="tenant-x", config={
        "provider": "yandex_disk", "token": yandex_disk_server.token, "base_url": yandex_disk_server.url,
        "root": "disk:/Showreel/", "prefix": "clients/acme"})
    storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")

    assert isinstance(storage, YandexDiskStorage)
    assert (storage.root, storage.prefix) == ("disk:/Showreel", "clients/acme/")
    assert "disk:/Showreel/clients/acme/media/1/a.jpg" in yandex_disk_server.files()


class OtherHost:
    """A server on another origin that records what reaches it; ``/redirect`` answers 302 to
    ``redirect_to`` (its own ``/trap`` unless set), ``/loop`` answers 302 to itself."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self.redirect_to: str | None = None
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request: Request) -> Response:
        self.received.append((request.method, request.path, dict(request.headers)))
        if request.path == "/redirect":
            return Response(status=302, headers={"Location": self.redirect_to or f"{self.url}/trap"})
        if request.path == "/loop":
            return Response(status=302, headers={"Location": "/loop"})
        return Response(b"from the other host", status=201 if request.method == "PUT" else 200)

    def stop(self) -> None:
        self._server.shutdown()


class LinksElsewhere(FakeYandexDisk):
    """A disk whose upload and download links point at another origin (``other`` + ``link_path``)."""

    def __init__(self, other: OtherHost, link_path: str) -> None:
        super().__init__()
        self.other, self.link_path = other, link_path

    def _upload_link(self, request: Request) -> Response:
        return Response(json.dumps({"href": self.other.url + self.link_path, "method": "PUT"}),
                        mimetype="application/json")

    def _download_link(self, request: Request) -> Response:
        return Response(json.dumps({"href": self.other.url + self.link_path, "method": "GET"}),
                        mimetype="application/json")


@pytest.fixture()
def other_host() -> Iterator[OtherHost]:
    host = OtherHost()
    yield host
    host.stop()


@contextlib.contextmanager
def _elsewhere(other: OtherHost, link_path: str) -> Iterator[tuple[LinksElsewhere, YandexDiskStorage]]:
    disk = LinksElsewhere(other, link_path).start()
    try:
        yield disk, _storage(disk, root="app:/yd-elsewhere")
    finally:
        disk.stop()


def test_yandex_disk_sends_the_oauth_token_to_the_api_only_never_to_a_link_on_another_host(other_host) -> None:
    with _elsewhere(other_host, "/link") as (disk, storage):
        with pytest.raises(StorageError):  # the bytes went elsewhere: the API cannot describe the file
            storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")
        assert storage.open("media/1/a.jpg").read() == b"from the other host"

    assert [(method, path) for method, path, _ in other_host.received] == [("PUT", "/link"), ("GET", "/link")]
    assert all("Authorization" not in headers for _, _, headers in other_host.received)
    assert ("GET", "/v1/disk/resources/upload") in disk.requests  # the API itself got the token (else 401)


def test_review_yandex_disk_reads_follow_the_download_redirect_to_a_storage_node(other_host) -> None:
    """Yandex's download URL answers 302 to a storage node: the read follows it, without the token."""
    node = OtherHost()
    other_host.redirect_to = f"{node.url}/node/a.jpg"
    try:
        with _elsewhere(other_host, "/redirect") as (_disk, storage):
            assert storage.open("a.jpg").read() == b"from the other host"
    finally:
        node.stop()

    assert [path for _, path, _ in other_host.received] == ["/redirect"]
    assert [path for _, path, _ in node.received] == ["/node/a.jpg"]
    assert all("Authorization" not in headers for _, _, headers in other_host.received + node.received)


def test_review_yandex_disk_redirects_are_bounded_and_uploads_follow_none(other_host) -> None:
    with _elsewhere(other_host, "/loop") as (_disk, storage), pytest.raises(StorageError, match="redirected"):
        storage.open("a.jpg")
    assert len(other_host.received) == 6  # the link and five redirects, then it gives up
    other_host.received.clear()
    with _elsewhere(other_host, "/redirect") as (_disk, storage), pytest.raises(StorageError):
        storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")
    assert [path for _, path, _ in other_host.received] == ["/redirect"]  # a PUT is never sent on


def test_review_yandex_disk_a_redirect_hop_is_checked_like_the_first_address(other_host) -> None:
    other_host.redirect_to = "http://node.invalid/a.jpg"  # does not resolve: refused before connecting
    with _elsewhere(other_host, "/redirect") as (_disk, storage), \
            pytest.raises(StorageUnavailable, match="node.invalid"):
        storage.open("a.jpg")


def test_yandex_disk_refuses_private_addresses_unless_private_targets_are_allowed(
        yandex_disk_server: FakeYandexDisk) -> None:
    refused = YandexDiskStorage(token=yandex_disk_server.token, root="app:/yd-private", base_url=yandex_disk_server.url,
                                public_base_url="http://test", secret=SIGNING_SECRET)
    yandex_disk_server.requests.clear()

    with pytest.raises(StorageUnavailable, match="refused"):
        refused.put_bytes("media/1/a.jpg", b"a", "image/jpeg")
    assert yandex_disk_server.requests == []  # nothing was sent
    _storage(yandex_disk_server, root="app:/yd-private").put_bytes("media/1/a.jpg", b"a", "image/jpeg")


def test_yandex_disk_connects_to_the_address_it_checked_not_to_a_second_dns_answer(
        yandex_disk_server: FakeYandexDisk) -> None:
    port = int(yandex_disk_server.url.rsplit(":", 1)[1])
    answers: list[str] = []

    def resolve(host, port_, **kwargs):
        answers.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port_))]

    storage = YandexDiskStorage(token=yandex_disk_server.token, root="app:/yd-pinned",
                                base_url=f"http://disk.invalid:{port}", public_base_url="http://test",
                                secret=SIGNING_SECRET, allow_private=True, resolve=resolve)
    storage.put_bytes("media/1/a.jpg", b"pinned", "image/jpeg")

    # disk.invalid never resolves in DNS: every connection went to the address our check returned.
    assert set(answers) == {"disk.invalid", "127.0.0.1"} and answers.count("disk.invalid") >= 2
    assert yandex_disk_server.files()["app:/yd-pinned/media/1/a.jpg"] == b"pinned"


def test_review_yandex_pool_key_keeps_the_values_of_the_pool_settings() -> None:
    """A pool made with certificate checks off is never reused for a request that checks them."""
    import requests

    from shared.storage.providers.yandex_disk import PinnedAdapter

    def resolve(host, port, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    adapter = PinnedAdapter(allow_private=True, resolve=resolve)
    request = requests.Request("GET", "https://disk.invalid/v1/disk").prepare()
    checked = adapter.get_connection_with_tls_context(request, True)
    unchecked = adapter.get_connection_with_tls_context(request, False)
    adapter.close()

    assert checked is not unchecked
    assert (checked.cert_reqs, unchecked.cert_reqs) == ("CERT_REQUIRED", "CERT_NONE")
