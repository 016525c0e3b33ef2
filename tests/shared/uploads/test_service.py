"""Upload life cycle on the submission side: claim, release, expiry, and the temp purge."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from shared.db import utcnow
from shared.files import ReceivedFile
from shared.ops.purge import purge_temp
from shared.ops.tasks import TASKS, build_context
from shared.uploads import errors, service
from shared.uploads.models import Upload
from tests.support.media import png_bytes
from tests.support.ops import age

WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
OTHER_WALLET = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"
ANONYMOUS = service.Owner(wallet=None, ip="192.0.2.10")


def receive(db, settings, owner=ANONYMOUS, now=None) -> Upload:
    incoming = Path(settings.TEMP_DIR) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / f"{uuid.uuid4().hex}.part"
    path.write_bytes(png_bytes())
    received = ReceivedFile(path=path, size=path.stat().st_size, sha256="a" * 64, file_name="me.png")
    return service.receive_upload(db, settings, received, owner, now=now)


def stored(settings, upload: Upload) -> bool:
    """Whether the upload's objects are in storage (tmp/uploads/<id>/)."""
    return any(service.upload_storage(settings).list(service.storage_folder(upload.id)))


def claim(db, upload_id, *, wallet=WALLET, submission_id=None, kind=None, now=None) -> Upload:
    with db.session() as session:
        return service.claim_upload(session, upload_id, owner_wallet=wallet,
                                    submission_id=submission_id or uuid.uuid4(), kind=kind, now=now)


def test_a_submission_claims_an_anonymous_upload_which_becomes_its_wallets(db, settings):
    upload = receive(db, settings)
    submission_id = uuid.uuid4()
    claimed = claim(db, upload.id, submission_id=submission_id, kind="image")
    assert claimed.submission_id == submission_id and claimed.owner_wallet == WALLET
    # Claiming again for the same submission changes nothing; another submission is refused.
    assert claim(db, upload.id, submission_id=submission_id).submission_id == submission_id
    with pytest.raises(errors.UploadAlreadyClaimed):
        claim(db, upload.id)
    with pytest.raises(errors.UploadNotFound):
        claim(db, upload.id, wallet=OTHER_WALLET, submission_id=submission_id)
    with service.upload_storage(settings).open(claimed.temp_path) as source:
        assert source.read() == png_bytes()


def test_claims_refuse_other_wallets_expired_deleted_and_wrong_kinds(db, settings):
    owned = receive(db, settings, service.Owner(wallet=WALLET, ip="192.0.2.10"))
    with pytest.raises(errors.UploadNotFound) as caught:
        claim(db, owned.id, wallet=OTHER_WALLET)
    assert caught.value.code == "upload_not_found"
    with pytest.raises(errors.WrongUploadKind) as caught:
        claim(db, owned.id, kind="video")
    assert caught.value.code == "wrong_upload_kind"
    with pytest.raises(errors.UploadExpired) as caught:
        claim(db, owned.id, now=utcnow() + timedelta(hours=49))
    assert caught.value.code == "upload_expired"
    with pytest.raises(errors.UploadNotFound):
        claim(db, uuid.uuid4())
    service.delete_upload(db, settings, owned.id, service.Owner(wallet=WALLET, ip="198.51.100.1"))
    with pytest.raises(errors.UploadNotFound):
        claim(db, owned.id)


def test_a_claimed_upload_cannot_be_deleted_by_its_owner_and_is_released_by_the_submission(db, settings):
    upload = receive(db, settings)
    claim(db, upload.id)
    with pytest.raises(errors.UploadInUse) as caught:
        service.delete_upload(db, settings, upload.id, service.Owner(wallet=WALLET, ip="198.51.100.1"))
    assert caught.value.code == "upload_in_use"
    assert service.release_upload(db, settings, upload.id) is True
    assert not stored(settings, upload)
    assert service.release_upload(db, settings, upload.id) is False


def test_the_expirer_removes_expired_unclaimed_uploads_and_keeps_claimed_ones(db, settings):
    then = utcnow() - timedelta(hours=49)
    expired, claimed = receive(db, settings, now=then), receive(db, settings, now=then)
    fresh = receive(db, settings)
    claim(db, claimed.id, now=then)
    ctx = build_context(settings, db)

    dry = TASKS["expire-abandoned"].run(ctx, {"dry_run": True})
    assert dry["uploads"]["uploads_expired"] == 1 and stored(settings, expired)

    report = TASKS["expire-abandoned"].run(ctx, {"dry_run": False})
    assert report["uploads"] == {"uploads_expired": 1, "bytes_removed": len(png_bytes())}
    assert not stored(settings, expired)
    assert stored(settings, claimed) and stored(settings, fresh)
    with db.session() as session:
        assert session.get(Upload, expired.id).deleted_at is not None
        assert session.get(Upload, claimed.id).deleted_at is None
    with pytest.raises(errors.UploadExpired):
        service.get_upload(db, expired.id, ANONYMOUS)
    assert TASKS["expire-abandoned"].run(ctx, {"dry_run": False})["uploads"]["uploads_expired"] == 0


def test_the_temp_purge_keeps_old_files_of_uploads_in_use_and_removes_the_rest(db, settings):
    """Uploads of the time before storage (rows naming TEMP_DIR/uploads/<id>) are still protected."""
    temp_dir = Path(settings.TEMP_DIR)
    waiting, claimed, expired = (legacy_upload(db, settings) for _ in range(3))
    claim(db, claimed.id)
    with db.session() as session:
        for upload_id in (claimed.id, expired.id):
            session.get(Upload, upload_id).expires_at = utcnow() - timedelta(hours=1)
    stray = temp_dir / "uploads" / str(uuid.uuid4()) / "source.png"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a crash between the rename and the commit")
    for path in temp_dir.joinpath("uploads").rglob("*"):
        age(path, 72)

    report = purge_temp(db, temp_dir, retention=timedelta(hours=48), now=utcnow())

    assert (temp_dir / waiting.temp_path).exists() and (temp_dir / claimed.temp_path).exists()
    assert not (temp_dir / expired.temp_path).exists() and not stray.exists()
    assert sorted(report.in_use) == sorted([f"uploads/{waiting.id}", f"uploads/{claimed.id}"])


def legacy_upload(db, settings) -> Upload:
    """An upload row of the time before storage: its file in TEMP_DIR/uploads/<id>/."""
    upload_id = uuid.uuid4()
    path = Path(settings.TEMP_DIR) / "uploads" / str(upload_id) / "source.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(png_bytes())
    now = utcnow()
    with db.session() as session:
        upload = Upload(id=upload_id, kind="image", content_type="image/png", size=path.stat().st_size,
                        sha256="a" * 64, info={}, temp_path=f"uploads/{upload_id}/source.png", file_name="a.png",
                        owner_ip=ANONYMOUS.ip, created_at=now, expires_at=now + timedelta(hours=48))
        session.add(upload)
    return upload
