"""Receive a byte stream into the temp area, hashing and counting on the way; name what arrived."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import mmap
import os
import queue
import re
import socket
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

from shared.errors import InsufficientStorage, PayloadTooLarge
from shared.settings import Settings


class TempStorageFull(InsufficientStorage):
    """The temporary area is full: the disk, or the uploads' high-water mark (``shared.uploads``)."""

    code = "temp_storage_full"
    title = "The temporary upload area is full"


@dataclass(frozen=True)
class ReceivedFile:
    """A file the API streamed into the temp area."""

    path: Path
    size: int
    sha256: str
    file_name: str


def incoming_dir(settings: Settings) -> Path:
    return Path(settings.TEMP_DIR) / "incoming"


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str | None, extension: str) -> str:
    """Reduce a client's file name to a safe stem for download names (never a storage path)."""
    stem = os.path.splitext(os.path.basename((name or "").replace("\\", "/")))[0]
    stem = _UNSAFE_NAME.sub("-", stem).strip("-.")[:100] or "file"
    return stem + extension


# Past this much data a helper thread hashes and writes, in blocks of about this size.
_BLOCK = 256 * 1024
# Blocks waiting for the helper at most: memory stays bounded (~1 MiB) whatever the file size.
_QUEUED_BLOCKS = 2
# receive_from: a raw body goes through this many page-aligned buffers of this size (2 MiB per
# upload in progress). One is filled while the other is hashed and written; 1 MiB writes keep
# O_DIRECT at the disk's speed (docs/PROFILES.md, "The way in").
_DIRECT_BUFFERS = 2
_DIRECT_BUFFER = 1024 * 1024
# O_DIRECT offsets and lengths: a multiple of every logical block size in use (512 or 4096).
_DIRECT_ALIGN = 4096
_O_DIRECT = getattr(os, "O_DIRECT", 0)  # Linux; elsewhere the buffers go through the page cache


