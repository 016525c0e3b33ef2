"""Temporary uploads of the profile flow: intake within quotas, reading, deleting, claiming, expiring.

An upload is streamed by the API into ``TEMP_DIR/incoming`` (the web host's scratch,
hashed on the way), probed here, then moved into the platform storage under the temporary
prefix, ``tmp/uploads/<id>/source.<ext>``, before it is answered: with the local provider
a rename (one copy on disk, no second write), with S3 a streamed put. Any host reads it
from there: the worker that processes the submission, the web process serving a preview.
It waits ``UPLOAD_TTL_HOURS`` for a submission to claim it; the ``expire-abandoned`` ops
task removes the unclaimed ones after that, and the temp purge removes what nothing claims
from the prefix. Rows of uploads made before this (``temp_path`` ``uploads/<id>/...``)
are still read from ``TEMP_DIR``. Quotas are computed from the uploads table and, for uploads still streaming,
from the reservations each holds (docs/PROFILES.md).

Everything takes its dependencies as arguments and raises the errors of
:mod:`shared.uploads.errors` and :mod:`shared.media.errors`; nothing knows about HTTP.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, func, or_, select, text, true
from sqlalchemy.orm import Session

from shared.db import Database, utcnow
from shared.events.outbox import record_event
from shared.files import ReceivedFile, safe_file_name
from shared.media.errors import FFmpegFailed
from shared.media.info import MediaInfo
from shared.media.probe import inspect
from shared.security import IPV6_GROUP_PREFIX_CHARS, canonical_address
from shared.settings import Settings, upload_ip_bytes_ceiling
from shared.storage import get_default_storage, signing_secret
from shared.storage.base import StorageProvider, fetch_to_file
from shared.storage.errors import InvalidSignature, ObjectNotFound, StorageError
from shared.storage.signing import sign, verify
from shared.uploads import errors
from shared.uploads.models import Upload, UploadReservation

log = logging.getLogger(__name__)

# The temporary prefix of the platform storage: every object under it is an upload's.
STORAGE_FOLDER = "tmp/uploads"
# Where uploads lived on the web host's disk before they went to storage (rows of that time).
UPLOADS_FOLDER = "uploads"
SOURCE_STEM = "source"
POSTER_FILE = "poster.jpg"
# Scratch of the web host where a poster is taken (TEMP_DIR/posters/<id>, removed right after).
POSTERS_FOLDER = "posters"
QUOTA_WINDOW = timedelta(hours=24)
KINDS = ("image", "video")

# Signed preview links name this pseudo-storage: never a storage /files/ can resolve (tenant
# storage names are "default" or "tenant:<uuid>"), so the tokens are good for previews only.
PREVIEW_STORAGE = "temp-uploads"
# Advisory lock taken by every intake transaction, so two uploads cannot both pass a quota.
_INTAKE_LOCK = 0x5E0_0AD5
# Retry-After of a full temp area that no expiry will relieve (claimed uploads hold it).
_FULL_RETRY_SECONDS = 3600
_MIN_RETRY_SECONDS = 60
# Multipart framing and small form fields around the file (werkzeug keeps fields under 500 kB).
_FORM_ALLOWANCE = 512 * 1024


@dataclass(frozen=True)
class Owner:
    """Who uploads: the signed-in wallet if any, and always the client's IP address."""

    wallet: str | None
    ip: str

    def __post_init__(self) -> None:
        # One spelling per address, so that an IPv6 /64 is a prefix of the stored ones.
        object.__setattr__(self, "ip", canonical_address(self.ip))

    def owns(self, upload: Upload) -> bool:
        """A wallet's uploads belong to that wallet; anonymous ones to the address they came from."""
        if upload.owner_wallet:
            return self.wallet == upload.owner_wallet
        return self.ip == upload.owner_ip


def storage_folder(upload_id: uuid.UUID) -> str:
    """The upload's folder in the platform storage (``tmp/uploads/<id>/``)."""
    return f"{STORAGE_FOLDER}/{upload_id}/"


def upload_storage(settings: Settings) -> StorageProvider:
    """The storage uploads are kept in: the platform's, which every host reaches."""
    return get_default_storage(settings)


