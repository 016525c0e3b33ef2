"""The storage contract: one test body, run against every provider (memory, local, s3, yandex_disk)."""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from pathlib import Path

import pytest
import requests

from shared.settings import Settings, SettingsError
from shared.storage import PROVIDERS, build_storage, get_default_storage, signing_secret
from shared.storage.base import StorageProvider
from shared.storage.errors import InvalidKey, ObjectNotFound, StorageUnavailable
from shared.storage.providers.local import LocalStorage
from shared.storage.providers.memory import MemoryStorage
from shared.storage.providers.s3 import S3Storage

from .conftest import SIGNING_SECRET, Backend

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "media/../../outside",
    "media/./thumb.jpg",
    "media//thumb.jpg",
    "media/",
    "media\\thumb.jpg",
    "media/thumb\x00.jpg",
    ".hidden",
    "media/.thumb.jpg.meta",
    "media/my thumb.jpg",
    "media/thümb.jpg",
    "media/thumb.jpg?x=1",
    "media/a+b.jpg",
    "a" * 1025,
]


def test_bytes_read_back_exactly_as_stored(storage: StorageProvider) -> None:
    stored = storage.put_bytes("media/1/thumb.jpg", b"\xff\xd8 jpeg bytes", "image/jpeg")

    with storage.open("media/1/thumb.jpg") as stream:
        assert stream.read() == b"\xff\xd8 jpeg bytes"
    assert stored.key == "media/1/thumb.jpg"
    assert stored.size == len(b"\xff\xd8 jpeg bytes")
    assert stored.etag


