"""Where asynchronous jobs run: the job-backend interface the routes talk to, and its choice.

    backend = get_backend()
    job_id = backend.submit(upload, source="api")   # 202 with job_id
    backend.status(job_id)                          # {id, status, ..., result | error}

A backend takes an ``Upload`` (a stored video and its checked ``TaskOptions``), runs
``app.tasks.run_task`` on it somewhere, and records the job's state where ``status`` can find it,
across restarts. The setting ``JOB_BACKEND`` (``VIDEOCLF_JOB_BACKEND``) chooses one; an unknown
name stops start-up. ``inprocess`` (the default, ``app.web.jobs``): this process's inference pool
and a SQLite job store. ``celery`` (``app.web.celery_jobs``): worker processes fed through a Redis
broker (``VIDEOCLF_BROKER``), the same job store shared with them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

from flask import Flask, current_app

from app.web.uploads import Upload

EXTENSION = "videoclf.jobs"
DEFAULT_BACKEND = "inprocess"


class JobBackend(ABC):
    """Submit, look up, cancel and take over jobs; one per app."""

    @abstractmethod
    def submit(self, upload: Upload, *, source: str, job_id: str | None = None) -> str:
        """Record a queued job for ``upload`` and queue it; returns the job id (``job_id``, or a new
        one). The job owns the upload from here (it is deleted once the job has run, unless
        ``upload.keep``). Raises QueueFull (503 with Retry-After; nothing is kept) when the backend
        cannot take more work now."""

    @abstractmethod
    def status(self, job_id: str, *, source: str | None = None) -> dict:
        """The public view of a job: {id, status (queued, running, done, failed), filename, options,
        created, started, finished} and ``result`` (done) or ``error`` (failed). Raises NotFound
        for an unknown id, or for a job submitted from another ``source`` when one is given."""

    @abstractmethod
    def cancel(self, job_id: str) -> bool:
        """Stop a queued or running job: it fails with code ``cancelled`` and its upload is
        deleted. False when it had already finished."""

    @abstractmethod
    def recover(self) -> dict[str, int]:
        """Take over the unfinished jobs of processes that died; returns counts such as
        {"requeued": n, "failed": m}."""

    @abstractmethod
    def close(self) -> None:
        """Stop taking work; jobs not finished stay recorded for ``recover`` in the next process."""


def _inprocess(app: Flask) -> JobBackend:
    from app.web.jobs import InProcessJobs

    return InProcessJobs.from_app(app)


def _celery(app: Flask) -> JobBackend:
    from app.web.celery_jobs import CeleryJobs

    return CeleryJobs.from_app(app)


# name -> factory. Imported lazily, so a backend's own dependencies (a broker client, say) are
# needed only where it is chosen.
BACKENDS: dict[str, Callable[[Flask], JobBackend]] = {"inprocess": _inprocess, "celery": _celery}


def init_app(app: Flask) -> JobBackend:
    """Create the backend named by JOB_BACKEND (after ``inference.init_app``: it runs on that pool).

    Raises RuntimeError for a name that is not in ``BACKENDS``.
    """
    name = app.config.get("JOB_BACKEND") or DEFAULT_BACKEND
    if name not in BACKENDS:
        raise RuntimeError(f"JOB_BACKEND (VIDEOCLF_JOB_BACKEND) must be one of {', '.join(BACKENDS)}, "
                           f"got {name!r}")
    backend = BACKENDS[name](app)
    app.extensions[EXTENSION] = backend
    return backend


def get_backend(app: Flask | None = None) -> JobBackend:
    """The job backend of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]
