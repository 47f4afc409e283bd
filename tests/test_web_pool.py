"""The bounded inference pool on its own: capacity, order, failures, cancellation, deadlines, shutdown."""
from __future__ import annotations

import threading
import time

import pytest

from app.web import pool as pool_module
from app.web.pool import InferencePool, PoolClosed, PoolFull, TaskTimeout


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


def _spin(stop_after: float = 30.0):
    """Python code that runs until stopped (what a decode loop that never ends looks like)."""
    end = time.monotonic() + stop_after
    while time.monotonic() < end:
        time.sleep(0.01)
    return "ran to the end"


def _wait_until(predicate, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def test_a_task_past_its_deadline_is_stopped_and_its_slot_freed():
    kills = []
    pool = InferencePool(workers=1, queue_size=0, on_kill=kills.append)
    released = threading.Event()
    try:
        t0 = time.monotonic()
        future = pool.submit(_spin, timeout=0.3, on_timeout=released.set)
        with pytest.raises(TaskTimeout, match="ran past its 0.3 s deadline"):
            future.result(timeout=10)
        assert time.monotonic() - t0 < 5
        assert released.is_set() and kills == ["timeout"] and pool.killed == 1
        assert pool.running == 0 and pool.depth == 0
        assert pool.submit(lambda: "next").result(timeout=10) == "next"  # the one slot is free again
        assert _wait_until(lambda: pool.stuck == 0)  # the stopped thread unwound (TaskKilled)
        assert pool.alive
    finally:
        pool.close()


def test_a_deadline_shorter_than_the_watchdog_tick_is_kept(monkeypatch):
    """The watchdog aims at the nearest deadline: with a 5-s tick, a task given 0.05 s that would
    run 1 s is still stopped (a fixed tick let a quick job past a short deadline finish "done")."""
    monkeypatch.setattr(pool_module, "WATCH_INTERVAL_S", 5.0)
    pool = InferencePool(workers=1, queue_size=0)
    try:
        time.sleep(0.1)  # the watchdog is asleep on its 5-s tick when the task starts
        future = pool.submit(_spin, 1.0, timeout=0.05)
        with pytest.raises(TaskTimeout, match="ran past its 0.05 s deadline"):
            future.result(timeout=0.9)  # before the task would have ended by itself
    finally:
        pool.close()


def test_a_stopped_task_stuck_in_a_native_call_is_counted_until_it_returns():
    pool = InferencePool(workers=1, queue_size=1)
    native = threading.Event()
    try:
        future = pool.submit(lambda: native.wait(3), timeout=0.2)  # a C-level wait: not interruptible
        with pytest.raises(TaskTimeout):
            future.result(timeout=10)
        assert pool.stuck == 1 and "stuck" in pool.saturated()
        assert pool.submit(lambda: 7).result(timeout=10) == 7  # its replacement takes work meanwhile
        assert _wait_until(lambda: pool.stuck == 0, 10) and pool.saturated() is None
    finally:
        pool.close()


def test_kill_stops_a_running_task_and_cancels_a_waiting_one():
    pool = InferencePool(workers=1, queue_size=1)
    try:
        running = pool.submit(_spin)
        assert _wait_until(lambda: pool.running == 1)
        cleaned = threading.Event()
        waiting = pool.submit(lambda: pytest.fail("a killed task ran"), on_cancel=cleaned.set)
        assert "queue is full" in pool.saturated()
        assert pool.kill(waiting) and cleaned.is_set() and pool.depth == 0  # its place is freed at once
        assert pool.kill(running)
        with pytest.raises(TaskTimeout, match="was killed"):
            running.result(timeout=5)
        assert pool.submit(lambda: "free").result(timeout=10) == "free"
        assert not pool.kill(running)  # already stopped
    finally:
        pool.close()


def test_cancelled_tasks_do_not_keep_their_place_while_the_workers_are_busy():
    pool = InferencePool(workers=1, queue_size=1)
    release = threading.Event()
    try:
        pool.submit(release.wait, 10)
        assert _wait_until(lambda: pool.running == 1)
        for _ in range(5):  # each waits, is given up on (a sync client timing out) and cancelled
            assert pool.submit(lambda: None).cancel()
        assert pool.depth == 0 and pool.submit(lambda: "room").cancel()
    finally:
        release.set()
        pool.close()


def test_close_waits_for_running_tasks_and_cancels_the_waiting_ones():
    """Shutdown never leaves a thread inside a task (a process exiting then aborts): the running
    task finishes, the waiting ones are cancelled (a job's stays queued in its store)."""
    pool = InferencePool(workers=1, queue_size=2)
    started, release = threading.Event(), threading.Event()

    def slow():
        started.set()
        release.wait(5)
        return "finished"

    running = pool.submit(slow)
    assert started.wait(5)
    waiting = [pool.submit(lambda: "never") for _ in range(2)]
    threading.Timer(0.5, release.set).start()
    t0 = time.monotonic()
    pool.close(wait=10)
    assert 0.3 < time.monotonic() - t0 < 5  # waited for the running task, not for the queue
    assert running.result(timeout=0) == "finished"
    assert all(f.cancelled() for f in waiting)
    assert not any(t.is_alive() for t in pool._threads)
    with pytest.raises(PoolClosed):
        pool.submit(lambda: None)
