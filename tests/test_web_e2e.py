"""End to end: the service as shipped (gunicorn, gunicorn.conf.py, wsgi.py) on the default model,
over real HTTP on a free local port, with clips from content4.

The model is the default bundle ($VIDEOCLF_MODEL, else models/default); the test fails with a
clear message when it is missing or untrained, because only a trained model can give right answers.
"""
from __future__ import annotations

import json
import os
import stat
import time

import pytest

from app.bundle import default_bundle_dir
from tests.conftest import pick_clips
from tests.live_server import gunicorn

MAX_UPLOAD_MB = 8
CLEAR = 0.8  # a clip is "clear" when the stored test evaluation gave its true class at least this


@pytest.fixture(scope="module")
def model_dir():
    path = default_bundle_dir()
    if not (path / "bundle.json").is_file():
        pytest.fail(f"the end-to-end test needs the default model bundle at {path} (models/default, or "
                    f"$VIDEOCLF_MODEL) and there is none: train it first (videoclf train --out models/default ...)")
    if not json.loads((path / "bundle.json").read_text()).get("trained"):
        pytest.fail(f"{path} is an untrained wiring bundle; the end-to-end test checks real answers and needs "
                    f"the trained default model")
    return path


@pytest.fixture(scope="module")
def clear_clips(model_dir, content4, content4_rows) -> list[dict]:
    """One test clip per class that the bundle's stored test evaluation classified right and clearly
    (the first in manifest order); the first test clip per class when the bundle has no report."""
    report_file = model_dir / "report" / "report.json"
    if not report_file.is_file():
        return pick_clips(content4_rows, "test", 1)
    # Keyed by the path inside content4: a bundle trained on a mix of datasets names its rows
    # relative to the mix's manifest (../../shared/data/content4/clips/...).
    predictions = {p["id"].split("content4/")[-1]: p for p in json.loads(report_file.read_text())["predictions"]}
    clear = [r for r in content4_rows if r["split"] == "test" and r["path"] in predictions
             and predictions[r["path"]]["ensemble"] == r["label"]
             and predictions[r["path"]]["probabilities"][r["label"]] >= CLEAR]
    chosen = pick_clips(clear, "test", 1)
    classes = {r["label"] for r in content4_rows}
    assert {r["label"] for r in chosen} == classes, f"no clear test clip for some class: {chosen}"
    return chosen


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):
    env = {"VIDEOCLF_MODEL": str(model_dir), "VIDEOCLF_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB)}
    with gunicorn(tmp_path_factory.mktemp("e2e"), env) as live:
        live.env = env
        yield live


def test_classify_gives_the_right_answers(server, model_dir, clear_clips, content4):
    meta = json.loads((model_dir / "bundle.json").read_text())
    for row in clear_clips:
        path = content4 / row["path"]
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            response = server.post("/classify", files={"video": (path.name, f, "video/mp4")})
        elapsed = time.perf_counter() - t0
        assert response.status_code == 200, response.text
        r = response.json()
        assert r["label"] == row["label"], (path.name, r["top_k"])
        assert r["model"]["name"] == meta["name"] and r["model"]["trained"] is True
        assert r["video"]["filename"] == path.name and len(r["frames"]) == meta["sampling"]["max_frames"]
        print(f"{path.name}: {r['label']} {r['confidence']:.3f} in {elapsed:.2f} s "
              f"(server: {r['timings_ms']['total']:.0f} ms)")
    assert not any(server.upload_dir.iterdir())


def test_job_gives_the_right_answer_and_cleans_up(server, clear_clips, content4):
    row = clear_clips[-1]
    path = content4 / row["path"]
    with open(path, "rb") as f:
        response = server.post("/jobs", files={"video": (path.name, f)}, data={"tta": "true", "top_k": "2"})
    assert response.status_code == 202, response.text
    url = response.json()["status_url"]
    deadline = time.monotonic() + 180
    while (job := server.get(url).json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "done", job
    assert job["result"]["label"] == row["label"] and job["result"]["tta"]["enabled"] is True
    assert len(job["result"]["top_k"]) == 2
    assert not any(server.upload_dir.iterdir())
    server.finished_job = job


def test_errors_over_http_are_json(server, bad_videos, tmp_path):
    for kind, status in (("not_video", 415), ("empty", 400), ("corrupt", 422), ("no_frames", 422)):
        with open(bad_videos[kind], "rb") as f:
            response = server.post("/classify", files={"video": (bad_videos[kind].name, f)})
        assert response.status_code == status and response.headers["Content-Type"] == "application/json"
        assert response.json()["error"]["code"] == kind
    huge = tmp_path / "huge.mp4"
    huge.write_bytes(os.urandom((MAX_UPLOAD_MB + 1) * 2**20))
    with open(huge, "rb") as f:
        response = server.post("/classify", files={"video": ("huge.mp4", f)})
    assert response.status_code == 413 and response.json()["error"]["code"] == "upload_too_large"
    response = server.post("/classify", data={"tta": "true"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "missing_file"
    assert server.get("/healthz").json() == {"status": "ok"}
    assert not any(server.upload_dir.iterdir())


def test_private_files(server):
    assert stat.S_IMODE(server.upload_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((server.data_dir / "jobs.sqlite3").stat().st_mode) == 0o600


def test_jobs_survive_a_restart(server):
    job = getattr(server, "finished_job", None)
    assert job is not None, "test_job_gives_the_right_answer_and_cleans_up must run first"
    assert server.stop() == 0  # a graceful stop
    with gunicorn(server.data_dir, server.env) as again:
        assert again.get(f"/jobs/{job['id']}").json() == job
        assert again.get("/readyz").json()["ready"] is True
