"""POST /classify through Flask's test client: answers, options, and every error status.

The app runs the tiny wiring bundle (weights don't matter for wiring; answers are checked against
the classifier called directly). Broken inputs are real files; the full queue is a real pool with
its start gate held.
"""
from __future__ import annotations

import io
import time

import pytest

from tests.conftest import assert_error, csrf_token, log_in, post_video, poller, wait_for_job


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app(INFERENCE_WORKERS=1, QUEUE_SIZE=1)


def test_classify_answers_like_the_classifier(app, client, clips, uploads):
    clf = app.extensions["videoclf.inference"].classifier
    response = post_video(client, clips[2], name="my holiday.mp4")
    assert response.status_code == 200 and response.is_json
    r = response.get_json()
    assert set(r) >= {"label", "confidence", "top_k", "probabilities", "members", "tta", "frames", "video", "model",
                      "timings_ms"}
    direct = clf.classify_video(clips[2])
    assert r["probabilities"] == direct["probabilities"]  # the same answer as the library gives
    assert r["label"] == direct["label"] and r["top_k"] == direct["top_k"]
    assert r["video"]["filename"] == "my holiday.mp4"  # the client's name, not the private copy's
    assert r["model"]["name"] == "wiring" and r["tta"]["enabled"] is False
    assert len(r["frames"]) == 16 and r["timings_ms"]["total"] > 0


def test_tta_and_top_k_fields(client, clips, uploads):
    r = post_video(client, clips[0], tta="true", top_k="2").get_json()
    assert r["tta"]["enabled"] is True and r["tta"]["views"] == ["original", "reverse", "speed_up", "slow_down"]
    assert len(r["top_k"]) == 2
    r = post_video(client, clips[0], tta="off", top_k="").get_json()  # empty top_k: the default
    assert r["tta"]["enabled"] is False and len(r["top_k"]) == 4


@pytest.mark.parametrize("fields,field", [({"tta": "maybe"}, "tta"), ({"top_k": "abc"}, "top_k"),
                                          ({"top_k": "0"}, "top_k"), ({"top_k": "-1"}, "top_k"),
                                          ({"top_k": "1.5"}, "top_k")])
def test_bad_fields_are_400(client, clips, uploads, fields, field):
    err = assert_error(post_video(client, clips[0], **fields), 400, "bad_field")
    assert err["message"].startswith(field)


@pytest.mark.parametrize("data", [{}, {"file": (io.BytesIO(b"abc"), "a.mp4")}, {"video": (io.BytesIO(b""), "")}])
def test_missing_file_is_400(client, uploads, data):
    err = assert_error(client.post("/classify", data=data, content_type="multipart/form-data"), 400, "missing_file")
    assert "'video'" in err["message"]


def test_a_body_that_is_not_a_form_is_400(client, uploads):
    assert_error(client.post("/classify", data=b"\x00\x01", content_type="application/octet-stream"), 400,
                 "missing_file")


@pytest.mark.parametrize("kind,status", [("not_video", 415), ("empty", 400), ("no_frames", 422), ("corrupt", 422)])
@pytest.mark.parametrize("endpoint", ["/classify", "/explain"])
def test_broken_videos_get_their_status(client, bad_videos, uploads, endpoint, kind, status):
    err = assert_error(post_video(client, bad_videos[kind], endpoint=endpoint), status, kind)
    if kind != "no_frames":
        assert bad_videos[kind].name in err["message"]  # named as the client named it


def test_content_is_checked_by_decoding_not_by_name(client, clips, bad_videos, uploads):
    assert post_video(client, clips[0], name="holiday.txt").status_code == 200
    assert_error(post_video(client, bad_videos["not_video"], name="real.mp4"), 415, "not_video")


def test_too_large_is_413(app, client, clips, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 20_000)
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 20_000 / 2**20)
    assert clips[0].stat().st_size > 20_000
    err = assert_error(post_video(client, clips[0]), 413, "upload_too_large")
    assert "larger than this server accepts" in err["message"]


def test_wrong_method_and_unknown_path(client):
    response = client.get("/classify")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]
    assert_error(client.get("/no/such/thing"), 404, "not_found")


def test_bearer_token(app, client, clips, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN", "s3cret-token")
    response = post_video(client, clips[0])
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.get("/api/models", headers={"Authorization": "Bearer wrong"}), 401, "unauthorized")
    assert_error(client.get("/jobs/" + "0" * 32), 401, "unauthorized")
    assert_error(client.get("/metrics"), 401, "unauthorized")
    ok = {"Authorization": "Bearer s3cret-token"}
    assert client.get("/api/models", headers=ok).status_code == 200
    assert client.get("/metrics", headers=ok).status_code == 200
    data = {"video": (io.BytesIO(clips[0].read_bytes()), "a.mp4")}
    assert client.post("/classify", data=data, headers=ok).status_code == 200
    for public in ("/healthz", "/readyz", "/openapi.json"):  # probes and the API's description stay open
        assert client.get(public).status_code == 200