def test_a_large_file_streams_to_and_from_disk(storage: StorageProvider, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(os.urandom(5 * 1024 * 1024 + 123))

    stored = storage.put_file("media/2/source.mp4", source, "video/mp4")
    storage.get_to_file("media/2/source.mp4", tmp_path / "copy" / "source.mp4")

    copy = tmp_path / "copy" / "source.mp4"
    assert _sha256(copy) == _sha256(source)
    assert stored.size == storage.stat("media/2/source.mp4").size == source.stat().st_size
    assert sorted(p.name for p in copy.parent.iterdir()) == ["source.mp4"]


def test_a_stream_can_be_read_in_chunks(storage: StorageProvider) -> None:
    data = os.urandom(300_000)
    storage.put_bytes("media/3/poster.webp", data, "image/webp")

    with storage.open("media/3/poster.webp") as stream:
        chunks = list(iter(lambda: stream.read(64 * 1024), b""))

    assert b"".join(chunks) == data
    assert stream.closed


def test_storing_again_under_a_key_replaces_the_object(storage: StorageProvider) -> None:
    first = storage.put_bytes("media/4/thumb.jpg", b"first", "image/jpeg")
    second = storage.put_bytes("media/4/thumb.jpg", b"second version", "image/png")

    assert [o.key for o in storage.list("media/4")] == ["media/4/thumb.jpg"]
    assert storage.open("media/4/thumb.jpg").read() == b"second version"
    assert storage.stat("media/4/thumb.jpg").content_type == "image/png"
    assert first.etag != second.etag


def test_stat_describes_a_stored_object(storage: StorageProvider) -> None:
    stored = storage.put_bytes("media/5/preview.webm", b"x" * 1000, "video/webm")

    described = storage.stat("media/5/preview.webm")

    assert (described.key, described.size, described.content_type) == ("media/5/preview.webm", 1000, "video/webm")
    assert described.etag == stored.etag
    assert described.last_modified is not None


def test_exists_tells_stored_from_missing_objects(storage: StorageProvider) -> None:
    storage.put_bytes("media/6/a.jpg", b"a", "image/jpeg")

    assert storage.exists("media/6/a.jpg")
    assert not storage.exists("media/6/b.jpg")
    assert not storage.exists("media/6")


def test_deleting_removes_the_object_and_may_be_repeated(storage: StorageProvider) -> None:
    storage.put_bytes("media/7/a.jpg", b"a", "image/jpeg")

    storage.delete("media/7/a.jpg")
    storage.delete("media/7/a.jpg")
    storage.delete("media/never/stored.jpg")

    assert not storage.exists("media/7/a.jpg")
    assert list(storage.list()) == []


def test_missing_objects_raise_object_not_found(storage: StorageProvider, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"

    with pytest.raises(ObjectNotFound):
        storage.stat("media/missing/a.jpg")
    with pytest.raises(ObjectNotFound):
        storage.open("media/missing/a.jpg")
    with pytest.raises(ObjectNotFound):
        storage.get_to_file("media/missing/a.jpg", downloads / "a.jpg")

    assert not downloads.exists() or list(downloads.iterdir()) == []


def test_a_folder_is_not_an_object(storage: StorageProvider) -> None:
    storage.put_bytes("media/8/a.jpg", b"a", "image/jpeg")

    with pytest.raises(ObjectNotFound):
        storage.stat("media/8")
    with pytest.raises(ObjectNotFound):
        storage.open("media/8")


def test_listing_yields_the_folder_in_key_order(storage: StorageProvider) -> None:
    for key in ["media/9/b.jpg", "media/9/a.jpg", "media/9/sub/c.jpg", "media/9.txt", "media/99/d.jpg"]:
        storage.put_bytes(key, key.encode(), "application/octet-stream")

    in_folder = [o.key for o in storage.list("media/9")]
    everything = [o.key for o in storage.list()]

    assert in_folder == ["media/9/a.jpg", "media/9/b.jpg", "media/9/sub/c.jpg"]
    assert [o.key for o in storage.list("media/9/")] == in_folder
    assert everything == sorted(everything) == sorted(
        ["media/9/b.jpg", "media/9/a.jpg", "media/9/sub/c.jpg", "media/9.txt", "media/99/d.jpg"])
    assert {o.key: o.size for o in storage.list("media/9/sub")} == {"media/9/sub/c.jpg": len(b"media/9/sub/c.jpg")}


def test_listing_an_empty_folder_yields_nothing(storage: StorageProvider) -> None:
    assert list(storage.list("media/nothing-here")) == []


def test_delete_prefix_removes_the_folder_and_counts_what_went(storage: StorageProvider) -> None:
    for key in ["media/10/a.jpg", "media/10/b.jpg", "media/10/sub/c.jpg", "media/100/keep.jpg"]:
        storage.put_bytes(key, b"x", "image/jpeg")

    removed = storage.delete_prefix("media/10")

    assert removed == 3
    assert [o.key for o in storage.list()] == ["media/100/keep.jpg"]
    assert storage.delete_prefix("media/10") == 0


def test_delete_prefix_refuses_to_wipe_the_whole_storage(storage: StorageProvider) -> None:
    storage.put_bytes("media/11/a.jpg", b"x", "image/jpeg")

    with pytest.raises(InvalidKey):
        storage.delete_prefix("")

    assert storage.exists("media/11/a.jpg")


def test_providers_with_different_prefixes_do_not_see_each_other(backend: Backend) -> None:
    tenant_a = backend.storage(prefix="tenants/a")
    tenant_b = backend.storage(prefix="tenants/b/")
    platform = backend.storage()

    tenant_a.put_bytes("media/1/thumb.jpg", b"from a", "image/jpeg")
    tenant_b.put_bytes("media/1/thumb.jpg", b"from b", "image/jpeg")

    assert tenant_a.open("media/1/thumb.jpg").read() == b"from a"
    assert tenant_b.open("media/1/thumb.jpg").read() == b"from b"
    assert [o.key for o in tenant_a.list()] == ["media/1/thumb.jpg"]
    assert [o.key for o in platform.list()] == ["tenants/a/media/1/thumb.jpg", "tenants/b/media/1/thumb.jpg"]

    assert tenant_a.delete_prefix("media") == 1
    assert tenant_b.exists("media/1/thumb.jpg")


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_unsafe_keys_are_refused_everywhere(storage: StorageProvider, key: str, tmp_path: Path) -> None:
    source = tmp_path / "f"
    source.write_bytes(b"x")
    calls = [
        lambda: storage.put_bytes(key, b"x", "image/jpeg"),
        lambda: storage.put_file(key, source, "image/jpeg"),
        lambda: storage.get_to_file(key, tmp_path / "out"),
        lambda: storage.open(key),
        lambda: storage.delete(key),
        lambda: storage.exists(key),
        lambda: storage.stat(key),
        lambda: storage.presigned_url(key),
    ]
    for call in calls:
        with pytest.raises(InvalidKey):
            call()
    if key not in ("", "media/"):  # both are fine as folders
        with pytest.raises(InvalidKey):
            list(storage.list(key))
        with pytest.raises(InvalidKey):
            storage.delete_prefix(key)


def test_a_presigned_url_downloads_the_bytes_under_the_file_name(storage: StorageProvider) -> None:
    data = os.urandom(200_000)
    storage.put_bytes("media/12/video.webm", data, "video/webm")

    url = storage.presigned_url("media/12/video.webm", filename="Отпуск 2024 «final».webm")
    response = requests.get(url, timeout=10)

    assert response.status_code == 200
    assert response.content == data
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert 'filename="2024 final.webm"' in disposition
    assert "filename*=UTF-8''%D0%9E%D1%82%D0%BF%D1%83%D1%81%D0%BA%202024%20%C2%ABfinal%C2%BB.webm" in disposition


def test_keys_may_use_every_allowed_character(storage: StorageProvider) -> None:
    key = "media/2024=05/A-z_0.9~x/thumb.v2.jpg"
    storage.put_bytes(key, b"jpeg", "image/jpeg")

    assert [o.key for o in storage.list("media")] == [key]
    assert requests.get(storage.presigned_url(key), timeout=10).content == b"jpeg"


def test_a_presigned_url_sanitizes_the_file_name(storage: StorageProvider) -> None:
    storage.put_bytes("media/13/thumb.jpg", b"jpeg", "image/jpeg")

    url = storage.presigned_url("media/13/thumb.jpg", filename='../../evil"\r\nX-Injected: 1.jpg')
    response = requests.get(url, timeout=10)

    assert response.status_code == 200
    assert "X-Injected" not in response.headers
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"evil_X-Injected_ 1.jpg\"; filename*=UTF-8''evil%22X-Injected%3A%201.jpg")


def test_a_presigned_url_without_a_file_name_lets_the_browser_decide(storage: StorageProvider) -> None:
    storage.put_bytes("media/14/poster.jpg", b"jpeg", "image/jpeg")

    response = requests.get(storage.presigned_url("media/14/poster.jpg"), timeout=10)

    assert response.content == b"jpeg"
    assert "Content-Disposition" not in response.headers


def test_a_presigned_url_of_a_missing_object_finds_nothing(storage: StorageProvider) -> None:
    response = requests.get(storage.presigned_url("media/15/gone.jpg"), timeout=10)

    assert response.status_code == 404


def test_check_passes_when_the_backend_is_reachable(storage: StorageProvider) -> None:
    storage.check()
    storage.check()


# Provider-specific edges the shared contract cannot express.

def test_s3_reports_an_unreachable_server_as_unavailable() -> None:
    storage = S3Storage(endpoint=f"127.0.0.1:{_closed_port()}", bucket="showreel", access_key="k",
                        secret_key="s")

    with pytest.raises(StorageUnavailable):
        storage.check()
    with pytest.raises(StorageUnavailable):
        storage.stat("media/1/a.jpg")


def test_s3_creates_a_missing_bucket_on_first_write(moto_endpoint: str) -> None:
    bucket = f"showreel-fresh-{uuid.uuid4().hex[:12]}"
    storage = S3Storage(endpoint=moto_endpoint, bucket=bucket, access_key="k", secret_key="s")
    other_process = S3Storage(endpoint=moto_endpoint, bucket=bucket, access_key="k", secret_key="s")

    assert list(storage.list()) == []
    assert not storage.exists("media/1/a.jpg")
    storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")
    other_process.put_bytes("media/1/b.jpg", b"b", "image/jpeg")

    assert [o.key for o in storage.list()] == ["media/1/a.jpg", "media/1/b.jpg"]


def test_local_storage_never_follows_a_symlink_out_of_its_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    root = tmp_path / "root"
    root.mkdir()
    (root / "media").symlink_to(outside)
    storage = LocalStorage(root, public_base_url="http://test", secret=SIGNING_SECRET)

    with pytest.raises(InvalidKey):
        storage.open("media/secret.txt")
    with pytest.raises(InvalidKey):
        storage.put_bytes("media/planted.txt", b"x", "text/plain")
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def test_local_storage_leaves_no_temporary_files_or_empty_folders(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "root", public_base_url="http://test", secret=SIGNING_SECRET)

    storage.put_bytes("media/1/a.jpg", b"a", "image/jpeg")
    storage.put_bytes("media/1/a.jpg", b"b", "image/jpeg")
    names = sorted(p.name for p in (tmp_path / "root" / "media" / "1").iterdir())
    storage.delete("media/1/a.jpg")

    assert names == [".a.jpg.meta", "a.jpg"]
    assert list((tmp_path / "root").iterdir()) == []


def test_local_storage_describes_files_placed_by_hand(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path, public_base_url="http://test", secret=SIGNING_SECRET)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "clip.webm").write_bytes(b"webm")

    described = storage.stat("media/clip.webm")

    assert (described.size, described.content_type) == (4, "video/webm")
    assert described.etag


