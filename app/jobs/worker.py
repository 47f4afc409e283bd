"""Celery workers for the web tier's jobs (``VIDEOCLF_JOB_BACKEND=celery``), with Redis as broker.

    videoclf worker                          # or: celery -A app.jobs.worker worker --pool solo
    VIDEOCLF_BROKER=redis://host:6379/0      # the broker the web tier queues on
    VIDEOCLF_DB=/shared/jobs.sqlite3         # the job store the web tier reads
    VIDEOCLF_UPLOAD_DIR=/shared/uploads      # where the web tier stores uploads (same path here)

The web tier records a queued job in the job store, keeps the upload under ``UPLOAD_DIR`` and sends
the task ``videoclf.run_job(job_id)``; the task id is the job id. A worker process loads the model
once (at its first job), takes the job in the store (it becomes the job's owner), runs
``app.tasks.run_task`` and records the result or the error; the upload is deleted once the job
has finished.

What a dead worker leaves behind is finished by another: tasks are acknowledged late (after they
ran) and rejected when their worker process is lost, so the broker hands the task out again
(a worker killed outright, ``kill -9``, holds it unacknowledged: Redis gives it to another
worker once ``VIDEOCLF_BROKER_VISIBILITY_S`` has passed, default 3600 s, which must be longer than
the longest job). A job never completes twice: the worker that takes a job over becomes its owner,
and the store refuses every later write of the one before (``JobStore.take``). A worker also
checks at each progress step that the job is still its own and still running: a job cancelled
through the API, or taken over, stops there; one past ``VIDEOCLF_JOB_TIMEOUT`` fails with
``timeout``. (Decoding itself runs in decoder processes with their own deadline.)
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from pathlib import Path

from celery import Celery

from app.bundle import default_bundle_dir
from app.jobs.errors import error_document
from app.jobs.store import JobStore, default_database
from app.tasks import OptionError, StoredVideo, TaskOptions, run_task

log = logging.getLogger(__name__)
TASK = "videoclf.run_job"
QUEUE = "videoclf"
DEFAULT_BROKER = "redis://localhost:6379/0"
DEFAULT_VISIBILITY_S = 3600.0
DEFAULT_TIMEOUT_S = 600.0
CHECK_EVERY_S = 0.5  # how often a running job looks in the store whether it is still its own
PROGRESS_EVERY_S = 0.25


class JobStopped(Exception):
    """Raised in a running job's progress step: it was cancelled, taken over, or ran past its deadline."""

    def __init__(self, why: str):
        super().__init__(why)
        self.why = why


def make_celery(broker: str, *, visibility_s: float = DEFAULT_VISIBILITY_S) -> Celery:
    """The Celery app of the web tier (which only sends ``TASK``) and of the workers (which run it)."""
    celery = Celery("videoclf", broker=broker, set_as_current=False)
    restore_s = max(1.0, min(10.0, visibility_s / 4))
    celery.conf.update(
        task_default_queue=QUEUE,
        task_serializer="json", accept_content=["json"], task_ignore_result=True,  # results live in the store
        task_acks_late=True, task_reject_on_worker_lost=True,  # a dead worker's task goes to another
        worker_prefetch_multiplier=1,  # a busy worker does not sit on queued jobs another could run
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=5,
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5, "interval_max": 1},
        broker_transport_options={"visibility_timeout": visibility_s, "unacked_restore_interval": restore_s,
                                  "unacked_restore_throttle": 1},
        worker_hijack_root_logger=False,
    )
    celery.task(name=TASK, bind=True, acks_late=True, reject_on_worker_lost=True)(_run_job)
    return celery


def settings_from_env(environ=os.environ) -> dict:
    """A worker's settings from ``VIDEOCLF_*`` (the same variables as the web tier's). Raises
    RuntimeError naming a variable with a bad value."""
    def number(name: str, default: float) -> float:
        raw = environ.get(name)
        try:
            value = float(raw) if raw not in (None, "") else default
        except ValueError:
            value = -1.0
        if not value > 0:
            raise RuntimeError(f"{name} must be a positive number of seconds, got {raw!r}")
        return value

    return {"broker": environ.get("VIDEOCLF_BROKER") or DEFAULT_BROKER,
            "database": environ.get("VIDEOCLF_DB") or str(default_database(environ.get("VIDEOCLF_DATA_DIR"))),
            "model": environ.get("VIDEOCLF_MODEL") or str(default_bundle_dir()),
            "device": environ.get("VIDEOCLF_DEVICE") or None,
            "timeout_s": number("VIDEOCLF_JOB_TIMEOUT", DEFAULT_TIMEOUT_S),
            "visibility_s": number("VIDEOCLF_BROKER_VISIBILITY_S", DEFAULT_VISIBILITY_S)}


