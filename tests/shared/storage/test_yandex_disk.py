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
from tests.support.yandex_disk import FakeYandexDisk, _Node

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
    """A server on another origin that records what reaches it; ``/redirect`` answers 302 to ``/trap``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str, dict[str, str]]] = []
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def app(self, request: Request) -> Response:
        self.received.append((request.method, request.path, dict(request.headers)))
        if request.path == "/redirect":
            return Response(status=302, headers={"Location": f"{self.url}/trap"})
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


def test_yandex_disk_does_not_follow_a_redirect_from_a_link(other_host) -> None:
    with _elsewhere(other_host, "/redirect") as (disk, storage):
        disk._nodes["app:/yd-elsewhere"] = _Node("dir")
        disk._nodes["app:/yd-elsewhere/a.jpg"] = _Node("file", b"a")
        with pytest.raises(StorageError):
            storage.open("a.jpg")

    assert [path for _, path, _ in other_host.received] == ["/redirect"]  # never /trap


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
