"""Batch prediction: a manifest of videos (and segments) in, one result per row out.

    requests, bad = read_requests("videos.csv")           # rows checked first; bad ones listed
    with ResultsFile("results.jsonl") as out:             # .jsonl or .csv; resumable
        todo = [r for r in requests if r.key not in out.done]
        for request, record in predict(clf, todo, options, workers=4):
            out.write(record)

A manifest is CSV with a header naming ``path`` (``start`` and ``end`` optional, in seconds; other
columns, such as a training manifest's ``label``, are ignored) or JSON Lines with ``path`` (or
Vertex AI's ``content``) and ``start``/``end`` (or ``timeSegmentStart``/``timeSegmentEnd``,
written like ``"2.5s"``; ``"Infinity"`` is the video's end). Relative paths are relative to the
manifest. A row that cannot be a request (no path, a start that is not a number, an end before
its start, a file that is not there) is a ``BadRow``: reported and written to the results as an error, never fatal.

Each record is ``{"row", "path", "start", "end", "status": "done", "result": <run_task's
document>}`` or ``{..., "status": "failed", "error": {"code", "message"}}``; the error codes are
the API's. Results are appended and flushed row by row, so an interrupted run keeps every row it
finished, and a rerun with the same output skips them (a record cut short by a crash is dropped
and redone). Rows are keyed by path and segment, so a manifest may be edited between runs.

This module is Flask-free and loads no model: the caller passes a loaded classifier (the CLI's
``videoclf predict``; a queue worker would do the same).
"""
from __future__ import annotations

import csv
import json
import math
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

from app.tasks import StoredVideo, TaskOptions, error_code, run_task

__all__ = ["BatchError", "BadRow", "Request", "ResultsFile", "read_requests", "check_rows", "csv_record", "make_record",
           "predict", "predict_via_queue", "FORMATS"]

FORMATS = (".jsonl", ".csv")
MAX_ROWS = 1_000_000
CSV_FIELDS = ["row", "path", "start", "end", "status", "label", "confidence", "uncertain", "scores",
              "error_code", "error_message"]


class BatchError(ValueError):
    """The manifest or the results file cannot be used at all (unreadable, no ``path`` column,
    an output format that is not .jsonl or .csv, a results file of another shape)."""


@dataclass(frozen=True)
class Request:
    """One row to predict: ``path`` as written in the manifest, ``file`` resolved against it."""

    row: int  # 1-based data row (CSV: after the header; JSONL: line number)
    path: str
    file: Path
    start: float | None = None
    end: float | None = None

    @property
    def key(self) -> str:
        return _key(self.path, self.start, self.end)

    def video(self) -> StoredVideo:
        return StoredVideo(self.file, filename=self.path, start=self.start, end=self.end)


@dataclass(frozen=True)
class BadRow:
    """A manifest row that is not a request, and why (``code`` is the API's: bad_field, bad_segment)."""

    row: int
    path: str
    code: str
    message: str
    start: float | str | None = None  # a bound that is not a number stays as written
    end: float | str | None = None

    @property
    def key(self) -> str:
        return _key(self.path, self.start, self.end)

    def record(self) -> dict:
        return make_record(self, "failed", error={"code": self.code, "message": self.message})


def _key(path: str, start, end) -> str:
    return json.dumps([path, start, end])


def make_record(req, status: str, **body) -> dict:
    """A results record for a request (or bad row): row, path, segment, status and the body."""
    return {"row": req.row, "path": req.path, "start": req.start, "end": req.end, "status": status, **body}


