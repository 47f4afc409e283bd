"""The in-process job backend: jobs run on this process's inference pool, recorded in the JobStore.

``InProcessJobs`` is the default ``JobBackend`` (``app.web.backends``); each job runs
``app.tasks.run_task`` through ``InferenceService.run``.

A job's upload is deleted as soon as it has run (before its result is visible, so a client that
sees ``done`` never finds the file). At start-up, and then every ``JOB_RECLAIM_S`` seconds, the
jobs of processes that died are taken over: re-queued when their upload is still there, failed
with a plain message when it is not; stray uploads of dead processes are removed. The periodic
pass covers an owner that dies while this process runs: a worker orphaned by a ``kill -9`` of the
gunicorn master still lives when the new server starts, and exits (its jobs unfinished) later.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
import uuid
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask

from app.tasks import OptionError
from app.web.backends import JobBackend
from app.web.errors import ApiError, NotFound, Timeout, from_exception
from app.web.inference import InferenceService, get_service
from app.jobs.store import JobStore
from app.web.uploads import PREFIX, Upload

log = logging.getLogger(__name__)
MODEL_WAIT_S = 600.0  # a job queued before the model is in (taken over at start-up) waits this long for it
RECLAIM_INTERVAL_S = 10.0  # default JOB_RECLAIM_S: how often jobs of dead owners are looked for (0: start-up only)
PROGRESS_EVERY_S = 0.25  # at most this often a running job's progress is written, within one stage
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")  # uuid4().hex
_LIVE_TOKENS: set[str] = set()  # owners alive in this process (one per app; tests run several)


class InProcessJobs(JobBackend):
    """Job submission and execution for one app, on its inference pool."""

    def __init__(self, store: JobStore, service: InferenceService, upload_dir: Path, ttl_s: float,
                 timeout_s: float):
        self.store = store
        self.timeout_s = timeout_s
        self.service = service
        self.upload_dir = upload_dir
        self.ttl_s = ttl_s
        self.owner = f"{os.getpid()}:{secrets.token_hex(8)}"
        _LIVE_TOKENS.add(self.owner)
        self._stop = threading.Event()
        self._reclaimer: threading.Thread | None = None
        self._futures: dict[str, Future] = {}  # job id -> its pool task, while queued or running
        self._cancelled: set[str] = set()  # jobs being cancelled (their stop is not a timeout)

    @classmethod
    def from_app(cls, app: Flask) -> "InProcessJobs":
        """Open the job store (VIDEOCLF_DB), purge old jobs, take over jobs of dead processes (at
        start-up and every ``JOB_RECLAIM_S`` seconds after)."""
        cfg = app.config
        jobs = cls(JobStore(cfg["DATABASE"]), get_service(app), Path(cfg["UPLOAD_DIR"]),
                   cfg["JOB_TTL_HOURS"] * 3600, cfg["JOB_TIMEOUT"])
        jobs.store.purge(jobs.ttl_s)
        jobs.recover()
        jobs.start_reclaimer(float(cfg.get("JOB_RECLAIM_S", RECLAIM_INTERVAL_S)))
        return jobs

    def start_reclaimer(self, interval_s: float) -> None:
        """Run ``recover`` every ``interval_s`` seconds in a daemon thread until ``close``."""
        if interval_s <= 0 or self._reclaimer is not None:
            return

        def loop():
            while not self._stop.wait(interval_s):
                try:
                    self.recover()
                except Exception:  # the store failed (disk full, locked): try again next time
                    log.exception("taking over the jobs of dead processes failed")

        self._reclaimer = threading.Thread(target=loop, name="videoclf-job-reclaim", daemon=True)
        self._reclaimer.start()

    def submit(self, upload: Upload, *, source: str, job_id: str | None = None) -> str:
        """Record a queued job for ``upload`` and queue it; returns the job id.

        The job owns the upload from here. Raises QueueFull (the job is not kept, the upload is
        deleted) when the pool is at capacity.
        """
        self.store.purge(self.ttl_s)
        job_id = job_id or uuid.uuid4().hex
        self.store.create(job_id, source=source, filename=upload.filename, options=upload.stored_options(),
                          upload_path=str(upload.path), owner=self.owner)
        try:
            self._queue(job_id, upload)
        except BaseException:
            self.store.delete(job_id)
            upload.discard()
            raise
        return job_id

    def _queue(self, job_id: str, upload: Upload) -> None:
        """Put the job on the pool with its deadline; past it the job fails with code ``timeout``."""
        def stopped():  # past the deadline, or cancelled while running
            upload.discard()
            self._futures.pop(job_id, None)
            if job_id in self._cancelled:
                return  # ``cancel`` records it
            self.service.stats.timeouts.labels("job").inc()
            err = Timeout(f"Classifying this video took longer than {self.timeout_s:g} s and was stopped.")
            self.store.fail_unfinished(job_id, self.owner, {**err.to_dict(), "status": err.status})

        future = self.service.submit(self._run, job_id, upload, timeout=self.timeout_s, on_timeout=stopped)
        self._futures[job_id] = future
        future.add_done_callback(lambda _: self._futures.pop(job_id, None))

    def _progress_writer(self, job_id: str):
        """``progress(stage, fraction)`` for one job: recorded in the store at a new stage and at
        most every PROGRESS_EVERY_S seconds within one (polls read it; writes stay few)."""
        last = {"stage": None, "t": 0.0}

        def write(stage: str, fraction: float) -> None:
            now = time.monotonic()
            if stage == last["stage"] and now - last["t"] < PROGRESS_EVERY_S:
                return
            last.update(stage=stage, t=now)
            try:
                self.store.set_progress(job_id, self.owner, stage, round(min(1.0, max(0.0, fraction)), 3))
            except Exception:  # progress is a courtesy: a busy store must not fail the job
                log.warning("job %s: progress not recorded", job_id, exc_info=True)

        return write

    def _run(self, job_id: str, upload: Upload) -> None:
        try:
            if not self.store.mark_running(job_id, self.owner):
                log.warning("job %s was taken over by another process; not running it here", job_id)
                return  # its upload now belongs to the new owner
            try:
                # Jobs taken over at start-up are queued while the model is still loading.
                self.service.wait_for_classifier(MODEL_WAIT_S)
                result = self.service.run(upload, self._progress_writer(job_id))
            except Exception as exc:
                upload.discard()
                err = from_exception(exc, filename=upload.filename, temp_name=upload.path.name)
                self.store.mark_failed(job_id, self.owner, {**err.to_dict(), "status": err.status})
            else:
                upload.discard()  # before the result shows: a client that sees "done" finds no file
                self.store.mark_done(job_id, self.owner, result)
        except Exception:  # the store itself failed (disk full, locked): keep the pool thread alive
            log.exception("job %s could not be recorded", job_id)
            upload.discard()

    def status(self, job_id: str, *, source: str | None = None) -> dict:
        return job_view(self.store, job_id, ttl_s=self.ttl_s, source=source)

    def cancel(self, job_id: str) -> bool:
        """Stop a job: cancelled in this process's queue, or stopped where it runs here (as past a
        deadline); a job of another server process is marked cancelled in the store (that process
        does not start it, and the result it may still compute is refused). It fails with code
        ``cancelled``; its upload is deleted. False when it has finished."""
        cancelled = {"code": "cancelled", "status": 409, "message": "This job was cancelled before it finished."}
        future = self._futures.get(job_id)
        if future is None:
            job = self.store.get(job_id)
            if job is None or not self.store.cancel(job_id, cancelled):
                return False
            _discard_upload(job)
            return True
        self._cancelled.add(job_id)
        try:
            if not self.service.pool.kill(future, "cancelled"):
                return False  # it finished first
            job = self.store.get(job_id)
            if job:
                _discard_upload(job)
            return self.store.fail_unfinished(job_id, self.owner, cancelled)
        finally:
            self._cancelled.discard(job_id)

    # -- start-up -------------------------------------------------------------------------------
    def recover(self) -> dict[str, int]:
        """Take over the unfinished jobs of dead processes and delete their stray uploads."""
        counts = {"requeued": 0, "failed": 0}
        for job in self.store.unfinished():
            if _owner_alive(job["owner"], job["owner_since"]) or not self.store.claim(job["id"], job["owner"],
                                                                                       self.owner):
                continue
            path = Path(job["upload_path"]) if job["upload_path"] else None
            if path is None or not path.is_file():
                self.store.mark_failed(job["id"], self.owner, {
                    "code": "interrupted", "status": 500,
                    "message": "The server restarted before this video was classified, and its upload is gone; "
                               "please submit it again."})
                counts["failed"] += 1
                continue
            try:
                upload = Upload.from_stored(path, job["filename"], job["options"])
                self._queue(job["id"], upload)
                counts["requeued"] += 1
            except (ApiError, OptionError) as exc:  # the pool is full; options stored by another version
                _discard_upload(job)
                err = exc if isinstance(exc, ApiError) else ApiError(str(exc), code="bad_field")
                self.store.mark_failed(job["id"], self.owner, {**err.to_dict(), "status": err.status})
                counts["failed"] += 1
        self._remove_stray_uploads()
        if any(counts.values()):
            log.warning("jobs left by a previous process: %(requeued)d queued again, %(failed)d failed", counts)
        return counts

    def _remove_stray_uploads(self) -> None:
        keep = {j["upload_path"] for j in self.store.unfinished() if j["upload_path"]}
        for path in self.upload_dir.glob(f"{PREFIX}*"):
            if str(path) in keep:
                continue
            try:
                pid = int(path.name[len(PREFIX):].split("-", 1)[0])
                written = path.stat().st_mtime
            except (ValueError, OSError):
                continue
            started = _process_started(pid)
            if started is None or started > written:  # its writer has died (or the pid was reused)
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self._stop.set()
        _LIVE_TOKENS.discard(self.owner)
        self.store.close()


def job_view(store: JobStore, job_id: str, *, ttl_s: float, source: str | None = None) -> dict:
    """The public view of a job: id, status, stage and progress, times, options, and result or
    error (every backend's ``status``).

    Raises NotFound (404) for an unknown id, or one from another ``source`` when given (the
    page's status URL must not show API jobs, which may sit behind the API token).
    """
    job = store.get(job_id) if _JOB_ID.match(job_id) else None
    if job is None or (source is not None and job["source"] != source):
        raise NotFound(f"There is no job with this id (finished jobs are kept for {ttl_s / 3600:g} hours).")
    status = job["status"]
    stage, progress = {"queued": ("queued", 0.0), "done": ("done", 1.0)}.get(
        status, (job.get("stage") or "starting", job.get("progress") or 0.0))
    if status == "failed":
        stage = "failed"
    out = {"id": job["id"], "status": status, "stage": stage, "progress": progress, "filename": job["filename"],
           "options": job["options"], "created": _iso(job["created"]), "started": _iso(job["started"]),
           "finished": _iso(job["finished"])}
    if job["status"] == "done":
        out["result"] = job["result"]
    elif job["status"] == "failed":
        out["error"] = job["error"]
    return out


def _discard_upload(job: dict) -> None:
    """Delete a stored job's private upload; a batch row's own file (``keep_file``) stays."""
    if job["upload_path"] and not (job["options"] or {}).get("keep_file"):
        Path(job["upload_path"]).unlink(missing_ok=True)


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds") if t else None


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started (epoch seconds), or None if there is no such process.

    Uses /proc where there is one (so a reused pid is told apart); elsewhere only whether it exists.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])  # field 22, starttime, after "pid (comm)"
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        # A second early, for clock adjustments since boot: errs towards "alive" and "keep the file".
        return boot + ticks / os.sysconf("SC_CLK_TCK") - 1.0
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None  # /proc works and this pid is not in it
    except (OSError, ValueError, IndexError, StopIteration):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return 0.0


def _owner_alive(owner: str | None, since: float | None) -> bool:
    if not owner:
        return False
    if owner.startswith("celery"):  # a queue worker's (or queued on the broker): the broker redelivers it
        return True
    pid_text, _, _ = owner.partition(":")
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if pid == os.getpid():
        return owner in _LIVE_TOKENS
    started = _process_started(pid)
    return started is not None and (since is None or started <= since)
