"""app.web.backends: the job-backend setting, the in-process backend behind it, cancel, stored options."""
from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pytest

from app.tasks import ExplainOptions, StoredVideo, TaskOptions, run_task
from app.web.backends import EXTENSION, JobBackend, get_backend
from app.web.jobs import InProcessJobs
from app.jobs.store import JobStore
from tests.conftest import post_video, poller, wait_for_job


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app()


def submit(client, path: Path, **fields):
    return client.post("/jobs", data={"video": (io.BytesIO(path.read_bytes()), path.name), **fields})


def test_the_default_backend_is_the_in_process_one(app):
    backend = get_backend(app)
    assert isinstance(backend, InProcessJobs) and isinstance(backend, JobBackend)
    assert app.config["JOB_BACKEND"] == "inprocess" and app.extensions[EXTENSION] is backend


def test_an_unknown_backend_stops_start_up(make_web_app, monkeypatch):
    with pytest.raises(RuntimeError, match=r"JOB_BACKEND \(VIDEOCLF_JOB_BACKEND\) must be one of inprocess, celery, got 'kafka'"):
        make_web_app(JOB_BACKEND="kafka")
    monkeypatch.setenv("VIDEOCLF_JOB_BACKEND", "redis")
    with pytest.raises(RuntimeError, match="got 'redis'"):
        make_web_app()


def test_cancel_a_queued_job(app, clips, uploads):
    client, backend = app.test_client(), get_backend(app)
    pool = app.extensions["videoclf.inference"].pool
    pool.gate.clear()  # the job stays queued
    try:
        job_id = submit(client, clips[0]).get_json()["id"]
        assert backend.status(job_id)["status"] == "queued" and len(list(uploads.iterdir())) == 1
        assert backend.cancel(job_id) is True
        assert backend.cancel(job_id) is False  # once
    finally:
        pool.gate.set()
    job = client.get(f"/jobs/{job_id}").get_json()
    assert job["status"] == "failed" and job["error"]["code"] == "cancelled" and "result" not in job
    assert pool.depth == 0 and not any(uploads.iterdir())
    done_id = submit(client, clips[1]).get_json()["id"]  # the pool runs the next job
    assert wait_for_job(poller(client), f"/jobs/{done_id}")["status"] == "done"
    assert backend.cancel(done_id) is False and backend.cancel("0" * 32) is False


def test_a_stored_job_with_options_this_version_refuses_fails_plainly(make_web_app, tmp_path):
    """A job left queued by a dead process, its options invalid here: taken over and failed with
    the options' message, not run and not left queued."""
    uploads, database = tmp_path / "uploads", tmp_path / "jobs.sqlite3"
    uploads.mkdir()
    video = uploads / "vc-999999999-left.mp4"
    video.write_bytes(b"x")
    JobStore(database).create("a" * 32, source="api", filename="left.mp4", options={"top_k": 0},
                              upload_path=str(video), owner="999999999:dead")
    app = make_web_app(DATABASE=str(database), UPLOAD_DIR=str(uploads))
    job = app.test_client().get(f"/jobs/{'a' * 32}").get_json()
    assert job["status"] == "failed" and job["error"]["code"] == "bad_field"
    assert job["error"]["message"].startswith("top_k must be a whole number")
    assert not video.exists()
    with sqlite3.connect(database) as db:
        assert json.loads(db.execute("SELECT options FROM jobs").fetchone()[0]) == {"top_k": 0}


def test_post_explain_answers_the_task_document(app, clips, uploads):
    """The wiring bundle's classifier, called through the task without a request: same explanation."""
    clf = app.extensions["videoclf.inference"].classifier
    options = TaskOptions(tta=False, explain=ExplainOptions(k=2, method="gradcam++"))
    direct = run_task(clf, StoredVideo(clips[3], filename="why.mp4"), options)
    response = post_video(app.test_client(), clips[3], name="why.mp4", endpoint="/explain", k="2",
                          method="gradcam++", tta="false")
    assert response.status_code == 200, response.get_data(as_text=True)
    served = response.get_json()
    assert served == json.loads(json.dumps(direct)) and len(direct["frames"]) == 2



def test_delete_cancels_through_the_api_also_a_job_of_another_server_process(make_web_app, clips, tmp_path):
    """DELETE /jobs/<id>: 200 with the cancelled job, 409 once finished, 404 for no such job; a job
    queued in another process on the same store (another gunicorn worker) is cancelled too, and
    that process neither runs it nor overwrites the answer."""
    shared = {"DATABASE": str(tmp_path / "jobs.sqlite3"), "UPLOAD_DIR": str(tmp_path / "uploads")}
    here, there = make_web_app(**shared), make_web_app(**shared)
    held = there.extensions["videoclf.inference"].pool
    held.gate.clear()
    try:
        job_id = submit(there.test_client(), clips[0]).get_json()["id"]
        client = here.test_client()
        response = client.delete(f"/jobs/{job_id}")
        assert response.status_code == 200, response.get_json()
        job = response.get_json()
        assert job["status"] == "failed" and job["error"]["code"] == "cancelled"
        assert not any((tmp_path / "uploads").iterdir())
        again = client.delete(f"/jobs/{job_id}")
        assert again.status_code == 409 and again.get_json()["error"]["code"] == "finished"
        assert client.delete("/jobs/" + "0" * 32).status_code == 404
    finally:
        held.gate.set()
    time.sleep(1.0)  # the other process's task wakes up: it must not run the job or change it
    assert here.test_client().get(f"/jobs/{job_id}").get_json() == job
    done_id = submit(client, clips[1]).get_json()["id"]
    assert wait_for_job(poller(client), f"/jobs/{done_id}")["status"] == "done"
    finished = client.delete(f"/jobs/{done_id}")
    assert finished.status_code == 409 and client.get(f"/jobs/{done_id}").get_json()["status"] == "done"
