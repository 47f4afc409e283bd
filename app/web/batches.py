"""Batch prediction on the service: ``POST /batches`` with a manifest of files the server can read
(under ``VIDEOCLF_BATCH_ROOT``), ``GET /batches/<id>`` for progress, ``GET /batches/<id>/results``
for the records (JSON Lines or CSV, the same records as ``videoclf predict``).

Each row becomes a job of the configured backend (the in-process pool or Celery workers) whose id
is derived from the batch and the row (``batch_job_id``); its file is read where it is and never
deleted. A feeder thread queues the rows: on the in-process backend at most as many at once as
the pool has threads, so that uploads from users still find room in the queue; on Celery up to
``CELERY_WINDOW``. Batches live in the job store, so a restarted server (or another web process
on the same store) carries on feeding them; a row already queued by another process is not queued
twice (its job id exists).
"""
from __future__ import annotations

import io
import logging
import tempfile
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from app.batch import BatchError, check_rows, make_record, read_requests
from app.jobs.store import JobStore, batch_job_id
from app.tasks import OptionError, TaskOptions
from app.web import uploads
from app.web.errors import ApiError, BadField, NotFound, QueueFull
from app.web.uploads import Upload

log = logging.getLogger(__name__)
EXTENSION = "videoclf.batches"
FEED_EVERY_S = 0.5
PURGE_EVERY_S = 300.0  # finished batches past the job TTL are deleted this often, not at every feed
CELERY_WINDOW = 256
OPTION_FIELDS = ("tta", "top_k", "timeline", "interval")
_BATCH_ID_CHARS = set("0123456789abcdef")


class BatchesDisabled(ApiError):
    status, code = 403, "batches_disabled"