def test_local_storage_is_unavailable_when_its_root_is_not_a_folder(tmp_path: Path) -> None:
    (tmp_path / "root").write_text("a file, not a folder")
    storage = LocalStorage(tmp_path / "root", public_base_url="http://test", secret=SIGNING_SECRET)

    with pytest.raises(StorageUnavailable):
        storage.check()


# The composition root.

def _settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings.from_env({}, DATA_DIR=str(tmp_path), **overrides)


def test_build_storage_picks_the_provider_named_in_settings(tmp_path: Path) -> None:
    assert set(PROVIDERS) == {"memory", "local", "s3", "yandex_disk"}
    local = build_storage(_settings(tmp_path, STORAGE_PROVIDER="local", SECRET_KEY="k"))
    s3 = build_storage(_settings(tmp_path, STORAGE_PROVIDER="s3", STORAGE_PREFIX="platform/"))

    assert isinstance(local, LocalStorage)
    assert local.root == Path(os.path.realpath(tmp_path / "storage"))
    assert isinstance(s3, S3Storage)
    assert (s3.bucket, s3.prefix) == ("showreel", "platform/")


def test_build_storage_takes_a_tenant_config_and_prefix(tmp_path: Path) -> None:
    settings = _settings(tmp_path, SECRET_KEY="k")

    storage = build_storage(settings, name="tenant-1", prefix="tenants/1",
                            config={"provider": "local", "root": str(tmp_path / "tenant")})

    assert isinstance(storage, LocalStorage)
    assert (storage.name, storage.prefix) == ("tenant-1", "tenants/1/")
    with pytest.raises(SettingsError):
        build_storage(settings, config={"provider": "floppy"})
    with pytest.raises(SettingsError):
        build_storage(settings, config={"provider": "s3", "endpoint": "x:9000"})