# -- reading the manifest -----------------------------------------------------------------------
def _seconds(value, name: str, *, end: bool) -> float | None:
    """A segment bound from the manifest: a number, "12.5s", empty/None (not given), or for the
    end "Infinity"/"inf" (the video's end). Raises ValueError naming the field."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if text.endswith("s"):
            text = text[:-1]
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if end and math.isinf(number) and number > 0:
        return None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a finite number of seconds, 0 or more, got {value!r}")
    return number


def _check_row(row: int, raw: dict, base: Path, root: Path | None = None) -> Request | BadRow:
    path = raw.get("path")
    if path is None:
        path = raw.get("content")
    path = "" if path is None else str(path).strip()
    if not path:
        return BadRow(row, "", "bad_field", f"row {row}: no path")
    start = raw.get("start", raw.get("timeSegmentStart"))
    end = raw.get("end", raw.get("timeSegmentEnd"))
    try:
        start_s = _seconds(start, "start", end=False)
        end_s = _seconds(end, "end", end=True)
    except ValueError as exc:  # the bounds as written: its key must not be a good row's
        raw_start, raw_end = (None if x is None or x == "" else str(x) for x in (start, end))
        return BadRow(row, path, "bad_segment", f"row {row}: {exc}", raw_start, raw_end)
    if start_s is not None and end_s is not None and end_s <= start_s:
        return BadRow(row, path, "bad_segment", f"row {row}: end ({end_s:g} s) must be after start ({start_s:g} s)",
                      start_s, end_s)
    file = Path(path).expanduser()
    file = file if file.is_absolute() else base / file
    if root is not None and not file.resolve().is_relative_to(root):
        return BadRow(row, path, "bad_field", f"row {row}: {path} is outside the folder batches may read", start_s, end_s)
    if not file.is_file():
        return BadRow(row, path, "not_found", f"row {row}: no such file: {file}", start_s, end_s)
    return Request(row, path, file, start_s, end_s)


def _csv_rows(path: Path) -> Iterator[dict]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "path" not in [name.strip() for name in reader.fieldnames]:
            raise BatchError(f"{path}: a CSV manifest needs a header row naming a 'path' column "
                             f"(and optionally 'start', 'end'); got {reader.fieldnames}")
        for raw in reader:
            yield {(k or "").strip(): v for k, v in raw.items()}


def _jsonl_rows(path: Path) -> Iterator[dict | str]:
    with path.open(encoding="utf-8-sig") as f:
        for line in f:
            line = line.strip()
            if not line:
                yield ""  # keeps line numbers; skipped below
                continue
            try:
                obj = json.loads(line)
            except ValueError as exc:
                yield f"not JSON ({exc.msg})"
                continue
            yield obj if isinstance(obj, dict) else "not a JSON object"


def read_requests(manifest: str | Path, split: str | None = None, *, base: Path | None = None,
                  root: Path | None = None, max_rows: int = MAX_ROWS) -> tuple[list[Request], list[BadRow]]:
    """The manifest's rows as requests and bad rows (each in manifest order); with ``split``, only
    the rows whose ``split`` column says so (a training manifest's test split, say). Relative
    paths are relative to ``base`` (default: the manifest's folder); with ``root``, a file outside
    that folder (after following links) is a bad row. Raises BatchError for a file that cannot be
    read as a manifest at all, or one of more than ``max_rows`` rows."""
    manifest = Path(manifest)
    if not manifest.is_file():
        raise BatchError(f"{manifest}: no such manifest file")
    jsonl = manifest.suffix.lower() in (".jsonl", ".ndjson", ".json")
    try:
        rows = _jsonl_rows(manifest) if jsonl else _csv_rows(manifest)
        return check_rows(rows, base or manifest.resolve().parent, split=split, root=root, max_rows=max_rows,
                          name=str(manifest))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BatchError(f"{manifest}: not a text CSV/JSONL manifest ({exc})") from None


def check_rows(rows: Iterable[dict | str], base: Path, *, split: str | None = None, root: Path | None = None,
               max_rows: int = MAX_ROWS, name: str = "the manifest") -> tuple[list[Request], list[BadRow]]:
    """Rows (dicts as in a manifest; a string is a row that could not be read, and says why; "" is
    a blank line) as requests and bad rows; see ``read_requests``."""
    requests: list[Request] = []
    bad: list[BadRow] = []
    inside = root.resolve() if root is not None else None
    for n, raw in enumerate(rows, start=1):
        if n > max_rows:
            raise BatchError(f"{name}: more than {max_rows} rows; split it")
        if raw == "":
            continue
        if isinstance(raw, str) or not isinstance(raw, dict):
            bad.append(BadRow(n, "", "bad_field", f"row {n}: {raw if isinstance(raw, str) else 'not an object'}"))
            continue
        if split is not None and str(raw.get("split", "")).strip() != split:
            continue
        checked = _check_row(n, raw, base, inside)
        (bad if isinstance(checked, BadRow) else requests).append(checked)
    return requests, bad


# -- the results file ---------------------------------------------------------------------------
def csv_record(record: dict) -> dict:
    """A record as a row of the CSV results (``CSV_FIELDS``)."""
    result, error = record.get("result") or {}, record.get("error") or {}
    scores = result.get("probabilities")
    return {"row": record["row"], "path": record["path"],
            "start": "" if record["start"] is None else record["start"],
            "end": "" if record["end"] is None else record["end"], "status": record["status"],
            "label": result.get("label", ""), "confidence": result.get("confidence", ""),
            "uncertain": result.get("uncertain", ""),
            "scores": json.dumps(scores, sort_keys=True) if scores else "",
            "error_code": error.get("code", ""), "error_message": error.get("message", "")}


def _bound(text: str) -> float | str | None:
    """A start/end cell of a CSV results file as it was recorded (a bad row keeps its text)."""
    if text in ("", None):
        return None
    try:
        return float(text)
    except ValueError:
        return text


class ResultsFile:
    """An output file (``.jsonl``: whole records; ``.csv``: one row per record, the scores as a
    JSON column) opened for appending. ``done`` holds the keys of the records already in it (with
    ``retry_failed``, only the ones that did not fail: failed rows are run again and their new
    record is appended after the old one). A last line cut short by a crash is cut off before
    anything is appended. Thread-safe ``write``; each record is flushed to disk."""

    def __init__(self, path: str | Path, *, retry_failed: bool = False):
        self.path = Path(path)
        self.format = self.path.suffix.lower()
        if self.format not in FORMATS:
            raise BatchError(f"{self.path}: the results file must end in .jsonl or .csv")
        self.done: set[str] = set()
        self.status: dict[str, str] = {}  # key -> status of its latest record (done or failed)
        self.kept = 0  # records found from an earlier run
        self._lock = threading.Lock()
        self._read_existing(retry_failed)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._f = self.path.open("a", newline="", encoding="utf-8")
        self._csv = csv.DictWriter(self._f, CSV_FIELDS) if self.format == ".csv" else None
        if self._csv is not None and new:
            self._csv.writeheader()
            self._f.flush()

    def _read_existing(self, retry_failed: bool) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        complete = data[:data.rfind(b"\n") + 1]  # a record cut short by a crash has no newline yet
        if len(complete) != len(data):
            with self.path.open("r+b") as f:
                f.truncate(len(complete))
        text = complete.decode("utf-8", errors="replace")
        if self.format == ".csv":
            lines = text.splitlines(keepends=True)
            if lines and lines[0].strip() and lines[0].strip().split(",") != CSV_FIELDS:
                raise BatchError(f"{self.path}: exists and is not a results file of videoclf predict "
                                 f"(its header is {lines[0].strip()!r}); choose another --out")
            records = [(r["path"], _bound(r["start"]), _bound(r["end"]), r["status"])
                       for r in csv.DictReader(lines)]
        else:
            records = []
            for line in text.splitlines():
                try:
                    r = json.loads(line)
                    records.append((r["path"], r["start"], r["end"], r["status"]))
                except (ValueError, KeyError, TypeError):
                    raise BatchError(f"{self.path}: exists and is not a results file of videoclf predict "
                                     f"(line {line[:60]!r}); choose another --out") from None
        for path, start, end, status in records:
            self.kept += 1
            self.status[_key(path, start, end)] = status
            if status == "done" or not retry_failed:
                self.done.add(_key(path, start, end))

    def write(self, record: dict) -> None:
        with self._lock:
            self.status[_key(record["path"], record["start"], record["end"])] = record["status"]
            if self._csv is not None:
                self._csv.writerow(csv_record(record))
            else:
                self._f.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> "ResultsFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# -- running ------------------------------------------------------------------------------------
def predict_one(classifier, request: Request, options: TaskOptions) -> dict:
    """The record for one request: its result, or the error it met (never raises for a bad video)."""
    try:
        result = run_task(classifier, request.video(), options)
    except (OSError, ValueError) as exc:  # VideoDecodeError and OptionError are ValueErrors
        return make_record(request, "failed", error={"code": error_code(exc), "message": " ".join(str(exc).split())})
    return make_record(request, "done", result=result)


def predict(classifier, requests: Iterable[Request], options: TaskOptions, *,
            workers: int = 1) -> Iterator[tuple[Request, dict]]:
    """(request, record) for each request, as they finish, ``workers`` at a time (threads: the
    classifier decodes in parallel and serialises the backbone itself). At most ``2 * workers``
    requests are in flight, so a long manifest is not all queued at once."""
    requests = iter(requests)
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="predict") as pool:
        running = {}

        def fill():
            while len(running) < 2 * max(1, workers):
                req = next(requests, None)
                if req is None:
                    return
                running[pool.submit(predict_one, classifier, req, options)] = req

        fill()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                yield running.pop(future), future.result()
            fill()


def job_id_for(request: Request, options: TaskOptions) -> str:
    """The job id of a batch row on the queue: the same file, segment and options give the same id,
    so a rerun finds the jobs it queued before (finished, or still running) instead of queueing
    them again."""
    import hashlib

    key = json.dumps([str(request.file.resolve()), request.start, request.end, options.to_dict()], sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def predict_via_queue(requests: Iterable[Request], options: TaskOptions, *, celery, store,
                      poll_s: float = 0.25, window: int = 256) -> Iterator[tuple[Request, dict]]:
    """(request, record) for each request, run by Celery workers (``app.jobs.worker``) instead of
    here: each row becomes a job in ``store`` (the workers' job store) whose file is the row's own
    (``keep_file``: read where it is, so it must be on a path the workers see, and never deleted),
    and its task is sent to ``celery``. Records come as jobs finish; at most ``window`` jobs are
    queued at once. A job finished in an earlier run is taken as it is; a failed one is queued
    again."""
    from app.jobs.worker import TASK

    requests = iter(requests)
    waiting: dict[str, Request] = {}

    def queue_more():
        while len(waiting) < window:
            req = next(requests, None)
            if req is None:
                return
            job_id = job_id_for(req, options)
            job = store.get(job_id)
            if job is not None and job["status"] == "failed":
                store.delete(job_id)
                job = None
            if job is None:
                stored = {**options.to_dict(), "start": req.start, "end": req.end, "keep_file": True}
                store.create(job_id, source="batch", filename=req.path, options=stored,
                             upload_path=str(req.file.resolve()), owner="celery")
                celery.send_task(TASK, args=[job_id], task_id=job_id)
            waiting[job_id] = req

    queue_more()
    while waiting:
        finished = []
        found = store.get_many(waiting)
        for job_id, req in waiting.items():
            job = found.get(job_id)
            if job is None:
                finished.append((job_id, make_record(req, "failed", error={
                    "code": "interrupted", "message": "the job disappeared from the store (purged?)"})))
            elif job["status"] == "done":
                finished.append((job_id, make_record(req, "done", result=job["result"])))
            elif job["status"] == "failed":
                error = {k: v for k, v in job["error"].items() if k in ("code", "message")}
                finished.append((job_id, make_record(req, "failed", error=error)))
        for job_id, record in finished:
            yield waiting.pop(job_id), record
        queue_more()
        if waiting and not finished:
            time.sleep(poll_s)
