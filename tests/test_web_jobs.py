"""POST /jobs and GET /jobs/<id>: results in a real SQLite file, failures, restarts, cleanup."""
from __future__ import annotations

import io
import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import poller, wait_for_job


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app()


def submit(client, path: Path, **fields):
    return client.post("/jobs", data={"video": (io.BytesIO(path.read_bytes()), path.name), **fields})


def upload_dir(app) -> Path:
    return Path(app.config["UPLOAD_DIR"])


def test_job_lifecycle_and_result(app, clips):
    client = app.test_client()
    response = submit(client, clips[1], top_k="3", tta="true")
    assert response.status_code == 202
    body = response.get_json()
    assert set(body) == {"id", "status", "status_url"} and body["status"] == "queued"
    assert response.headers["Location"] == body["status_url"] == f"/jobs/{body['id']}"
    job = wait_for_job(poller(client), body["status_url"])
    assert job["status"] == "done" and job["id"] == body["id"] and (job["stage"], job["progress"]) == ("done", 1.0)
    assert job["options"] == {"tta": True, "top_k": 3, "timeline": None, "interval": None, "frames": False,
                              "start": None, "end": None}
    assert job["created"] <= job["started"] <= job["finished"]
    result = job["result"]
    assert len(result["top_k"]) == 3 and result["tta"]["enabled"] is True
    direct = app.extensions["videoclf.inference"].classifier.classify_video(clips[1], use_tta=True, top_k=3)
    assert result["probabilities"] == direct["probabilities"]
    assert result["video"]["filename"] == clips[1].name and "thumbnails" not in result
    assert not any(upload_dir(app).iterdir())  # finished uploads are deleted
    with sqlite3.connect(app.config["DATABASE"]) as db:  # a real database file holds it
        status, stored = db.execute("SELECT status, upload_path FROM jobs WHERE id = ?", (body["id"],)).fetchone()
    assert (status, stored) == ("done", None)


