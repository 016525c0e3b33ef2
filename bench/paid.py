"""(d) of issue 14: the paid flow from payment confirmed to published, against its raw media operations.

``python -m bench --only paid`` (or ``python -m bench.paid``) starts the whole system as ``make run``
does (bench/load/system.py: every Procfile process, the dev chain; SQLite + embedded Redis by default,
``--config postgres`` for a private PostgreSQL cluster + redis-server), then, one submission at a time:
a new wallet funded from a dev account signs in, uploads a 640x480 JPEG and the 5 s 320x240 clip of
the load benchmark (fresh bytes each time), submits, pays the quote on the dev chain and posts the
hash. The flow is timed from the submission's ``paid_at`` (written with ``payment.confirmed``, the
start of SPEC 11's "confirmed -> published") to its ``published_at``.

Raw operations: just before or just after each flow (in turns), in this process, the media operations that flow runs, on the
same files with the same settings: ``transcode_webm``, ``extract_poster``, ``make_preview`` and the
avatar presets of the image, timed back to back. The ratio of the medians is the verdict; the
per-round ratios give the spread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import Verdict, judge, markdown_table

HEADING = "## The paid flow: payment confirmed -> published"
GOAL_RATIO = 1.15
DEFAULT_RUNS = 5


def _raw_operations(image: Path, clip: Path, folder: Path) -> dict[str, float]:
    """Seconds of the media operations of one paid pipeline, called directly: the convert step's
    (``convert``), the preview step's (``preview``) and their sum (``total``)."""
    from shared.media import images, video
    from shared.media.probe import inspect
    from shared.settings import get_settings
    from shared.submissions.pipeline import AVATAR_SIZES

    settings = get_settings()
    info = inspect(clip, settings, playable=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    source = folder / f"video-source{clip.suffix}"
    shutil.copyfile(clip, source)
    started = time.perf_counter()
    video.transcode_webm(source, folder, info, settings)
    converted = time.perf_counter()
    video.extract_poster(source, folder, info, settings)
    video.make_preview(source, folder, info, settings)
    images.render_image_presets(image, folder / "avatar", AVATAR_SIZES, settings)
    ended = time.perf_counter()
    return {"convert": converted - started, "preview": ended - converted, "total": ended - started}


class Owner:
    """A profile owner on the running system, as the load benchmark's ProfileUser (HTTP + dev chain)."""

    def __init__(self, base: str):
        import requests
        from web3 import Web3

        self.base, self.http = base, requests.Session()
        chain = self.http.get(f"{base}/api/dev/chain/", timeout=10).json()
        self.bank = chain["accounts"][0]
        self.web3 = Web3(Web3.HTTPProvider(chain["rpc_url"], request_kwargs={"timeout": 30}))
        self.price = int(chain["price_wei"])

    def _send(self, key: str, to: str, value: int) -> str:
        from eth_account import Account

        account = Account.from_key(key)
        tx = {"to": to, "value": value, "gas": 21_000, "chainId": self.web3.eth.chain_id,
              "nonce": self.web3.eth.get_transaction_count(account.address, "pending"),
              "maxFeePerGas": 2 * self.web3.eth.gas_price + 2 * 10**9, "maxPriorityFeePerGas": 10**9}
        tx_hash = self.web3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.2)
        return tx_hash.to_0x_hex()

    def _post(self, path: str, **kwargs) -> dict[str, Any]:
        response = self.http.post(self.base + path, timeout=60, **kwargs)
        if response.status_code not in (200, 201, 202):
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    def publish(self, image: bytes, clip: bytes, timeout: float = 300) -> str:
        """Run one profile to ``published``; return the submission id."""
        from eth_account import Account
        from eth_account.messages import encode_defunct

        wallet = Account.create()
        self._send(self.bank["private_key"], wallet.address, self.price * 3)
        message = self.http.get(f"{self.base}/api/auth/nonce/", params={"address": wallet.address},
                                timeout=10).json()["message"]
        signature = wallet.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
        auth = {"Authorization": "Bearer " + self._post("/api/auth/login/", json={"message": message,
                                                                                  "signature": signature})["token"]}
        image_id = self._post("/api/uploads/", headers=auth, data={"kind": "image"},
                              files={"file": ("me.jpg", image)})["id"]
        video_id = self._post("/api/uploads/", headers=auth, data={"kind": "video"},
                              files={"file": ("me.mp4", clip)})["id"]
        submission = self._post("/api/submissions/", headers=auth, json={
            "profile_data": {"name": f"Bench {wallet.address[:8]}", "hashtags": "#bench"},
            "image_upload_id": image_id, "video_upload_id": video_id})["id"]
        quote = self.http.get(f"{self.base}/api/submissions/{submission}/", headers=auth, timeout=10).json()["quote"]
        tx_hash = self._send(wallet.key.to_0x_hex(), quote["to"], int(quote["amount_wei"]))
        self._post(f"/api/submissions/{submission}/payment/", headers=auth, json={"tx_hash": tx_hash})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.http.get(f"{self.base}/api/submissions/{submission}/", headers=auth,
                                   timeout=10).json()["status"]
            if status in ("published", "failed", "refused"):
                if status != "published":
                    raise RuntimeError(f"submission {submission} ended {status}")
                return submission
            time.sleep(0.1)
        raise RuntimeError(f"submission {submission} not published after {timeout:.0f} s")


PHASES = ("convert", "preview", "upload", "persist")