def legacy_dir(settings: Settings, upload_id: uuid.UUID) -> Path:
    """Where an upload of the time before storage lived: ``TEMP_DIR/uploads/<id>``."""
    return Path(settings.TEMP_DIR) / UPLOADS_FOLDER / str(upload_id)


def _is_legacy(upload: Upload) -> bool:
    return not upload.temp_path.startswith(STORAGE_FOLDER + "/")


def fetch_source(settings: Settings, upload: Upload, target: Path) -> Path:
    """Make the upload's source file ``target`` on this host (see :func:`fetch_stored`)."""
    legacy = Path(settings.TEMP_DIR) / upload.temp_path if _is_legacy(upload) else None
    return fetch_stored(settings, upload.temp_path, target, local=legacy)


def fetch_stored(settings: Settings, key: str, target: Path, *, local: Path | None = None) -> Path:
    """Make the uploads' stored object ``key`` the file ``target`` on this host: a hard link when
    storage is this disk (or ``local`` names the file), else a streamed download. Raises
    UploadNotFound when the object is gone."""
    try:
        return fetch_to_file(upload_storage(settings), key, target, local=local)
    except ObjectNotFound:
        raise errors.UploadNotFound("the upload's file is gone") from None


def media_info(upload: Upload) -> MediaInfo:
    """The probe result stored with the upload, as the media engine takes it."""
    return MediaInfo.from_dict(upload.info or {})


# -- intake ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    """What :func:`reserve_intake` admitted: its row, and the most bytes the body may bring."""

    id: uuid.UUID
    most: int


def reserve_intake(db: Database, settings: Settings, owner: Owner, request_bytes: int | None,
                   now: datetime | None = None) -> Reservation:
    """Refuse an upload before its body is read, or hold its bytes until :func:`release_intake`.

    ``request_bytes`` is the Content-Length, if any. The check never refuses what the check
    after streaming would accept, so the file is taken as the body less an allowance for the
    other form fields. The hold (a row, shared by every web host) counts against the same
    quotas and the temp area while the body streams: the whole body, or for a body of
    unknown length (chunked) all the quotas have left. ``most`` (form framing included) is
    where the caller cuts such a body.
    Raises UploadQuotaExceeded (429), TempStorageFull (507) or UploadLargerThanQuota (413).
    """
    now = now or utcnow()
    incoming = max(0, (request_bytes or 0) - _FORM_ALLOWANCE)
    largest_file = max(settings.MAX_IMAGE_BYTES, settings.MAX_VIDEO_BYTES)
    with db.session() as session:
        _serialize_intake(session)  # two requests cannot both take the last bytes
        session.execute(delete(UploadReservation).where(UploadReservation.expires_at <= now))
        left = _enforce_quotas(session, settings, owner, incoming, now)
        row = UploadReservation(owner_wallet=owner.wallet, owner_ip=owner.ip, created_at=now,
                                size=min(left, largest_file, request_bytes if request_bytes is not None else left),
                                expires_at=now + timedelta(seconds=settings.UPLOAD_RESERVATION_SECONDS))
        session.add(row)
        session.flush()
        return Reservation(id=row.id, most=left + _FORM_ALLOWANCE)


def release_intake(db: Database, reservation_id: uuid.UUID) -> None:
    """Drop an upload's hold when its request ends, whatever the outcome (idempotent)."""
    with db.session() as session:
        session.execute(delete(UploadReservation).where(UploadReservation.id == reservation_id))


