"""The Celery job backend with the real parts: a redis-server, ``videoclf worker`` processes, and the
web app queueing on them. A worker killed mid-job (``kill -9``) loses nothing: another finishes it."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.jobs.store import JobStore
from app.web.backends import get_backend
from app.web.celery_jobs import CeleryJobs
from tests.conftest import REPO, poller, wait_for_job
from tests.services import free_port, postgres_server, redis_server, wait_until

VISIBILITY_S = 3.0  # a killed worker's job goes to another after this (the default is an hour)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def app(make_web_app, redis_url):
    return make_web_app(JOB_BACKEND="celery", BROKER=redis_url, BROKER_VISIBILITY_S=VISIBILITY_S)


class Workers:
    """``videoclf worker`` processes on the app's broker, job store and the wiring bundle."""

    def __init__(self, app, bundle: Path, folder: Path):
        self.app = app
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOCLF_BROKER": app.config["BROKER"],
                    "VIDEOCLF_DB": app.config["DATABASE"], "VIDEOCLF_MODEL": str(bundle),
                    "VIDEOCLF_BROKER_VISIBILITY_S": str(VISIBILITY_S)}
        self.folder = folder
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        proc = subprocess.Popen([sys.executable, "-m", "app", "worker", "--pool", "solo", "--hostname", f"{name}@test"],
                                cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        wait_until(lambda: "ready." in self.log(name) or proc.poll() is not None, 60, f"worker {name} was not ready")
        assert proc.poll() is None, self.log(name)
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()

    def stop_all(self):
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()


@pytest.fixture
def workers(app, wiring_bundle, tmp_path):
    w = Workers(app, wiring_bundle, tmp_path)
    yield w
    w.stop_all()


@pytest.fixture(scope="module")
def long_video(tmp_path_factory, content4, content4_rows) -> Path:
    """A real 40-s video (a test clip looped): with a 1-s timeline its job takes several seconds."""
    import av
    import cv2

    from tests.conftest import pick_clips
    from tests.videos import write_pyav

    clip = content4 / pick_clips(content4_rows, "test", 1)[-1]["path"]
    with av.open(str(clip)) as container:
        part = [cv2.resize(f.to_ndarray(format="rgb24"), (320, 180)) for f in container.decode(container.streams.video[0])]
    fps, seconds = 24, 40
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    write_pyav(path, [round(i * 1000 / fps) for i in range(fps * seconds)], size=(320, 180),
               frame_fn=lambda i, w, h: part[i % len(part)])
    return path


def submit(client, path: Path, **fields) -> str:
    response = client.post("/jobs", data={"video": (io.BytesIO(path.read_bytes()), path.name), **fields})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["id"]


def test_a_job_is_run_by_a_separate_worker_process(app, workers, clips, uploads):
    assert isinstance(get_backend(app), CeleryJobs)
    worker = workers.start("one")
    client = app.test_client()
    job_id = submit(client, clips[2], top_k="2")
    job = wait_for_job(poller(client), f"/jobs/{job_id}", timeout=120)
    assert job["status"] == "done", job
    assert job["result"]["video"]["filename"] == clips[2].name and len(job["result"]["top_k"]) == 2
    # The same answer as the web process's own classifier gives for the same file and options.
    local = client.post("/classify", data={"video": (io.BytesIO(clips[2].read_bytes()), clips[2].name),
                                           "top_k": "2"}).get_json()
    assert job["result"]["label"] == local["label"]
    assert abs(job["result"]["confidence"] - local["confidence"]) < 1e-4
    owner = JobStore(app.config["DATABASE"]).get(job_id)["owner"]
    assert owner.startswith("celery:") and f":{worker.pid}:" in owner  # the worker's pid, not this one's
    assert f"job {job_id}: done" in workers.log("one")


def test_a_bad_video_fails_its_job_and_the_worker_goes_on(app, workers, clips, tmp_path, uploads):
    workers.start("one")
    client = app.test_client()
    text = tmp_path / "notes.mp4"
    text.write_text("these are not frames\n" * 50)
    bad = wait_for_job(poller(client), f"/jobs/{submit(client, text)}", timeout=120)
    assert bad["status"] == "failed" and bad["error"]["code"] == "not_video" and bad["error"]["status"] == 415
    assert "notes.mp4" in bad["error"]["message"] and "vc-" not in bad["error"]["message"]  # the client's name
    good = wait_for_job(poller(client), f"/jobs/{submit(client, clips[0])}", timeout=120)
    assert good["status"] == "done"


def test_a_worker_killed_mid_job_loses_nothing_another_finishes_it(app, workers, long_video, uploads):
    client = app.test_client()
    first = workers.start("first")
    job_id = submit(client, long_video, timeline="interval", interval="1")
    store = JobStore(app.config["DATABASE"])
    wait_until(lambda: ((store.get(job_id) or {}).get("progress") or 0) > 0, 120, "the job did not start on the first worker")
    assert f":{first.pid}:" in store.get(job_id)["owner"]
    first.send_signal(signal.SIGKILL)  # mid-job: its task is neither acknowledged nor finished
    first.wait(10)
    running = client.get(f"/jobs/{job_id}").get_json()
    assert running["status"] == "running"
    assert any(Path(app.config["UPLOAD_DIR"]).iterdir())  # the upload is still there for the next worker
    second = workers.start("second")
    job = wait_for_job(poller(client), f"/jobs/{job_id}", timeout=180)
    assert job["status"] == "done", job
    assert len(job["result"]["timeline"]["windows"]) >= 39  # the whole 40-s timeline, not a part
    assert f":{second.pid}:" in store.get(job_id)["owner"]
    assert "takes it over" in workers.log("second") and f"job {job_id}: done" in workers.log("second")


def test_a_running_job_is_cancelled_where_it_runs(app, workers, long_video, clips, uploads):
    client = app.test_client()
    workers.start("one")
    job_id = submit(client, long_video, timeline="interval", interval="1")
    store = JobStore(app.config["DATABASE"])
    wait_until(lambda: (store.get(job_id) or {}).get("status") == "running", 120, "the job did not start")
    assert client.delete(f"/jobs/{job_id}").status_code == 200
    assert client.delete(f"/jobs/{job_id}").status_code == 409  # once
    wait_until(lambda: f"job {job_id}: cancelled" in workers.log("one"), 30, "the worker did not stop the job")
    job = client.get(f"/jobs/{job_id}").get_json()
    assert job["status"] == "failed" and job["error"]["code"] == "cancelled" and "result" not in job
    assert wait_for_job(poller(client), f"/jobs/{submit(client, clips[1])}", timeout=120)["status"] == "done"


def test_the_store_refuses_a_late_write_of_a_worker_that_lost_its_job(tmp_path):
    store = JobStore(tmp_path / "jobs.sqlite3")
    store.create("a" * 32, source="api", filename="a.mp4", options={}, upload_path=str(tmp_path / "a"), owner="celery")
    assert store.take("a" * 32, "celery:old")
    assert store.take("a" * 32, "celery:new")  # the broker gave the task to another worker
    assert not store.mark_done("a" * 32, "celery:old", {"label": "stale"})
    assert store.mark_done("a" * 32, "celery:new", {"label": "fresh"})
    assert not store.take("a" * 32, "celery:third")  # finished: nobody runs it again
    assert store.get("a" * 32)["result"] == {"label": "fresh"}


def test_an_unreachable_broker_is_a_503_and_nothing_is_kept(make_web_app, clips):
    app = make_web_app(JOB_BACKEND="celery", BROKER=f"redis://127.0.0.1:{free_port()}/0")
    client = app.test_client()
    t0 = time.monotonic()
    response = client.post("/jobs", data={"video": (io.BytesIO(clips[0].read_bytes()), "a.mp4")})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "queue_full"
    assert "Retry-After" in response.headers and time.monotonic() - t0 < 30
    assert not any(Path(app.config["UPLOAD_DIR"]).iterdir())
    assert JobStore(app.config["DATABASE"]).counts()["queued"] == 0


def test_jobs_in_postgresql_shared_by_the_web_tier_and_a_worker(make_web_app, redis_url, wiring_bundle, clips,
                                                                tmp_path):
    """Several nodes share the job store in PostgreSQL (VIDEOCLF_DB=postgresql://...): the web tier
    records the job there, the worker takes and finishes it there."""
    with postgres_server() as database:
        app = make_web_app(JOB_BACKEND="celery", BROKER=redis_url, DATABASE=database)
        store = get_backend(app).store
        assert not store.sqlite and store.url.get_backend_name() == "postgresql"
        workers = Workers(app, wiring_bundle, tmp_path)
        try:
            workers.start("pg")
            client = app.test_client()
            job = wait_for_job(poller(client), f"/jobs/{submit(client, clips[3])}", timeout=120)
            assert job["status"] == "done" and job["result"]["video"]["filename"] == clips[3].name
            assert store.get(job["id"])["owner"].startswith("celery:")
            assert not any(Path(app.config["UPLOAD_DIR"]).iterdir())
        finally:
            workers.stop_all()
            store.close()


def test_videoclf_predict_fans_a_batch_out_over_a_worker(app, workers, clips, tmp_path):
    """``videoclf predict --broker``: the rows run on the worker, the answers are the ones the
    local batch gives, the users' files are read where they are and kept; a rerun after more rows
    were added queues only those."""
    from tests.test_batch import _write_csv

    workers.start("batch")
    rows = [{"path": str(c)} for c in clips[:3]] + [{"path": str(tmp_path / "gone.mp4")}]
    manifest = _write_csv(tmp_path / "m.csv", rows)
    env = workers.env
    base = [sys.executable, "-m", "app", "predict", str(manifest), "--no-progress"]
    queued = subprocess.run([*base, "--out", str(tmp_path / "queue.jsonl"), "--broker", app.config["BROKER"],
                             "--db", app.config["DATABASE"]], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=300)
    assert queued.returncode == 1, queued.stderr  # the missing file
    local = subprocess.run([*base, "--out", str(tmp_path / "local.jsonl"), "--model", env["VIDEOCLF_MODEL"]],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert local.returncode == 1, local.stderr

    def by_row(name):
        import json

        return {r["row"]: r for r in map(json.loads, (tmp_path / name).read_text().splitlines())}

    got, want = by_row("queue.jsonl"), by_row("local.jsonl")
    assert sorted(got) == [1, 2, 3, 4] and got[4]["error"]["code"] == "not_found"
    for row in (1, 2, 3):
        assert got[row]["status"] == "done" and got[row]["result"]["label"] == want[row]["result"]["label"]
        assert abs(got[row]["result"]["confidence"] - want[row]["result"]["confidence"]) < 1e-4
    assert all(c.exists() for c in clips[:3])  # read in place, never deleted
    assert workers.log("batch").count(": done") == 3
    rows.append({"path": str(clips[3])})
    _write_csv(manifest, rows)
    again = subprocess.run([*base, "--out", str(tmp_path / "queue.jsonl"), "--broker", app.config["BROKER"],
                            "--db", app.config["DATABASE"]], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=300)
    assert "4 already in" in again.stderr and by_row("queue.jsonl")[5]["status"] == "done"
    assert workers.log("batch").count(": done") == 4
