"""Simulated users of the load benchmark (locust): media clients, paying profile owners, visitors.

``bench.load.generate`` runs them headless and fills ``CONFIG`` first; ``RECORDS`` collects every
accepted job and paid submission with its timestamps, for the lost/duplicated check afterwards.
Each user keeps its own wallet(s): only per-IP limits would see them as one client, and the
system under load raises those through settings (bench/load/system.py ``LOAD_LIMITS``).
"""

from __future__ import annotations

import itertools
import json
import random
import time
from pathlib import Path
from typing import Any

from gevent.lock import Semaphore
from locust import FastHttpUser, HttpUser, between, constant, task
from locust.exception import StopUser
from urllib3 import encode_multipart_formdata

from bench.load.fixtures import unique_jpeg, unique_mp4

# ``photos``: the photo workload's fixture indexes, each handed out once (bench.load.generate sets them).
CONFIG: dict[str, Any] = {"fixtures": None, "photos_per_user": 8, "photos": iter(range(128)), "poll": 0.5,
                          "video_share": 0.2}
RECORDS: list[dict[str, Any]] = []
PUBLISHED: list[str] = []  # wallets whose profile is out, for the visitors
JOB_FINAL = {"done", "failed", "canceled"}
SUBMISSION_FINAL = {"published", "rejected", "failed", "expired"}
_counter = itertools.count()
_bank_locks: dict[int, Semaphore] = {}


def _fixture(name: str) -> bytes:
    return (Path(CONFIG["fixtures"]) / name).read_bytes()


