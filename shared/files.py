"""Receive a byte stream into the temp area, hashing and counting on the way."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from shared.errors import PayloadTooLarge


class HashingWriter:
    """A write-only file in ``directory`` that computes SHA-256 and enforces a size limit.

    Werkzeug's form parser writes uploads into it chunk by chunk, so a file is
    stored once, never held in memory whole, and hashed without a second read.
    """

    def __init__(self, directory: Path, max_bytes: int):
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{uuid.uuid4().hex}.part"
        self.max_bytes = max_bytes
        self.size = 0
        self._hash = hashlib.sha256()
        self._file = open(self.path, "xb")

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.max_bytes:
            self.discard()
            raise PayloadTooLarge(f"the file is larger than {self.max_bytes} bytes")
        self._hash.update(chunk)
        return self._file.write(chunk)

    def seek(self, *args: int) -> int:
        return self._file.seek(*args) if not self._file.closed else 0

    def tell(self) -> int:
        return self.size

    def read(self, *args: int) -> bytes:  # the form parser never reads; FileStorage may peek
        with open(self.path, "rb") as handle:
            return handle.read(*args)

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def discard(self) -> None:
        self.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
