"""The one retry layer: permanent errors fail at once, per-actor retry limits hold."""

from __future__ import annotations

import dramatiq
import pytest

from shared.errors import InvalidInput
from workers.broker import broker

calls: dict[str, int] = {"permanent": 0, "transient": 0}


@dramatiq.actor(broker=broker, queue_name="light", max_retries=2, min_backoff=10, max_backoff=20)
def _fails_permanently() -> None:
    calls["permanent"] += 1
    raise InvalidInput("bad input never gets better")


@dramatiq.actor(broker=broker, queue_name="light", max_retries=2, min_backoff=10, max_backoff=20)
def _fails_transiently() -> None:
    calls["transient"] += 1
    raise RuntimeError("flaky dependency")


@pytest.fixture()
def light_worker(redis_client):
    broker.declare_queue("light")
    worker = dramatiq.Worker(broker, queues={"light"}, worker_threads=1, worker_timeout=50)
    worker.start()
    yield
    worker.stop(timeout=5_000)


def test_a_permanent_error_is_not_retried_and_an_actors_own_retry_limit_holds(light_worker):
    from tests.support.runtime import wait_for

    calls.update(permanent=0, transient=0)
    _fails_permanently.send()
    _fails_transiently.send()
    wait_for(lambda: calls["transient"] >= 3, timeout=20, message="the transient actor's retries")
    import time

    time.sleep(1.0)  # room for a wrong fourth attempt or a wrong permanent retry
    assert calls == {"permanent": 1, "transient": 3}  # 1 try + max_retries=2, not STEP_MAX_RETRIES
