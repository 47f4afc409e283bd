"""The upload page through Flask's test client: the page, its local assets, CSRF, and the upload job."""
from __future__ import annotations

import base64
import io
import re

import cv2
import numpy as np
import pytest

from tests.conftest import csrf_token, pick_clips, poller, wait_for_job


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app()


@pytest.fixture(scope="module")
def clip(content4, content4_rows):
    return content4 / pick_clips(content4_rows, "test", 1)[2]["path"]


def upload(client, path, name=None, token=None, **fields):
    headers = {"Accept": "application/json"}
    if token:
        headers["X-CSRFToken"] = token
    return client.post("/upload", data={"video": (io.BytesIO(path.read_bytes()), name or path.name), **fields},
                       headers=headers)


def test_page_has_the_form_and_only_local_assets(app):
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    for needed in ('id="upload-form"', 'name="video"', 'type="file"', 'id="tta"', 'id="drop-zone"',
                   "<progress", 'name="csrf-token"', "wiring", "untrained wiring model",
                   'name="timeline" type="radio" value="interval"', 'name="interval" type="number"',
                   'value="shots"', 'id="why-button"', 'data-url="/upload/explain"', 'value="gradcam++"',
                   'id="attention-axis"', 'id="timeline"'):
        assert needed in page, needed
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/") for a in assets), assets  # no CDN, nothing off this server
    for asset in [a for a in assets if a.startswith("/static/")]:
        assert client.get(asset).status_code == 200, asset
    assert "<script>" not in page  # the CSP allows no inline script


def test_page_scripts_are_modules_served_as_javascript(app):
    """The page loads one module; it and every module it imports, transitively, come from this
    server as JavaScript (a module with another type is refused under nosniff)."""
    client = app.test_client()
    assert '<script type="module" src="/static/upload.js"></script>' in client.get("/").get_data(as_text=True)
    seen, todo = set(), ["upload.js"]
    while todo:
        name = todo.pop()
        seen.add(name)
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.mimetype == "text/javascript", name
        body = response.get_data(as_text=True)
        assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|eval\(", body), name  # text stays text
        todo += [m for m in re.findall(r'from "\./([\w-]+\.js)"', body) if m not in seen]
    assert seen == {"upload.js", "dom.js", "timeline.js", "why.js"}


def test_upload_needs_the_csrf_token(app, clip):
    client = app.test_client()
    response = upload(client, clip)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf"
    assert "reload" in response.get_json()["error"]["message"]
    other = app.test_client()  # a token from another session does not work either
    assert upload(client, clip, token=csrf_token(other)).status_code == 400
    assert not any(app.extensions["videoclf.inference"].upload_dir.iterdir())


def test_upload_gives_the_result_with_a_frame_strip(app, clip):
    client = app.test_client()
    response = upload(client, clip, name="clip.mp4", token=csrf_token(client), tta="false")
    assert response.status_code == 202, response.get_data(as_text=True)
    job = wait_for_job(poller(client), response.get_json()["status_url"])
    assert job["status"] == "done"
    result = job["result"]
    clf = app.extensions["videoclf.inference"].classifier
    direct = clf.classify_video(clip, use_tta=False, top_k=len(clf.classes))
    assert result["probabilities"] == direct["probabilities"] and result["top_k"] == direct["top_k"]
    assert [f["timestamp"] for f in result["frames"]] == [f["timestamp"] for f in direct["frames"]]
    assert len(result["top_k"]) == len(clf.classes)  # every class gets a bar on the page
    assert len(result["thumbnails"]) == len(result["frames"])
    for uri in result["thumbnails"][:3]:  # real JPEGs of the sampled frames
        assert uri.startswith("data:image/jpeg;base64,")
        image = cv2.imdecode(np.frombuffer(base64.b64decode(uri.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and max(image.shape[:2]) == 112
    assert result["video"]["filename"] == "clip.mp4"
    assert not any(app.extensions["videoclf.inference"].upload_dir.iterdir())


def test_upload_errors_are_plain_words(app, bad_videos, clip):
    client = app.test_client()
    token = csrf_token(client)
    response = upload(client, bad_videos["not_video"], name="holiday.mp4", token=token)
    job = wait_for_job(poller(client), response.get_json()["status_url"])
    assert job["status"] == "failed" and job["error"]["status"] == 415
    assert job["error"]["message"].startswith("holiday.mp4: not a readable video")
    response = upload(client, clip, token=token, tta="sometimes")
    assert response.status_code == 400 and response.get_json()["error"]["message"].startswith("tta must be")


def test_page_status_url_does_not_show_api_jobs(app, clip):
    client = app.test_client()
    api_job = client.post("/jobs", data={"video": (io.BytesIO(clip.read_bytes()), "a.mp4")}).get_json()
    wait_for_job(poller(client), api_job["status_url"])
    response = client.get(f"/upload/{api_job['id']}", headers={"Accept": "application/json"})
    assert response.status_code == 404


def test_html_errors_for_pages(app):
    response = app.test_client().get("/no-such-page", headers={"Accept": "text/html"})
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Back to the upload page" in response.get_data(as_text=True)