class HashingWriter:
    """A write-only file in ``directory`` that computes SHA-256 and enforces a size limit.

    Werkzeug's form parser writes uploads into it chunk by chunk, so a file is
    stored once, never held in memory whole, and hashed without a second read.
    Large files are hashed and written by a helper thread: reading and parsing the
    request holds the GIL, SHA-256 and ``write`` release it, so the two overlap on
    two cores (docs/PROFILES.md, the upload benchmark). Small files never start it.
    """

    def __init__(self, directory: Path, max_bytes: int):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{uuid.uuid4().hex}.part"
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self._file = open(self.path, "xb", buffering=0)  # noqa: SIM115 - owned by the object, closed in close()/discard()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._queue: queue.Queue[list[bytes] | None] | None = None
        self._helper: threading.Thread | None = None
        self._error: BaseException | None = None
        self._discarded = False
        self._direct = False  # receive_from's writes go around the page cache (O_DIRECT)

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"the file is larger than {self.max_bytes} bytes")
        self._pending.append(bytes(chunk))
        self._pending_size += len(chunk)
        if self._pending_size >= _BLOCK:
            self._hand_on()
        return len(chunk)

    def _hand_on(self) -> None:
        block, self._pending, self._pending_size = self._pending, [], 0
        if self._helper is None:
            self._queue = queue.Queue(maxsize=_QUEUED_BLOCKS)
            self._helper = threading.Thread(target=self._work, name="hashing-writer", daemon=True)
            self._helper.start()
        self._raise_if_failed()
        self._queue.put(block)

    def receive_from(self, sock: socket.socket, count: int) -> None:
        """Receive ``count`` more bytes from ``sock`` into the file, hashing them on the way.

        The bytes are received into page-aligned buffers (one copy, kernel to user). While the
        next one fills, a helper thread hashes a full buffer where it lies and a second one writes
        it to the file with ``O_DIRECT``: the bytes are neither copied into the page cache nor
        read back from it (docs/PROFILES.md, "The way in"). Where the file system refuses
        ``O_DIRECT``, the same buffers are written through the page cache. The socket's own
        timeout bounds each wait for data. Raises PayloadTooLarge before reading when the total
        would pass the limit, EOFError when the peer stops early, TimeoutError, TempStorageFull
        on a full disk.
        """
        if self.size + count > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"the file is larger than {self.max_bytes} bytes")
        if not count:
            return
        head = b""
        if self._helper is None and self._file.tell() == 0:  # what write() kept opens the first buffer
            head, self._pending, self._pending_size = b"".join(self._pending), [], 0
        else:
            self._finish()
        self._direct = self._file.tell() % _DIRECT_ALIGN == 0 and self._use_direct(True)
        arenas = [mmap.mmap(-1, _DIRECT_BUFFER) for _ in range(_DIRECT_BUFFERS)]
        views = [memoryview(arena) for arena in arenas]
        # A buffer is filled again once the hasher and the writer have both released it.
        released = [threading.Semaphore(2) for _ in views]
        handed: list[queue.Queue[tuple[int, int] | None]] = [queue.Queue(), queue.Queue()]
        helpers = [threading.Thread(target=self._serve_buffers, args=(work, views, items, released),
                                    name=name, daemon=True)
                   for work, items, name in ((self._hash.update, handed[0], "receive-hasher"),
                                             (self._write_out, handed[1], "receive-writer"))]
        for helper in helpers:
            helper.start()
        try:
            left, index = count, 0
            while (left or head) and self._error is None:
                released[index].acquire()
                released[index].acquire()
                view, filled = views[index], len(head)
                view[:filled], head = head, b""
                while left and filled < len(view):
                    got = sock.recv_into(view[filled:filled + left])
                    if not got:
                        raise EOFError("the client closed the connection before the whole body was sent")
                    filled += got
                    left -= got
                    self.size += got
                for items in handed:
                    items.put((index, filled))
                index = (index + 1) % len(views)
        finally:
            for items, helper in zip(handed, helpers):
                items.put(None)
                helper.join()
            if self._direct:
                self._direct = self._use_direct(False)
            for view, arena in zip(views, arenas):
                view.release()
                # A helper's error keeps a slice in its traceback: that buffer is unmapped with it.
                with contextlib.suppress(BufferError):
                    arena.close()
        self._raise_if_failed()

    def _serve_buffers(self, work, views: list[memoryview], items: queue.Queue, released: list) -> None:
        """A helper of receive_from: ``work`` on each buffer handed on, then release it (after an error: only that)."""
        while (item := items.get()) is not None:
            index, length = item
            if self._error is None:
                try:
                    work(views[index][:length])
                except BaseException as exc:  # noqa: BLE001 - handed to the request thread at its next call
                    self._error = exc
            released[index].release()

    def _write_out(self, view: memoryview) -> None:
        """Write ``view`` at the file's offset, with O_DIRECT while it is on.

        O_DIRECT writes whole blocks only: the last piece of a body goes through the page
        cache, and so does everything after a write the file system refused (EINVAL).
        """
        while view:
            whole = len(view) - len(view) % _DIRECT_ALIGN
            if self._direct and not whole:
                self._direct = self._use_direct(False)
            try:
                view = view[os.write(self._file.fileno(), view[:whole] if self._direct else view):]
            except OSError as error:
                if not (self._direct and error.errno == errno.EINVAL):
                    raise
                self._direct = self._use_direct(False)

    def _use_direct(self, on: bool) -> bool:
        """Turn O_DIRECT on or off for the file; whether it is on (a file system may refuse it)."""
        if not _O_DIRECT:
            return False
        descriptor = self._file.fileno()
        flags = fcntl.fcntl(descriptor, fcntl.F_GETFL)
        try:
            fcntl.fcntl(descriptor, fcntl.F_SETFL, flags | _O_DIRECT if on else flags & ~_O_DIRECT)
        except OSError:  # refused (e.g. tmpfs before Linux 6.6); turning it off is never refused
            return False
        return on

    def _work(self) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None and not self._discarded:
                try:
                    self._store(block)
                except BaseException as exc:  # noqa: BLE001 - handed to the request thread at its next call
                    self._error = exc

    def _store(self, block: list[bytes]) -> None:
        for chunk in block:
            self._hash.update(chunk)
            view = memoryview(chunk)
            while view:
                view = view[self._file.write(view):]

    def _finish(self) -> None:
        """Hash and write everything received so far, and stop the helper."""
        if self._pending:
            if self._helper is None:
                block, self._pending, self._pending_size = self._pending, [], 0
                self._store(block)
            else:
                self._hand_on()
        if self._helper is not None:
            self._queue.put(None)
            self._helper.join()
            self._helper = None
        self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        error, self._error = self._error, None
        if error is None:
            return
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TempStorageFull("no space is left in the temporary area",
                                      retry_after=300) from error
        raise error

    def seek(self, *args: int) -> int:
        # The parser seeks to 0 when the file ends: every block must be written first.
        if self._file.closed:
            return 0
        self._finish()
        return self._file.seek(*args)

    def tell(self) -> int:
        return self.size

    def read(self, *args: int) -> bytes:  # the form parser never reads; FileStorage may peek
        self.flush()
        with open(self.path, "rb") as handle:
            return handle.read(*args)

    def flush(self) -> None:
        if not self._file.closed:
            self._finish()

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._finish()
            finally:
                self._file.close()

    @property
    def sha256(self) -> str:
        self.flush()
        return self._hash.hexdigest()

    def discard(self) -> None:
        self._discarded = True
        if self._helper is not None:
            self._queue.put(None)
            self._helper.join()
            self._helper = None
        self._pending, self._error = [], None
        self._file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
