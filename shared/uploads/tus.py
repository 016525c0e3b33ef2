"""Resumable uploads (tus 1.0) of the profile flow, without the protocol's HTTP.

Web hosts keep nothing between requests: the bytes received so far are in the platform
storage at the upload's key (appended to the file with local storage, one S3 multipart part
per PATCH), and the state (declared length, offset, parts) in a ``tus_uploads`` row, so a
PATCH or HEAD may reach any host. Refused early: the kind and the declared length are
checked at creation, and the declared length is held against the quotas (a reservation of
the upload's id, until it expires with the temp purge rules). When the last byte arrives the
file is probed and sniffed like a one-shot upload, its SHA-256 is computed once, streamed
from storage, and an upload of the same id replaces the row and its hold (docs/PROFILES.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.errors import ShowreelError
from shared.files import incoming_dir, safe_file_name
from shared.media.errors import EmptyFile, FileTooLarge
from shared.media.probe import inspect
from shared.settings import Settings
from shared.storage.base import MIN_PART_BYTES
from shared.storage.errors import StorageError
from shared.uploads import errors, service
from shared.uploads.models import TusUpload, Upload, UploadReservation

log = logging.getLogger(__name__)

VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")
CHECKSUM_ALGORITHMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}
# A PATCH that does not end the upload must bring at least this much (the S3 part minimum).
MIN_CHUNK_BYTES = MIN_PART_BYTES
PROFILE = "profile"
_HASH_READ = 1024 * 1024
_MAX_METADATA_BYTES = 4096


def max_size(settings: Settings) -> int:
    """The largest Upload-Length accepted (Tus-Max-Size): the larger media limit."""
    return max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Decode ``Upload-Metadata`` (``key base64value`` pairs, comma separated); raise InvalidTusRequest."""
    if not header:
        return {}
    if len(header) > _MAX_METADATA_BYTES:
        raise errors.InvalidTusRequest(f"Upload-Metadata may have at most {_MAX_METADATA_BYTES} characters")
    pairs: dict[str, str] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition(" ")
        if not key or key in pairs:
            raise errors.InvalidTusRequest("Upload-Metadata keys must be present and unique")
        try:
            pairs[key] = base64.b64decode(value.strip(), validate=True).decode() if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise errors.InvalidTusRequest(f"Upload-Metadata value of {key!r} is not base64 of UTF-8") from None
    return pairs


def kind_of(metadata: dict[str, str]) -> str:
    """The announced kind: ``kind`` (image|video), else the major type of ``filetype``."""
    kind = metadata.get("kind") or metadata.get("filetype", "").partition("/")[0]
    if kind not in service.KINDS:
        raise errors.InvalidTusRequest("Upload-Metadata must name the kind: kind image|video, "
                                       "or a filetype image/... or video/...")
    return kind


def parse_checksum(header: str | None) -> tuple[str, bytes] | None:
    """Decode ``Upload-Checksum`` (``sha1 <base64>`` or ``sha256 <base64>``)."""
    if not header:
        return None
    algorithm, _, encoded = header.strip().partition(" ")
    if algorithm not in CHECKSUM_ALGORITHMS:
        raise errors.ChecksumAlgorithmUnsupported(
            f"Upload-Checksum algorithm {algorithm!r}; supported: {', '.join(CHECKSUM_ALGORITHMS)}")
    try:
        return algorithm, base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise errors.InvalidTusRequest("Upload-Checksum is not base64") from None


# -- creation ---------------------------------------------------------------------------------


def create(db: Database, settings: Settings, owner: service.Owner, *, length: int,
           metadata: dict[str, str], now: datetime | None = None) -> TusUpload:
    """Start a resumable upload of ``length`` bytes, held against the owner's quotas until it expires.

    Raises InvalidTusRequest (no kind), EmptyFile, FileTooLarge (over the kind's limit: 413
    before any byte is stored) and the quota errors of :func:`service.reserve_intake`.
    """
    kind = kind_of(metadata)
    limit = settings.MAX_IMAGE_BYTES if kind == "image" else settings.MAX_VIDEO_BYTES
    if length <= 0:
        raise EmptyFile("Upload-Length is 0")
    if length > limit:
        raise FileTooLarge(f"Upload-Length {length} is over the {limit} bytes a {kind} may have", limit=limit)
    now = now or utcnow()
    upload_id = uuid.uuid4()
    expires_at = now + timedelta(hours=settings.UPLOAD_TTL_HOURS)
    with db.session() as session:
        service._serialize_intake(session)
        service._enforce_quotas(session, settings, owner, length, now)
        # The declared length counts against the quotas and the temp area until the upload ends.
        session.add(UploadReservation(id=upload_id, owner_wallet=owner.wallet, owner_ip=owner.ip,
                                      size=length, created_at=now, expires_at=expires_at))
        row = TusUpload(id=upload_id, flow=PROFILE, kind=kind, owner_wallet=owner.wallet, owner_ip=owner.ip,
                        length=length, offset=0, meta=metadata, key=_key(upload_id), handle="",
                        parts={"parts": []}, created_at=now, expires_at=expires_at)
        session.add(row)
    try:
        handle = service.upload_storage(settings).begin_parts(row.key, _declared_type(metadata, kind))
    except BaseException:
        _forget(db, upload_id)
        raise
    with db.session() as session:
        stored = session.get(TusUpload, upload_id)
        stored.handle = handle
        session.flush()
        session.expunge(stored)
    return stored


