"""Resumable uploads (tus 1.0) of the profile flow and of the media API, without the protocol's HTTP.

Web hosts keep nothing between requests: the bytes received so far are in the platform
storage at the upload's key (appended to the file with local storage, one S3 multipart part
per PATCH), and the state (declared length, offset, parts) in a ``tus_uploads`` row, so a
PATCH or HEAD may reach any host. Refused early: the kind and the declared length are
checked at creation, and the declared length is held against the quotas (a reservation of
the upload's id, until it expires with the temp purge rules).

The PATCH that brings the last byte only joins the parts into one object, marks the row
``completing`` and records ``upload.assembled``. A worker (:func:`finish`) then streams the
object from storage once, computing its SHA-256 (hashlib cannot keep its state between
requests), probes and sniffs it like a one-shot upload, and makes what the flow makes: an
upload of the same id, which replaces the row and its hold (the profile flow), or a media
job exactly as ``POST /api/media/`` does (the media flow). A refusal leaves the row
``failed`` with the error, answered with the same code. Every step of it may run twice.
(docs/PROFILES.md, docs/TENANTS.md)
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

from sqlalchemy import delete, select, true
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from shared import errors as categories
from shared.db import Database, utcnow
from shared.errors import ShowreelError
from shared.events.outbox import record_event
from shared.files import ReceivedFile, TempStorageFull, incoming_dir, safe_file_name
from shared.media.errors import EmptyFile, FileTooLarge
from shared.media.probe import inspect
from shared.settings import Settings, upload_ip_bytes_ceiling
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
MEDIA = "media"
# The row's life: bytes arriving, then the worker finishing it; failed (refused) or done (media) stay until expiry.
RECEIVING, COMPLETING, FAILED, DONE = "receiving", "completing", "failed", "done"
# Recorded with the last byte: the dispatcher has a worker finish the upload.
ASSEMBLED_EVENT = "upload.assembled"
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
           metadata: dict[str, str], tenant_id: uuid.UUID | None = None,
           now: datetime | None = None) -> TusUpload:
    """Start a resumable upload of ``length`` bytes, held until it ends or expires.

    Without ``tenant_id`` it is the profile flow's: the declared length counts against the
    owner's quotas. With it, a media upload of that tenant: its ``preset`` and ``callback_url``
    (Upload-Metadata) are judged now, and its length counts against the temporary area only.
    Raises InvalidTusRequest (no kind), EmptyFile, FileTooLarge (over the kind's limit: 413
    before any byte is stored), the quota errors of :func:`service.reserve_intake`, and for
    media ``unknown_preset`` and ``callback_url_not_allowed``.
    """
    kind = kind_of(metadata)
    limit = settings.MAX_IMAGE_BYTES if kind == "image" else settings.MAX_VIDEO_BYTES
    if length <= 0:
        raise EmptyFile("Upload-Length is 0")
    if length > limit:
        raise FileTooLarge(f"Upload-Length {length} is over the {limit} bytes a {kind} may have", limit=limit)
    if tenant_id is not None:
        _check_media_options(settings, metadata, kind)
    now = now or utcnow()
    upload_id = uuid.uuid4()
    expires_at = now + timedelta(hours=settings.UPLOAD_TTL_HOURS)
    holder = owner if tenant_id is None else service.Owner(wallet=None, ip=owner.ip)
    with db.session() as session:
        service._serialize_intake(session)
        if tenant_id is None:
            service._enforce_quotas(session, settings, owner, length, now)
        else:
            # A tenant has no visitor quotas, but its bytes wait in the same temporary area.
            _check_tenant_holds(session, settings, tenant_id, length, now)
        # The declared length counts against the quotas and the temp area while the client sends it
        # (see _hold): a creation that never sends a byte frees its hold after TUS_IDLE_HOLD_MINUTES.
        session.add(UploadReservation(id=upload_id, owner_wallet=holder.wallet, owner_ip=_holder_ip(holder.ip, tenant_id),
                                      size=length, created_at=now, expires_at=_idle_expiry(settings, now, expires_at)))
        row = TusUpload(id=upload_id, flow=PROFILE if tenant_id is None else MEDIA, status=RECEIVING,
                        tenant_id=tenant_id, kind=kind, owner_wallet=holder.wallet, owner_ip=holder.ip,
                        length=length, offset=0, meta=metadata, key=_key(upload_id), handle="",
                        parts={"parts": []}, created_at=now, expires_at=expires_at)
        session.add(row)
    try:
        # Never the client's filetype: the object is served under a type the server chose (SPEC 5).
        handle = service.upload_storage(settings).begin_parts(row.key)
    except BaseException:
        _forget(db, upload_id)
        raise
    with db.session() as session:
        stored = session.get(TusUpload, upload_id)
        stored.handle = handle
        session.flush()
        session.expunge(stored)
    return stored


def _check_tenant_holds(session: Session, settings: Settings, tenant_id: uuid.UUID, incoming: int, now: datetime,
                        own: uuid.UUID | None = None) -> None:
    """A tenant's resumable uploads may hold a quarter of the temp area at most, like one address."""
    ceiling = upload_ip_bytes_ceiling(settings.UPLOAD_TEMP_HIGH_WATER_BYTES)
    held = service._held(session, UploadReservation.owner_ip == f"tenant:{tenant_id}", now, own)[1]
    if held + incoming > ceiling:
        raise TempStorageFull(f"this API key's resumable uploads already hold {held} bytes of the temporary "
                              f"area; at most {ceiling} may wait at once", retry_after=60, limit=ceiling)
    service._check_high_water(session, settings, incoming, now, held=service._held(session, true(), now, own)[1])


