"""Stateless hosts (issue 12 item 1): uploads wait in storage, not on the web host that received them.

Each "host" here is a TEMP_DIR of its own; the storage (local folder, or moto's S3 server) is
the only thing they share, as PostgreSQL, Redis and S3 are in production.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from moto.server import ThreadedMotoServer
from PIL import Image

from shared.db import utcnow
from shared.errors import PermanentError
from shared.files import ReceivedFile
from shared.ops.tasks import TASKS, build_context
from shared.storage import get_default_storage
from shared.submissions import pipeline
from shared.submissions.service import SubmissionContext
from shared.uploads import service
from shared.uploads.models import Upload
from tests.support.media import h264_mp4, png_bytes
from tests.support.ops import age

OWNER = service.Owner(wallet=None, ip="192.0.2.10")
OPS_TOKEN = "ops-test-token-5d1c7f0123456789abcdef"


def host(settings, root: Path, name: str):
    """The settings of one host: its own TEMP_DIR (and name), the shared storage."""
    return settings.replace(TEMP_DIR=str(root / name / "tmp"), HOST_NAME=name)


def receive(db, settings, data: bytes = b"", name: str = "me.png", now=None) -> Upload:
    incoming = Path(settings.TEMP_DIR) / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / f"{uuid.uuid4().hex}.part"
    path.write_bytes(data or png_bytes())
    received = ReceivedFile(path=path, size=path.stat().st_size, sha256="a" * 64, file_name=name)
    return service.receive_upload(db, settings, received, OWNER, now=now)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture(scope="module")
def small_video(tmp_path_factory) -> bytes:
    return h264_mp4(tmp_path_factory.mktemp("video") / "clip.mp4", seconds=2.0, size="320x240",
                    audio=False).read_bytes()


@pytest.fixture(scope="module")
def moto_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    address, port = server.get_host_and_port()
    yield f"{address}:{port}"
    server.stop()


@pytest.fixture()
def s3_settings(settings, moto_endpoint):
    return settings.replace(STORAGE_PROVIDER="s3", S3_ENDPOINT=moto_endpoint, S3_ACCESS_KEY="testing",
                            S3_SECRET_KEY="testing", S3_BUCKET=f"uploads-{uuid.uuid4().hex[:12]}")


def test_stateless_hosts_an_upload_is_in_storage_before_it_is_answered(db, redis_client, settings, tmp_path):
    from api.app import create_app

    web = host(settings, tmp_path, "host-a")
    client = create_app(web).test_client()
    response = client.post("/api/uploads/", data={"file": (io.BytesIO(png_bytes()), "me.png")})
    assert response.status_code == 201, response.get_json()
    upload_id = response.get_json()["id"]

    key = f"tmp/uploads/{upload_id}/source.png"
    with get_default_storage(web).open(key) as stored:
        assert stored.read() == png_bytes()
    # Nothing of it is left on the web host: its scratch holds only the (empty) incoming folder.
    assert files_under(Path(web.TEMP_DIR)) == []


def test_stateless_hosts_a_worker_on_another_host_makes_its_work_folder_from_storage(db, settings, tmp_path):
    web, worker = host(settings, tmp_path, "host-a"), host(settings, tmp_path, "host-b")
    upload = receive(db, web)
    snapshot = pipeline.Snapshot(uuid.uuid4(), "0x" + "1" * 40, 1, {}, {"image": upload.info, "video": upload.info}, {},
                                 upload.id, uuid.uuid4())
    ctx = SubmissionContext(db=db, settings=worker, chain=lambda: None, storage=lambda: get_default_storage(worker))

    source = pipeline._local_source(ctx, snapshot, "image")

    assert source.is_relative_to(Path(worker.TEMP_DIR)) and source.read_bytes() == png_bytes()
    # Scratch: the folder is made again from storage after a purge (or on a third host).
    pipeline.work_dir(ctx, snapshot.id).joinpath(source.name).unlink()
    assert pipeline._local_source(ctx, snapshot, "image").read_bytes() == png_bytes()
    # A video upload that is really gone fails the submission with its own code.
    with pytest.raises(PermanentError) as caught:
        pipeline._local_source(ctx, snapshot, "video")
    assert caught.value.code == "upload_missing"


def test_stateless_hosts_s3_previews_redirect_to_presigned_links_that_answer_range(
        db, redis_client, s3_settings, tmp_path, small_video):
    from api.app import create_app

    web = host(s3_settings, tmp_path, "host-a")
    client = create_app(web).test_client()
    response = client.post("/api/uploads/", data={"file": (io.BytesIO(small_video), "clip.mp4")})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    storage = get_default_storage(web)
    assert storage.stat(f"tmp/uploads/{body['id']}/source.mp4").size == len(small_video)
    assert files_under(Path(web.TEMP_DIR)) == []

    preview = client.get(body["preview_url"].removeprefix(web.PUBLIC_BASE_URL))
    assert preview.status_code == 302
    ranged = requests.get(preview.headers["Location"], headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == small_video[1000:2000]

    poster = client.get(body["poster_url"].removeprefix(web.PUBLIC_BASE_URL))
    assert poster.status_code == 302
    jpeg = requests.get(poster.headers["Location"], timeout=30)
    with Image.open(io.BytesIO(jpeg.content)) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
    assert files_under(Path(web.TEMP_DIR)) == []  # the poster's scratch is gone again

    assert client.delete(f"/api/uploads/{body['id']}/").status_code == 204
    assert list(storage.list(f"tmp/uploads/{body['id']}/")) == []


def test_the_temp_purge_removes_unclaimed_objects_under_the_storage_tmp_prefix(db, settings):
    then = utcnow() - timedelta(hours=72)
    waiting, claimed, deleted, fresh = (receive(db, settings, now=then) for _ in range(4))
    with db.session() as session:
        service.claim_upload(session, claimed.id, owner_wallet="0x" + "2" * 40, submission_id=uuid.uuid4(), now=then)
        session.get(Upload, waiting.id).expires_at = utcnow() + timedelta(hours=1)
        session.get(Upload, deleted.id).deleted_at = then
    storage = get_default_storage(settings)
    stray = storage.put_bytes(f"tmp/uploads/{uuid.uuid4()}/source.png", b"left by a crash before the commit")
    root = Path(settings.LOCAL_STORAGE_DIR)
    for path in (root / "tmp").rglob("*"):
        if fresh.id.hex not in path.as_posix().replace("-", ""):
            age(path, 72)

    report = TASKS["purge-temp"].run(build_context(settings, db), {"dry_run": False})["storage"]

    left = {found.key for found in storage.list("tmp/")}
    # Waiting for a submission and taken by one: kept however old. Deleted, stray: removed. Young: kept.
    assert left == {waiting.temp_path, claimed.temp_path, fresh.temp_path}
    assert report["objects_removed"] == 2 and stray.key in report["removed"] and report["errors"] == []


def test_each_host_sweeps_its_own_scratch_once_per_interval_and_the_run_names_it(db, redis_client, settings,
                                                                                   tmp_path):
    from api.app import create_app
    from shared.ops.purge import ScratchSweeper

    hosts = [host(settings, tmp_path, name).replace(SCRATCH_SWEEP_INTERVAL_SECONDS=3600.0)
             for name in ("host-b", "host-c")]
    for each in hosts:
        old = Path(each.TEMP_DIR) / "jobs" / str(uuid.uuid4()) / "run-1" / "source.mp4"
        old.parent.mkdir(parents=True)
        old.write_bytes(b"x" * 100)
        for path in (old, old.parent, old.parent.parent):
            age(path, 49)
        (Path(each.TEMP_DIR) / "young.bin").write_bytes(b"y")

    for each in hosts:
        sweeper = ScratchSweeper(each, lambda: db)
        run = sweeper.maybe_sweep()
        assert run is not None and run.status == "succeeded"
        assert run.stats["host"] == each.HOST_NAME and run.stats["files_removed"] == 1
        assert sweeper.maybe_sweep() is None  # once per interval, whichever process of the host asks
        assert [p.name for p in files_under(Path(each.TEMP_DIR))] == [".scratch-sweep", "young.bin"]

    ops = create_app(settings.replace(OPS_TOKEN=OPS_TOKEN)).test_client()
    runs = ops.get("/api/ops/runs/?schedule=purge-temp", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert runs.status_code == 200
    listed = [(run["trigger"], run["requested_by"], run["stats"]["host"]) for run in runs.get_json()["runs"]]
    assert sorted(listed) == [("host", "host:host-b", "host-b"), ("host", "host:host-c", "host-c")]


def test_a_sweep_waits_for_the_interval_to_pass_since_the_hosts_last_sweep(db, settings, tmp_path):
    from shared.ops.purge import ScratchSweeper

    each = host(settings, tmp_path, "host-b").replace(SCRATCH_SWEEP_INTERVAL_SECONDS=1.0)
    sweeper = ScratchSweeper(each, lambda: db)
    assert sweeper.maybe_sweep() is not None
    assert ScratchSweeper(each, lambda: db).maybe_sweep() is None  # another process of the same host
    time.sleep(1.1)
    assert sweeper.maybe_sweep() is not None
    assert os.path.getsize(sweeper.stamp) > 0


def test_a_hosts_sweep_removes_young_work_folders_of_finished_jobs_and_submissions(db, settings, tmp_path):
    """A worker killed mid-step, or a host that ran only some steps, leaves a work folder the job's
    final step (on another host) never sees: it is scratch of finished work and goes at once."""
    from shared.ops.purge import purge_temp
    from tests.support.ops import make_job

    each = host(settings, tmp_path, "host-b")
    done, running = make_job(db, "done"), make_job(db, "processing")
    left = {job: Path(each.TEMP_DIR) / "jobs" / str(job) / "run-1" / "source.mp4" for job in (done, running)}
    for path in left.values():
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 10)
    published = Path(each.TEMP_DIR) / "submissions" / str(uuid.uuid4()) / "video-source.mp4"
    published.parent.mkdir(parents=True)
    published.write_bytes(b"no row: only age removes it")

    report = purge_temp(db, each.TEMP_DIR, retention=timedelta(hours=48), now=utcnow())

    assert not left[done].exists() and not left[done].parent.parent.exists()
    assert left[running].exists() and published.exists()
    assert report.entries_in_use == 1 and report.files_removed == 1


def test_host_sweeps_do_not_count_as_the_scheduled_purge_in_the_last_success_gauge(db, redis_client, settings,
                                                                                    tmp_path):
    """The "purge missing" alert watches the scheduled purge-temp (which covers storage's tmp/ too):
    hosts sweeping their own scratch every day must not hide that it stopped succeeding."""
    from shared.ops.metrics import SystemCollector
    from shared.ops.purge import sweep_host_scratch

    sweep_host_scratch(db, host(settings, tmp_path, "host-b"))
    families = {family.name: family for family in SystemCollector(db, lambda: redis_client)._database()}
    gauge = families["showreel_ops_last_success_timestamp_seconds"]
    assert [sample.labels for sample in gauge.samples] == []