class Batches:
    def __init__(self, store: JobStore, backend, *, root: Path | None, max_rows: int, in_flight: int,
                 ttl_s: float):
        self.store, self.backend, self.root = store, backend, root
        self.max_rows, self.in_flight, self.ttl_s = max_rows, in_flight, ttl_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged = 0.0

    @classmethod
    def from_app(cls, app: Flask, backend) -> "Batches":
        cfg = app.config
        root = Path(cfg["BATCH_ROOT"]).resolve() if cfg["BATCH_ROOT"] else None
        in_flight = CELERY_WINDOW if cfg["JOB_BACKEND"] == "celery" else cfg["INFERENCE_WORKERS"]
        batches = cls(backend.store, backend, root=root, max_rows=cfg["MAX_BATCH_ROWS"], in_flight=in_flight,
                      ttl_s=cfg["JOB_TTL_HOURS"] * 3600)
        batches.start()
        return batches

    # -- submission -----------------------------------------------------------------------------
    def create(self, request, *, source: str = "api") -> dict:
        """A new batch from the request: JSON ``{"rows": [{"path", "start", "end"}...], "tta",
        "top_k", "timeline", "interval"}``, or multipart with a ``manifest`` file (CSV or JSONL, as
        ``videoclf predict`` reads) and the options as form fields. Paths are relative to the batch
        folder. Raises BatchesDisabled (no VIDEOCLF_BATCH_ROOT), BadField."""
        if self.root is None:
            raise BatchesDisabled("Batches are not enabled on this server: set VIDEOCLF_BATCH_ROOT to the folder "
                                  "whose videos they may read.")
        options, (requests, bad) = self._parse(request)
        if not requests and not bad:
            raise BadField("The batch has no rows.", field="rows")
        batch_id = uuid.uuid4().hex
        rows = [{"row": r.row, "path": r.path, "file": str(r.file), "start": r.start, "end": r.end} for r in requests]
        self.store.create_batch(batch_id, source=source, options=options.to_dict(), rows=rows,
                                bad=[b.record() for b in bad])
        self._wake.set()
        return self.view(batch_id)

    def _parse(self, request):
        try:
            if request.is_json:
                body = request.get_json(silent=True)
                if not isinstance(body, dict):
                    raise BadField("The JSON body must be an object with 'rows'.", field="rows")
                unknown = [k for k in body if k not in ("rows", *OPTION_FIELDS)]
                if unknown:
                    raise BadField(f"unknown field {uploads.show(unknown[0])}: a batch takes rows and "
                                   f"{', '.join(OPTION_FIELDS)}", field=unknown[0])
                rows = body.get("rows")
                if not isinstance(rows, list):
                    raise BadField("'rows' must be a list of {path, start, end} objects.", field="rows")
                options = TaskOptions(tta=body.get("tta"), top_k=body.get("top_k"), timeline=body.get("timeline"),
                                      interval=body.get("interval"))
                return options, check_rows(rows, self.root, root=self.root, max_rows=self.max_rows)
            return self._parse_form(request)
        except OptionError as exc:
            raise BadField(str(exc)) from None
        except BatchError as exc:
            raise BadField(str(exc), field="manifest") from None

    def _parse_form(self, request):
        others = [k for k in request.files if k != "manifest"]
        unknown = [k for k in request.form if k not in OPTION_FIELDS] + others
        if unknown:
            raise BadField(f"unknown field {uploads.show(unknown[0])}: a batch takes the file field 'manifest' and "
                           f"{', '.join(OPTION_FIELDS)} (or a JSON body)", field=unknown[0])
        storage = request.files.get("manifest")
        if storage is None:
            raise BadField("Send the rows as a JSON body {\"rows\": [...]} or a CSV/JSONL file in the field "
                           "'manifest'.", field="manifest")
        form = request.form
        options = TaskOptions(tta=uploads.parse_tta(form.get("tta")), top_k=uploads.parse_int(form.get("top_k")),
                              timeline=uploads.given(form.get("timeline")),
                              interval=uploads.parse_float(form.get("interval")))
        suffix = ".jsonl" if Path(storage.filename or "").suffix.lower() in (".jsonl", ".ndjson", ".json") else ".csv"
        with tempfile.NamedTemporaryFile(suffix=suffix) as f:
            storage.save(f)
            f.flush()
            return options, read_requests(f.name, base=self.root, root=self.root, max_rows=self.max_rows)

    # -- views ----------------------------------------------------------------------------------
    def _get(self, batch_id: str) -> dict:
        batch = self.store.get_batch(batch_id) if set(batch_id) <= _BATCH_ID_CHARS and len(batch_id) == 32 else None
        if batch is None:
            raise NotFound("There is no batch with this id.")
        return batch

    def _jobs(self, batch: dict) -> dict[int, dict]:
        """Row number -> its job (rows not queued yet are missing)."""
        ids = {batch_job_id(batch["id"], r["row"]): r["row"] for r in batch["rows"]}
        return {ids[job_id]: job for job_id, job in self.store.get_many(ids).items()}

    def view(self, batch_id: str) -> dict:
        batch = self._get(batch_id)
        jobs = self._jobs(batch)
        counts = {"pending": 0, "queued": 0, "running": 0, "done": 0, "failed": len(batch["bad"])}
        for r in batch["rows"]:
            counts[jobs[r["row"]]["status"] if r["row"] in jobs else "pending"] += 1
        total = len(batch["rows"]) + len(batch["bad"])
        finished = counts["done"] + counts["failed"]
        return {"id": batch["id"], "status": "done" if finished == total else "running", "rows": total,
                "counts": counts, "progress": round(finished / total, 4) if total else 1.0,
                "options": batch["options"], "bad_rows": batch["bad"],
                "status_url": f"/batches/{batch['id']}", "results_url": f"/batches/{batch['id']}/results"}

    def records(self, batch_id: str) -> list[dict]:
        """One record per row in manifest order: done/failed as ``videoclf predict`` writes them,
        the others with their status (pending, queued, running) and no body."""
        batch = self._get(batch_id)
        jobs = self._jobs(batch)
        out = list(batch["bad"])
        for r in batch["rows"]:
            job = jobs.get(r["row"])
            status = job["status"] if job else "pending"
            if status == "done":
                out.append(make_record(_Row(r), "done", result=job["result"]))
            elif status == "failed":
                error = {k: v for k, v in job["error"].items() if k in ("code", "message")}
                out.append(make_record(_Row(r), "failed", error=error))
            else:
                out.append(make_record(_Row(r), status))
        return sorted(out, key=lambda rec: rec["row"])

    # -- feeding --------------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="videoclf-batches", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(FEED_EVERY_S)
            self._wake.clear()
            try:
                self.feed()
            except Exception:  # the store failed (locked, down): try again next time
                log.exception("feeding batch rows failed")

    def feed(self) -> int:
        """Queue the next rows of unfinished batches while there is room; mark finished batches.
        Returns the number of rows queued."""
        queued = 0
        for batch in self.store.unfinished_batches():
            jobs = self._jobs(batch)
            busy = sum(j["status"] in ("queued", "running") for j in jobs.values())
            waiting = [r for r in batch["rows"] if r["row"] not in jobs]
            if not waiting and busy == 0:
                self.store.finish_batch(batch["id"])
                continue
            options = TaskOptions.from_dict(batch["options"])
            for r in waiting[: max(0, self.in_flight - busy)]:
                upload = Upload(Path(r["file"]), r["path"], options, r["start"], r["end"], keep=True)
                try:
                    self.backend.submit(upload, source="batch", job_id=batch_job_id(batch["id"], r["row"]))
                except QueueFull:
                    return queued  # the pool is busy: the next round
                except sa.exc.IntegrityError:
                    continue  # another web process queued this row first
                queued += 1
        if time.monotonic() - self._purged > PURGE_EVERY_S:
            self._purged = time.monotonic()
            self.store.purge_batches(self.ttl_s)
        return queued

    def close(self) -> None:
        self._stop.set()
        self._wake.set()


class _Row:
    """A stored batch row, shaped for ``make_record``."""

    def __init__(self, row: dict):
        self.row, self.path, self.start, self.end = row["row"], row["path"], row["start"], row["end"]


def records_csv(records: list[dict]) -> str:
    import csv

    from app.batch import CSV_FIELDS, csv_record

    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_FIELDS)
    writer.writeheader()
    for rec in records:
        writer.writerow(csv_record(rec))
    return out.getvalue()


def init_app(app: Flask, backend) -> Batches:
    batches = Batches.from_app(app, backend)
    app.extensions[EXTENSION] = batches
    return batches


def get_batches(app: Flask | None = None) -> Batches:
    from flask import current_app

    return (app or current_app).extensions[EXTENSION]