def _idle_expiry(settings: Settings, now: datetime, upload_expires: datetime) -> datetime:
    return min(upload_expires, now + timedelta(minutes=settings.TUS_IDLE_HOLD_MINUTES))


def _received_id(upload_id: uuid.UUID) -> uuid.UUID:
    """The hold of the bytes already stored (the declared rest is held under the upload's own id)."""
    return uuid.uuid5(upload_id, "received")


def _holds(upload_id: uuid.UUID) -> Any:
    return UploadReservation.id.in_((upload_id, _received_id(upload_id)))


def _hold(session: Session, settings: Settings, row: TusUpload,
          now: datetime) -> tuple[UploadReservation, UploadReservation]:
    """Re-hold an upload's bytes on a PATCH, under its row lock.

    The bytes stored so far are held until the upload expires (they are on disk); the rest of
    the declared length is held for TUS_IDLE_HOLD_MINUTES from now. An upload idle past that
    lost the hold of its rest, so it must pass the quotas again to send more (429 / 507).
    Returns the two holds (the rest, the received), sized for the row's offset now.
    """
    rest = session.get(UploadReservation, row.id, populate_existing=True)
    if rest is None or rest.expires_at <= now:
        if row.tenant_id is None:
            service._enforce_quotas(session, settings, service.Owner(wallet=row.owner_wallet, ip=row.owner_ip),
                                    row.length - row.offset, now, own=row.id)
        else:
            _check_tenant_holds(session, settings, row.tenant_id, row.length - row.offset, now, own=row.id)
    if rest is None:
        rest = UploadReservation(id=row.id, owner_wallet=row.owner_wallet,
                                 owner_ip=_holder_ip(row.owner_ip, row.tenant_id), created_at=now)
        session.add(rest)
    rest.expires_at = _idle_expiry(settings, now, row.expires_at)
    received = session.get(UploadReservation, _received_id(row.id))
    if received is None:
        received = UploadReservation(id=_received_id(row.id), owner_wallet=rest.owner_wallet,
                                     owner_ip=rest.owner_ip, created_at=now, expires_at=row.expires_at)
        session.add(received)
    _resize((rest, received), row)
    return rest, received


def _resize(holds: tuple[UploadReservation, UploadReservation], row: TusUpload) -> None:
    rest, received = holds
    rest.size, received.size = row.length - row.offset, row.offset


