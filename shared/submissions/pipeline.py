"""The paid pipeline of a submission: convert -> preview -> upload -> persist-profile.

Submissions run on the pipeline kernel (``shared/pipeline/``) like media jobs:
each delivery is counted and committed before any work, files are written under
temporary names and renamed, objects go to deterministic keys
(``profiles/<submission_id>/...``), and state changes are conditional updates under a
row lock (:class:`SubmissionSteps` is the adapter). Every step message carries
``(submission_id, run)``; a late message of an earlier run is ignored. ``convert`` first checks that the payment is still on the
canonical chain (a reorg may have dropped it since it was confirmed), and ``persist``
checks again right before publishing.
"""

from __future__ import annotations

import functools
import logging
import shutil
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from shared.db import utcnow
from shared.events.outbox import record_event
from shared.jobs.presets import PRESETS
from shared.jobs.steps import describe_output
from shared.media import images, video
from shared.media.info import MediaInfo
from shared.moderation.lexicon import get_matcher
from shared.pipeline import runner
from shared.pipeline.ledger import DONE, fresh_steps, mark_step
from shared.pipeline.runner import RECORDED, Adapter, upload_outputs
from shared.profiles.models import Profile, User
from shared.profiles.service import save_profile
from shared.submissions.errors import SubmissionNotRetryable, UploadMissing
from shared.submissions.models import PIPELINE_STEPS, Submission, SubmissionStatus
from shared.submissions.payment import reverify_payment
from shared.submissions.service import (
    SubmissionContext,
    get_submission,
    locked,
    record_status,
    release_uploads,
    touch,
)
from shared.uploads.errors import UploadNotFound
from shared.uploads.models import Upload
from shared.uploads.service import fetch_source

log = logging.getLogger(__name__)

S = SubmissionStatus
AVATAR_SIZES = PRESETS["avatar"].image.sizes
STORAGE_PREFIX = "profiles/"
ACTIVE = (S.PAID.value, S.PROCESSING.value)
EXPECTED_OUTPUTS = frozenset({"webm", "poster", "preview", *(f"avatar_{n}" for n in AVATAR_SIZES),
                              *(f"avatar_{n}_webp" for n in AVATAR_SIZES)})


@dataclass(frozen=True)
class Snapshot:
    id: uuid.UUID
    wallet: str
    run: int
    profile_data: dict[str, Any]
    source_info: dict[str, Any]
    outputs: dict[str, Any]
    image_upload_id: uuid.UUID
    video_upload_id: uuid.UUID


def work_dir(ctx: SubmissionContext, submission_id: uuid.UUID) -> Path:
    return Path(ctx.settings.TEMP_DIR) / "submissions" / str(submission_id)


def storage_prefix(submission_id: uuid.UUID) -> str:
    return f"{STORAGE_PREFIX}{submission_id}/"


class SubmissionSteps(Adapter[SubmissionContext, Snapshot]):
    """Submissions on the pipeline kernel: steps run while paid or processing; ``run`` is the run."""

    model = Submission
    active = frozenset(ACTIVE)
    running = S.PROCESSING.value

    @property
    def steps(self):
        return STEP_FUNCTIONS

    def run_of(self, row: Submission) -> int:
        return row.run

    def start(self, session, row: Submission) -> Snapshot:
        row.status = S.PROCESSING.value
        touch(row)
        record_status(session, row)
        return Snapshot(row.id, row.wallet, row.run, dict(row.profile_data), dict(row.source_info),
                        {k: dict(v) for k, v in row.outputs.items()}, row.image_upload_id, row.video_upload_id)

    def recorded(self, session, row: Submission) -> None:
        touch(row)
        record_status(session, row)

    def mark_failed(self, ctx: SubmissionContext, session, row: Submission, code: str, message: str, *,
                    retryable: bool) -> None:
        # ``retryable`` is decided later, from the code (RETRYABLE_ERRORS): the payment stays recorded.
        _mark_failed(session, row, code, message)

    def cleanup(self, ctx: SubmissionContext, row: Submission, *, keep_source: bool) -> None:
        # The uploads stay until the submission's expiry either way: only the work folder goes.
        shutil.rmtree(work_dir(ctx, row.id), ignore_errors=True)

    def media_type(self, snapshot: Snapshot) -> str:
        return "video"  # convert and preview both render the video (preview adds the avatar)


SUBMISSIONS = SubmissionSteps()


def run_step(ctx: SubmissionContext, submission_id: uuid.UUID | str, step: str, run: int) -> bool:
    """Run one step; False when there was nothing to do. Permanent errors fail the submission."""
    return runner.run_step(SUBMISSIONS, ctx, submission_id, step, run)


