"""POST /explain (API) and POST /upload/explain (the page's "Why?") through Flask's test client.

The app runs the tiny wiring bundle: weights don't matter for checking that the request reaches
``explain_video`` with the right options and that its answer comes back whole (base64 PNGs that
decode, boxes inside the crop, the k most-attended frames). The full queue is a real pool with its
start gate held; broken videos and the sync timeout get the same answers as on /classify
(test_web_api checks both endpoints).
"""
from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

import app.explain.video as explain_module
from tests.conftest import assert_error, csrf_token, log_in, post_video, poller, wait_for_job


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app(INFERENCE_WORKERS=1, QUEUE_SIZE=1)


def explain(client, path, **fields):
    return post_video(client, path, endpoint="/explain", **fields)


def png(b64: str) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a PNG"
    return image


def test_explain_gives_k_overlays_of_the_most_attended_frames(app, client, clips, uploads):
    response = explain(client, clips[1], name="my clip.mp4", k="3")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"result", "target", "method", "frames"}
    result = body["result"]
    assert body["method"] == "gradcam" and body["target"] == result["predicted_label"]
    assert result["video"]["filename"] == "my clip.mp4"  # the client's name, not the private copy's
    clf = app.extensions["videoclf.inference"].classifier
    assert result["probabilities"] == clf.classify_video(clips[1])["probabilities"]
    frames = body["frames"]
    assert len(frames) == 3
    attention = [f["attention"] for f in result["frames"]]
    assert sorted(f["index"] for f in frames) == [f["index"] for f in frames]  # in time order
    assert {f["index"] for f in frames} == set(np.argsort(-np.array(attention), kind="stable")[:3].tolist())
    for f in frames:
        assert f["attention"] == attention[f["index"]]
        assert f["timestamp"] == result["frames"][f["index"]]["timestamp"]
        frame, overlay = png(f["frame_png"]), png(f["overlay_png"])
        # What the model saw, in place on the whole frame, at the video's aspect ratio.
        video = result["video"]
        assert frame.shape == overlay.shape and min(frame.shape[:2]) >= 112
        assert abs(frame.shape[1] / frame.shape[0] - video["width"] / video["height"]) < 0.02
        assert not np.array_equal(frame, overlay)  # the heatmap is drawn on it
        x, y, w, h = f["box"]
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= frame.shape[1] and y + h <= frame.shape[0]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'videoclf_explain_duration_seconds_count{outcome="ok"}' in metrics


def test_class_method_and_default_k_are_honoured(client, clips, uploads):
    default = explain(client, clips[0]).get_json()
    assert len(default["frames"]) == 4  # k defaults to 4
    other = next(c for c in default["result"]["probabilities"] if c != default["target"])
    chosen = explain(client, clips[0], method="gradcam++", **{"class": other}).get_json()
    assert chosen["target"] == other and chosen["method"] == "gradcam++"
    assert chosen["result"]["predicted_label"] == default["result"]["predicted_label"]
    assert [f["index"] for f in chosen["frames"]] == [f["index"] for f in default["frames"]]
    assert [f["overlay_png"] for f in chosen["frames"]] != [f["overlay_png"] for f in default["frames"]]


@pytest.mark.parametrize("fields,field,hint", [
    ({"k": "0"}, "k", "1 to 16"), ({"k": "17"}, "k", "1 to 16"), ({"k": "abc"}, "k", "1 to 16"),
    ({"k": "1.5"}, "k", "1 to 16"), ({"k": "-2"}, "k", "1 to 16"),
    ({"method": "saliency"}, "method", "gradcam, gradcam++"), ({"method": "GradCAM"}, "method", "gradcam++"),
    ({"class": "Cats"}, "class", "Animation, Flat_Content, Gaming, Natural_Content"),
    ({"class": "animation"}, "class", "Animation"), ({"tta": "maybe"}, "tta", "true or false")])
def test_bad_fields_are_400_with_the_valid_choices(client, clips, uploads, fields, field, hint):
    err = assert_error(explain(client, clips[0], **fields), 400, "bad_field")
    assert err["message"].startswith(field) and hint in err["message"]


def test_missing_file_is_400(client, uploads):
    err = assert_error(client.post("/explain", data={"k": "2"}, content_type="multipart/form-data"), 400,
                       "missing_file")
    assert "'video'" in err["message"]


def test_full_queue_is_503_and_the_upload_goes(app, client, clips, uploads):
    pool = app.extensions["videoclf.inference"].pool
    pool.gate.clear()  # hold the worker: accepted videos stay in the pool
    try:
        held = [post_video(client, clips[i], endpoint="/jobs") for i in range(2)]
        assert [r.status_code for r in held] == [202, 202]
        response = explain(client, clips[2])
        err = assert_error(response, 503, "queue_full")
        assert int(response.headers["Retry-After"]) >= 1 and "busy" in err["message"]
        assert len(list(uploads.iterdir())) == 2  # the refused upload is already gone
    finally:
        pool.gate.set()
    for r in held:
        assert wait_for_job(poller(client), r.get_json()["status_url"])["status"] == "done"


def test_explanations_are_computed_only_when_asked(app, client, clips, uploads, monkeypatch):
    calls = []
    real = explain_module.explain_frames
    monkeypatch.setattr(explain_module, "explain_frames", lambda *a, **kw: calls.append(1) or real(*a, **kw))
    result = post_video(client, clips[3], timeline="interval").get_json()
    assert "label" in result
    job = post_video(client, clips[3], endpoint="/upload", headers={"X-CSRFToken": csrf_token(client)})
    assert wait_for_job(poller(client), job.get_json()["status_url"])["status"] == "done"
    assert calls == []  # neither the API's classify nor the page's job explained anything
    assert explain(client, clips[3], k="1").status_code == 200
    assert calls == [1]


def test_the_pages_why_needs_the_login_and_its_csrf_token(app, clips, uploads, monkeypatch):
    monkeypatch.setitem(app.config, "API_TOKEN", "s3cret-token")
    client = app.test_client()
    assert_error(explain(client, clips[0]), 401, "unauthorized")  # the API is behind its token
    headers = {"Accept": "application/json"}
    response = post_video(client, clips[0], endpoint="/upload/explain", k="2",
                          headers={**headers, "X-CSRFToken": csrf_token(client)})
    assert_error(response, 401, "unauthorized")  # a CSRF token fetched from the page is not enough
    assert log_in(client, "s3cret-token").status_code == 302
    response = post_video(client, clips[0], endpoint="/upload/explain", headers=headers, k="2")
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf"
    response = post_video(client, clips[0], endpoint="/upload/explain", k="2", method="gradcam++",
                          headers={**headers, "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert len(body["frames"]) == 2 and body["method"] == "gradcam++"
    response = post_video(client, clips[0], endpoint="/upload/explain", k="99",
                          headers={**headers, "X-CSRFToken": csrf_token(client)})
    assert response.status_code == 400 and response.get_json()["error"]["message"].startswith("k must be")


def test_explain_is_in_the_openapi_document(client):
    doc = client.get("/openapi.json").get_json()
    operation = doc["paths"]["/explain"]["post"]
    assert {"200", "400", "415", "422", "503", "504"} <= set(operation["responses"])
    fields = doc["components"]["schemas"]["ExplainUpload"]["properties"]
    assert fields["k"]["maximum"] == 16 and fields["method"]["enum"] == ["gradcam", "gradcam++"]
    assert set(doc["components"]["schemas"]["Explanation"]["required"]) == {"result", "target", "method", "frames"}
