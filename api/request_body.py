"""Request class that streams uploads into the temp area, hashed on the way.

Two ways in: a multipart form (browsers), parsed by werkzeug, and a raw body (the file is
the whole body), which skips the parser. Under gunicorn a body of known length is taken
from the client socket itself (see :func:`_take_gunicorn_body`): a raw body is received
into two aligned 1 MiB buffers, hashed there and written with O_DIRECT (``HashingWriter.receive_from``),
a form is read with plain ``recv`` calls, without gunicorn's buffering (which copies every
byte several times). Elsewhere both are read in large pieces from the WSGI input.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Request, current_app, request
from werkzeug.exceptions import BadRequest, ClientDisconnected, RequestTimeout
from werkzeug.formparser import FormDataParser

from shared.files import HashingWriter, incoming_dir

# How much of a form is asked from the server at once (the parser takes 64 KiB steps); small,
# so that what is buffered between the socket and the file stays a few hundred KiB.
READ_AHEAD = 256 * 1024
# Pieces a raw body is read in when it does not come straight from gunicorn's socket.
RAW_READ = 4 * 1024 * 1024


class _ReadAhead(io.RawIOBase):
    """Reads the request body from the server in READ_AHEAD pieces and hands them out in the sizes asked.

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


class _SocketBody(io.RawIOBase):
    """The rest of a request body, read straight from the client socket (after gunicorn's buffered head)."""

    def __init__(self, sock, head: bytes, body, length: int):
        super().__init__()
        self._sock, self._head, self._left, self._body = sock, head, length - len(head), body

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            piece, self._head = self._head, b""
            return piece
        if self._left <= 0:
            return b""
        try:
            piece = self._sock.recv(min(self._left, READ_AHEAD if size is None or size < 0 else size))
        except TimeoutError:
            self._body.failed = True
            raise RequestTimeout("the client sent nothing for too long") from None
        if not piece:
            self._body.failed = True
            raise ClientDisconnected("the client closed the connection before the whole body was sent")
        self._left -= len(piece)
        return piece

    def abandon_if_unread(self) -> None:
        """Make gunicorn close the connection when the parser stopped before the end (e.g. a 413)."""
        if self._head or self._left > 0:
            self._body.failed = True


class _ReadAheadFormDataParser(FormDataParser):
    def parse(self, stream, mimetype, content_length, options=None):
        if mimetype == "multipart/form-data":
            stream = _ReadAhead(stream)
        return super().parse(stream, mimetype, content_length, options)


class StreamingRequest(Request):
    """Uploads land once, in TEMP_DIR/incoming, never fully in memory or in /tmp."""

    form_data_parser_class = _ReadAheadFormDataParser

    def _get_stream_for_parsing(self):
        length = self.content_length
        if (self.mimetype == "multipart/form-data" and length is not None
                and (self.max_content_length is None or length <= self.max_content_length)):
            taken = _take_gunicorn_body(self.environ, length)
            if taken is not None:
                self._socket_body = _SocketBody(*taken, length)
                return self._socket_body
        return super()._get_stream_for_parsing()

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):
        return self._new_writer()

    def _new_writer(self) -> HashingWriter:
        settings = current_app.config["SETTINGS"]
        limit = max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES)
        writer = HashingWriter(incoming_dir(settings), limit)
        self._hashing_writers = [*getattr(self, "_hashing_writers", []), writer]
        return writer

    def receive_body(self) -> HashingWriter:
        """Store the whole raw body as one file in TEMP_DIR/incoming and return its closed writer.

        Raises PayloadTooLarge (over the media limits), 400 when the client stops early,
        408 when it stalls longer than the server's socket timeout.
        """
        writer = self._new_writer()
        length = self.content_length
        taken = _take_gunicorn_body(self.environ, length) if length else None
        if taken is not None:
            sock, head, body = taken
            try:
                writer.write(head)
                writer.receive_from(sock, length - len(head))
            except BaseException as error:
                body.failed = True  # where the next request would start is unknown: close the connection
                if isinstance(error, EOFError):
                    raise ClientDisconnected(str(error)) from None
                if isinstance(error, TimeoutError):
                    raise RequestTimeout(str(error)) from None
                raise
        else:
            stream = self.stream  # werkzeug's: stops at Content-Length, refuses more than max_content_length
            while piece := stream.read(RAW_READ):
                writer.write(piece)
            if self.content_length is not None and writer.size != self.content_length:
                raise BadRequest("the body is shorter than its Content-Length")
        writer.close()
        return writer

    def discard_uploads(self) -> None:
        """Remove temp files of this request that no use case took over (and drop a half-read connection)."""
        for writer in getattr(self, "_hashing_writers", []):
            writer.discard()
        socket_body = getattr(self, "_socket_body", None)
        if socket_body is not None:
            socket_body.abandon_if_unread()


def _take_gunicorn_body(environ: dict[str, Any], length: int | None) -> tuple[Any, bytes, Any] | None:
    """Take a body of ``length`` bytes over from gunicorn: its socket, the head it buffered, its Body.

    gunicorn exposes the client socket as ``gunicorn.socket``; what it read past the headers
    is still in its buffer. Both are taken only when the body is plain (``Content-Length``,
    nothing read yet, gunicorn's LengthReader as pinned in constraints.txt), else None and
    the WSGI input is used. Gunicorn's reader is then told the body is consumed, so it
    neither waits for more nor reads the next request from the middle of this one; a caller
    whose reading breaks off sets ``failed`` on the returned Body, and gunicorn closes the
    connection instead of reusing it.
    """
    sock = environ.get("gunicorn.socket")
    body = environ.get("wsgi.input")
    reader = getattr(body, "reader", None)
    unreader = getattr(reader, "unreader", None)
    if (not length or sock is None or type(reader).__name__ != "LengthReader"
            or getattr(reader, "length", None) != length or not hasattr(unreader, "take_buffered")
            or getattr(getattr(body, "buf", None), "tell", lambda: 1)() != 0):
        return None
    head = unreader.take_buffered()
    if len(head) > length:  # a pipelined next request: leave it to gunicorn
        unreader.unread(head[length:])
        head = head[:length]
    reader.length = 0
    return sock, head, body


def allow_upload_body(most: int | None = None) -> None:
    """Let this request carry a file as large as the media limits allow (others stay small).

    ``most`` (what the caller's quotas have left) lowers the cap: a body of unknown length
    (chunked) is then cut there with a 413 instead of being stored whole and refused after.
    """
    settings = current_app.config["SETTINGS"]
    cap = max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES) + 1024 * 1024
    request.max_content_length = cap if most is None else min(cap, most)