def receive_upload(db: Database, settings: Settings, received: ReceivedFile, owner: Owner, *,
                   kind: str | None = None, reservation: uuid.UUID | None = None,
                   now: datetime | None = None) -> Upload:
    """Probe a streamed file and keep it as a temporary upload of ``owner``.

    Raises the media errors of :func:`shared.media.probe.inspect`, UploadKindMismatch when
    the bytes are not ``kind``, and the quota errors of :func:`reserve_intake` (checked again
    here with the real size, under a lock, counting the other uploads still streaming; the
    upload's own ``reservation`` is replaced by its row). The incoming file is always gone afterwards:
    moved into storage, or removed; a refused upload leaves nothing. Raises StorageError /
    StorageUnavailable (503) when the storage cannot take it.
    """
    try:
        info = inspect(received.path, settings, playable=True)  # paid for later: it must decode now
        if kind is not None and info.kind != kind:
            raise errors.UploadKindMismatch(f"the file is {'an' if info.kind == 'image' else 'a'} "
                                            f"{info.kind}, not {'an' if kind == 'image' else 'a'} {kind}")
        upload_id = uuid.uuid4()
        key = f"{storage_folder(upload_id)}{SOURCE_STEM}{info.extension}"
        # Stored before the 201, outside the intake lock (an S3 put of a large video takes a while):
        # the worker that processes it may run on any host.
        upload_storage(settings).move_file(key, received.path, info.content_type)
        try:
            now = now or utcnow()
            with db.session() as session:
                _serialize_intake(session)
                _enforce_quotas(session, settings, owner, received.size, now, own=reservation)
                if reservation is not None:
                    session.execute(delete(UploadReservation).where(UploadReservation.id == reservation))
                upload = Upload(id=upload_id, kind=info.kind, content_type=info.content_type,
                                size=received.size, sha256=received.sha256, info=info.as_dict(),
                                temp_path=key,
                                file_name=safe_file_name(received.file_name, info.extension),
                                owner_wallet=owner.wallet, owner_ip=owner.ip, created_at=now,
                                expires_at=now + timedelta(hours=settings.UPLOAD_TTL_HOURS))
                session.add(upload)
                record_upload_events(session, upload)
        except BaseException:
            _remove_files(settings, upload_id)
            raise
        return upload
    finally:
        received.path.unlink(missing_ok=True)


def record_upload_events(session: Session, upload: Upload) -> None:
    """Record ``upload.received`` and ``upload.ready`` with the upload's row (docs/ARCHITECTURE.md, "Upload events")."""
    facts = {"kind": upload.kind, "content_type": upload.content_type, "size": upload.size,
             "expires_at": upload.expires_at.isoformat()}
    record_event(session, "upload.received", upload.id, facts)
    # Probed and stored before the commit, so it is ready at once; a later probe would record this later.
    record_event(session, "upload.ready", upload.id, {**facts, "info": upload.info})


def _serialize_intake(session: Session) -> None:
    # SQLite transactions here begin IMMEDIATE (one writer at a time) already.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INTAKE_LOCK})


def _enforce_quotas(session: Session, settings: Settings, owner: Owner, incoming: int, now: datetime, *,
                    own: uuid.UUID | None = None) -> int:
    """Raise when ``incoming`` bytes break a quota; else return the bytes every quota has left.

    Uploads still streaming count with the bytes they hold (all but the ``own`` hold of the
    upload being checked), so parallel uploads cannot each pass on the same bytes.
    """
    since = now - QUOTA_WINDOW
    who = "this wallet" if owner.wallet else "this address"
    left = [_check_window(session, _mine(Upload, owner), since, now, incoming, who=who,
                          held=_held(session, _mine(UploadReservation, owner), now, own),
                          max_count=settings.UPLOAD_DAILY_COUNT, max_bytes=settings.UPLOAD_DAILY_BYTES)]
    # Wallets cost nothing to make, and an IPv6 client has a /64 of addresses: one such client
    # has a ceiling of its own, a quarter of the temp area at most, so no one client fills it.
    ceiling = min(settings.UPLOAD_IP_DAILY_BYTES, upload_ip_bytes_ceiling(settings.UPLOAD_TEMP_HIGH_WATER_BYTES))
    left.append(_check_window(session, _from_address(Upload, owner.ip), since, now, incoming, who="this address",
                              held=_held(session, _from_address(UploadReservation, owner.ip), now, own),
                              max_count=settings.UPLOAD_IP_DAILY_COUNT, max_bytes=ceiling))
    left.append(_check_high_water(session, settings, incoming, now, held=_held(session, true(), now, own)[1]))
    return min(left)


def _mine(model: Any, owner: Owner) -> Any:
    """Rows of ``model`` (uploads or holds) the owner's quota counts: its wallet's, or its address's anonymous ones."""
    if owner.wallet:
        return model.owner_wallet == owner.wallet
    return _from_address(model, owner.ip) & model.owner_wallet.is_(None)


def _from_address(model: Any, ip: str) -> Any:
    """Rows of ``model`` from the client ``ip``: the address itself, or its /64 for IPv6."""
    if ":" in ip:
        return model.owner_ip.startswith(ip[:IPV6_GROUP_PREFIX_CHARS] + ":", autoescape=True)
    return model.owner_ip == ip


