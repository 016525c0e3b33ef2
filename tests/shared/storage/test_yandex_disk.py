"""Yandex Disk specifics the shared contract cannot express: the handshake, auth, configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.settings import Settings
from shared.storage import build_storage
from shared.storage.errors import StorageUnavailable
from shared.storage.providers.yandex_disk import YandexDiskStorage
from tests.support.yandex_disk import FakeYandexDisk

from .conftest import SIGNING_SECRET


def _storage(disk: FakeYandexDisk, token: str | None = None, root: str = "app:/yd-specific") -> YandexDiskStorage:
    return YandexDiskStorage(token=token or disk.token, root=root, base_url=disk.url,
                             public_base_url="http://test", secret=SIGNING_SECRET)


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
                                secret=SIGNING_SECRET)

    with pytest.raises(StorageUnavailable):
        storage.stat("media/1/a.jpg")


def test_build_storage_makes_a_yandex_disk_storage_from_a_tenant_connection(
        tmp_path: Path, yandex_disk_server: FakeYandexDisk) -> None:
    settings = Settings.from_env({}, DATA_DIR=str(tmp_path), SECRET_KEY="k")

    storage = build_storage(settings, name="tenant-x", config={
        "provider": "yandex_disk", "token": yandex_disk_server.token, "base_url": yandex_disk_server.url,
        "root": "disk:/Showreel/", "prefix": "clients/acme"})
    storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")

    assert isinstance(storage, YandexDiskStorage)
    assert (storage.root, storage.prefix) == ("disk:/Showreel", "clients/acme/")
    assert "disk:/Showreel/clients/acme/media/1/a.jpg" in yandex_disk_server.files()