def begin_step(ctx: SubmissionContext, submission_id: uuid.UUID, step: str, run: int) -> Snapshot | None:
    """Count this delivery durably and start the step; None when it must not run."""
    return runner.begin_step(SUBMISSIONS, ctx, submission_id, step, run)


def fail_submission(ctx: SubmissionContext, submission_id: uuid.UUID | str, code: str, message: str, *,
                    run: int | None = None) -> bool:
    """Fail a paid submission (its payment stays recorded); True if this call did it."""
    return runner.fail(SUBMISSIONS, ctx, submission_id, code, message, retryable=False, run=run)


# Failures a new run may fix: the steps kept failing with transient errors (storage or a worker down).
# Bad media fails with its own code (``corrupt_media``...) and would fail again the same way.
RETRYABLE_ERRORS = frozenset({"retries_exhausted", "attempts_exhausted"})


def retry_submission(ctx: SubmissionContext, submission_id: uuid.UUID, wallet: str) -> Submission:
    """Process a paid submission that failed on transient errors again, as a new run, without paying
    again; raise ``submission_not_retryable`` otherwise. The dispatcher starts the pipeline on the
    ``submission.retried`` event."""
    get_submission(ctx.db, submission_id, wallet)  # 404 / 403 first
    with ctx.db.session() as session:
        row = session.get(Submission, submission_id, with_for_update=True)
        if row.status != S.FAILED.value or row.paid_at is None:
            raise SubmissionNotRetryable(f"the submission is {row.status}; only a paid one that failed can be retried")
        if row.error_code not in RETRYABLE_ERRORS:
            raise SubmissionNotRetryable(f"it failed with {row.error_code}, which another run would not change")
        if row.run >= ctx.settings.SUBMISSION_MAX_RUNS:
            raise SubmissionNotRetryable(f"it was processed {row.run} times (SUBMISSION_MAX_RUNS)")
        sources = [session.get(Upload, upload_id) for upload_id in (row.image_upload_id, row.video_upload_id)]
        if any(upload is None or upload.deleted_at is not None for upload in sources):
            raise SubmissionNotRetryable("its uploaded files are gone (kept SUBMISSION_RETRY_HOURS after a failure)")
        row.status = S.PAID.value
        row.run += 1
        row.steps = fresh_steps(PIPELINE_STEPS)
        row.error_code = row.error_message = None
        touch(row)
        record_status(session, row, "submission.retried")
    log.info("submission %s: run %s requested by its owner", submission_id, row.run)
    return row


def _mark_failed(session, row: Submission, code: str, message: str) -> None:
    row.status = S.FAILED.value
    row.error_code, row.error_message = code, message[:2000]
    touch(row)
    record_status(session, row)
    log.error("submission %s failed: %s: %s", row.id, code, message)


# -- the steps --------------------------------------------------------------------------------


def _info(snapshot: Snapshot, kind: str) -> MediaInfo:
    return MediaInfo.from_dict(snapshot.source_info[kind])


def _local_source(ctx: SubmissionContext, snapshot: Snapshot, kind: str) -> Path:
    """The upload inside the work folder, made once per host from storage (a hard link when
    storage is this disk, else a download): the folder is scratch, any host can make it again.
    The uploads feature owns where files live (``fetch_source``)."""
    directory = work_dir(ctx, snapshot.id)
    path = directory / f"{kind}-source{_info(snapshot, kind).extension}"
    if path.exists():
        return path
    with ctx.db.session() as session:
        upload = session.get(Upload, snapshot.image_upload_id if kind == "image" else snapshot.video_upload_id)
    try:
        if upload is None:
            raise UploadNotFound("no upload row")
        return fetch_source(ctx.settings, upload, path)
    except UploadNotFound:
        raise UploadMissing(f"the {kind} upload of the submission is gone") from None


