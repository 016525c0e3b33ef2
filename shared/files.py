"""Receive a byte stream into the temp area, hashing and counting on the way."""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import threading
import uuid
from pathlib import Path

from shared.errors import InsufficientStorage, PayloadTooLarge

# Past this much data a helper thread hashes and writes, in blocks of about this size.
_BLOCK = 1024 * 1024
# Blocks waiting for the helper at most: memory stays bounded (~3 MiB) whatever the file size.
_QUEUED_BLOCKS = 2


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
        self._file = open(self.path, "xb", buffering=0)
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

    def _work(self) -> None:
        while (block := self._queue.get()) is not None:
            if self._error is None and not self._discarded:
                try:
                    self._store(block)
                except BaseException as exc:  # handed to the request thread at its next call
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
            raise InsufficientStorage("no space is left in the temporary area", code="temp_storage_full",
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