def test_a_running_job_reports_its_stage_and_progress(app, two_class_video, monkeypatch):
    """Each progress write lands in the store and GET /jobs/<id> shows it at once; stages come in
    order and the fraction never goes back; queued is 0, done is 1."""
    client = app.test_client()
    jobs = app.extensions["videoclf.jobs"]
    seen = []
    real = jobs.store.set_progress

    def recording(job_id, owner, stage, progress):
        written = real(job_id, owner, stage, progress)
        view = client.get(f"/jobs/{job_id}").get_json()  # what a poll sees right then
        seen.append((stage, progress, written, view["status"], view["stage"], view["progress"]))
        return written

    monkeypatch.setattr(jobs.store, "set_progress", recording)
    monkeypatch.setattr("app.web.jobs.PROGRESS_EVERY_S", 0.0)  # every report written (the default thins them)
    path, _ = two_class_video
    response = submit(client, path, timeline="interval", interval="2")
    job = wait_for_job(poller(client), response.get_json()["status_url"])
    assert job["status"] == "done" and (job["stage"], job["progress"]) == ("done", 1.0)
    assert seen and all(s[2] for s in seen)  # each write found the running job
    assert all(status == "running" and (stage, progress) == (vs, vp) for stage, progress, _, status, vs, vp in seen)
    stages = [s[0] for s in seen]
    assert stages[0] == "decoding" and stages[-1] == "done"
    order = ["decoding", "members", "timeline", "done"]
    assert [st for i, st in enumerate(stages) if i == 0 or stages[i - 1] != st] == order
    fractions = [s[1] for s in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any(0.0 < f < 0.5 for f in fractions)  # frames arriving move the bar within decoding


def test_failed_job_carries_the_error(app, bad_videos):
    client = app.test_client()
    response = submit(client, bad_videos["corrupt"])
    assert response.status_code == 202  # accepted: the content is only known by decoding it
    job = wait_for_job(poller(client), response.get_json()["status_url"])
    assert job["status"] == "failed" and "result" not in job
    assert job["error"]["code"] == "corrupt" and job["error"]["status"] == 422
    assert job["error"]["message"].startswith("truncated.mp4: the video is truncated or corrupt")
    assert not any(upload_dir(app).iterdir())


def test_bad_fields_are_refused_before_queueing(app, clips):
    client = app.test_client()
    response = submit(client, clips[0], top_k="many")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_field"
    response = client.post("/jobs", data={})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "missing_file"
    with sqlite3.connect(app.config["DATABASE"]) as db:
        assert db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()[0] == 0
    assert not any(upload_dir(app).iterdir())


@pytest.mark.parametrize("job_id", ["0" * 32, "not-a-job", "../../etc/passwd"])
def test_unknown_job_is_404(app, job_id):
    response = app.test_client().get(f"/jobs/{job_id}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_jobs_survive_a_restart_and_unfinished_ones_are_taken_over(make_web_app, clips, tmp_path):
    """A first server finishes one job and holds another queued when it goes away; a second
    server on the same database shows the first and runs the second."""
    settings = {"DATABASE": str(tmp_path / "jobs.sqlite3"), "UPLOAD_DIR": str(tmp_path / "uploads")}
    first = make_web_app(**settings)
    client = first.test_client()
    done_id = submit(client, clips[0]).get_json()["id"]
    done = wait_for_job(poller(client), f"/jobs/{done_id}")
    assert done["status"] == "done"
    first.extensions["videoclf.inference"].pool.gate.clear()
    held_id = submit(client, clips[3]).get_json()["id"]
    assert client.get(f"/jobs/{held_id}").get_json()["status"] == "queued"
    stray = tmp_path / "uploads" / "vc-999999999-stray.mp4"  # left by a process that died (no such pid)
    stray.write_bytes(b"x")
    first.extensions["videoclf.close"]()  # the first server is gone (its held task never runs)

    second = make_web_app(**settings)
    client = second.test_client()
    assert client.get(f"/jobs/{done_id}").get_json() == done  # stored result, unchanged
    taken = wait_for_job(poller(client), f"/jobs/{held_id}")
    assert taken["status"] == "done" and taken["result"]["video"]["filename"] == clips[3].name
    assert not stray.exists() and not any((tmp_path / "uploads").iterdir())

    first.extensions["videoclf.inference"].pool.gate.set()  # the old task wakes up and must not interfere
    time.sleep(0.5)
    assert client.get(f"/jobs/{held_id}").get_json() == taken


def test_a_job_whose_upload_is_gone_fails_plainly_after_a_restart(make_web_app, clips, tmp_path):
    settings = {"DATABASE": str(tmp_path / "jobs.sqlite3"), "UPLOAD_DIR": str(tmp_path / "uploads")}
    first = make_web_app(**settings)
    first.extensions["videoclf.inference"].pool.gate.clear()
    job_id = submit(first.test_client(), clips[0]).get_json()["id"]
    first.extensions["videoclf.close"]()
    for f in (tmp_path / "uploads").iterdir():
        f.unlink()
    second = make_web_app(**settings)
    job = second.test_client().get(f"/jobs/{job_id}").get_json()
    assert job["status"] == "failed" and job["error"]["code"] == "interrupted"
    assert "submit it again" in job["error"]["message"]


def test_jobs_of_an_owner_that_dies_later_are_taken_over_without_a_restart(make_web_app, clips, tmp_path):
    """A ``kill -9`` of the gunicorn master alone orphans its worker: it is still alive while the
    new server starts (so start-up leaves its jobs alone) and exits later with them unfinished.
    The new server's periodic pass must take them over; before it they stayed queued forever."""
    settings = {"DATABASE": str(tmp_path / "jobs.sqlite3"), "UPLOAD_DIR": str(tmp_path / "uploads")}
    first = make_web_app(**settings)
    first.extensions["videoclf.inference"].pool.gate.clear()
    held_id = submit(first.test_client(), clips[2]).get_json()["id"]

    second = make_web_app(**settings, JOB_RECLAIM_S=0.2)  # the first owner is alive: not taken yet
    client = second.test_client()
    assert client.get(f"/jobs/{held_id}").get_json()["status"] == "queued"
    first.extensions["videoclf.close"]()  # the orphaned worker exits, its job unfinished

    taken = wait_for_job(poller(client), f"/jobs/{held_id}", timeout=30)
    assert taken["status"] == "done" and taken["result"]["video"]["filename"] == clips[2].name
    assert not any((tmp_path / "uploads").iterdir())
    first.extensions["videoclf.inference"].pool.gate.set()  # the old task wakes up and must not interfere
    time.sleep(0.5)
    assert client.get(f"/jobs/{held_id}").get_json() == taken


def test_a_store_from_before_progress_gains_its_columns(tmp_path):
    """A jobs file written by an older version (no stage/progress columns) opens, keeps its rows
    and records progress."""
    from app.jobs.store import JobStore

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, status TEXT NOT NULL, source TEXT NOT NULL, "
                   "filename TEXT NOT NULL, options TEXT NOT NULL, upload_path TEXT, owner TEXT, owner_since REAL, "
                   "created REAL NOT NULL, started REAL, finished REAL, result TEXT, error TEXT)")
        db.execute("INSERT INTO jobs VALUES ('a' , 'running', 'api', 'x.mp4', '{}', NULL, 'me', 0, 0, 0, NULL, "
                   "NULL, NULL)")
    store = JobStore(path)
    assert store.get("a")["stage"] is None
    assert store.set_progress("a", "me", "decoding", 0.25)
    assert not store.set_progress("a", "someone-else", "members", 0.9)  # only the owner records
    job = store.get("a")
    assert (job["stage"], job["progress"], job["filename"]) == ("decoding", 0.25, "x.mp4")
    JobStore(path)  # opening again (or by a second process) adds nothing twice
