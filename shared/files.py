"""Receive a byte stream into the temp area, hashing and counting on the way; name what arrived."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import queue
import re
import select
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
# splice_from: bytes per splice(2) call (the pipe is made this large) and per hashed window.
_PIPE_BYTES = 1024 * 1024
_HASH_WINDOW = 1024 * 1024
_F_SETPIPE_SZ = 1031  # fcntl.F_SETPIPE_SZ, missing from Python 3.11's fcntl


def can_splice() -> bool:
    """Whether :meth:`HashingWriter.splice_from` works here (Linux)."""
    return hasattr(os, "splice")


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

    def splice_from(self, fd: int, count: int, timeout: float | None = None) -> None:
        """Move ``count`` bytes from the socket ``fd`` into the file, hashing them on the way.

        The bytes go socket -> pipe -> file inside the kernel with splice(2): Python never copies
        them on the way in. A helper thread reads each written MiB back from the page cache (a
        ``pread`` into one reusable buffer) and hashes it, so SHA-256 runs on a second core while
        the next bytes arrive. ``timeout`` bounds each wait for data (the socket's own timeout). Raises
        PayloadTooLarge before reading when the total would pass the limit, EOFError when the
        peer stops early, TimeoutError, TempStorageFull on a full disk.
        """
        if self.size + count > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"the file is larger than {self.max_bytes} bytes")
        self._finish()  # what write() queued lands first; the file offset is self.size from here
        start = self.size
        pipe_out, pipe_in = os.pipe2(os.O_CLOEXEC)
        reader = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        windows: queue.Queue[tuple[int, int] | None] = queue.Queue(maxsize=_QUEUED_BLOCKS)
        hasher = threading.Thread(target=self._hash_windows, args=(reader, windows), name="splice-hasher",
                                  daemon=True)
        hasher.start()
        try:
            try:
                fcntl.fcntl(pipe_in, _F_SETPIPE_SZ, _PIPE_BYTES)
            except OSError:  # above /proc/sys/fs/pipe-max-size: the default 64 KiB pipe still works
                pass
            hashed_to = start
            left = count
            while left:
                moved = self._splice_in(fd, pipe_in, min(left, _PIPE_BYTES), timeout)
                left -= moved
                while moved:
                    moved -= os.splice(pipe_out, self._file.fileno(), moved)
                self.size = start + count - left
                if self.size - hashed_to >= _HASH_WINDOW or not left:
                    self._raise_if_failed()
                    windows.put((hashed_to, self.size))
                    hashed_to = self.size
        except OSError as error:
            self._error = self._error or error
        finally:
            windows.put(None)
            hasher.join()
            for descriptor in (pipe_out, pipe_in, reader):
                os.close(descriptor)
        self._raise_if_failed()

    @staticmethod
    def _splice_in(fd: int, pipe_in: int, size: int, timeout: float | None) -> int:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        while True:
            try:
                moved = os.splice(fd, pipe_in, size, flags=os.SPLICE_F_MOVE)
            except BlockingIOError:  # a socket with a timeout is non-blocking underneath
                if not poller.poll(None if timeout is None else int(timeout * 1000)):
                    raise TimeoutError("the client sent nothing for too long") from None
                continue
            if moved == 0:
                raise EOFError("the client closed the connection before the whole body was sent")
            return moved

    def _hash_windows(self, reader: int, windows: queue.Queue[tuple[int, int] | None]) -> None:
        buffer = bytearray(_HASH_WINDOW)
        view = memoryview(buffer)
        while (window := windows.get()) is not None:
            begin, end = window
            try:
                while begin < end and self._error is None:
                    read = os.preadv(reader, [view[:min(end - begin, _HASH_WINDOW)]], begin)
                    if not read:
                        raise OSError(errno.EIO, "the file is shorter than what was written to it")
                    self._hash.update(view[:read])
                    begin += read
            except BaseException as exc:  # noqa: BLE001 - handed to the request thread at its next call
                self._error = exc

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
