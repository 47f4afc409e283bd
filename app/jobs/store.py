"""Jobs and their results in a database, so they survive a restart and are seen by every process
that serves or runs them: an SQLite file by default, PostgreSQL when several machines share it.

    JobStore("var/jobs.sqlite3")                          # a path: SQLite (WAL, mode 0600)
    JobStore("postgresql://user:pw@db-host/videoclf")     # a URL: any database SQLAlchemy speaks

SQLAlchemy Core, one short transaction per operation. The table is created when missing and
columns added since the first release are added to older databases at open (the migration is
that list, ``_ADDED_COLUMNS``). SQLite: one connection per operation (sqlite3 connections must not
be shared between threads; opening one on a local file costs microseconds), WAL so that status
polls go on while a worker writes. PostgreSQL: a connection pool, checked before use, renewed in
a forked child.
"""
from __future__ import annotations

import json
import os
import time
import weakref
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

STATUSES = ("queued", "running", "done", "failed")
REPO = Path(__file__).resolve().parents[2]
UNFINISHED = ("queued", "running")

_metadata = sa.MetaData()
jobs = sa.Table(
    "jobs", _metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("status", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),         # 'api' or 'ui'
    sa.Column("filename", sa.Text, nullable=False),       # the client's name for the video (display only)
    sa.Column("options", sa.Text, nullable=False),        # JSON: tta, top_k, timeline, ..., start, end
    sa.Column("upload_path", sa.Text),                    # private copy while queued or running; NULL once deleted
    sa.Column("owner", sa.Text),                          # '<pid>:<token>' or 'celery[:<host>:<pid>:<token>]'
    sa.Column("owner_since", sa.Float),                   # when that owner took the job (tells a reused pid apart)
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("started", sa.Float),
    sa.Column("finished", sa.Float),
    sa.Column("result", sa.Text),                         # JSON result when done
    sa.Column("error", sa.Text),                          # JSON {code, message, status} when failed
    sa.Column("stage", sa.Text),                          # while running: decoding, members, timeline, explaining
    sa.Column("progress", sa.Float),                      # while running: fraction of the work done, 0 to 1
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="jobs_status"),
)
_unfinished_rows = jobs.c.status.in_(UNFINISHED)
sa.Index("jobs_unfinished", jobs.c.status, sqlite_where=_unfinished_rows, postgresql_where=_unfinished_rows)
sa.Index("jobs_finished", jobs.c.finished)
# A batch: a manifest of files on the server (under VIDEOCLF_BATCH_ROOT), each row a job whose id
# is derived from the batch id and the row (``batch_job_id``), so the rows need no table of their own.
batches = sa.Table(
    "batches", _metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("options", sa.Text, nullable=False),        # JSON: the task options of every row
    sa.Column("rows", sa.Text, nullable=False),           # JSON: [{row, path, file, start, end}] to run
    sa.Column("bad", sa.Text, nullable=False),            # JSON: records of the rows refused at submission
    sa.Column("finished", sa.Float),                      # when its last job finished
)
# Columns added after the first release: added to older databases at open.
_ADDED_COLUMNS = ("stage", "progress")


def engine_url(target: str | os.PathLike) -> sa.URL:
    """The SQLAlchemy URL of a store setting: a URL as given (``postgresql://`` uses psycopg 3),
    anything else a path to an SQLite file."""
    text = str(target)
    if "://" not in text:
        return sa.URL.create("sqlite", database=str(Path(text)))
    url = sa.make_url(text)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def default_database(data_dir: str | os.PathLike | None = None) -> Path:
    """Where the job store is when ``VIDEOCLF_DB`` is not set: ``<data dir>/jobs.sqlite3``, the data
    dir being ``VIDEOCLF_DATA_DIR`` or the repository's ``var/``."""
    return Path(data_dir or REPO / "var") / "jobs.sqlite3"