class Runner:
    """Runs jobs in one worker process: one job store, one classifier (loaded at the first job)."""

    def __init__(self, store: JobStore, model: str, *, device: str | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S):
        self.store, self.model, self.device, self.timeout_s = store, model, device, timeout_s
        self._classifier = None
        self._lock = threading.Lock()

    def classifier(self):
        with self._lock:
            if self._classifier is None:
                from app.classifier import SingleVideoClassifier  # torch: only in the worker

                t0 = time.perf_counter()
                self._classifier = SingleVideoClassifier(self.model, device=self.device)
                log.info("worker %d: model %s loaded in %.1f s", os.getpid(), self.model, time.perf_counter() - t0)
            return self._classifier

    def run(self, job_id: str) -> str:
        """Run one job; returns what happened (done, failed, cancelled, taken, finished, missing)."""
        job = self.store.get(job_id)
        if job is None:
            log.warning("job %s is not in the store (purged, or another store); skipped", job_id)
            return "missing"
        if job["status"] in ("done", "failed"):
            return "finished"  # by the worker before (its ack was lost), or cancelled while queued
        owner = f"celery:{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"
        if job["status"] == "running":
            log.warning("job %s was running under %s, which is gone; this worker takes it over", job_id, job["owner"])
        if not self.store.take(job_id, owner):
            return "finished"
        path = Path(job["upload_path"]) if job["upload_path"] else None
        if path is None or not path.is_file():
            self.store.mark_failed(job_id, owner, {
                "code": "interrupted", "status": 500,
                "message": "This video's upload is gone (it is not on the shared upload path this worker "
                           "reads); please submit it again."})
            return "failed"
        stored = job["options"]
        # A batch row names the user's own file (``keep_file``): read, never deleted. An upload is
        # the service's private copy: deleted once the job has finished.
        discard = (lambda: None) if stored.get("keep_file") else (lambda: path.unlink(missing_ok=True))
        try:
            options = TaskOptions.from_dict(stored)
            clf = self.classifier()
            result = run_task(clf, StoredVideo(path, job["filename"], stored.get("start"), stored.get("end")), options,
                              self._progress(job_id, owner))
        except JobStopped as stop:
            if stop.why == "timeout":
                self.store.fail_unfinished(job_id, owner, {
                    "code": "timeout", "status": 504,
                    "message": f"Classifying this video took longer than {self.timeout_s:g} s and was stopped."})
                discard()
                return "failed"
            if stop.why == "cancelled":
                discard()
            return stop.why  # taken over: the new owner has the upload
        except Exception as exc:  # the video's fault, or a bug: recorded, the worker goes on
            if isinstance(exc, OptionError):
                log.warning("job %s: stored options no longer valid: %s", job_id, exc)
            discard()
            self.store.mark_failed(job_id, owner, error_document(exc, filename=job["filename"], temp_name=path.name))
            return "failed"
        if not self.store.mark_done(job_id, owner, result):
            return "taken"  # another worker took it over meanwhile: its answer stands
        discard()
        return "done"

    def _progress(self, job_id: str, owner: str):
        """``progress(stage, fraction)`` for one job: written to the store now and then, and where
        it raises JobStopped when the job was cancelled, taken over or is past its deadline."""
        deadline = time.monotonic() + self.timeout_s
        last = {"stage": None, "written": 0.0, "checked": time.monotonic()}

        def progress(stage: str, fraction: float) -> None:
            now = time.monotonic()
            if now > deadline:
                raise JobStopped("timeout")
            if now - last["checked"] >= CHECK_EVERY_S:
                last["checked"] = now
                job = self.store.get(job_id)
                if job is None or job["status"] != "running":
                    raise JobStopped("cancelled")
                if job["owner"] != owner:
                    raise JobStopped("taken")
            if stage != last["stage"] or now - last["written"] >= PROGRESS_EVERY_S:
                last.update(stage=stage, written=now)
                self.store.set_progress(job_id, owner, stage, round(min(1.0, max(0.0, fraction)), 3))

        return progress


_runner: Runner | None = None
_runner_lock = threading.Lock()


def get_runner() -> Runner:
    """This process's Runner, made from the environment at its first job."""
    global _runner
    with _runner_lock:
        if _runner is None:
            cfg = settings_from_env()
            _runner = Runner(JobStore(cfg["database"]), cfg["model"], device=cfg["device"], timeout_s=cfg["timeout_s"])
        return _runner


def _run_job(task, job_id: str) -> str:
    outcome = get_runner().run(job_id)
    log.info("job %s: %s", job_id, outcome)
    return outcome


def _from_env() -> Celery:
    cfg = settings_from_env()
    return make_celery(cfg["broker"], visibility_s=cfg["visibility_s"])


# ``celery -A app.jobs.worker worker`` finds this.
celery = _from_env()
