"""Decoding in child processes that a deadline can kill and replace.

A thread inside one long native call (an FFmpeg decode, an OpenCV conversion) cannot be stopped by
Python, so the in-process budget (``app.video.limits``), checked between frames, cannot bound a
call that never returns. With isolation ``"process"``, ``sample_plan`` / ``sample_frames`` run in
one of a few long-lived child processes; the calling thread waits for the child's messages under
the decode's wall-clock deadline (``DecodeLimits.timeout_s``, ``VIDEOCLF_DECODE_TIMEOUT``) and,
past it, kills the child with SIGKILL, starts a fresh one in its place and raises
``VideoDecodeError`` ``over_budget``. A child that dies while decoding (a segfault in a decoder,
the OOM killer) gives ``VideoDecodeError`` ``decoder_crashed`` and is replaced the same way.

What runs where: the child opens the file, decodes, converts and applies ``transform``, which must
therefore be picklable (``Preprocessing.prepare``, not a method of an object that holds a model
session). The plan and ``on_keep`` run in the caller's process, as requests and messages from the
child, so a plan may be any callable (a closure that records what it planned, as the timeline's
does). Each kept frame crosses the pipe once, as soon as it is kept, so a consumer starts on it
while decoding goes on; the result names which pass's frames it returns instead of sending them
again.

A child is a fresh interpreter (``sys.executable -c ...``: spawned, never forked, since the parent
holds ONNX Runtime and torch threads) that imports only ``app.video`` and what ``transform``
needs: never torch nor ONNX Runtime. It is started with ``subprocess`` rather than
``multiprocessing.Process``, whose 'spawn' and 'forkserver' children first re-run the parent's
main script (the ``videoclf`` console script imports the CLI, and with it torch: 4 s and hundreds
of MB per child). Children start on first use (about 0.3 s) and are kept
(``VIDEOCLF_DECODE_PROCESSES`` idle ones, default 2); more start while more callers decode at
once. The caller waits in slices of ``POLL_S``, so an exception raised in its thread (the web
pool's ``TaskKilled``) is taken within that time, and kills the child too.
"""
from __future__ import annotations

import atexit
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np

from app.video.limits import DecodeLimits, get_limits
from app.video.sampling import SampledVideo, VideoDecodeError, sample_plan

log = logging.getLogger(__name__)

MODES = ("process", "inline")
ENV = "VIDEOCLF_DECODE_ISOLATION"
PROCESSES_ENV = "VIDEOCLF_DECODE_PROCESSES"
MEMORY_ENV = "VIDEOCLF_DECODE_MEMORY_MB"
MEMORY_MB = 4096  # default address-space cap of a decoder process (a 4K decode peaks near 800 MB)
_ROOT = str(Path(__file__).resolve().parents[2])  # the folder that holds ``app``: on the child's path
IDLE_CHILDREN = 2  # default VIDEOCLF_DECODE_PROCESSES: idle decoder processes kept for reuse
POLL_S = 0.1  # the caller's wait slice (how soon it notices an exception raised in its thread)
START_TIMEOUT_S = 120.0  # a new child's start-up (imports; slow on a loaded machine), not the video's fault
CLOSE_WAIT_S = 20.0  # how long closing the pool waits for busy processes (the web pool's own shutdown wait)
CHILD_GRACE_S = 5.0  # the child's own deadline is this much later: it only ends an orphaned child's work


def isolation_from_env(environ=os.environ, default: str = "process") -> str:
    """``VIDEOCLF_DECODE_ISOLATION`` (``process`` or ``inline``), else ``default``; ValueError names a bad one."""
    raw = (environ.get(ENV) or "").strip().lower()
    return check_isolation(raw or default, what=f"{ENV}={environ.get(ENV)!r}" if raw else "isolation")


def memory_limit_mb(environ=os.environ) -> int:
    """``VIDEOCLF_DECODE_MEMORY_MB`` (0: no cap), else ``MEMORY_MB``; ValueError names a bad one."""
    raw = (environ.get(MEMORY_ENV) or "").strip()
    try:
        mb = int(raw) if raw else MEMORY_MB
    except ValueError:
        mb = -1
    if mb < 0 or 0 < mb < 256:
        raise ValueError(f"{MEMORY_ENV}={raw!r}: give a whole number of MB, 256 or more (0: no cap)")
    return mb