def _flow_seconds(database_url: str, submission: str) -> dict[str, float]:
    """``published_at - paid_at`` of a submission (``total``), and when each step was recorded done,
    counted from ``paid_at`` (from its status events in the outbox), from the system's database."""
    import uuid

    from sqlalchemy import create_engine, or_, select

    from shared.events.models import OutboxEvent
    from shared.submissions.models import Submission

    key = uuid.UUID(submission)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            paid, published = connection.execute(select(Submission.paid_at, Submission.published_at)
                                                 .where(Submission.id == key)).one()
            events = connection.execute(select(OutboxEvent.created_at, OutboxEvent.payload)
                                        .where(or_(OutboxEvent.aggregate_id == str(key),
                                                   OutboxEvent.aggregate_id == key.hex))
                                        .order_by(OutboxEvent.id)).all()
    finally:
        engine.dispose()
    paid = _utc(paid)
    found = {"total": (_utc(published) - paid).total_seconds()}
    for created, payload in events:
        for step, state in ((payload or {}).get("steps") or {}).items():
            if state == "done" and step not in found and _utc(created) >= paid:
                found[step] = (_utc(created) - paid).total_seconds()
    return found


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def measure(runs: int, config: str) -> dict[str, Any]:
    from bench.load.fixtures import make_fixtures, unique_jpeg, unique_mp4
    from bench.load.system import start_system

    folder = Path(tempfile.mkdtemp(prefix="showreel-bench-paid-"))
    try:
        fixtures = make_fixtures(folder / "fixtures", photos=0)
        image_bytes, clip_bytes = (fixtures / "small-3.jpg").read_bytes(), (fixtures / "clip.mp4").read_bytes()
        flows, raws = [], []
        with start_system(folder / "system", config) as system:
            owner = Owner(system.base)
            for n in range(runs + 1):  # the first one warms the workers up, untimed
                image, clip = unique_jpeg(image_bytes), unique_mp4(clip_bytes)
                (folder / "me.jpg").write_bytes(image)
                (folder / "me.mp4").write_bytes(clip)
                # Turns alternate, so drift (other load on the machine) reaches both alike.
                if n % 2:
                    raw = _raw_operations(folder / "me.jpg", folder / "me.mp4", folder / "raw")
                submission = owner.publish(image, clip)
                if not n % 2:
                    raw = _raw_operations(folder / "me.jpg", folder / "me.mp4", folder / "raw")
                if n:
                    flows.append(_flow_seconds(system.database_url, submission))
                    raws.append(raw)
                    steps = ", ".join(f"{p} {flows[-1][p] * 1000:.0f}" for p in PHASES if p in flows[-1])
                    print(f"    paid flow {flows[-1]['total'] * 1000:.0f} ms (steps done at {steps} ms), raw "
                          f"operations {raw['total'] * 1000:.0f} ms (convert {raw['convert'] * 1000:.0f})", flush=True)
        return {"flow_s": flows, "raw_s": raws, "config": config}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def verdicts(results: dict[str, Any]) -> list[Verdict]:
    flows, raws = [f["total"] for f in results["flow_s"]], [r["total"] for r in results["raw_s"]]
    ratio = statistics.median(flows) / statistics.median(raws)
    ratios = [f / r for f, r in zip(flows, raws)]
    return [Verdict("Queue: paid flow, payment confirmed -> published, vs its raw media operations",
                    f"<= {GOAL_RATIO:g}x", f"{ratio:.2f}x", judge(ratio, GOAL_RATIO, ratios, at_most=True),
                    f"runs {min(ratios):.2f}-{max(ratios):.2f}x")]


def report(results: dict[str, Any], found: list[Verdict]) -> str:
    def ms(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:.0f} ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"

    label = {"embedded": "SQLite + embedded Redis", "postgres": "PostgreSQL + Redis"}[results["config"]]
    flows, raws = results["flow_s"], results["raw_s"]
    rows = [[label, "payment confirmed (`paid_at`) -> `published_at`, ms: median (range)",
             ms([f["total"] for f in flows])],
            [label, "raw operations: transcode_webm + extract_poster + make_preview + avatar presets, ms",
             ms([r["total"] for r in raws])],
            [label, "... of which transcode_webm (the convert step's work), ms", ms([r["convert"] for r in raws])]]
    for phase in PHASES:
        at = [f[phase] for f in flows if phase in f]
        if at:
            rows.append([label, f"flow: `{phase}` recorded done, ms after `paid_at`", ms(at)])
    return "\n".join([
        HEADING, "",
        (f"`python -m bench --only paid`: the whole system as `make run` starts it ({label}, every Procfile "
         f"process, the dev chain), {len(results['flow_s'])} profiles one at a time after an untimed one: a new "
         "wallet signs in, uploads a 640x480 JPEG and a 5 s 320x240 H.264 clip (fresh bytes each), submits, "
         "pays on the dev chain and posts the hash. The flow runs from the submission's `paid_at` (committed "
         "with `payment.confirmed`) to its `published_at`; the raw operations are the same media calls on the "
         "same files, made in the benchmark process just before or just after each flow, in turns. The flow also re-verifies the "
         "payment on chain twice, links (or, from another disk, copies) the uploads into its work folder and stores every output."),
        "",
        markdown_table(["system", "what", "measured"], rows), "",
        markdown_table(["target (issue 14)", "goal", "measured", "result", "spread"],
                       [[v.name, v.goal, v.measured, f"**{v.status}**", v.note] for v in found]), "",
    ])


def run(argv: list[str] | None = None) -> tuple[str, list[Verdict]]:
    parser = argparse.ArgumentParser(prog="python -m bench.paid")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_PAID_RUNS", DEFAULT_RUNS)),
                        help=f"timed profiles (default BENCH_PAID_RUNS or {DEFAULT_RUNS})")
    parser.add_argument("--config", choices=("embedded", "postgres"), default="embedded")
    options = parser.parse_args(argv or [])
    results = measure(options.runs, options.config)
    found = verdicts(results)
    return report(results, found), found


if __name__ == "__main__":
    print(run(sys.argv[1:])[0])