def _holder_ip(ip: str, tenant_id: uuid.UUID | None) -> str:
    # A tenant's hold is kept apart from the visitor quotas of the address it calls from.
    return ip if tenant_id is None else f"tenant:{tenant_id}"


def _check_media_options(settings: Settings, metadata: dict[str, str], kind: str) -> None:
    """Judge a media upload's preset and callback URL before a byte arrives (as ``POST /api/media/`` does)."""
    from shared.jobs.presets import get_preset
    from shared.netsafe import check_callback_url

    get_preset(metadata.get("preset") or "default").spec_for(kind)
    if metadata.get("callback_url"):
        check_callback_url(metadata["callback_url"], allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)


def _key(upload_id: uuid.UUID) -> str:
    # The extension is known only after the probe; the upload's content type is in its row.
    return f"{service.storage_folder(upload_id)}{service.SOURCE_STEM}"



# -- state --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """What HEAD answers: the bytes received of the declared length, and until when it may resume."""

    id: uuid.UUID
    offset: int
    length: int
    expires_at: datetime | None
    metadata: dict[str, str]
    status: str = RECEIVING


def _scoped(session: Session, upload_id: uuid.UUID, tenant_id: uuid.UUID | None, **options: Any) -> TusUpload | None:
    """The row, if it belongs to this endpoint: the profile flow's, or this tenant's media uploads."""
    row = session.get(TusUpload, upload_id, **options)
    if row is None:
        return None
    if (row.flow == MEDIA) != (tenant_id is not None) or (tenant_id is not None and row.tenant_id != tenant_id):
        raise errors.UploadNotFound("no such upload")
    return row


def state(db: Database, upload_id: uuid.UUID, now: datetime | None = None, *,
          tenant_id: uuid.UUID | None = None) -> State:
    """The upload's offset; an upload whose bytes are all in answers with its full length.

    The id is the capability (122 random bits, known to the client that created it), so any
    host resumes it without the owner's session or address (a phone changes networks); a
    media upload is also its tenant's only. Raises UploadNotFound or UploadExpired.
    """
    now = now or utcnow()
    with db.session() as session:
        row = _scoped(session, upload_id, tenant_id)
        if row is not None:
            _check_live(row, now)
            return State(row.id, row.offset, row.length, row.expires_at, row.meta, row.status)
        upload = session.get(Upload, upload_id) if tenant_id is None else None
        if upload is None:
            raise errors.UploadNotFound("no such upload")
        service._live(upload, None, now)
        return State(upload.id, upload.size, upload.size, None, {}, DONE)


def _check_live(row: TusUpload, now: datetime) -> None:
    if row.expires_at <= now:
        raise errors.UploadExpired(f"the upload expired at {row.expires_at.isoformat()}")


def preflight(db: Database, upload_id: uuid.UUID, offset: int, body_length: int | None,
              now: datetime | None = None, *, tenant_id: uuid.UUID | None = None) -> TusUpload:
    """Refuse a PATCH before its body is read: wrong offset, too long, or a too small middle chunk."""
    now = now or utcnow()
    with db.session() as session:
        row = _scoped(session, upload_id, tenant_id)
        if row is None:
            # Unknown or expired (raised here), or finished into an upload: then this PATCH is late.
            state(db, upload_id, now, tenant_id=tenant_id)
            raise errors.UploadOffsetMismatch("the upload is complete")
        _check_live(row, now)
        if row.status != RECEIVING:
            raise errors.UploadOffsetMismatch("the upload is complete")  # being finished: its bytes are all in
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


def pending_upload(db: Database, upload_id: uuid.UUID, owner: service.Owner,
                   now: datetime | None = None) -> TusUpload | None:
    """The owner's profile upload still arriving or being finished, or None when there is no such row.

    Raises the refusal a failed one met (its code and category, as the PATCH would have
    answered it), UploadNotFound (another owner's) and UploadExpired.
    """
    with db.session() as session:
        row = session.get(TusUpload, upload_id)
        if row is None or row.flow != PROFILE:
            return None
        if not owner.owns(row):
            raise errors.UploadNotFound("no such upload")
        return _unless_refused(session, row, now)


