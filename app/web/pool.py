"""A bounded pool of inference threads: at most ``workers`` tasks run and ``queue_size`` wait.

Request threads never run inference themselves; they hand a task to the pool and get a
``Future``. When the pool already holds ``workers + queue_size`` tasks, ``submit`` refuses at
once with ``PoolFull`` (the API answers 503 with Retry-After) instead of letting memory and
latency grow without bound. Threads are daemons so that a stuck task never blocks process exit.

Every task may have a deadline. A watchdog thread stops a task that runs past it (and ``kill``
stops one on request): its future fails with ``TaskTimeout`` at once, its slot is freed, a fresh
thread takes the place of the one that ran it, and ``TaskKilled`` is raised inside that thread
so the task unwinds (its ``finally`` blocks run) at the next Python instruction it executes.
Python cannot interrupt a thread inside one long native call: such a thread lingers, counted
by ``stuck``, until that call returns. Decoding, the native work whose length a file decides,
does not run in these threads: it runs in decoder processes that are killed past the decode
deadline (app.video.isolation). A pool thread that waits for a decoder process itself takes
``TaskKilled`` within 0.1 s and kills the process; in the classify path a decoding thread of its
own waits for it, so the stopped task's decode ends at its deadline (docs/limits.md).
"""
from __future__ import annotations

import ctypes
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)
WATCH_INTERVAL_S = 0.2


class PoolFull(Exception):
    """The pool holds as many tasks as it may; try again later."""


class PoolClosed(Exception):
    """The pool was closed; no task is accepted any more."""


class TaskTimeout(Exception):
    """A task ran past its deadline (or was killed) and was stopped; set on its future."""


class TaskKilled(BaseException):
    """Raised inside the thread of a stopped task. A BaseException, so that the task's own
    ``except Exception`` handlers do not swallow it and carry on."""


@dataclass(eq=False)
class _Task:
    future: Future
    fn: Callable
    args: tuple
    on_cancel: Callable[[], None] | None
    timeout: float | None
    on_timeout: Callable[[], None] | None
    thread: threading.Thread | None = None
    deadline: float | None = None
    finished: bool = False
    killed: bool = False
    cancelled: bool = False


