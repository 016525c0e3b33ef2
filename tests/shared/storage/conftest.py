"""Backends for the storage contract: every test body runs against memory, local, S3 and Yandex Disk.

S3 is moto's server on loopback, reached over real HTTP by the minio client. Signed
links of the memory and local providers are served by a tiny WSGI app standing in
for the web route, so their downloads also go over real HTTP. Yandex Disk is a small local
server implementing the documented REST endpoints the provider uses (tests/support/yandex_disk.py).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import wrap_file

from shared.storage.base import StorageProvider, content_disposition
from shared.storage.errors import InvalidSignature, LinkExpired, ObjectNotFound
from shared.storage.providers.local import LocalStorage
from shared.storage.providers.memory import MemoryBackend, MemoryStorage
from shared.storage.providers.s3 import S3Storage
from shared.storage.providers.yandex_disk import YandexDiskStorage
from shared.storage.signing import resolve_download
from tests.support.yandex_disk import FakeYandexDisk

PROVIDER_NAMES = ["memory", "local", "s3", "yandex_disk"]
SIGNING_SECRET = "storage-tests-signing-secret"


@dataclass
class DownloadServer:
    """Serves ``/files/<key>?token=`` like the web route: verify, then stream."""

    url: str = ""
    storages: dict[str, StorageProvider] = field(default_factory=dict)

    @Request.application
    def app(self, request: Request) -> Response:
        if not request.path.startswith("/files/"):
            return Response("not found", status=404)
        try:
            name, key, filename = resolve_download(request.args.get("token", ""), SIGNING_SECRET,
                                                   key=request.path.removeprefix("/files/"))
            storage = self.storages[name]
            stat = storage.stat(key)
            stream = storage.open(key)
        except (InvalidSignature, LinkExpired) as exc:
            return Response(exc.code, status=403)
        except ObjectNotFound as exc:
            return Response(exc.code, status=404)
        response = Response(wrap_file(request.environ, stream), direct_passthrough=True,
                            content_type=stat.content_type)
        response.content_length = stat.size
        if filename:
            response.headers["Content-Disposition"] = content_disposition(filename)
        return response


@pytest.fixture(scope="session")
def download_server() -> Iterator[DownloadServer]:
    served = DownloadServer()
    server = make_server("127.0.0.1", 0, served.app, threaded=True)
    served.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield served
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def yandex_disk_server() -> Iterator[FakeYandexDisk]:
    server = FakeYandexDisk().start()
    yield server
    server.stop()


@dataclass
class Backend:
    """One backend of one kind; :meth:`storage` opens providers on it with any prefix."""

    kind: str
    make: Callable[[str, str], StorageProvider]

    def storage(self, prefix: str = "") -> StorageProvider:
        """Return a new provider on this backend that scopes its keys with ``prefix``."""
        return self.make(f"{self.kind}-{uuid.uuid4().hex[:12]}", prefix)


@pytest.fixture(params=PROVIDER_NAMES)
def backend(request: pytest.FixtureRequest, tmp_path: Path, download_server: DownloadServer) -> Backend:
    """A fresh, empty backend of each provider kind in turn."""
    kind = request.param
    if kind == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = f"showreel-test-{uuid.uuid4().hex[:16]}"

        def make(name: str, prefix: str) -> StorageProvider:
            return S3Storage(endpoint=endpoint, bucket=bucket, access_key="testing", secret_key="testing",
                             name=name, prefix=prefix)
    elif kind == "yandex_disk":
        disk = request.getfixturevalue("yandex_disk_server")
        root = f"app:/showreel-test-{uuid.uuid4().hex[:12]}"

        def make(name: str, prefix: str) -> StorageProvider:
            storage = YandexDiskStorage(token=disk.token, root=root, base_url=disk.url, name=name, prefix=prefix,
                                        public_base_url=download_server.url, secret=SIGNING_SECRET,
                                        allow_private=True)  # the fake disk listens on loopback
            download_server.storages[name] = storage
            return storage
    else:
        memory = MemoryBackend()
        root = tmp_path / "storage"

        def make(name: str, prefix: str) -> StorageProvider:
            signed = {"name": name, "prefix": prefix, "public_base_url": download_server.url,
                      "secret": SIGNING_SECRET}
            storage: StorageProvider = (MemoryStorage(backend=memory, **signed) if kind == "memory"
                                        else LocalStorage(root, **signed))
            download_server.storages[name] = storage
            return storage
    return Backend(kind, make)


@pytest.fixture
def storage(backend: Backend) -> StorageProvider:
    """An unprefixed provider on a fresh backend."""
    return backend.storage()