def pending_view(row: TusUpload) -> dict[str, Any]:
    """What ``GET /api/uploads/<id>/`` shows of an upload not ready yet."""
    return {"id": row.id, "kind": row.kind, "size": row.length, "expires_at": row.expires_at,
            "status": "receiving" if row.status == RECEIVING else "processing"}


def media_upload(db: Database, upload_id: uuid.UUID, tenant_id: uuid.UUID, now: datetime | None = None) -> TusUpload:
    """The tenant's media upload in whatever state; raises the refusal a failed one met, UploadNotFound, UploadExpired."""
    with db.session() as session:
        row = _scoped(session, upload_id, tenant_id)
        if row is None:
            raise errors.UploadNotFound("no such upload")
        return _unless_refused(session, row, now)


def _unless_refused(session: Session, row: TusUpload, now: datetime | None) -> TusUpload:
    """``row``, detached, if it is alive and was not refused; else raise UploadExpired or its refusal."""
    _check_live(row, now or utcnow())
    if row.status == FAILED:
        raise refusal(row)
    session.expunge(row)
    return row


def refusal(row: TusUpload) -> ShowreelError:
    """The error a failed upload met, rebuilt from its row: same code, same category (so same status)."""
    error = row.error or {}
    category = getattr(categories, error.get("category", ""), None)
    if not (isinstance(category, type) and issubclass(category, ShowreelError)):
        category = categories.PermanentError
    return category(error.get("detail"), code=error.get("code"), title=error.get("title"),
                    **error.get("extra", {}))


# -- appending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chunk:
    """A PATCH body received into this host's scratch, with its SHA-256 (hashed on the way)."""

    path: Path
    size: int
    sha256: str


def append(db: Database, settings: Settings, upload_id: uuid.UUID, offset: int, chunk: Chunk,
           checksum: tuple[str, bytes] | None, now: datetime | None = None, *,
           tenant_id: uuid.UUID | None = None) -> State:
    """Add a chunk at ``offset``; the last one joins the parts and hands the upload to a worker.

    The chunk file is removed. Raises ChecksumMismatch (the chunk is discarded, the offset
    stays), UploadOffsetMismatch, UploadChunkTooSmall, InvalidTusRequest, UploadBusy (another
    PATCH holds it). The content is judged later, by :func:`finish`.
    """
    try:
        _verify(chunk, checksum)
        now = now or utcnow()
        with db.session() as session:
            row = _locked(session, upload_id, tenant_id)
            _check_live(row, now)
            if row.status != RECEIVING:
                raise errors.UploadOffsetMismatch("the upload is complete")
            _check_chunk(row, offset, chunk.size)
            holds = _hold(session, settings, row, now)  # before a byte of this chunk is stored
            storage = service.upload_storage(settings)
            if chunk.size:
                parts = storage.put_part(row.key, row.handle, row.parts.get("parts", []), chunk.path, offset)
                row.parts, row.offset = {"parts": parts}, offset + chunk.size
                _resize(holds, row)
            if row.offset == row.length:
                # The last byte: one object now (the row lock keeps a second completion out); a worker
                # hashes and probes it, the request does not wait for that.
                storage.complete_parts(row.key, row.handle, row.parts.get("parts", []))
                row.status = COMPLETING
                record_event(session, ASSEMBLED_EVENT, row.id, {"upload_id": str(row.id), "flow": row.flow})
            return State(row.id, row.offset, row.length, row.expires_at, row.meta, row.status)
    finally:
        chunk.path.unlink(missing_ok=True)


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
        return hashlib.file_digest(source, lambda: digest).digest()


_LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's answer to FOR UPDATE NOWAIT on a locked row


def _locked(session: Session, upload_id: uuid.UUID, tenant_id: uuid.UUID | None = None) -> TusUpload:
    try:
        row = _scoped(session, upload_id, tenant_id, with_for_update={"nowait": True}, populate_existing=True)
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise  # the database itself is unreachable: a 503 database_unavailable
        raise errors.UploadBusy("another request is writing this upload; ask HEAD and try again") from None
    if row is None:
        raise errors.UploadOffsetMismatch("the upload is complete or gone; ask HEAD")
    return row


