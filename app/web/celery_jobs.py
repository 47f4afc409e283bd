"""The Celery job backend (``VIDEOCLF_JOB_BACKEND=celery``): jobs run in worker processes
(``videoclf worker``, on this machine or others), queued on a Redis broker (``VIDEOCLF_BROKER``).

The web tier records the queued job in the job store and keeps the upload under ``UPLOAD_DIR``;
both must be what the workers see (one machine: the defaults; several: a shared path). The
task sent is ``videoclf.run_job(job_id)`` with the job id as task id; ``app.jobs.worker`` runs
it. Status is read from the store, as with the in-process backend; cancelling marks the job
failed in the store (a running worker sees it within ``CHECK_EVERY_S`` and stops) and revokes
the task. Taking over jobs of dead workers is the broker's (late acknowledgement), not the web
tier's: ``recover`` has nothing to do here.
"""
from __future__ import annotations

import logging
import uuid
from pathlib import Path

from flask import Flask

from app.jobs.store import JobStore
from app.jobs.worker import TASK, make_celery
from app.web.backends import JobBackend
from app.web.errors import QueueFull
from app.web.jobs import job_view
from app.web.uploads import Upload

log = logging.getLogger(__name__)
OWNER = "celery"  # a queued job's owner until a worker takes it


class CeleryJobs(JobBackend):
    def __init__(self, store: JobStore, broker: str, *, ttl_s: float, visibility_s: float, retry_after: int):
        self.store = store
        self.broker = broker
        self.ttl_s = ttl_s
        self.retry_after = retry_after
        self.celery = make_celery(broker, visibility_s=visibility_s)

    @classmethod
    def from_app(cls, app: Flask) -> "CeleryJobs":
        cfg = app.config
        jobs = cls(JobStore(cfg["DATABASE"]), cfg["BROKER"], ttl_s=cfg["JOB_TTL_HOURS"] * 3600,
                   visibility_s=cfg["BROKER_VISIBILITY_S"], retry_after=cfg["RETRY_AFTER"])
        jobs.store.purge(jobs.ttl_s)
        return jobs

    def submit(self, upload: Upload, *, source: str, job_id: str | None = None) -> str:
        """Record the job and send its task; QueueFull (503, nothing kept) when the broker cannot be reached."""
        self.store.purge(self.ttl_s)
        job_id = job_id or uuid.uuid4().hex
        self.store.create(job_id, source=source, filename=upload.filename, options=upload.stored_options(),
                          upload_path=str(upload.path), owner=OWNER)
        try:
            self.celery.send_task(TASK, args=[job_id], task_id=job_id)
        except Exception as exc:  # kombu's OperationalError, redis' ConnectionError, ...
            self.store.delete(job_id)
            upload.discard()
            log.error("job %s not queued: the broker %s is not reachable (%s)", job_id, _safe(self.broker), exc)
            raise QueueFull("The job queue is not reachable; try again in a few seconds.",
                            headers={"Retry-After": str(self.retry_after)}) from None
        return job_id

    def status(self, job_id: str, *, source: str | None = None) -> dict:
        return job_view(self.store, job_id, ttl_s=self.ttl_s, source=source)

    def cancel(self, job_id: str) -> bool:
        job = self.store.get(job_id)
        if job is None or not self.store.cancel(job_id, {
                "code": "cancelled", "status": 409, "message": "This job was cancelled before it finished."}):
            return False
        if job["upload_path"] and job["status"] == "queued" and not job["options"].get("keep_file"):
            Path(job["upload_path"]).unlink(missing_ok=True)  # a running worker deletes its own when it stops
        try:
            self.celery.control.revoke(job_id)
        except Exception:  # the store says cancelled: a worker that gets the task skips it anyway
            log.warning("job %s: revoking its task failed", job_id, exc_info=True)
        return True

    def recover(self) -> dict[str, int]:
        return {"requeued": 0, "failed": 0}

    def close(self) -> None:
        self.celery.close()
        self.store.close()


def _safe(url: str) -> str:
    """A broker URL without its password, for the log."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
