"""The bounded inference pool on its own: capacity, order, failures, cancellation, shutdown."""
from __future__ import annotations

import threading

import pytest

from app.web.pool import InferencePool, PoolClosed, PoolFull


@pytest.fixture
def pool():
    p = InferencePool(workers=2, queue_size=1)
    yield p
    p.gate.set()
    p.close()


def test_capacity_is_workers_plus_queue_and_frees_up(pool):
    pool.gate.clear()
    futures = [pool.submit(lambda i=i: i * i) for i in range(3)]
    with pytest.raises(PoolFull):
        pool.submit(lambda: None)
    assert pool.depth == 3 and pool.running == 0
    pool.gate.set()
    assert [f.result(timeout=10) for f in futures] == [0, 1, 4]
    assert pool.submit(lambda: "room again").result(timeout=10) == "room again"


def test_a_failing_task_does_not_kill_its_thread():
    pool = InferencePool(workers=1, queue_size=0)
    try:
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 / 0).result(timeout=10)
        assert pool.alive and pool.submit(lambda: 42).result(timeout=10) == 42
    finally:
        pool.close()


def test_running_count_and_cancel_before_start():
    pool = InferencePool(workers=1, queue_size=1)
    started, release = threading.Event(), threading.Event()
    try:
        busy = pool.submit(lambda: (started.set(), release.wait(10)))
        assert started.wait(10) and pool.running == 1 and pool.depth == 0
        cleaned = threading.Event()
        waiting = pool.submit(lambda: pytest.fail("a cancelled task ran"), on_cancel=cleaned.set)
        assert pool.depth == 1 and waiting.cancel()
        release.set()
        busy.result(timeout=10)
        assert cleaned.wait(10)  # the cancelled task's cleanup ran in its place
    finally:
        release.set()
        pool.close()


def test_closed_pool_refuses_work():
    pool = InferencePool(workers=1, queue_size=0)
    pool.close()
    with pytest.raises(PoolClosed):
        pool.submit(lambda: None)
    assert not pool.alive


def test_bad_sizes():
    with pytest.raises(ValueError, match="workers >= 1"):
        InferencePool(workers=0, queue_size=1)