class JobStore:
    """CRUD for jobs in one database (its table created when missing). ``target``: a path (SQLite)
    or a database URL."""

    def __init__(self, target: str | os.PathLike):
        url = engine_url(target)
        self.url = url
        self.sqlite = url.get_backend_name() == "sqlite"
        new = False
        if self.sqlite:
            path = Path(url.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            new = not path.exists()
            self.engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
            with self.engine.connect() as db:
                db.exec_driver_sql("PRAGMA journal_mode=WAL")  # persistent: once per file is enough
        else:
            self.engine = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
            engine = weakref.ref(self.engine)  # a forked child must not use the parent's connections
            os.register_at_fork(after_in_child=lambda: (e := engine()) is not None and e.dispose(close=False))
        self._migrate()
        if new:
            os.chmod(url.database, 0o600)

    def __repr__(self) -> str:
        return f"JobStore({self.url.render_as_string(hide_password=True)!r})"

    def _migrate(self) -> None:
        """Create the table and indexes when missing; add the columns an older version lacked. Two
        processes opening a new database at once are fine (whichever is second finds it there)."""
        try:
            _metadata.create_all(self.engine, checkfirst=True)
        except sa.exc.DBAPIError:  # another process created it between the check and the create
            _metadata.create_all(self.engine, checkfirst=True)
        have = {c["name"] for c in sa.inspect(self.engine).get_columns("jobs")}
        for name in _ADDED_COLUMNS:
            if name in have:
                continue
            kind = jobs.c[name].type.compile(self.engine.dialect)
            try:
                with self.engine.begin() as db:
                    db.execute(sa.text(f"ALTER TABLE jobs ADD COLUMN {name} {kind}"))
            except sa.exc.DBAPIError as exc:  # another process added it first
                if "duplicate column" not in str(exc) and "already exists" not in str(exc):
                    raise

    def _update(self, where, **values) -> int:
        with self.engine.begin() as db:
            return db.execute(jobs.update().where(where).values(**values)).rowcount

    def create(self, job_id: str, *, source: str, filename: str, options: dict, upload_path: str,
               owner: str) -> None:
        now = time.time()
        with self.engine.begin() as db:
            db.execute(jobs.insert().values(id=job_id, status="queued", source=source, filename=filename,
                                            options=json.dumps(options), upload_path=upload_path, owner=owner,
                                            owner_since=now, created=now))

    def get(self, job_id: str) -> dict | None:
        """The job as a dict (JSON columns decoded), or None."""
        with self.engine.connect() as db:
            row = db.execute(jobs.select().where(jobs.c.id == job_id)).first()
        return _decode(row) if row else None

    def get_many(self, job_ids) -> dict[str, dict]:
        """The jobs of ``job_ids`` that exist, by id (one query)."""
        ids = list(job_ids)
        if not ids:
            return {}
        with self.engine.connect() as db:
            rows = db.execute(jobs.select().where(jobs.c.id.in_(ids))).all()
        return {row.id: _decode(row) for row in rows}

    # The updates below apply only while ``owner`` holds the job: a process that lost it (taken
    # over after it was presumed dead) must not overwrite what the new owner records.
    def _mine(self, job_id: str, owner: str):
        return (jobs.c.id == job_id) & (jobs.c.owner == owner)

    def mark_running(self, job_id: str, owner: str) -> bool:
        return self._update(self._mine(job_id, owner) & (jobs.c.status == "queued"),
                            status="running", started=time.time()) == 1

    def set_progress(self, job_id: str, owner: str, stage: str, progress: float) -> bool:
        return self._update(self._mine(job_id, owner) & (jobs.c.status == "running"),
                            stage=stage, progress=float(progress)) == 1

    # A finished job stays as it finished: a result that comes after a cancel is refused.
    def mark_done(self, job_id: str, owner: str, result: dict) -> bool:
        return self._update(self._mine(job_id, owner) & _unfinished_rows, status="done", finished=time.time(),
                            result=json.dumps(result), upload_path=None) == 1

    def mark_failed(self, job_id: str, owner: str, error: dict) -> bool:
        return self._update(self._mine(job_id, owner) & _unfinished_rows, status="failed", finished=time.time(),
                            error=json.dumps(error), upload_path=None) == 1

    def fail_unfinished(self, job_id: str, owner: str, error: dict) -> bool:
        """``mark_failed`` unless the job has finished meanwhile (a result recorded just before a
        deadline must stand)."""
        return self._update(self._mine(job_id, owner) & _unfinished_rows, status="failed", finished=time.time(),
                            error=json.dumps(error), upload_path=None) == 1

    def take(self, job_id: str, owner: str) -> bool:
        """A queue worker starts the job (queued, or running under a worker that died and whose
        task the broker delivered again): it becomes ``owner``'s, so the old owner's late writes
        are refused. False if the job has finished (or is gone)."""
        now = time.time()
        return self._update((jobs.c.id == job_id) & _unfinished_rows, owner=owner, owner_since=now,
                            status="running", started=now, stage=None, progress=None) == 1

    def cancel(self, job_id: str, error: dict) -> bool:
        """Fail an unfinished job whoever runs it (its worker sees it at its next progress step and
        stops); False if it had finished."""
        return self._update((jobs.c.id == job_id) & _unfinished_rows, status="failed", finished=time.time(),
                            error=json.dumps(error), upload_path=None) == 1

    def delete(self, job_id: str) -> None:
        with self.engine.begin() as db:
            db.execute(jobs.delete().where(jobs.c.id == job_id))

    def unfinished(self) -> list[dict]:
        with self.engine.connect() as db:
            rows = db.execute(jobs.select().where(_unfinished_rows).order_by(jobs.c.created)).all()
        return [_decode(r) for r in rows]

    def claim(self, job_id: str, old_owner: str | None, new_owner: str) -> bool:
        """Take over an unfinished job from a dead owner; False if someone else was first."""
        return self._update((jobs.c.id == job_id) & jobs.c.owner.is_not_distinct_from(old_owner) & _unfinished_rows,
                            owner=new_owner, owner_since=time.time(), status="queued", started=None, stage=None,
                            progress=None) == 1

    def purge(self, older_than_s: float) -> int:
        """Delete finished jobs that finished more than ``older_than_s`` seconds ago."""
        with self.engine.begin() as db:
            return db.execute(jobs.delete().where(jobs.c.finished.is_not(None)
                                                  & (jobs.c.finished < time.time() - older_than_s))).rowcount

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as db:
            rows = db.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all()
        return {s: 0 for s in STATUSES} | {r[0]: r[1] for r in rows}

    # -- batches ----------------------------------------------------------------------------------
    def create_batch(self, batch_id: str, *, source: str, options: dict, rows: list[dict], bad: list[dict]) -> None:
        with self.engine.begin() as db:
            db.execute(batches.insert().values(id=batch_id, source=source, created=time.time(),
                                               options=json.dumps(options), rows=json.dumps(rows),
                                               bad=json.dumps(bad)))

    def get_batch(self, batch_id: str) -> dict | None:
        with self.engine.connect() as db:
            row = db.execute(batches.select().where(batches.c.id == batch_id)).first()
        return _decode_batch(row) if row else None

    def unfinished_batches(self) -> list[dict]:
        with self.engine.connect() as db:
            rows = db.execute(batches.select().where(batches.c.finished.is_(None)).order_by(batches.c.created)).all()
        return [_decode_batch(r) for r in rows]

    def finish_batch(self, batch_id: str) -> bool:
        return self._update_batch(batch_id, finished=time.time())

    def _update_batch(self, batch_id: str, **values) -> bool:
        with self.engine.begin() as db:
            return db.execute(batches.update().where((batches.c.id == batch_id) & batches.c.finished.is_(None))
                              .values(**values)).rowcount == 1

    def purge_batches(self, older_than_s: float) -> int:
        """Delete batches that finished more than ``older_than_s`` seconds ago (their jobs go by ``purge``)."""
        with self.engine.begin() as db:
            return db.execute(batches.delete().where(batches.c.finished.is_not(None)
                                                     & (batches.c.finished < time.time() - older_than_s))).rowcount

    def close(self) -> None:
        self.engine.dispose()


def _decode_batch(row) -> dict:
    batch = dict(row._mapping)
    for key in ("options", "rows", "bad"):
        batch[key] = json.loads(batch[key])
    return batch


def batch_job_id(batch_id: str, row: int) -> str:
    """The id of the job that runs row ``row`` of batch ``batch_id`` (32 hex digits, like every job id)."""
    import hashlib

    return hashlib.sha256(f"{batch_id}:{row}".encode()).hexdigest()[:32]


def _decode(row) -> dict:
    job = dict(row._mapping)
    for key in ("options", "result", "error"):
        if job[key] is not None:
            job[key] = json.loads(job[key])
    return job