def test_api_token_guards_every_route_that_classifies_or_shows_results(app, clips, uploads, monkeypatch):
    """With the API token set, no route classifies, explains or shows results without it, the
    page's own /upload included (a CSRF token fetched from the page used to be enough)."""
    monkeypatch.setitem(app.config, "API_TOKEN", "s3cret-token")
    client = app.test_client()
    for url in ("/", "/dashboard", "/dashboard/reviewed", "/dashboard/reviewed/files/ensemble_pr.png"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login?next="), url
    csrf = {"X-CSRFToken": csrf_token(client), "Accept": "application/json"}
    for endpoint in ("/upload", "/upload/explain", "/classify", "/explain", "/jobs"):
        assert_error(post_video(client, clips[0], endpoint=endpoint, headers=csrf), 401, "unauthorized")
    for url in ("/upload/" + "0" * 32, "/jobs/" + "0" * 32, "/api/models", "/metrics"):
        assert_error(client.get(url, headers=csrf), 401, "unauthorized")
    assert list(uploads.iterdir()) == []  # refused before anything was stored
    for public in ("/healthz", "/readyz", "/openapi.json", "/login", "/static/style.css"):
        assert client.get(public).status_code == 200, public
    wrong = log_in(client, "nope")
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    ok = client.post("/login?next=/dashboard", data={"token": "s3cret-token", "csrf_token": csrf_token(client)})
    assert ok.status_code == 302 and ok.headers["Location"] == "/dashboard"
    assert client.get("/").status_code == 200 and client.get("/dashboard").status_code == 200
    job = post_video(client, clips[1], endpoint="/upload", headers={"X-CSRFToken": csrf_token(client)})
    assert job.status_code == 202
    assert wait_for_job(poller(client), job.get_json()["status_url"])["status"] == "done"
    client.post("/dashboard/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/").status_code == 302
    script = app.test_client()  # a script may send the bearer header to the page's routes instead
    bearer = {"Authorization": "Bearer s3cret-token"}
    job = post_video(script, clips[2], endpoint="/upload", headers={**bearer, "X-CSRFToken": csrf_token(script)})
    assert job.status_code == 202

    def get(url):
        r = script.get(url, headers=bearer)
        return r.status_code, r.get_json()

    assert wait_for_job(get, job.get_json()["status_url"])["status"] == "done"


def test_full_queue_is_503_with_retry_after(app, client, clips, uploads):
    pool = app.extensions["videoclf.inference"].pool
    assert pool.capacity == 2
    pool.gate.clear()  # hold the worker: accepted videos stay in the pool
    try:
        held = [client.post("/jobs", data={"video": (io.BytesIO(clips[i].read_bytes()), clips[i].name)})
                for i in range(2)]
        assert [r.status_code for r in held] == [202, 202]
        response = post_video(client, clips[2])
        err = assert_error(response, 503, "queue_full")
        assert int(response.headers["Retry-After"]) >= 1 and "busy" in err["message"]
        assert_error(client.post("/jobs", data={"video": (io.BytesIO(clips[3].read_bytes()), "d.mp4")}), 503,
                     "queue_full")
        assert len(list(uploads.iterdir())) == 2  # the refused uploads are already gone
        ready = client.get("/readyz")  # probes answer while the pool is full, and say it is full
        assert ready.status_code == 503 and ready.get_json()["reason"].startswith("the queue is full")
        assert ready.get_json()["queue"] == {"depth": 2, "running": 0, "capacity": 2, "stuck": 0, "stopped": 0}
    finally:
        pool.gate.set()
    for r in held:
        url = r.get_json()["status_url"]
        deadline = time.monotonic() + 60
        while client.get(url).get_json()["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get(url).get_json()["status"] == "done"
    assert post_video(client, clips[2]).status_code == 200  # room again


@pytest.mark.parametrize("endpoint,advice", [("/classify", "submit a job (POST /jobs)"),
                                             ("/explain", "ask for fewer frames (k)")])
def test_sync_timeout_is_504_and_the_upload_still_goes(app, client, clips, uploads, monkeypatch, endpoint, advice):
    monkeypatch.setitem(app.config, "SYNC_TIMEOUT", 0.3)
    pool = app.extensions["videoclf.inference"].pool
    pool.gate.clear()
    try:
        err = assert_error(post_video(client, clips[0], endpoint=endpoint), 504, "timeout")
        assert "took longer than 0.3 s" in err["message"] and advice in err["message"]
        assert not list(uploads.iterdir())  # nobody waits for it any more: deleted at once
        assert pool.depth == 0  # and the cancelled task no longer holds a place in the queue
    finally:
        pool.gate.set()


def test_server_failure_is_a_json_500_without_details(app, client, clips, tmp_path, monkeypatch):
    service = app.extensions["videoclf.inference"]
    monkeypatch.setattr(service, "upload_dir", tmp_path / "gone")  # the upload cannot be written
    err = assert_error(post_video(client, clips[0]), 500, "internal")
    assert "gone" not in err["message"]


def test_segment_fields_are_honoured(app, client, two_class_video, uploads):
    """start/end classify that segment only: on /classify, on /jobs (stored with the job), with a
    timeline (its windows cover the segment) and on /explain; the answer is the library's."""
    path, _ = two_class_video
    clf = app.extensions["videoclf.inference"].classifier
    r = post_video(client, path, start="2", end="6").get_json()
    assert r["video"]["segment"] == [2.0, 6.0]
    assert all(2.0 <= f["timestamp"] <= 6.0 for f in r["frames"])
    assert r["probabilities"] == clf.classify_video(path, start=2.0, end=6.0)["probabilities"]
    assert r["probabilities"] != clf.classify_video(path)["probabilities"]  # not the whole video's answer
    job = client.post("/jobs", data={"video": (io.BytesIO(path.read_bytes()), "two.mp4"), "start": "2", "end": "6",
                                     "timeline": "interval", "interval": "2"})
    assert job.status_code == 202
    done = wait_for_job(poller(client), job.get_json()["status_url"])
    assert done["options"]["start"] == 2.0 and done["options"]["end"] == 6.0
    result = done["result"]
    assert result["probabilities"] == r["probabilities"]
    windows = result["timeline"]["windows"]
    assert [(w["start"], w["end"]) for w in windows] == [(2.0, 4.0), (4.0, 6.0)]
    assert result["timeline"]["video"]["probabilities"] == r["probabilities"]
    ex = post_video(client, path, endpoint="/explain", start="2", end="6", k="2").get_json()
    assert ex["result"]["video"]["segment"] == [2.0, 6.0]
    assert all(2.0 <= f["timestamp"] <= 6.0 for f in ex["frames"])


@pytest.mark.parametrize("fields,field", [
    ({"tpo_k": "2"}, "tpo_k"),  # a typo is refused, not taken as "the default"
    ({"start": "-1"}, "start"), ({"start": "soon"}, "start"), ({"end": "nan"}, "end"),
    ({"start": "4", "end": "2"}, "end"), ({"end": "0"}, "end"),
    ({"model": "some-other-model"}, "model"),
])
def test_bad_or_unknown_fields_are_refused_by_name(client, clips, uploads, fields, field):
    for endpoint in ("/classify", "/jobs", "/explain"):
        err = assert_error(post_video(client, clips[0], endpoint=endpoint, **fields), 400, "bad_field")
        assert err["field"] == field and field in err["message"], (endpoint, err)
    assert list(uploads.iterdir()) == []  # refused before anything was stored


def test_an_unknown_file_part_is_refused(client, clips, uploads):
    data = {"video": (io.BytesIO(clips[0].read_bytes()), "a.mp4"), "thumbnail": (io.BytesIO(b"x"), "t.png")}
    err = assert_error(client.post("/classify", data=data), 400, "bad_field")
    assert err["field"] == "thumbnail"


def test_model_field_may_name_the_served_bundle(app, client, clips, uploads):
    served = client.get("/api/models").get_json()["models"][0]
    assert served["loaded"] is True
    clf = app.extensions["videoclf.inference"].classifier
    for name in (served["id"], clf.bundle.name):
        assert post_video(client, clips[0], model=name).status_code == 200


def test_a_segment_past_the_end_is_bad_segment(client, clips, uploads):
    err = assert_error(post_video(client, clips[0], start="500"), 422, "bad_segment")
    assert "segment" in err["message"]


def test_openapi_lists_exactly_the_fields_the_routes_take(client):
    from app.web.uploads import CLASSIFY_FIELDS, EXPLAIN_FIELDS

    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert set(schemas["Upload"]["properties"]) == {"video", *CLASSIFY_FIELDS}
    assert set(schemas["ExplainUpload"]["properties"]) == {"video", *EXPLAIN_FIELDS}
    assert schemas["Upload"]["additionalProperties"] is False  # unknown fields are refused
    assert "field" in schemas["Error"]["properties"]["error"]["properties"]
