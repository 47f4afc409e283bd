"""Jobs and their results in an SQLite file, so they survive a restart of the server.

One short-lived connection per operation: sqlite3 connections must not be shared between
threads, and opening one on a local file costs microseconds. WAL lets readers (status polls) go
on while a worker writes a result.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

STATUSES = ("queued", "running", "done", "failed")
REPO = Path(__file__).resolve().parents[2]
# Columns added after the first release: (name, type), added to older files at open.
_ADDED_COLUMNS = (("stage", "TEXT"), ("progress", "REAL"))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id          TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    source      TEXT NOT NULL,            -- 'api' or 'ui'
    filename    TEXT NOT NULL,            -- the client's name for the video (display only)
    options     TEXT NOT NULL,            -- JSON: tta, top_k, timeline, interval, frames (new keys need no migration)
    upload_path TEXT,                     -- private copy while queued or running; NULL once deleted
    owner       TEXT,                     -- '<pid>:<token>' of the process that runs the job
    owner_since REAL,                     -- when that owner took the job (tells a reused pid apart)
    created     REAL NOT NULL,
    started     REAL,
    finished    REAL,
    result      TEXT,                     -- JSON result when done
    error       TEXT,                     -- JSON {code, message, status} when failed
    stage       TEXT,                     -- while running: decoding, members, timeline, explaining
    progress    REAL                      -- while running: fraction of the work done, 0 to 1
);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (status) WHERE status IN ('queued', 'running');
CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (finished);
"""


def default_database(data_dir: str | os.PathLike | None = None) -> Path:
    """Where the job store is when ``VIDEOCLF_DB`` is not set: ``<data dir>/jobs.sqlite3``, the data
    dir being ``VIDEOCLF_DATA_DIR`` or the repository's ``var/``."""
    return Path(data_dir or REPO / "var") / "jobs.sqlite3"


class JobStore:
    """CRUD for jobs in one SQLite database file (created with its tables when missing)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            have = {r["name"] for r in db.execute("PRAGMA table_info(jobs)")}
            for name, kind in _ADDED_COLUMNS:  # a store written by an older version
                if name not in have:
                    try:
                        db.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")
                    except sqlite3.OperationalError as exc:  # another process added it first
                        if "duplicate column" not in str(exc):
                            raise
        if new:
            os.chmod(self.path, 0o600)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit; one statement each
        db.row_factory = sqlite3.Row
        return db

    def _execute(self, sql: str, params: tuple = ()) -> int:
        with closing(self._connect()) as db:
            return db.execute(sql, params).rowcount

    def create(self, job_id: str, *, source: str, filename: str, options: dict, upload_path: str,
               owner: str) -> None:
        now = time.time()
        self._execute("INSERT INTO jobs (id, status, source, filename, options, upload_path, owner, owner_since, "
                      "created) VALUES (?, 'queued', ?, ?, ?, ?, ?, ?, ?)",
                      (job_id, source, filename, json.dumps(options), upload_path, owner, now, now))

    def get(self, job_id: str) -> dict | None:
        """The job as a dict (JSON columns decoded), or None."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _decode(row) if row else None

    # The updates below apply only while ``owner`` holds the job: a process that lost it (taken
    # over after it was presumed dead) must not overwrite what the new owner records.
    def mark_running(self, job_id: str, owner: str) -> bool:
        return self._execute("UPDATE jobs SET status = 'running', started = ? WHERE id = ? AND owner = ? "
                             "AND status = 'queued'", (time.time(), job_id, owner)) == 1

    def set_progress(self, job_id: str, owner: str, stage: str, progress: float) -> bool:
        return self._execute("UPDATE jobs SET stage = ?, progress = ? WHERE id = ? AND owner = ? "
                             "AND status = 'running'", (stage, float(progress), job_id, owner)) == 1

    def mark_done(self, job_id: str, owner: str, result: dict) -> bool:
        return self._execute("UPDATE jobs SET status = 'done', finished = ?, result = ?, upload_path = NULL "
                             "WHERE id = ? AND owner = ?", (time.time(), json.dumps(result), job_id, owner)) == 1

    def mark_failed(self, job_id: str, owner: str, error: dict) -> bool:
        return self._execute("UPDATE jobs SET status = 'failed', finished = ?, error = ?, upload_path = NULL "
                             "WHERE id = ? AND owner = ?", (time.time(), json.dumps(error), job_id, owner)) == 1

    def fail_unfinished(self, job_id: str, owner: str, error: dict) -> bool:
        """``mark_failed`` unless the job has finished meanwhile (a result recorded just before a
        deadline must stand)."""
        return self._execute("UPDATE jobs SET status = 'failed', finished = ?, error = ?, upload_path = NULL "
                             "WHERE id = ? AND owner = ? AND status IN ('queued', 'running')",
                             (time.time(), json.dumps(error), job_id, owner)) == 1

    def take(self, job_id: str, owner: str) -> bool:
        """A queue worker starts the job (queued, or running under a worker that died and whose
        task the broker delivered again): it becomes ``owner``'s, so the old owner's late writes
        are refused. False if the job has finished (or is gone)."""
        return self._execute(
            "UPDATE jobs SET owner = ?, owner_since = ?, status = 'running', started = ?, stage = NULL, "
            "progress = NULL WHERE id = ? AND status IN ('queued', 'running')",
            (owner, time.time(), time.time(), job_id)) == 1

    def cancel(self, job_id: str, error: dict) -> bool:
        """Fail an unfinished job whoever runs it (its worker sees it at its next progress step and
        stops); False if it had finished."""
        return self._execute("UPDATE jobs SET status = 'failed', finished = ?, error = ?, upload_path = NULL "
                             "WHERE id = ? AND status IN ('queued', 'running')",
                             (time.time(), json.dumps(error), job_id)) == 1

    def delete(self, job_id: str) -> None:
        self._execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def unfinished(self) -> list[dict]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM jobs WHERE status IN ('queued', 'running') ORDER BY created").fetchall()
        return [_decode(r) for r in rows]

    def claim(self, job_id: str, old_owner: str | None, new_owner: str) -> bool:
        """Take over an unfinished job from a dead owner; False if someone else was first."""
        return self._execute(
            "UPDATE jobs SET owner = ?, owner_since = ?, status = 'queued', started = NULL, stage = NULL, "
            "progress = NULL "
            "WHERE id = ? AND owner IS ? AND status IN ('queued', 'running')",
            (new_owner, time.time(), job_id, old_owner)) == 1

    def purge(self, older_than_s: float) -> int:
        """Delete finished jobs that finished more than ``older_than_s`` seconds ago."""
        return self._execute("DELETE FROM jobs WHERE finished IS NOT NULL AND finished < ?",
                             (time.time() - older_than_s,))

    def counts(self) -> dict[str, int]:
        with closing(self._connect()) as db:
            rows = db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {s: 0 for s in STATUSES} | {r[0]: r[1] for r in rows}


def _decode(row: sqlite3.Row) -> dict:
    job = dict(row)
    for key in ("options", "result", "error"):
        if job[key] is not None:
            job[key] = json.loads(job[key])
    return job
