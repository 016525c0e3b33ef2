"""Request class that streams multipart files into the temp area, hashed on the way."""

from __future__ import annotations

import io

from flask import Request, current_app, request
from werkzeug.formparser import FormDataParser

from shared.files import HashingWriter
from shared.jobs.service import incoming_dir

# How much of the body is asked from the server at once (the parser still takes 64 KiB steps).
READ_AHEAD = 1024 * 1024


class _ReadAhead(io.RawIOBase):
    """Reads the request body from the server in 1 MiB pieces and hands them out in the sizes asked.

    gunicorn keeps what a recv() brought beyond the size asked and copies that rest again on
    every read: at werkzeug's 64 KiB steps a 1 GiB body meant gigabytes of copying.
    """

    def __init__(self, stream):
        super().__init__()
        self._stream = stream
        self._buffer = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._position >= len(self._buffer):
            self._buffer, self._position = self._stream.read(READ_AHEAD), 0
        if size is None or size < 0:
            size = len(self._buffer)
        piece = self._buffer[self._position:self._position + size]
        self._position += len(piece)
        return piece


class _ReadAheadFormDataParser(FormDataParser):
    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype == "multipart/form-data":
            stream = _ReadAhead(stream)
        return super().parse(stream, mimetype, content_length, options)


class StreamingRequest(Request):
    """Uploads land once, in TEMP_DIR/incoming, never fully in memory or in /tmp."""

    form_data_parser_class = _ReadAheadFormDataParser

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        settings = current_app.config["SETTINGS"]
        limit = max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES)
        writer = HashingWriter(incoming_dir(settings), limit)
        self._hashing_writers = [*getattr(self, "_hashing_writers", []), writer]
        return writer

    def discard_uploads(self) -> None:
        """Remove temp files of this request that no use case took over."""
        for writer in getattr(self, "_hashing_writers", []):
            writer.discard()


def allow_upload_body() -> None:
    """Let this request carry a file as large as the media limits allow (others stay small)."""
    settings = current_app.config["SETTINGS"]
    request.max_content_length = max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES) + 1024 * 1024
