"""Request class that streams multipart files into the temp area, hashed on the way."""

from __future__ import annotations

from flask import Request, current_app

from shared.files import HashingWriter
from shared.jobs.service import incoming_dir


class StreamingRequest(Request):
    """Uploads land once, in TEMP_DIR/incoming, never fully in memory or in /tmp."""

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
