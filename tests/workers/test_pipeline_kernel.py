"""The pipeline kernel (issue 13 items 1, 2): one run lifecycle, one observe hook, caps opt-in per actor."""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from shared import metrics
from shared.storage import StorageProvider, get_default_storage
from shared.submissions import pipeline
from shared.submissions.models import Submission
from shared.submissions.service import SubmissionContext
from tests.support.submissions import add_paid_submission


def _recorder(calls: list, kind: str):
    @contextmanager
    def timed(label: str):
        calls.append((kind, label))
        yield {"status": "success"}

    return timed


def _paid_submission(db, ctx: SubmissionContext) -> uuid.UUID:
    """A paid submission whose outputs are rendered in its work folder already."""
    names = ["webm", "poster", "preview", *(f"avatar_{n}" for n in pipeline.AVATAR_SIZES),
             *(f"avatar_{n}_webp" for n in pipeline.AVATAR_SIZES)]
    submission_id = uuid.uuid4()
    folder = pipeline.work_dir(ctx, submission_id)
    folder.mkdir(parents=True)
    for name in names:
        (folder / f"{name}.bin").write_bytes(name.encode())
    return add_paid_submission(db, id=submission_id, outputs={
        name: {"state": "rendered", "file": f"{name}.bin", "content_type": "application/octet-stream"}
        for name in names})


def test_observe_hook_submission_steps_get_generation_and_upload_metrics(db, settings, monkeypatch):
    import workers.observability  # noqa: F401  (a worker process: installs its observer)

    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(metrics, "time_generation", _recorder(calls, "generation"))
    monkeypatch.setattr(metrics, "time_upload", _recorder(calls, "upload"))
    monkeypatch.setitem(pipeline.STEP_FUNCTIONS, "preview", lambda ctx, snapshot: {})  # rendering is not the point
    ctx = SubmissionContext(db=db, settings=settings, chain=lambda: None, storage=lambda: get_default_storage(settings))
    submission_id = _paid_submission(db, ctx)

    assert pipeline.run_step(ctx, submission_id, "preview", 1)
    assert pipeline.run_step(ctx, submission_id, "upload", 1)

    outputs = 3 + 2 * len(pipeline.AVATAR_SIZES)
    assert calls == [("generation", "video")] + [("upload", "local")] * outputs
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row.steps["upload"] == {"state": "done", "deliveries": 1}
        assert all(out["key"].startswith(f"profiles/{submission_id}/") for out in row.outputs.values())


def test_tenant_cap_is_opt_in_a_submission_video_message_costs_no_query_and_a_media_job_is_capped_by_tenant(
        settings, monkeypatch):
    from workers import concurrency
    from workers.actors import broker
    from workers.submission_actors import submission_context  # noqa: F401  (declares the submission actors)

    opened: list[object] = []
    monkeypatch.setattr(concurrency, "get_database", lambda s: opened.append(s) or object())
    monkeypatch.setattr(concurrency, "tenant_limit", lambda db, s, tenant_id, name: 1)
    middleware = concurrency.TenantConcurrency(settings)
    acquired: list[tuple[str, str]] = []

    class Slots:
        def acquire(self, tenant_id, holder, cap):
            acquired.append((tenant_id, holder))
            return True

        def release(self, tenant_id, holder):
            acquired.remove((tenant_id, holder))

    middleware._slots = Slots()

    submission = broker.get_actor("convert_submission").message(str(uuid.uuid4()), 1)
    assert submission.queue_name == "video"
    middleware.before_process_message(broker, submission)
    assert opened == [] and acquired == []  # uncapped by design, and no database round trip

    job_id, tenant_id = str(uuid.uuid4()), str(uuid.uuid4())
    monkeypatch.setitem(concurrency._TENANTS, job_id, tenant_id)  # the job's tenant, looked up before
    job = broker.get_actor("convert_video").message(job_id, 1)
    middleware.before_process_message(broker, job)
    assert acquired == [(tenant_id, job.message_id)]
    middleware.after_process_message(broker, job)
    assert acquired == []


def test_instrumented_storage_is_a_storage_provider_decorator(settings, tmp_path):
    from shared.storage.instrumented import InstrumentedStorage, provider_name

    calls: list[tuple[str, str]] = []
    inner = get_default_storage(settings)
    storage = InstrumentedStorage(inner, _recorder(calls, "upload"))
    source = tmp_path / "a.txt"
    source.write_bytes(b"hello")

    assert isinstance(storage, StorageProvider) and provider_name(storage) == "local"
    storage.put_file("kernel/a.txt", source, "text/plain")
    storage.put_bytes("kernel/b.txt", b"bye", "text/plain")
    assert calls == [("upload", "local")]  # writes of files are timed; the rest passes through
    assert inner.exists("kernel/a.txt") and storage.stat("kernel/b.txt").size == 3
    assert [obj.key for obj in storage.list("kernel/")] == ["kernel/a.txt", "kernel/b.txt"]
    with storage.open("kernel/a.txt") as stored:
        assert stored.read() == b"hello"
    assert storage.delete_prefix("kernel/") == 2 and not inner.exists("kernel/a.txt")