def _held(session: Session, where: Any, now: datetime, own: uuid.UUID | None) -> tuple[int, int]:
    """How many uploads still streaming match ``where``, and the bytes they hold (expired holds count for nothing)."""
    query = select(func.count(), func.coalesce(func.sum(UploadReservation.size), 0)).where(
        where, UploadReservation.expires_at > now)
    if own is not None:
        query = query.where(UploadReservation.id != own)
    count, size = session.execute(query).one()
    return count, int(size)


def _check_window(session: Session, mine: Any, since: datetime, now: datetime, incoming: int, *, who: str,
                  held: tuple[int, int], max_count: int, max_bytes: int) -> int:
    if incoming > max_bytes:
        raise errors.UploadLargerThanQuota(f"the file is larger than the {max_bytes} bytes {who} may upload "
                                           "in 24 hours", limit=max_bytes)
    rows = session.execute(select(Upload.created_at, Upload.size).where(mine, Upload.created_at > since)
                           .order_by(Upload.created_at)).all()
    count, total = len(rows) + held[0], sum(size for _, size in rows) + held[1]
    if count < max_count and total + incoming <= max_bytes:
        return max_bytes - total
    retry_after = _window_retry_after(rows, held, incoming, now, max_count, max_bytes)
    streaming = f" ({held[0]} more still streaming)" if held[0] else ""
    if len(rows) + held[0] >= max_count:
        detail = f"{who} made {len(rows)} uploads in the last 24 hours{streaming}; the quota is {max_count}"
        limit = max_count
    else:
        used = sum(size for _, size in rows)
        streaming = f" and {held[1]} bytes are still streaming" if held[0] else ""
        detail = f"{who} uploaded {used} bytes in the last 24 hours{streaming}; the quota is {max_bytes}"
        limit = max_bytes
    raise errors.UploadQuotaExceeded(detail, retry_after=retry_after, limit=limit)


def _window_retry_after(rows: list[Any], held: tuple[int, int], incoming: int, now: datetime,
                        max_count: int, max_bytes: int) -> int:
    """Seconds until ``incoming`` fits the window.

    A minute when uploads still streaming are what tips it over: they may end, or fail, at any
    time. Else when enough stored uploads leave it, oldest first, each 24 hours after it came:
    deleted ones still count (else upload-and-delete loops would be free).
    """
    def fits(count: int, total: int) -> bool:
        return count < max_count and total + incoming <= max_bytes

    count, total = len(rows), sum(size for _, size in rows)
    if fits(count, total):
        return _MIN_RETRY_SECONDS
    count, total = count + held[0], total + held[1]
    for created_at, size in rows:
        count, total = count - 1, total - size
        if fits(count, total):
            return max(1, int((created_at + QUOTA_WINDOW - now).total_seconds()) + 1)
    return _MIN_RETRY_SECONDS


def _check_high_water(session: Session, settings: Settings, incoming: int, now: datetime, *, held: int) -> int:
    high_water = settings.UPLOAD_TEMP_HIGH_WATER_BYTES
    if incoming > high_water:
        raise errors.UploadLargerThanQuota(
            f"the file is larger than the temporary upload area ({high_water} bytes)", limit=high_water)
    stored = session.scalar(select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.deleted_at.is_(None)))
    used = stored + held  # bytes still streaming land in the area too
    if used + incoming <= high_water:
        return high_water - used
    raise errors.TempStorageFull("the temporary upload area is full; try again later",
                                 retry_after=_high_water_retry_after(session, stored, held, incoming, now,
                                                                     high_water),
                                 limit=high_water)


def _high_water_retry_after(session: Session, stored: int, held: int, incoming: int, now: datetime,
                            high_water: int) -> int:
    """Seconds until ``incoming`` fits the temp area.

    A minute when uploads still streaming are what tips it over (they may end, or fail, at any
    time); else when enough unclaimed uploads will have expired; an hour when taken ones fill it.
    """
    if stored + incoming <= high_water:
        return _MIN_RETRY_SECONDS
    used = stored + held
    rows = session.execute(select(Upload.expires_at, Upload.size).where(
        Upload.deleted_at.is_(None), Upload.submission_id.is_(None)).order_by(Upload.expires_at)).all()
    for expires_at, size in rows:
        used -= size
        if used + incoming <= high_water:
            return max(_MIN_RETRY_SECONDS, int((expires_at - now).total_seconds()) + 1)
    return _FULL_RETRY_SECONDS