# -- completion, on a worker -----------------------------------------------------------------------


def finish(db: Database, settings: Settings, upload_id: uuid.UUID, *, storages: Any = None,
           now: datetime | None = None) -> str | None:
    """Hash, probe and keep an upload whose bytes are all in; return its status, None if unknown.

    Run by a worker after ``upload.assembled``; idempotent (a redelivery after a crash at any
    point finds the row finished, or finishes it again from the stored object). The whole
    object is streamed from storage once into this host's scratch (a hard link with local
    storage), hashed there, then probed under the rules of the one-shot path. ``storages``
    resolves tenants' storages (media uploads). A refusal marks the row failed with the
    error and drops the bytes; transient errors (storage down, a probe timeout) are raised
    for the worker to retry.
    """
    with db.session() as session:
        row = session.get(TusUpload, upload_id)
        if row is None or row.status != COMPLETING:
            return None if row is None else row.status
        session.expunge(row)
    # One file per delivery: two deliveries of one upload on one host never read each other's bytes
    # (what a killed worker leaves is removed by the host's scratch sweep).
    scratch = incoming_dir(settings) / f"{row.id}.{uuid.uuid4().hex}.tus"
    try:
        service.fetch_stored(settings, row.key, scratch)
        sha256 = _file_digest(scratch, hashlib.sha256()).hex()
        if row.flow == MEDIA:
            _finish_media(db, settings, storages, row, scratch, sha256, now)
        else:
            _finish_profile(db, settings, row, scratch, sha256, now)
    except ShowreelError as error:
        if error.transient:
            raise
        _fail(db, settings, row.id, error)
        return FAILED
    finally:
        scratch.unlink(missing_ok=True)
    return DONE


def give_up(db: Database, settings: Settings, upload_id: uuid.UUID, reason: str) -> None:
    """Fail an upload whose finishing kept failing on transient errors, rather than leave it processing."""
    _fail(db, settings, upload_id, errors.UploadProcessingFailed(f"{reason}; please send the file again"))


def _finish_profile(db: Database, settings: Settings, row: TusUpload, path: Path, sha256: str,
                    now: datetime | None) -> None:
    info = inspect(path, settings, playable=True)
    if info.kind != row.kind:
        raise errors.UploadKindMismatch(f"the file is a{'n' if info.kind == 'image' else ''} {info.kind}, "
                                        f"not a{'n' if row.kind == 'image' else ''} {row.kind}")
    now = now or utcnow()
    owner = service.Owner(wallet=row.owner_wallet, ip=row.owner_ip)
    with db.session() as session:
        locked = session.get(TusUpload, row.id, with_for_update=True, populate_existing=True)
        if locked is None or locked.status != COMPLETING:
            return  # another delivery finished it meanwhile
        service._serialize_intake(session)
        # Its holds go first: the upload replaces them, so they must not count against it.
        session.execute(delete(UploadReservation).where(_holds(row.id)))
        service._enforce_quotas(session, settings, owner, row.length, now)
        upload = Upload(id=row.id, kind=info.kind, content_type=info.content_type, size=row.length, sha256=sha256,
                        info=info.as_dict(), temp_path=row.key,
                        file_name=safe_file_name(row.meta.get("filename", ""), info.extension),
                        owner_wallet=row.owner_wallet, owner_ip=row.owner_ip, created_at=now,
                        expires_at=now + timedelta(hours=settings.UPLOAD_TTL_HOURS))
        session.add(upload)
        session.delete(locked)
        session.flush()
        service.record_upload_events(session, upload)