def _render_video(ctx: SubmissionContext, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    source = _local_source(ctx, snapshot, "video")
    out = video.transcode_webm(source, source.parent, _info(snapshot, "video"), ctx.settings)
    return {"webm": {"state": "rendered", **describe_output(out)}}


def _render_previews(ctx: SubmissionContext, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    source = _local_source(ctx, snapshot, "video")
    image = _local_source(ctx, snapshot, "image")
    info = _info(snapshot, "video")
    # The poster and the avatar sizes are made while ffmpeg encodes the clip: the clip is the
    # longest of the three and leaves part of a core idle, and nothing here depends on another.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="preview") as pool:
        beside = pool.submit(_poster_and_avatar, ctx, source, image, info)
        clip = video.make_preview(source, source.parent, info, ctx.settings)
    return {"preview": {"state": "rendered", **describe_output(clip)}, **beside.result()}


def _poster_and_avatar(ctx: SubmissionContext, source: Path, image: Path, info: MediaInfo) -> dict[str, dict[str, Any]]:
    poster = video.extract_poster(source, source.parent, info, ctx.settings)
    outputs = {"poster": {"state": "rendered", **describe_output(poster)}}
    avatar_dir = image.parent / "avatar"
    for name, out in images.render_image_presets(image, avatar_dir, AVATAR_SIZES, ctx.settings).items():
        described = describe_output(out)
        described["file"] = f"avatar/{described['file']}"
        outputs[f"avatar_{name}"] = {"state": "rendered", **described}
    return outputs


def convert(ctx: SubmissionContext, snapshot: Snapshot) -> dict[str, dict[str, Any]] | None:
    """Re-verify the payment on the canonical chain, then transcode the video to VP9/WebM."""
    if not reverify_payment(ctx, snapshot.id, snapshot.run):
        return None
    return _render_video(ctx, snapshot)


def preview(ctx: SubmissionContext, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Poster frame, preview clip and the avatar sizes (JPEG + WebP)."""
    return _render_previews(ctx, snapshot)


def upload(ctx: SubmissionContext, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Put every output into the platform storage under ``profiles/<submission_id>/``."""
    producers = [functools.partial(produce, ctx, snapshot) for produce in (_render_video, _render_previews)]
    return upload_outputs(ctx.storage(), work_dir(ctx, snapshot.id), storage_prefix(snapshot.id), snapshot.outputs,
                          producers, expected=EXPECTED_OUTPUTS)


def _public(out: dict[str, Any]) -> dict[str, Any]:
    return {key: out.get(key) for key in ("key", "content_type", "size", "width", "height", "duration")
            if out.get(key) is not None}


def persist(ctx: SubmissionContext, snapshot: Snapshot) -> dict[str, dict[str, Any]] | None:
    """Re-check the payment on the canonical chain, then create or update the wallet's profile and
    publish the submission (one transaction)."""
    # A reorg deeper than the confirmations may have dropped the payment since convert checked it.
    if not reverify_payment(ctx, snapshot.id, snapshot.run):
        return None
    data = snapshot.profile_data
    now = utcnow()
    matcher = get_matcher(ctx.db)
    with ctx.db.session() as session:
        if (row := locked(session, snapshot.id, S.PROCESSING.value, run=snapshot.run)) is None:
            return None
        outputs = row.outputs
        avatar = {name.removeprefix("avatar_"): _public(out) for name, out in sorted(outputs.items())
                  if name.startswith("avatar_")}
        media = {name: _public(outputs[name]) for name in ("webm", "poster", "preview") if name in outputs}
        previous = _previous_media(session, snapshot.wallet)
        profile = save_profile(
            session, matcher, snapshot.wallet, hashtags=data.get("hashtags") or [], published_at=now,
            name=data.get("name"), url=data.get("url"), activity_hobbies=data.get("activity_hobbies"),
            is_incognito=bool(data.get("is_incognito")), avatar_outputs=avatar, video_outputs=media)
        mark_step(row, "persist", DONE)
        row.status = S.PUBLISHED.value
        row.published_at = now
        touch(row, now)
        record_status(session, row)
        record_event(session, "profile.published", profile.id,
                     {"wallet": snapshot.wallet, "submission_id": str(row.id)})
    shutil.rmtree(work_dir(ctx, snapshot.id), ignore_errors=True)
    release_uploads(ctx.db, ctx.settings, row)
    _remove_previous_media(ctx, snapshot.id, previous)
    return RECORDED


def _previous_media(session, wallet: str) -> set[str]:
    """Submission folders the wallet's profile used before this one (replaced by it)."""
    profile = session.scalars(select(Profile).join(User, User.id == Profile.user_id)
                              .where(User.wallet == wallet)).one_or_none()
    if profile is None:
        return set()
    keys = [out.get("key", "") for group in (profile.avatar_outputs or {}, profile.video_outputs or {})
            for out in group.values() if isinstance(out, dict)]
    return {key.split("/")[1] for key in keys if key.startswith(STORAGE_PREFIX) and key.count("/") >= 2}


def _remove_previous_media(ctx: SubmissionContext, current: uuid.UUID, folders: set[str]) -> None:
    for folder in folders - {str(current)}:
        try:
            ctx.storage().delete_prefix(f"{STORAGE_PREFIX}{folder}/")
        except Exception:  # an orphan left behind is harmless; the next publish does not need it
            log.warning("could not remove the replaced profile media %s", folder, exc_info=True)


STEP_FUNCTIONS: dict[str, Callable[[SubmissionContext, Snapshot], dict[str, dict[str, Any]] | None]] = {
    "convert": convert,
    "preview": preview,
    "upload": upload,
    "persist": persist,
}