# -- reading, deleting ----------------------------------------------------------------------


def get_upload(db: Database, upload_id: uuid.UUID, owner: Owner, now: datetime | None = None) -> Upload:
    """The owner's live upload; raises UploadNotFound (unknown, deleted, not theirs) or UploadExpired."""
    with db.session() as session:
        upload = session.get(Upload, upload_id)
        return _live(upload, owner, now or utcnow())


def _live(upload: Upload | None, owner: Owner | None, now: datetime) -> Upload:
    if upload is None or (owner is not None and not owner.owns(upload)):
        raise errors.UploadNotFound("no such upload")
    expired = upload.submission_id is None and upload.expires_at <= now
    if upload.deleted_at is not None and not (expired and upload.deleted_at >= upload.expires_at):
        raise errors.UploadNotFound("the upload was deleted")
    if expired:
        raise errors.UploadExpired(f"the upload expired at {upload.expires_at.isoformat()}")
    return upload


def delete_upload(db: Database, settings: Settings, upload_id: uuid.UUID, owner: Owner,
                  now: datetime | None = None) -> None:
    """Delete the owner's upload and free its space at once.

    Raises UploadNotFound, UploadExpired, or UploadInUse when a submission took it.
    """
    now = now or utcnow()
    with db.session() as session:
        upload = _live(session.get(Upload, upload_id, with_for_update=True), owner, now)
        if upload.submission_id is not None:
            raise errors.UploadInUse("a submission uses this upload; it goes when the submission is done")
        upload.deleted_at = now
    # After the commit: a claim waiting on the row lock now sees it deleted.
    _remove_files(settings, upload_id)


def release_upload(db: Database, settings: Settings, upload_id: uuid.UUID,
                   now: datetime | None = None) -> bool:
    """Delete an upload whatever its state (its submission is published, rejected or expired).

    Idempotent; returns whether it was still there.
    """
    with db.session() as session:
        upload = session.get(Upload, upload_id, with_for_update=True)
        found = upload is not None and upload.deleted_at is None
        if found:
            upload.deleted_at = now or utcnow()
    _remove_files(settings, upload_id)
    return found


def _remove_files(settings: Settings, upload_id: uuid.UUID) -> int:
    """Remove the upload's objects (and a folder of the time before storage); return the bytes freed.

    A storage that fails now is logged, not raised: the row says deleted, so the temp purge
    removes the objects later.
    """
    freed = 0
    storage = upload_storage(settings)
    folder = storage_folder(upload_id)
    try:
        freed = sum(found.size for found in storage.list(folder))
        storage.delete_prefix(folder)
    except StorageError:
        log.warning("could not remove the stored files of upload %s; the temp purge will", upload_id,
                    exc_info=True)
        freed = 0
    return freed + _remove_legacy_folder(settings, upload_id)


def _remove_legacy_folder(settings: Settings, upload_id: uuid.UUID) -> int:
    """Remove ``TEMP_DIR/uploads/<id>`` of an upload from before storage (never following links)."""
    folder = legacy_dir(settings, upload_id)
    freed = 0
    with contextlib.suppress(FileNotFoundError):
        if folder.is_symlink():
            folder.unlink()
            return 0
        for entry in folder.iterdir():
            with contextlib.suppress(OSError):
                freed += entry.lstat().st_size
    shutil.rmtree(folder, ignore_errors=True)
    return freed


# -- the submission side --------------------------------------------------------------------