def _cap_memory(mb: int) -> None:
    """In the child: cap its address space, so a file that makes a decoder allocate without end
    fails there (a MemoryError, or a decoder error) instead of taking the machine's memory."""
    if mb <= 0:
        return
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))


def check_isolation(mode: str, *, what: str = "isolation") -> str:
    if mode not in MODES:
        raise ValueError(f"{what}: the decode isolation must be one of {list(MODES)}, got {mode!r}")
    return mode


class _PlanFailed(Exception):
    """In the child: the caller's plan raised (the caller re-raises its own exception)."""


# -- the child ----------------------------------------------------------------------------------

def serve(fd: int, memory_mb: int = 0) -> None:
    """A decoder process's life (``python -c "...serve(fd, mb)"``): answer requests on socket ``fd``
    until it closes; its address space capped at ``memory_mb`` MB (0: no cap)."""
    conn = Connection(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it kills us
    _cap_memory(memory_mb)
    try:
        conn.send(("ready", os.getpid()))
    except OSError:
        return  # the parent ended before this replacement was ready
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or died
        if request[0] == "status":
            heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnxruntime"))
            conn.send(("status", os.getpid(), heavy))
        elif request[0] == "sample":
            try:
                _child_sample(conn, **request[1])
            except (EOFError, OSError):
                return  # the parent went away mid-call


def _child_sample(conn, *, path, start, end, transform, backend, limits) -> None:
    generations: dict[object, int] = {}  # generation object -> its number, in the order they began
    streams: list[list] = []  # the frames kept by each generation

    def on_keep(generation, slot, image):
        number = generations.setdefault(generation, len(generations))
        if number == len(streams):
            streams.append([])
        streams[number].append(image)
        conn.send(("keep", number, slot, image))

    def plan(s, e):
        conn.send(("plan", s, e))
        reply = conn.recv()
        if reply[0] != "groups":
            raise _PlanFailed()
        return reply[1]

    try:
        sampled = sample_plan(path, plan, start=start, end=end, transform=transform, backend=backend,
                              on_keep=on_keep, limits=limits)
    except VideoDecodeError as exc:
        conn.send(("error", ("decode", str(exc), exc.details, exc.code)))
        return
    except _PlanFailed:
        conn.send(("error", ("plan",)))
        return
    except MemoryError:
        msg = (f"decoding needed more memory than a decoder process may use ({MEMORY_ENV}); "
               f"the file is not a normal video or is far too large")
        conn.send(("error", ("decode", msg, {}, "over_budget")))
        return
    except Exception as exc:  # FileNotFoundError, ValueError, MemoryError...: the caller's to see
        try:
            pickle.dumps(exc)
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc}")
        conn.send(("error", ("raise", exc)))
        return
    # The frames returned are one pass's stream (usually the last; an earlier one when a reader
    # fell back): name it rather than send the frames a second time.
    source = next((g for g in range(len(streams) - 1, -1, -1) if _same(streams[g], sampled.frames)), None)
    frames = None if source is not None else sampled.frames
    conn.send(("done", source, frames, sampled.timestamps, sampled.scale_indices, sampled.metadata))


def _same(stream: list, frames) -> bool:
    return len(stream) == len(frames) and all(a is b or (a.shape == b.shape and (a == b).all())
                                              for a, b in zip(stream, frames))


# -- the parent ---------------------------------------------------------------------------------