class InferencePool:
    """``workers`` daemon threads fed by a FIFO with room for ``queue_size`` waiting tasks.

    ``gate`` is an Event every worker waits on before it starts a task. It is open in normal
    operation; tests close it to hold tasks in the queue deterministically (the code path that
    runs is the real one, only its start is delayed).
    """

    def __init__(self, workers: int, queue_size: int, *, name: str = "inference",
                 on_kill: Callable[[str], None] | None = None):
        if workers < 1 or queue_size < 0:
            raise ValueError(f"need workers >= 1 and queue_size >= 0, got {workers} and {queue_size}")
        self.workers = workers
        self.capacity = workers + queue_size
        self.name = name
        self.gate = threading.Event()
        self.gate.set()
        self.on_kill = on_kill  # called with "timeout" or "killed" for each stopped task
        self.killed = 0  # tasks stopped (past their deadline, or on request)
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending = 0  # accepted and not finished (waiting + running)
        self._active: set[_Task] = set()  # running now
        self._abandoned: list[threading.Thread] = []  # threads of stopped tasks, maybe still running
        self._closed = False
        self._wake = threading.Event()  # set when a task with a deadline starts: the watchdog re-aims
        self._serial = 0
        self._threads = [self._spawn() for _ in range(workers)]
        self._watchdog = threading.Thread(target=self._watch, name=f"{name}-watchdog", daemon=True)
        self._watchdog.start()

    def _spawn(self) -> threading.Thread:
        self._serial += 1
        t = threading.Thread(target=self._work, name=f"{self.name}-{self._serial}", daemon=True)
        t.start()
        return t

    # -- state ----------------------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Tasks accepted and not started yet."""
        with self._lock:
            return self._pending - len(self._active)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._active)

    @property
    def stuck(self) -> int:
        """Threads of stopped tasks that have not ended yet (inside a native call that does not return)."""
        with self._lock:
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            return len(self._abandoned)

    @property
    def past_deadline(self) -> int:
        """Running tasks past their deadline that the watchdog has not stopped yet."""
        now = time.monotonic()
        with self._lock:
            return sum(1 for t in self._active if t.deadline is not None and now > t.deadline)

    @property
    def alive(self) -> bool:
        return not self._closed and all(t.is_alive() for t in self._threads)

    def saturated(self) -> str | None:
        """Why no new task would start soon, or None: the queue is full, or as many threads as the
        pool has are stuck in stopped tasks (or every slot is past its deadline)."""
        stuck, past = self.stuck, self.past_deadline
        with self._lock:
            pending = self._pending
        if pending >= self.capacity:
            return f"the queue is full ({pending} of {self.capacity} videos running or waiting)"
        if stuck >= self.workers:
            return f"{stuck} inference threads are stuck in tasks stopped past their deadline"
        if past >= self.workers:
            return "every inference slot is busy past its deadline"
        return None

    # -- tasks ----------------------------------------------------------------------------------
    def submit(self, fn: Callable, *args, on_cancel: Callable[[], None] | None = None,
               timeout: float | None = None, on_timeout: Callable[[], None] | None = None) -> Future:
        """Queue ``fn(*args)``. Raises PoolFull when the pool is at capacity, PoolClosed after ``close``.

        ``on_cancel`` runs (in the thread that cancels) if the future is cancelled before ``fn``
        starts, so the caller can release what the task would have released (e.g. delete its
        upload); the task's place in the pool is freed at once.
        ``timeout``: seconds ``fn`` may run once started; past them it is stopped (see the module
        docstring) and ``on_timeout`` runs (in the watchdog thread) to release what it held.
        """
        with self._lock:
            if self._closed:
                raise PoolClosed("the inference pool is shut down")
            if self._pending >= self.capacity:
                raise PoolFull(f"{self._pending} videos are already being classified or waiting")
            self._pending += 1
        future: Future = Future()
        task = _Task(future, fn, args, on_cancel, timeout, on_timeout)
        future.videoclf_task = task  # so that ``kill(future)`` finds it
        future.add_done_callback(lambda f: self._cancelled(task) if f.cancelled() else None)
        self._tasks.put(task)
        return future

    def _cancelled(self, task: _Task) -> None:
        with self._lock:
            if task.cancelled:
                return
            task.cancelled = True
            self._pending -= 1  # now, not when a (maybe busy) worker dequeues it
        if task.on_cancel is not None:
            try:
                task.on_cancel()
            except Exception:
                log.exception("cleanup of a cancelled task failed")

    def kill(self, future: Future, reason: str = "killed") -> bool:
        """Stop the task of ``future``: cancel it if it waits, stop it if it runs. True if it was
        stopped or cancelled, False if it had already finished."""
        if future.cancel():
            return True
        task = getattr(future, "videoclf_task", None)
        return task is not None and self._stop(task, reason)

    def _stop(self, task: _Task, reason: str) -> bool:
        with self._lock:
            if task.finished or task.killed or task not in self._active:
                return False
            task.killed = True
            self._active.discard(task)
            self._pending -= 1
            self.killed += 1
            thread = task.thread
            self._abandoned.append(thread)
            if thread in self._threads and not self._closed:
                self._threads[self._threads.index(thread)] = self._spawn()
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(TaskKilled))
        what = f"ran past its {task.timeout:g} s deadline" if reason == "timeout" else "was killed"
        log.warning("an inference task %s; stopped, its slot freed (%s)", what, thread.name)
        if not task.future.done():
            task.future.set_exception(TaskTimeout(f"the task {what} and was stopped"))
        for callback in (task.on_timeout, (lambda: self.on_kill(reason)) if self.on_kill else None):
            if callback is not None:
                try:
                    callback()
                except Exception:
                    log.exception("cleanup of a stopped task failed")
        return True

    def _watch(self) -> None:
        """Stop tasks past their deadline, on time: it sleeps until the nearest deadline (at most
        WATCH_INTERVAL_S), and a task that starts wakes it to aim again. A fixed tick would let a
        task with a deadline shorter than the tick finish as if it had none."""
        while not self._closed:
            now = time.monotonic()
            with self._lock:
                deadlines = [t.deadline for t in self._active if t.deadline is not None]
            wait = min([WATCH_INTERVAL_S] + [max(0.0, d - now) for d in deadlines])
            self._wake.wait(wait)
            self._wake.clear()
            now = time.monotonic()
            with self._lock:
                late = [t for t in self._active if t.deadline is not None and now > t.deadline]
            for task in late:
                self._stop(task, "timeout")

    def _work(self) -> None:
        me = threading.current_thread()
        try:
            while True:
                task = self._tasks.get()
                if task is None:
                    return
                self.gate.wait()
                if self._closed:
                    task.future.cancel()  # taken before the pool closed, not started: not now
                if not task.future.set_running_or_notify_cancel():
                    continue  # cancelled while it waited: ``_cancelled`` has released it
                with self._lock:
                    task.thread = me
                    task.deadline = time.monotonic() + task.timeout if task.timeout else None
                    self._active.add(task)
                if task.deadline is not None:
                    self._wake.set()
                outcome, ok = None, False
                try:
                    outcome, ok = task.fn(*task.args), True
                except TaskKilled:
                    return  # stopped: the future already says so, and another thread has the slot
                except BaseException as exc:  # the caller decides what an error means; the thread lives on
                    outcome = exc
                with self._lock:
                    if task.killed:
                        return  # stopped while finishing: replaced already
                    task.finished = True
                    self._active.discard(task)
                    self._pending -= 1
                if ok:
                    task.future.set_result(outcome)
                else:
                    task.future.set_exception(outcome)
                outcome = None
        except TaskKilled:  # delivered late, after the task had ended: this thread was replaced
            return

    def close(self, wait: float = 20.0) -> None:
        """Stop accepting tasks and end the worker threads: tasks not started yet are cancelled (a
        job's stays queued in its store, for the next start to recover), running ones get up to
        ``wait`` seconds to finish. Waiting for them matters: a process that exits while a daemon
        thread is inside native code (a decoder, ONNX Runtime) aborts instead of exiting."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._wake.set()
            threads = list(self._threads)
        while True:
            try:
                task = self._tasks.get_nowait()
            except queue.Empty:
                break
            if task is not None:
                task.future.cancel()
        for _ in threads:
            self._tasks.put(None)
        self.gate.set()  # a held gate must not keep the threads from reaching their end
        end = time.monotonic() + wait
        for t in threads:
            if t is not threading.current_thread():
                t.join(max(0.0, end - time.monotonic()))