def _finish_media(db: Database, settings: Settings, storages: Any, row: TusUpload, path: Path, sha256: str,
                  now: datetime | None) -> None:
    from shared.jobs import service as jobs

    received = ReceivedFile(path=path, size=row.length, sha256=sha256, file_name=row.meta.get("filename", ""))
    # The one-shot path's own use case: same probe, same idempotency (a redelivery finds the job it made).
    result = jobs.create_job(db, storages, settings, tenant_id=row.tenant_id, received=received,
                             preset_name=row.meta.get("preset") or "default",
                             callback_url=row.meta.get("callback_url") or None)
    with db.session() as session:
        locked = session.get(TusUpload, row.id, with_for_update=True, populate_existing=True)
        if locked is None or locked.status != COMPLETING:
            return
        # The row stays (until it expires) so the client can learn its job; the hold and bytes go.
        locked.status, locked.job_id = DONE, result.job_id
        session.execute(delete(UploadReservation).where(_holds(row.id)))
    service._remove_files(settings, row.id)


def _fail(db: Database, settings: Settings, upload_id: uuid.UUID, error: ShowreelError) -> None:
    """Keep the refusal on the row (answered with its code until expiry); free the hold and the bytes."""
    with db.session() as session:
        row = session.get(TusUpload, upload_id, with_for_update=True, populate_existing=True)
        if row is None or row.status != COMPLETING:
            return
        row.status = FAILED
        row.error = {"category": _category(error), "code": error.code, "title": error.title,
                     "detail": error.detail, "extra": {key: value for key, value in error.extra.items()
                                                       if isinstance(value, str | int | float | bool)}}
        session.execute(delete(UploadReservation).where(_holds(upload_id)))
        if row.flow == PROFILE:
            record_event(session, "upload.failed", upload_id, {"code": error.code, "message": error.detail})
    service._remove_files(settings, upload_id)


def _category(error: ShowreelError) -> str:
    """The most specific class of :mod:`shared.errors` the error is (what decides its HTTP status)."""
    for cls in type(error).__mro__:
        if getattr(categories, cls.__name__, None) is cls:
            return cls.__name__
    return "PermanentError"


# -- termination, expiry ------------------------------------------------------------------------


def terminate(db: Database, settings: Settings, upload_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None) -> None:
    """Drop an unfinished upload and its bytes at once (tus termination); its hold is freed.

    Raises UploadBusy while a worker finishes it.
    """
    with db.session() as session:
        row = _locked(session, upload_id, tenant_id)
        if row.status == COMPLETING:
            raise errors.UploadBusy("the upload is being finished; it can no longer be terminated")
        key, handle, receiving = row.key, row.handle, row.status == RECEIVING
    _abort(settings, key, handle if receiving else "", upload_id)
    _forget(db, upload_id)


def _abort(settings: Settings, key: str, handle: str, upload_id: uuid.UUID) -> None:
    try:
        if handle:
            service.upload_storage(settings).abort_parts(key, handle)
    except StorageError:
        log.warning("could not drop the parts of tus upload %s; the temp purge will", upload_id, exc_info=True)
    service._remove_files(settings, upload_id)


def _forget(db: Database, upload_id: uuid.UUID) -> None:
    with db.session() as session:
        session.execute(delete(TusUpload).where(TusUpload.id == upload_id))
        session.execute(delete(UploadReservation).where(_holds(upload_id)))


def expire(db: Database, settings: Settings, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Drop uploads past their expiry (the temp purge's 48 h), finished or not: parts, bytes and rows."""
    now = now or utcnow()
    with db.session() as session:
        rows = session.execute(select(TusUpload.id, TusUpload.key, TusUpload.handle, TusUpload.status)
                               .where(TusUpload.expires_at <= now).limit(1000)).all()
    if not dry_run:
        for upload_id, key, handle, status in rows:
            _abort(settings, key, handle if status == RECEIVING else "", upload_id)
            _forget(db, upload_id)
    return {"tus_uploads_expired": len(rows)}


def unfinished(session: Session, ids: list[uuid.UUID], now: datetime) -> set[uuid.UUID]:
    """Which of ``ids`` are unfinished uploads still alive (their folders in storage are claimed)."""
    return set(session.scalars(select(TusUpload.id).where(TusUpload.id.in_(ids), TusUpload.expires_at > now)))