class _Child:
    """One decoder process (a fresh interpreter) and the parent's end of its socket."""

    def __init__(self):
        mine, theirs = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        code = f"from app.video.isolation import serve; serve({theirs.fileno()}, {memory_limit_mb()})"
        try:
            self.process = subprocess.Popen([sys.executable, "-c", code], pass_fds=(theirs.fileno(),),
                                            stdin=subprocess.DEVNULL, env=env, close_fds=True)
        finally:
            theirs.close()  # the child has its copy; ours closed, so that its death reads as EOF here
        self.conn = Connection(mine.detach())
        self.pid = self.process.pid
        self.ready = False

    def wait_ready(self) -> None:
        if self.ready:
            return
        if not self.conn.poll(START_TIMEOUT_S):
            self.kill()
            raise RuntimeError(f"a decoder process did not start within {START_TIMEOUT_S:g} s")
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            message = None
        if not message or message[0] != "ready":
            self.kill()
            raise RuntimeError(f"a decoder process failed to start ({self.death()})")
        self.ready = True

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: it may be inside a native call that nothing else interrupts."""
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            log.error("decoder process %d did not end after SIGKILL", self.pid)
        self.conn.close()

    def close(self) -> None:
        """End an idle child: closing the socket makes it return; kill it if it does not."""
        self.conn.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.kill()

    def death(self) -> str:
        """How the process ended, in words."""
        try:
            code = self.process.wait(2)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code < 0:
            number = -code
            name = signal.Signals(number).name if number in signal.Signals._value2member_map_ else str(number)
            why = " (from outside, e.g. the out-of-memory killer)" if number == signal.SIGKILL else ""
            return f"it was ended by signal {name}{why}"
        return f"it exited with status {code}"


class DecoderPool:
    """Decoder processes, started when needed and reused; ``sample_plan`` runs one call in one of them.

    ``keep``: idle processes kept for the next call (more are started while more callers decode
    at once, and closed when they return beyond ``keep``).
    """

    def __init__(self, keep: int | None = None):
        if keep is None:
            raw = os.environ.get(PROCESSES_ENV, "").strip()
            try:
                keep = int(raw) if raw else IDLE_CHILDREN
            except ValueError:
                raise ValueError(f"{PROCESSES_ENV}={raw!r} is not a whole number") from None
        if keep < 1:
            raise ValueError(f"{PROCESSES_ENV} (idle decoder processes kept) must be at least 1, got {keep}")
        self.keep = keep
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._busy: set[_Child] = set()
        self._pid = os.getpid()
        self.started = 0  # processes started (a measure of replacements)
        self.killed = 0  # processes killed past a deadline or after the caller gave up
        self.crashed = 0  # processes that died while decoding
        self._closing = False  # set by close: processes given back are ended, none replaced

    # -- state ----------------------------------------------------------------------------------
    def idle_pids(self) -> list[int]:
        with self._lock:
            return [c.pid for c in self._idle]

    def busy_pids(self) -> list[int]:
        with self._lock:
            return [c.pid for c in self._busy]

    def status(self) -> tuple[int, list[str]]:
        """(pid, torch / ONNX Runtime modules imported) of a child, as it answers (for tests)."""
        child = self._take()
        try:
            child.conn.send(("status",))
            _, pid, heavy = child.conn.recv()
        except BaseException:
            self._lose(child)
            raise
        self._give(child)
        return pid, heavy

    # -- children -------------------------------------------------------------------------------
    def _start(self) -> _Child:
        child = _Child()
        with self._lock:
            self.started += 1
        return child

    def _take(self) -> _Child:
        if os.getpid() != self._pid:  # forked: the children belong to the parent
            self._idle, self._busy, self._pid = [], set(), os.getpid()
        with self._lock:
            child = None
            while self._idle and child is None:
                candidate = self._idle.pop()
                if candidate.alive:
                    child = candidate
                else:  # died while idle (killed from outside): reaped by ``alive``, its socket closed here
                    candidate.conn.close()
        child = child or self._start()
        with self._lock:
            self._busy.add(child)
        try:
            child.wait_ready()
        except BaseException:
            with self._lock:
                self._busy.discard(child)
            raise
        return child

    def _give(self, child: _Child) -> None:
        with self._lock:
            self._busy.discard(child)
            spare = self._closing or len(self._idle) >= self.keep
            if not spare:
                self._idle.append(child)
        if spare:
            child.close()

    def _lose(self, child: _Child, *, crashed: bool = False) -> None:
        """Kill ``child`` (its state is unknown) and start its replacement."""
        child.kill()
        with self._lock:
            self._busy.discard(child)
            self.crashed += crashed
            self.killed += not crashed
            short = not self._closing and len(self._idle) < self.keep
        if short:
            try:
                self._give(self._start())  # it gets ready while nobody waits for it
            except Exception:
                log.exception("could not start a replacement decoder process (the next call will try)")

    def close(self, wait: float = CLOSE_WAIT_S) -> None:
        """End every decoder process; a busy one first gets up to ``wait`` seconds to finish its
        call. At interpreter exit this runs before the web app's own close (atexit is last in,
        first out, and this pool is made after the app), so without the wait a graceful stop
        would cut the decodes of the tasks the inference pool is still waiting for."""
        deadline = time.monotonic() + wait
        with self._lock:
            self._closing = True
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy:
                    break
            time.sleep(0.05)
        with self._lock:
            children, self._idle = self._idle + list(self._busy), []
            self._busy = set()
        for child in children:
            child.close()

    # -- one call -------------------------------------------------------------------------------
    def sample_plan(self, path, plan, *, start=None, end=None, transform=None, backend="auto", on_keep=None,
                    limits: DecodeLimits | None = None) -> SampledVideo:
        """``app.video.sample_plan`` in a decoder process. Raises what it raises, VideoDecodeError
        ``over_budget`` past the deadline (the process is killed) and ``decoder_crashed`` when the
        process dies; TypeError when ``transform`` cannot be sent to a process."""
        limits = limits or get_limits()
        name = Path(path).name
        # The child's own budget runs a little longer: the deadline is the caller's to enforce (it
        # can kill); the child's ends the work of a child whose caller died.
        request = {"path": os.fspath(path), "start": start, "end": end, "transform": transform,
                   "backend": backend, "limits": replace(limits, timeout_s=limits.timeout_s + CHILD_GRACE_S)}
        try:
            payload = pickle.dumps(("sample", request), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise TypeError(f"decoding in a process needs a picklable transform (e.g. Preprocessing.prepare, "
                            f"not a method of an object holding a model session): {exc}") from None
        child = self._take()
        try:
            child.conn.send_bytes(payload)
            outcome = self._converse(child, name, plan, on_keep, time.monotonic() + limits.timeout_s, limits)
        except _Crashed as exc:
            self._lose(child, crashed=True)
            log.warning("decoder process %d died while decoding %s: %s", child.pid, name, exc)
            raise VideoDecodeError(
                f"{name}: the decoder process died while decoding this file ({exc}); the file may be crafted "
                f"to crash the decoder, or need more memory than this server has", code="decoder_crashed") from None
        except BaseException as exc:
            # Past the deadline, or the caller's own code (on_keep) failed, or its thread was
            # stopped: the child is mid-decode, in a state nobody knows. It goes.
            self._lose(child)  # (the caller reports the error itself: logged for operators only)
            log.info("decoder process %d killed while decoding %s (%s)", child.pid, name,
                     getattr(exc, "code", type(exc).__name__))
            raise
        self._give(child)  # it answered in full (a result, or an error it caught): reusable
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _converse(self, child: _Child, name: str, plan, on_keep, deadline: float, limits: DecodeLimits):
        """Serve the child's requests and messages until it answers: a SampledVideo, or the
        exception to raise (one the child caught, or the plan's own)."""
        conn = child.conn
        generations: list[object] = []
        streams: list[list] = []
        plan_error: BaseException | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise VideoDecodeError(
                    f"{name}: decoding took longer than {limits.timeout_s:g} s (the limit, VIDEOCLF_DECODE_TIMEOUT) "
                    f"and was stopped; the file is too slow to decode or crafted to stall", code="over_budget")
            if not conn.poll(min(left, POLL_S)):
                if not child.alive:
                    raise _Crashed(child.death())
                continue
            try:
                message = conn.recv()
            except (EOFError, OSError):
                raise _Crashed(child.death()) from None
            kind = message[0]
            if kind == "keep":
                _, number, slot, image = message
                while len(generations) <= number:
                    generations.append(object())
                    streams.append([])
                streams[number].append(image)
                if on_keep is not None:
                    on_keep(generations[number], slot, image)
            elif kind == "plan":
                try:
                    reply = ("groups", [np.asarray(g, dtype=np.float64) for g in plan(message[1], message[2])])
                except Exception as exc:
                    plan_error, reply = exc, ("plan_failed",)
                try:
                    conn.send(reply)
                except OSError:
                    raise _Crashed(child.death()) from None
            elif kind == "done":
                _, source, frames, timestamps, scale_indices, metadata = message
                if frames is None:
                    frames = np.stack(streams[source])
                return SampledVideo(frames=frames, timestamps=timestamps, scale_indices=scale_indices,
                                    metadata=metadata)
            elif kind == "error":
                what = message[1]
                if what[0] == "decode":
                    return VideoDecodeError(what[1], what[2], code=what[3])
                return plan_error if what[0] == "plan" else what[1]


class _Crashed(Exception):
    """The decoder process died; the message says how."""


_pool: DecoderPool | None = None
_pool_lock = threading.Lock()


def decoder_pool() -> DecoderPool:
    """This process's DecoderPool (made on first use)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = DecoderPool()
            atexit.register(_pool.close)
        return _pool