def claim_upload(session: Session, upload_id: uuid.UUID, *, owner_wallet: str, submission_id: uuid.UUID,
                 kind: str | None = None, now: datetime | None = None) -> Upload:
    """Let a submission of ``owner_wallet`` take an upload (in the caller's transaction).

    The upload is then kept until :func:`release_upload`, however old. An anonymous upload
    may be taken by the wallet that knows its id (its owner signs in after uploading) and
    becomes that wallet's. Claiming again for the same submission is a no-op.
    Raises UploadNotFound (unknown, deleted, another wallet's), UploadAlreadyClaimed,
    UploadExpired, WrongUploadKind.
    """
    # The caller's session may hold the row already: read it again, under the lock.
    upload = session.get(Upload, upload_id, with_for_update=True, populate_existing=True)
    if upload is None or (upload.owner_wallet and upload.owner_wallet != owner_wallet):
        raise errors.UploadNotFound(f"no upload {upload_id}")
    if upload.submission_id is not None and upload.deleted_at is None:
        if upload.submission_id == submission_id:
            return upload
        raise errors.UploadAlreadyClaimed(f"upload {upload_id} is used by another submission")
    _live(upload, None, now or utcnow())
    if kind is not None and upload.kind != kind:
        raise errors.WrongUploadKind(f"upload {upload_id} is {'an' if upload.kind == 'image' else 'a'} "
                                     f"{upload.kind}; {'an' if kind == 'image' else 'a'} {kind} is needed")
    upload.submission_id = submission_id
    upload.owner_wallet = owner_wallet
    session.flush()
    return upload


# -- expiry ---------------------------------------------------------------------------------


def uploads_in_use(db: Database, names: list[str], now: datetime | None = None) -> set[str]:
    """Folder names (upload ids) of uploads still waiting for a submission or taken by one."""
    ids: dict[uuid.UUID, str] = {}
    for name in names:
        with contextlib.suppress(ValueError):
            ids[uuid.UUID(name)] = name
    now = now or utcnow()
    in_use: set[str] = set()
    chunk = list(ids)
    with db.session() as session:
        for start in range(0, len(chunk), 500):
            rows = session.scalars(select(Upload.id).where(
                Upload.id.in_(chunk[start:start + 500]), Upload.deleted_at.is_(None),
                or_(Upload.expires_at > now, Upload.submission_id.is_not(None))))
            in_use.update(ids[row] for row in rows)
        # Resumable uploads still arriving keep the bytes received so far (shared.uploads.tus).
        from shared.uploads.tus import unfinished

        in_use.update(ids[found] for found in unfinished(session, chunk, now))
    return in_use


def expire_uploads(db: Database, settings: Settings, *, now: datetime | None = None, dry_run: bool = False,
                   batch: int = 500) -> dict[str, Any]:
    """Delete expired uploads no submission took: row marked deleted, folder removed."""
    now = now or utcnow()
    expired = removed_bytes = 0
    last: uuid.UUID | None = None
    while True:
        with db.session() as session:
            query = (select(Upload.id).where(Upload.deleted_at.is_(None), Upload.submission_id.is_(None),
                                             Upload.expires_at <= now).order_by(Upload.id).limit(batch))
            if last is not None:
                query = query.where(Upload.id > last)
            ids = list(session.scalars(query))
        if not ids:
            break
        last = ids[-1]
        for upload_id in ids:
            if dry_run:
                expired += 1
                continue
            with db.session() as session:
                # Locked and checked again: a submission may have taken it since.
                upload = session.get(Upload, upload_id, with_for_update=True)
                if upload is None or upload.deleted_at is not None or upload.submission_id is not None:
                    continue
                upload.deleted_at = now
            removed_bytes += _remove_files(settings, upload_id)
            expired += 1
    return {"uploads_expired": expired, "bytes_removed": removed_bytes}


# -- what the client sees -------------------------------------------------------------------