def test_memory_storages_of_one_name_share_their_objects(tmp_path: Path) -> None:
    settings = _settings(tmp_path, STORAGE_PROVIDER="memory", SECRET_KEY="k")
    api_side = build_storage(settings, name="shared-memory-test")
    worker_side = build_storage(settings, name="shared-memory-test")
    elsewhere = build_storage(settings, name="another-memory-test")

    api_side.put_bytes("media/1/source.jpg", b"upload", "image/jpeg")

    assert isinstance(worker_side, MemoryStorage)
    assert worker_side.open("media/1/source.jpg").read() == b"upload"
    assert not elsewhere.exists("media/1/source.jpg")


def test_the_default_storage_is_built_once_per_settings(tmp_path: Path) -> None:
    settings = _settings(tmp_path, STORAGE_PROVIDER="memory", SECRET_KEY="k")

    assert get_default_storage(settings) is get_default_storage(settings)
    assert get_default_storage(settings) is not get_default_storage(_settings(tmp_path, SECRET_KEY="k"))


def test_embedded_mode_generates_one_signing_secret_under_the_data_dir(tmp_path: Path) -> None:
    settings = _settings(tmp_path)

    first, second = signing_secret(settings), signing_secret(settings)

    assert first == second == (tmp_path / "secret_key").read_text()
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_sign_without_a_secret_key(tmp_path: Path) -> None:
    settings = _settings(tmp_path, APP_ENV="production", STORAGE_PROVIDER="local")

    with pytest.raises(SettingsError):
        build_storage(settings)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
