"""A bounded pool of inference threads: at most ``workers`` tasks run and ``queue_size`` wait.

Request threads never run inference themselves; they hand a task to the pool and get a
``Future``. When the pool already holds ``workers + queue_size`` tasks, ``submit`` refuses at
once with ``PoolFull`` (the API answers 503 with Retry-After) instead of letting memory and
latency grow without bound. Threads are daemons so that a stuck task never blocks process exit.
"""
from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from typing import Callable

log = logging.getLogger(__name__)


class PoolFull(Exception):
    """The pool holds as many tasks as it may; try again later."""


class PoolClosed(Exception):
    """The pool was closed; no task is accepted any more."""


class InferencePool:
    """``workers`` daemon threads fed by a FIFO with room for ``queue_size`` waiting tasks.

    ``gate`` is an Event every worker waits on before it starts a task. It is open in normal
    operation; tests close it to hold tasks in the queue deterministically (the code path that
    runs is the real one, only its start is delayed).
    """

    def __init__(self, workers: int, queue_size: int, *, name: str = "inference"):
        if workers < 1 or queue_size < 0:
            raise ValueError(f"need workers >= 1 and queue_size >= 0, got {workers} and {queue_size}")
        self.workers = workers
        self.capacity = workers + queue_size
        self.gate = threading.Event()
        self.gate.set()
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0  # accepted and not finished (waiting + running)
        self._running = 0
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
                         for i in range(workers)]
        for t in self._threads:
            t.start()

    @property
    def depth(self) -> int:
        """Tasks accepted and not started yet."""
        with self._lock:
            return self._pending - self._running

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    @property
    def alive(self) -> bool:
        return not self._closed and all(t.is_alive() for t in self._threads)

    def submit(self, fn: Callable, *args, on_cancel: Callable[[], None] | None = None) -> Future:
        """Queue ``fn(*args)``. Raises PoolFull when the pool is at capacity, PoolClosed after ``close``.

        ``on_cancel`` runs (in a pool thread) if the future is cancelled before ``fn`` starts, so
        the caller can release what the task would have released (e.g. delete its upload).
        """
        with self._lock:
            if self._closed:
                raise PoolClosed("the inference pool is shut down")
            if self._pending >= self.capacity:
                raise PoolFull(f"{self._pending} videos are already being classified or waiting")
            self._pending += 1
        future: Future = Future()
        self._tasks.put((future, fn, args, on_cancel))
        return future

    def _work(self) -> None:
        while True:
            item = self._tasks.get()
            if item is None:
                return
            future, fn, args, on_cancel = item
            self.gate.wait()
            try:
                if not future.set_running_or_notify_cancel():
                    if on_cancel is not None:
                        try:
                            on_cancel()
                        except Exception:
                            log.exception("cleanup of a cancelled task failed")
                    continue
                with self._lock:
                    self._running += 1
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # the caller decides what an error means; the thread lives on
                    future.set_exception(exc)
                finally:
                    with self._lock:
                        self._running -= 1
            finally:
                with self._lock:
                    self._pending -= 1

    def close(self) -> None:
        """Stop accepting tasks; workers exit once the tasks already queued are done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for _ in self._threads:
            self._tasks.put(None)