def upload_view(upload: Upload, settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """The upload as the API shows it, with signed preview (and, for videos, poster) links."""
    info = upload.info or {}
    return {
        "id": upload.id,
        "kind": upload.kind,
        "content_type": upload.content_type,
        "size": upload.size,
        "sha256": upload.sha256,
        "width": info.get("width"),
        "height": info.get("height"),
        "duration": info.get("duration"),
        "preview_url": _signed_link(upload, settings, "preview", upload.temp_path, now),
        "poster_url": (_signed_link(upload, settings, "poster", _poster_key(upload), now)
                       if upload.kind == "video" else None),
        "expires_at": upload.expires_at,
    }


def _poster_key(upload: Upload) -> str:
    folder = f"{UPLOADS_FOLDER}/{upload.id}/" if _is_legacy(upload) else storage_folder(upload.id)
    return f"{folder}{POSTER_FILE}"


def _signed_link(upload: Upload, settings: Settings, what: str, key: str, now: datetime | None) -> str:
    expires_at = (now or utcnow()) + timedelta(seconds=settings.PRESIGNED_URL_TTL)
    token = sign(PREVIEW_STORAGE, key, expires_at, None, signing_secret(settings))
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    return f"{base}/api/uploads/{upload.id}/{what}?{urlencode({'token': token})}"


@dataclass(frozen=True)
class PreviewFile:
    """Where a preview or poster is: a file on this host's disk to serve (with Range), or a storage link."""

    upload: Upload
    content_type: str
    path: Path | None = None
    url: str | None = None


def preview_file(db: Database, settings: Settings, upload_id: uuid.UUID, token: str, *, what: str,
                 now: datetime | None = None) -> PreviewFile:
    """The file a signed preview or poster link grants, made on first use for posters.

    Raises InvalidSignature / LinkExpired (403), UploadNotFound, UploadExpired,
    PosterUnavailable, MediaTimeout, StorageUnavailable.
    """
    storage, key, _ = verify(token, signing_secret(settings), now=now)
    with db.session() as session:
        upload = _live(session.get(Upload, upload_id), None, now or utcnow())
    expected = upload.temp_path if what == "preview" else _poster_key(upload)
    if storage != PREVIEW_STORAGE or key != expected:
        raise InvalidSignature("the link does not match the requested file")
    if _is_legacy(upload):
        return _legacy_preview(settings, upload, what)
    if what == "poster":
        _ensure_poster(settings, upload)
        return _located(settings, upload, expected, "image/jpeg")
    return _located(settings, upload, expected, upload.content_type)


def _located(settings: Settings, upload: Upload, key: str, content_type: str) -> PreviewFile:
    storage = upload_storage(settings)
    path = storage.local_path(key)
    if path is None:
        # S3: the browser is sent to the object itself, and S3 answers its Range requests.
        return PreviewFile(upload, content_type, url=storage.presigned_url(key))
    if not path.is_file():
        raise errors.UploadNotFound("the upload's file is gone")
    return PreviewFile(upload, content_type, path=path)


def _ensure_poster(settings: Settings, upload: Upload) -> None:
    """Put the video's poster frame beside the upload in storage on first request.

    Taken with an input seek from a copy in this host's scratch (a link with local storage),
    which is removed again. One ffmpeg per upload on a host; two hosts asking at once both
    write the same object, which is harmless.
    """
    from shared.media.video import extract_poster

    storage = upload_storage(settings)
    key = _poster_key(upload)
    if storage.exists(key):
        return
    scratch = Path(settings.TEMP_DIR) / POSTERS_FOLDER / str(upload.id)
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        with open(scratch / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not storage.exists(key):
                source = fetch_source(settings, upload, scratch / f"{SOURCE_STEM}{media_info(upload).extension}")
                poster = extract_poster(source, scratch, media_info(upload), settings)
                storage.move_file(key, poster.path, "image/jpeg")
    except FFmpegFailed as exc:
        raise errors.PosterUnavailable(str(exc)) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _legacy_preview(settings: Settings, upload: Upload, what: str) -> PreviewFile:
    """Preview of an upload from before storage, served from ``TEMP_DIR/uploads/<id>`` as then."""
    source = Path(settings.TEMP_DIR) / upload.temp_path
    if not source.is_file():
        raise errors.UploadNotFound("the upload's file is gone")
    if what == "preview":
        return PreviewFile(upload, upload.content_type, path=source)
    return PreviewFile(upload, "image/jpeg", path=_ensure_legacy_poster(settings, upload, source))


def _ensure_legacy_poster(settings: Settings, upload: Upload, source: Path) -> Path:
    """The video's poster frame, taken with an input seek on first request and kept beside it."""
    from shared.media.video import extract_poster

    folder = source.parent
    poster = folder / POSTER_FILE
    if poster.is_file():
        return poster
    try:
        with open(folder / ".poster.lock", "a") as lock:
            # One ffmpeg per upload, even with several web processes asking at once.
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not poster.is_file():
                extract_poster(source, folder, media_info(upload), settings)
    except FileNotFoundError:
        raise errors.UploadNotFound("the upload was deleted") from None
    except FFmpegFailed as exc:
        raise errors.PosterUnavailable(str(exc)) from None
    return poster