def _key(upload_id: uuid.UUID) -> str:
    # The extension is known only after the probe; the upload's content type is in its row.
    return f"{service.storage_folder(upload_id)}{service.SOURCE_STEM}"


def _declared_type(metadata: dict[str, str], kind: str) -> str:
    filetype = metadata.get("filetype", "")
    return filetype if filetype.partition("/")[0] == kind and len(filetype) < 100 else "application/octet-stream"


# -- state --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What HEAD answers: the bytes received of the declared length, and until when it may resume."""

    id: uuid.UUID
    offset: int
    length: int
    expires_at: datetime | None
    metadata: dict[str, str]


def state(db: Database, upload_id: uuid.UUID, now: datetime | None = None) -> State:
    """The upload's offset; a finished upload answers with its full length.

    The id is the capability (122 random bits, known to the client that created it), so any
    host resumes it without the owner's session or address (a phone changes networks).
    Raises UploadNotFound or UploadExpired.
    """
    now = now or utcnow()
    with db.session() as session:
        row = session.get(TusUpload, upload_id)
        if row is not None:
            _check_live(row, now)
            return State(row.id, row.offset, row.length, row.expires_at, row.meta)
        upload = session.get(Upload, upload_id)
        if upload is None:
            raise errors.UploadNotFound("no such upload")
        service._live(upload, None, now)
        return State(upload.id, upload.size, upload.size, None, {})


def _check_live(row: TusUpload, now: datetime) -> None:
    if row.expires_at <= now:
        raise errors.UploadExpired(f"the upload expired at {row.expires_at.isoformat()}")


def preflight(db: Database, upload_id: uuid.UUID, offset: int, body_length: int | None,
              now: datetime | None = None) -> TusUpload:
    """Refuse a PATCH before its body is read: wrong offset, too long, or a too small middle chunk."""
    now = now or utcnow()
    with db.session() as session:
        row = session.get(TusUpload, upload_id)
        if row is None:
            state(db, upload_id, now)  # a finished upload: its offset is the length, so this PATCH is late
            raise errors.UploadOffsetMismatch("the upload is complete")
        _check_live(row, now)
        session.expunge(row)
    _check_chunk(row, offset, body_length)
    return row


def _check_chunk(row: TusUpload, offset: int, size: int | None) -> None:
    if offset != row.offset:
        raise errors.UploadOffsetMismatch(f"Upload-Offset is {offset}, the server has {row.offset} bytes")
    if size is None:
        return
    if offset + size > row.length:
        raise errors.InvalidTusRequest(f"the chunk ends at {offset + size}, past Upload-Length {row.length}")
    if 0 < size < MIN_CHUNK_BYTES and offset + size < row.length:
        raise errors.UploadChunkTooSmall(f"a chunk that does not end the upload must have at least "
                                         f"{MIN_CHUNK_BYTES} bytes (Tus-Min-Chunk-Size), not {size}",
                                         limit=MIN_CHUNK_BYTES)


# -- appending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """A PATCH body received into this host's scratch, with its SHA-256 (hashed on the way)."""

    path: Path
    size: int
    sha256: str


def append(db: Database, settings: Settings, upload_id: uuid.UUID, offset: int, chunk: Chunk,
           checksum: tuple[str, bytes] | None, now: datetime | None = None) -> State:
    """Add a chunk at ``offset``; the last one completes the upload. The chunk file is removed.

    Raises ChecksumMismatch (the chunk is discarded, the offset stays), UploadOffsetMismatch,
    UploadChunkTooSmall, InvalidTusRequest, UploadBusy (another PATCH holds it), and at
    completion the media errors and UploadKindMismatch (the upload is then dropped whole).
    """
    refused = None
    try:
        _verify(chunk, checksum)
        now = now or utcnow()
        with db.session() as session:
            row = _locked(session, upload_id)
            _check_live(row, now)
            _check_chunk(row, offset, chunk.size)
            if chunk.size:
                storage = service.upload_storage(settings)
                parts = storage.put_part(row.key, row.handle, row.parts.get("parts", []), chunk.path, offset)
                row.parts, row.offset = {"parts": parts}, offset + chunk.size
            done = State(row.id, row.offset, row.length, row.expires_at, row.meta)
            if row.offset == row.length:
                # The last byte: the PATCH's own row lock keeps a second completion out.
                refused = _complete(session, settings, row, now)
    finally:
        chunk.path.unlink(missing_ok=True)
    if done.offset < done.length:
        return done
    if refused is not None:
        service._remove_files(settings, upload_id)  # a whole object now, also on S3
        _forget(db, upload_id)
        raise refused
    return State(done.id, done.length, done.length, None, done.metadata)


