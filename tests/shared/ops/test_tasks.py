"""Ops tasks that hand work to the queues get their senders from the worker that runs them."""

from __future__ import annotations

import pytest

from shared.ops.tasks import TASKS, build_context


def test_a_sweep_that_enqueues_work_refuses_to_run_where_no_worker_gives_it_senders(db, settings):
    ctx = build_context(settings, db)  # as `flask ops run --inline` builds it: no queues to send to

    for name in ("sweep-webhooks", "sweep-payments", "sweep-pipelines"):
        with pytest.raises(RuntimeError, match="light queue"):
            TASKS[name].run(ctx, {})
