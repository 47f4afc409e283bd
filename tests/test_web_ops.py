"""Probes, metrics, the OpenAPI document, /api/models, configuration and start-up refusals."""
from __future__ import annotations

import io
import json
import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from app.web import config as settings
from app.web import create_app
from tests.conftest import pick_clips


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app()


@pytest.fixture(scope="module")
def clip(content4, content4_rows):
    return content4 / pick_clips(content4_rows, "test", 1)[0]["path"]


def metric(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        sample, _, value = line.rpartition(" ")
        sample_name, _, sample_labels = sample.partition("{")
        got = ",".join(sorted(sample_labels.rstrip("}").split(","))) if sample_labels else ""
        if sample_name == name and got == want:
            return float(value)
    return 0.0


def test_health_and_readiness(app):
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.get_json()
    assert body["ready"] is True and body["model"] == {"name": "wiring", "version": body["model"]["version"],
                                                       "trained": False}
    assert body["queue"] == {"depth": 0, "running": 0, "capacity": 3, "stuck": 0, "stopped": 0}


def test_metrics_count_requests_errors_latency_and_queue(app, clip, bad_videos):
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    assert client.post("/classify", data={"video": (io.BytesIO(clip.read_bytes()), "a.mp4")}).status_code == 200
    r = client.post("/classify", data={"video": (io.BytesIO(bad_videos["not_video"].read_bytes()), "n.mp4")})
    assert r.status_code == 415
    response = client.get("/metrics")
    assert response.mimetype == "text/plain"
    after = response.get_data(as_text=True)

    def delta(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    assert delta("videoclf_http_requests_total", method="POST", endpoint="/classify", status="200") == 1
    assert delta("videoclf_http_requests_total", method="POST", endpoint="/classify", status="415") == 1
    assert delta("videoclf_http_errors_total", code="not_video") == 1
    assert delta("videoclf_http_request_duration_seconds_count", endpoint="/classify") == 2
    assert delta("videoclf_inference_duration_seconds_count", outcome="ok") == 1
    assert delta("videoclf_inference_duration_seconds_count", outcome="not_video") == 1
    assert metric(after, "videoclf_model_loaded") == 1 and metric(after, "videoclf_queue_capacity") == 3
    pool = app.extensions["videoclf.inference"].pool
    pool.gate.clear()
    try:
        job = client.post("/jobs", data={"video": (io.BytesIO(clip.read_bytes()), "a.mp4")})
        assert job.status_code == 202
        held = client.get("/metrics").get_data(as_text=True)
        assert metric(held, "videoclf_queue_depth") == 1 and metric(held, "videoclf_inference_running") == 0
    finally:
        pool.gate.set()
    deadline = time.monotonic() + 60
    while client.get(job.get_json()["status_url"]).get_json()["status"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)


def test_openapi_document_is_valid_and_covers_every_route(app):
    client = app.test_client()
    doc = client.get("/openapi.json").get_json()
    validate(doc)
    documented = set(doc["paths"])
    routes = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()
              if rule.endpoint.split(".")[0] in ("api", "ops") and rule.endpoint != "api.openapi_document"}
    assert routes == documented
    assert "413" in doc["paths"]["/classify"]["post"]["responses"]
    assert set(doc["components"]["schemas"]["Classification"]["required"]) >= {"label", "confidence", "top_k"}


def test_api_models_lists_bundles_with_their_metrics(app, reviewed_bundle):
    models = app.test_client().get("/api/models").get_json()["models"]
    by_id = {m["id"]: m for m in models}
    assert list(by_id) == ["wiring", "reviewed"]  # the loaded bundle first
    assert by_id["wiring"]["loaded"] is True and by_id["reviewed"]["loaded"] is False
    assert by_id["wiring"]["report"] is False and by_id["wiring"]["metrics"]["test"] is None
    report = json.loads((reviewed_bundle / "report" / "report.json").read_text())
    test = by_id["reviewed"]["metrics"]["test"]
    assert set(test) == set(report["systems"])
    assert test["ensemble"]["accuracy"] == report["systems"]["ensemble"]["accuracy"]
    assert by_id["reviewed"]["classes"] == report["classes"] and by_id["reviewed"]["members"] == [
        "member_0", "member_1", "member_2"]


def test_security_headers(app):
    response = app.test_client().get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_settings_from_the_environment():
    env = {"VIDEOCLF_MAX_UPLOAD_MB": "1.5", "VIDEOCLF_QUEUE_SIZE": "0", "VIDEOCLF_API_TOKEN": "t",
           "VIDEOCLF_COOKIE_SECURE": "yes", "VIDEOCLF_DB": "/x/jobs.db", "VIDEOCLF_DATA_DIR": "/data"}
    cfg = settings.load(None, env)
    assert cfg["MAX_CONTENT_LENGTH"] == int(1.5 * 2**20) and cfg["QUEUE_SIZE"] == 0 and cfg["API_TOKEN"] == "t"
    assert cfg["SESSION_COOKIE_SECURE"] is True and cfg["DATABASE"] == "/x/jobs.db"
    assert cfg["UPLOAD_DIR"] == "/data/uploads"
    assert settings.load({"QUEUE_SIZE": 3}, env)["QUEUE_SIZE"] == 3  # create_app(config) wins
    with pytest.raises(RuntimeError, match="VIDEOCLF_QUEUE_SIZE='lots' is not a valid int"):
        settings.load(None, {"VIDEOCLF_QUEUE_SIZE": "lots"})
    with pytest.raises(RuntimeError, match=r"INFERENCE_WORKERS \(VIDEOCLF_INFERENCE_WORKERS\) must be at least 1"):
        settings.load({"INFERENCE_WORKERS": 0}, {})
    with pytest.raises(RuntimeError, match="LOAD_MODEL"):
        settings.load({"LOAD_MODEL": "lazy"}, {})


def test_debug_mode_is_refused(tmp_path):
    with pytest.raises(RuntimeError, match="debug mode is refused"):
        create_app({"DEBUG": True, "DATA_DIR": str(tmp_path)})


def test_a_model_that_does_not_load(make_web_app, tmp_path, clip):
    with pytest.raises(RuntimeError, match="did not load"):
        make_web_app(MODEL_DIR=str(tmp_path / "missing"))  # eager: refuse to start
    app = make_web_app(MODEL_DIR=str(tmp_path / "missing"), LOAD_MODEL="background")
    service = app.extensions["videoclf.inference"]
    deadline = time.monotonic() + 30
    while service.load_error is None and time.monotonic() < deadline:
        time.sleep(0.05)
    client = app.test_client()
    assert client.get("/healthz").status_code == 200  # alive...
    ready = client.get("/readyz")  # ...but not ready
    assert ready.status_code == 503 and ready.get_json()["reason"].startswith("the model failed to load")
    response = client.post("/classify", data={"video": (io.BytesIO(clip.read_bytes()), "a.mp4")})
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "model_unavailable"
    assert "could not be loaded" in client.get("/").get_data(as_text=True)
    assert not any(Path(app.config["UPLOAD_DIR"]).iterdir())


def test_gunicorn_settings_default_to_localhost_and_leave_threads_for_probes(monkeypatch):
    for name in [n for n in os.environ if n.startswith("VIDEOCLF_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VIDEOCLF_SECRET_KEY", "fixed")  # the config file sets one for its workers
    conf = runpy.run_path(str(settings.REPO / "gunicorn.conf.py"))
    assert conf["bind"] == "127.0.0.1:8000" and conf["worker_class"] == "gthread"
    assert conf["workers"] == 1 and conf["preload_app"] is False
    cfg = settings.load({}, {})
    assert conf["threads"] > cfg["INFERENCE_WORKERS"] + cfg["QUEUE_SIZE"]  # probes find a free thread
    monkeypatch.setenv("VIDEOCLF_QUEUE_SIZE", "20")
    assert runpy.run_path(str(settings.REPO / "gunicorn.conf.py"))["threads"] > 20


def test_job_reclaim_interval_from_the_environment():
    from app.web.jobs import RECLAIM_INTERVAL_S

    assert settings.load(None, {})["JOB_RECLAIM_S"] == RECLAIM_INTERVAL_S
    assert settings.load(None, {"VIDEOCLF_JOB_RECLAIM_S": "0"})["JOB_RECLAIM_S"] == 0.0  # start-up only
    assert settings.load(None, {"VIDEOCLF_JOB_RECLAIM_S": "2.5"})["JOB_RECLAIM_S"] == 2.5
    with pytest.raises(RuntimeError, match=r"JOB_RECLAIM_S \(VIDEOCLF_JOB_RECLAIM_S\) must be 0"):
        settings.load(None, {"VIDEOCLF_JOB_RECLAIM_S": "-1"})


def test_a_process_that_exits_while_the_model_still_loads_exits_cleanly(tmp_path, wiring_bundle):
    # Exit right after create_app: the background loader is still inside torch / ONNX Runtime.
    # With a daemon loader thread this aborted (SIGABRT, "terminate called without an active exception").
    code = ("import sys; from app.web import create_app; "
            f"create_app({{'DATA_DIR': {str(tmp_path)!r}, 'MODEL_DIR': {str(wiring_bundle)!r}}}); sys.exit(0)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOCLF_") or k == "VIDEOCLF_CACHE"}
    done = subprocess.run([sys.executable, "-c", code], cwd=settings.REPO, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