def _retry_after(response) -> float:
    try:
        return min(30.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:
        return 1.0


class MediaClient(FastHttpUser):
    """A business client: posts small images and 5 s clips to the media API, polls with ETags.

    A FastHttpUser (geventhttpclient): the photo workload sends hundreds of polls a second from
    the cores the system runs on, and this client spends a fraction of requests' CPU on each, so
    more of the cores go to the system under load (the load section reports both).
    """

    abstract = True

    def post_media(self, data: bytes, name: str, media: str) -> dict[str, Any] | None:
        # FastHttpUser has no files=: the form is encoded by urllib3, as requests does for files=.
        body, content_type = encode_multipart_formdata({"file": (name, data)})
        response = self.client.post("/api/media/", data=body, headers={"Content-Type": content_type},
                                    name="POST /api/media/")
        if response.status_code not in (200, 201):
            return None
        job_id = response.json()["job_id"]
        record = {"kind": "job", "id": job_id.replace("-", ""), "ref": job_id, "media": media,
                  "accepted": time.time(), "http": response.status_code, "final": None, "status": None}
        RECORDS.append(record)
        return record

    def poll(self, records: list[dict[str, Any]], timeout: float = 900) -> None:
        """Poll every unfinished job every CONFIG['poll'] seconds with If-None-Match until all are final."""
        etags: dict[str, str] = {}
        deadline = time.time() + timeout
        while time.time() < deadline:
            waiting = [r for r in records if r["final"] is None]
            if not waiting:
                return
            for record in waiting:
                headers = {"If-None-Match": etags[record["id"]]} if record["id"] in etags else {}
                response = self.client.get(f"/api/media/{record['ref']}/", headers=headers, name="GET /api/media/{id}/")
                if response.status_code == 200:
                    etags[record["id"]] = response.headers.get("ETag", "")
                    status = response.json()["status"]
                    if status in JOB_FINAL:
                        record.update(final=time.time(), status=status)
                elif response.status_code in (429, 503):
                    time.sleep(_retry_after(response))
            time.sleep(CONFIG["poll"])


class MediaUser(MediaClient):
    weight = 32
    wait_time = between(1, 3)

    @task
    def upload_and_poll(self) -> None:
        if random.random() < CONFIG["video_share"]:
            record = self.post_media(unique_mp4(_fixture("clip.mp4")), "clip.mp4", "video")
        else:
            record = self.post_media(unique_jpeg(_fixture(f"small-{random.randrange(4)}.jpg")), "small.jpg", "image")
        if record is not None:
            self.poll([record])


class PhotoUser(MediaClient):
    """The photo workload: post CONFIG['photos_per_user'] distinct 1024x768 photos, then poll them all."""

    wait_time = constant(0)

    @task
    def photos(self) -> None:
        # Photos come from one bounded pool: locust spawns a replacement for a user that stops while
        # the others are still spawning, and that one must not post more than the workload's photos.
        indexes = list(itertools.islice(CONFIG["photos"], CONFIG["photos_per_user"]))
        if not indexes:
            raise StopUser()
        records = []
        for index in indexes:
            record = self.post_media(_fixture(f"photo-{index:03d}.jpg"), f"photo-{index}.jpg", "photo")
            if record is not None:
                records.append(record)
        self.poll(records)
        raise StopUser()


class ProfileUser(HttpUser):
    """A wallet owner: a new wallet per profile, uploads, submission, payment, live status, the profile."""

    weight = 8
    wait_time = between(2, 5)

    def on_start(self) -> None:
        from web3 import Web3

        chain = self.client.get("/api/dev/chain/", name="GET /api/dev/chain/").json()
        self.bank_index = next(_counter) % len(chain["accounts"])
        self.bank = chain["accounts"][self.bank_index]
        self.web3 = Web3(Web3.HTTPProvider(chain["rpc_url"], request_kwargs={"timeout": 30}))
        self.price = int(chain["price_wei"])

    @task
    def publish_a_profile(self) -> None:
        from eth_account import Account

        wallet = Account.create()
        self._send(self.bank["private_key"], wallet.address, self.price * 3, lock=self.bank_index)
        token = self._sign_in(wallet)
        auth = {"Authorization": f"Bearer {token}"}
        image = self._upload(auth, unique_jpeg(_fixture("small-3.jpg")), "me.jpg", "image")
        video = self._upload(auth, unique_mp4(_fixture("clip.mp4")), "me.mp4", "video")
        if image is None or video is None:
            return
        created = self.client.post("/api/submissions/", headers=auth, name="POST /api/submissions/", json={
            "profile_data": {"name": f"Load {wallet.address[:8]}", "hashtags": "#travel #music"},
            "image_upload_id": image, "video_upload_id": video})
        if created.status_code != 201:
            return
        submission = created.json()["id"]
        quote = self.client.get(f"/api/submissions/{submission}/", headers=auth,
                                name="GET /api/submissions/{id}/").json()["quote"]
        tx_hash = self._send(wallet.key.to_0x_hex(), quote["to"], int(quote["amount_wei"]))
        paid = self.client.post(f"/api/submissions/{submission}/payment/", headers=auth, json={"tx_hash": tx_hash},
                                name="POST /api/submissions/{id}/payment/")
        if paid.status_code != 202:
            return
        record = {"kind": "submission", "id": submission.replace("-", ""), "ref": submission, "wallet": wallet.address,
                  "paid": time.time(), "final": None, "status": None, "sse_refused": 0, "sse_streams": 0}
        RECORDS.append(record)
        self._follow(record, auth)
        if record["status"] == "published":
            PUBLISHED.append(wallet.address)
            self.client.get(f"/api/profiles/{wallet.address}/", name="GET /api/profiles/{wallet}/")

    def _send(self, key: str, to: str, value: int, lock: int | None = None) -> str:
        """Send ``value`` wei from ``key`` on the dev chain; wait for its receipt when funding."""
        from eth_account import Account

        account = Account.from_key(key)
        guard = _bank_locks.setdefault(lock, Semaphore()) if lock is not None else None
        if guard is not None:
            guard.acquire()
        try:
            tx = {"to": to, "value": value, "gas": 21_000, "chainId": self.web3.eth.chain_id,
                  "nonce": self.web3.eth.get_transaction_count(account.address, "pending"),
                  "maxFeePerGas": 2 * self.web3.eth.gas_price + 2 * 10**9,
                  "maxPriorityFeePerGas": 10**9 + random.randrange(10**6)}
            tx_hash = self.web3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        finally:
            if guard is not None:
                guard.release()
        if lock is not None:
            self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.5)
        return tx_hash.to_0x_hex()

    def _sign_in(self, wallet) -> str:
        from eth_account.messages import encode_defunct

        nonce = self.client.get("/api/auth/nonce/", params={"address": wallet.address}, name="GET /api/auth/nonce/")
        message = nonce.json()["message"]
        signature = wallet.sign_message(encode_defunct(text=message)).signature.to_0x_hex()
        login = self.client.post("/api/auth/login/", json={"message": message, "signature": signature},
                                 name="POST /api/auth/login/")
        return login.json()["token"]

    def _upload(self, auth: dict[str, str], data: bytes, name: str, kind: str) -> str | None:
        response = self.client.post("/api/uploads/", headers=auth, data={"kind": kind}, files={"file": (name, data)},
                                    name="POST /api/uploads/")
        return response.json()["id"] if response.status_code == 201 else None

    def _follow(self, record: dict[str, Any], auth: dict[str, str], timeout: float = 600) -> None:
        """Live status over SSE until final; refused (503 too_many_streams) or cut: poll the submission."""
        deadline = time.time() + timeout
        last_id = None
        url = f"/api/submissions/{record['ref']}/"
        while time.time() < deadline and record["final"] is None:
            headers = {**auth, **({"Last-Event-ID": last_id} if last_id else {})}
            # Locust times a streamed answer to its headers: the latency row is the stream's start.
            stream = self.client.get(url + "events/", headers=headers, stream=True, timeout=(10, 90),
                                     name="GET /api/submissions/{id}/events/")
            try:
                if stream.status_code == 200:
                    record["sse_streams"] += 1
                    last_id = self._read_stream(stream, record, last_id)
                    continue
                if stream.status_code == 503:
                    record["sse_refused"] += 1
            finally:
                stream.close()
            polled = self.client.get(url, headers=auth, name="GET /api/submissions/{id}/")
            if polled.status_code == 200 and polled.json()["status"] in SUBMISSION_FINAL:
                record.update(final=time.time(), status=polled.json()["status"])
            else:
                time.sleep(1.0)

    @staticmethod
    def _read_stream(stream, record: dict[str, Any], last_id: str | None) -> str | None:
        try:
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("id:"):
                    last_id = line[3:].strip()
                elif line.startswith("data:"):
                    status = json.loads(line[5:]).get("status")
                    if status in SUBMISSION_FINAL:
                        record.update(final=time.time(), status=status)
                        return last_id
        except Exception:  # noqa: BLE001 - a cut stream is resumed with Last-Event-ID
            time.sleep(1.0)
        return last_id


class Visitor(HttpUser):
    """Someone browsing public profiles."""

    weight = 10
    wait_time = between(0.5, 2)

    @task(2)
    def list_profiles(self) -> None:
        self.client.get("/api/profiles/", name="GET /api/profiles/")

    @task(3)
    def view_profile(self) -> None:
        if PUBLISHED:
            wallet = random.choice(PUBLISHED)
            self.client.get(f"/api/profiles/{wallet}/", name="GET /api/profiles/{wallet}/")
            self.client.get(f"/p/{wallet}", name="GET /p/{wallet}")
