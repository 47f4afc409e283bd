"""The job store (app.jobs.store) on both of its databases: an SQLite file and a real PostgreSQL
server. The same contract on each: owner-guarded updates, take-over, cancel, purge, counts, and
older databases gaining the columns added since."""
from __future__ import annotations

import secrets
import time

import pytest
import sqlalchemy as sa

from app.jobs.store import JobStore, engine_url
from tests.services import postgres_server


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as url:
        yield url


def _new_postgres_database(server_url: str) -> str:
    name = "jobs_" + secrets.token_hex(4)
    engine = sa.create_engine(engine_url(server_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as db:
        db.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "jobs.sqlite3")
    return _new_postgres_database(request.getfixturevalue("postgres"))


def _create(store, job_id="a" * 32, owner="1:me"):
    store.create(job_id, source="api", filename="a.mp4", options={"top_k": 2, "start": 1.5}, upload_path="/u/a",
                 owner=owner)


def test_a_job_from_queued_to_done_and_only_its_owner_writes(target):
    store = JobStore(target)
    _create(store)
    job = store.get("a" * 32)
    assert (job["status"], job["options"], job["upload_path"], job["result"]) == ("queued", {"top_k": 2, "start": 1.5},
                                                                               "/u/a", None)
    assert not store.mark_running("a" * 32, "2:other")
    assert store.mark_running("a" * 32, "1:me") and not store.mark_running("a" * 32, "1:me")  # once
    assert store.set_progress("a" * 32, "1:me", "decoding", 0.4)
    assert not store.set_progress("a" * 32, "2:other", "members", 0.9)
    assert not store.mark_done("a" * 32, "2:other", {"label": "stale"})
    assert store.mark_done("a" * 32, "1:me", {"label": "Gaming", "confidence": 0.9})
    job = store.get("a" * 32)
    assert job["status"] == "done" and job["result"] == {"label": "Gaming", "confidence": 0.9}
    assert job["upload_path"] is None and job["finished"] >= job["started"] >= job["created"]
    assert (job["stage"], job["progress"]) == ("decoding", 0.4)
    assert store.counts() == {"queued": 0, "running": 0, "done": 1, "failed": 0}
    assert store.get("b" * 32) is None


def test_take_over_claim_cancel_and_a_second_process_sees_it_all(target):
    store, other = JobStore(target), JobStore(target)  # two processes on one database
    _create(store, "a" * 32, owner="celery")
    _create(store, "b" * 32, owner=None)
    assert other.take("a" * 32, "celery:w1") and other.take("a" * 32, "celery:w2")  # redelivered
    assert not store.fail_unfinished("a" * 32, "celery:w1", {"code": "timeout"})  # w1 lost it
    assert [j["id"] for j in store.unfinished()] == ["a" * 32, "b" * 32]
    assert store.claim("b" * 32, None, "3:new") and not store.claim("b" * 32, None, "4:late")  # NULL owner matched
    assert store.cancel("a" * 32, {"code": "cancelled", "status": 409})
    assert not store.cancel("a" * 32, {"code": "cancelled", "status": 409})
    assert not other.take("a" * 32, "celery:w3")  # finished: nobody runs it again
    assert other.get("a" * 32)["error"] == {"code": "cancelled", "status": 409}
    assert other.counts() == {"queued": 1, "running": 0, "done": 0, "failed": 1}


def test_purge_and_delete(target):
    store = JobStore(target)
    _create(store, "a" * 32)
    _create(store, "b" * 32)
    store.mark_failed("a" * 32, "1:me", {"code": "not_video"})
    time.sleep(0.05)
    assert store.purge(3600) == 0 and store.purge(0.01) == 1
    assert store.get("a" * 32) is None and store.get("b" * 32) is not None  # unfinished jobs stay
    store.delete("b" * 32)
    assert store.counts() == {"queued": 0, "running": 0, "done": 0, "failed": 0}


def test_an_older_database_gains_the_new_columns(target):
    engine = sa.create_engine(engine_url(target))
    with engine.begin() as db:
        db.exec_driver_sql("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, source TEXT NOT NULL, "
                           "filename TEXT NOT NULL, options TEXT NOT NULL, upload_path TEXT, owner TEXT, "
                           "owner_since REAL, created REAL NOT NULL, started REAL, finished REAL, result TEXT, "
                           "error TEXT)")
        db.exec_driver_sql("INSERT INTO jobs VALUES ('a', 'running', 'api', 'x.mp4', '{}', NULL, 'me', 0, 0, 0, "
                           "NULL, NULL, NULL)")
    engine.dispose()
    store = JobStore(target)
    assert store.get("a")["stage"] is None
    assert store.set_progress("a", "me", "decoding", 0.25)
    assert (store.get("a")["stage"], store.get("a")["progress"]) == ("decoding", 0.25)
    JobStore(target)  # opening again adds nothing twice


def test_urls_and_paths():
    assert engine_url("var/jobs.sqlite3").render_as_string() == "sqlite:///var/jobs.sqlite3"
    assert engine_url("postgresql://u:secret@db/videoclf").drivername == "postgresql+psycopg"
    store = JobStore.__new__(JobStore)
    store.url = engine_url("postgresql://u:secret@db/videoclf")
    assert "secret" not in repr(store)