def _verify(chunk: Chunk, checksum: tuple[str, bytes] | None) -> None:
    if checksum is None:
        return
    algorithm, expected = checksum
    if algorithm == "sha256":
        actual = bytes.fromhex(chunk.sha256)
    else:
        actual = _file_digest(chunk.path, CHECKSUM_ALGORITHMS[algorithm]())
    if not hmac.compare_digest(actual, expected):
        raise errors.ChecksumMismatch(f"the chunk's {algorithm} differs from Upload-Checksum; it was discarded")


def _file_digest(path: Path, digest: Any) -> bytes:
    with path.open("rb") as source:
        while piece := source.read(_HASH_READ):
            digest.update(piece)
    return digest.digest()


def _locked(session: Session, upload_id: uuid.UUID) -> TusUpload:
    try:
        row = session.get(TusUpload, upload_id, with_for_update={"nowait": True}, populate_existing=True)
    except OperationalError:
        raise errors.UploadBusy("another request is writing this upload; ask HEAD and try again") from None
    if row is None:
        raise errors.UploadOffsetMismatch("the upload is complete or gone; ask HEAD")
    return row


def _complete(session: Session, settings: Settings, row: TusUpload, now: datetime) -> Exception | None:
    """Probe, sniff and hash the whole file from storage, then let an upload replace the row and its hold.

    The SHA-256 is computed here, in the request that brings the last byte, streamed from
    storage (hashlib cannot keep its state between requests); the probe needs the file on
    this host anyway. A refused file is returned as its error, for the caller to drop it whole
    after this transaction (which keeps the offset) ends.
    """
    storage = service.upload_storage(settings)
    storage.complete_parts(row.key, row.handle, row.parts.get("parts", []))
    local = storage.local_path(row.key)
    scratch = None if local is not None else incoming_dir(settings) / f"{row.id}.tus"
    try:
        if scratch is not None:
            storage.get_to_file(row.key, scratch)
        path = local or scratch
        try:
            info = inspect(path, settings, playable=True)
        except ShowreelError as error:
            return error
        if info.kind != row.kind:
            return errors.UploadKindMismatch(f"the file is a{'n' if info.kind == 'image' else ''} {info.kind}, "
                                             f"not a{'n' if row.kind == 'image' else ''} {row.kind}")
        sha256 = _file_digest(path, hashlib.sha256()).hex()
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    owner = service.Owner(wallet=row.owner_wallet, ip=row.owner_ip)
    service._serialize_intake(session)
    service._enforce_quotas(session, settings, owner, row.length, now, own=row.id)
    session.execute(delete(UploadReservation).where(UploadReservation.id == row.id))
    session.add(Upload(id=row.id, kind=info.kind, content_type=info.content_type, size=row.length, sha256=sha256,
                       info=info.as_dict(), temp_path=row.key,
                       file_name=safe_file_name(row.meta.get("filename", ""), info.extension),
                       owner_wallet=row.owner_wallet, owner_ip=row.owner_ip, created_at=now,
                       expires_at=now + timedelta(hours=settings.UPLOAD_TTL_HOURS)))
    session.delete(row)
    return None


# -- termination, expiry ------------------------------------------------------------------------


def terminate(db: Database, settings: Settings, upload_id: uuid.UUID) -> None:
    """Drop an unfinished upload and its bytes at once (tus termination); its hold is freed."""
    with db.session() as session:
        row = _locked(session, upload_id)
        key, handle = row.key, row.handle
    _abort(settings, key, handle, upload_id)
    _forget(db, upload_id)


def _abort(settings: Settings, key: str, handle: str, upload_id: uuid.UUID) -> None:
    try:
        service.upload_storage(settings).abort_parts(key, handle)
    except StorageError:
        log.warning("could not drop the parts of tus upload %s; the temp purge will", upload_id, exc_info=True)
    service._remove_files(settings, upload_id)


def _forget(db: Database, upload_id: uuid.UUID) -> None:
    with db.session() as session:
        session.execute(delete(TusUpload).where(TusUpload.id == upload_id))
        session.execute(delete(UploadReservation).where(UploadReservation.id == upload_id))


def expire(db: Database, settings: Settings, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Drop unfinished uploads past their expiry (the temp purge's 48 h): parts, bytes and rows."""
    now = now or utcnow()
    with db.session() as session:
        rows = session.execute(select(TusUpload.id, TusUpload.key, TusUpload.handle)
                               .where(TusUpload.expires_at <= now).limit(1000)).all()
    if not dry_run:
        for upload_id, key, handle in rows:
            _abort(settings, key, handle, upload_id)
            _forget(db, upload_id)
    return {"tus_uploads_expired": len(rows)}


def unfinished(session: Session, ids: list[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    """Which of ``ids`` are unfinished uploads still alive (their folders in storage are claimed)."""
    return set(session.scalars(select(TusUpload.id).where(TusUpload.id.in_(ids), TusUpload.expires_at > now)))
