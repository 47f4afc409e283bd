"""The ``timeline`` and ``interval`` fields of POST /classify, POST /jobs and the page's /upload.

The video is real: the first 6 s of an Animation clip, then 6 s of a Natural_Content clip (a hard
cut at 6 s). The wiring bundle's labels are random; what is checked is that the windows cover the
video in order, that the aggregate is there, that shots mode finds the cut, and that the options
travel with a job, across a restart too.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from tests.conftest import assert_error, csrf_token, post_video, poller, wait_for_job


@pytest.fixture(scope="module")
def app(make_web_app):
    return make_web_app()


def check_windows(result: dict, classes: list[str]) -> list[dict]:
    """The windows cover the video from 0 to its end, in order, each with a consistent answer."""
    tl = result["timeline"]
    windows = tl["windows"]
    assert windows and windows[0]["start"] == pytest.approx(0, abs=0.05)
    assert windows[-1]["end"] == pytest.approx(result["video"]["duration"], abs=0.1)
    for before, after in zip(windows, windows[1:]):
        assert after["start"] == pytest.approx(before["end"], abs=1e-3)
    for w in windows:
        assert w["end"] > w["start"] and w["label"] in classes
        assert list(w["probabilities"]) == classes and sum(w["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        assert w["confidence"] == max(w["probabilities"].values()) == w["probabilities"][w["label"]]
    video = tl["video"]  # the whole-video row is the answer itself: one answer per page
    assert video["source"] == "answer" and video["label"] == result["label"]
    assert video["confidence"] == result["confidence"] and video["probabilities"] == result["probabilities"]
    assert video["uncertain"] == result["uncertain"]
    together = tl["windows_aggregate"]  # what the windows say together, shown beside it
    assert together["label"] in classes and together["confidence"] == together["probabilities"][together["label"]]
    assert tl["work"]["windows"] == len(windows) and result["timings_ms"]["timeline"] > 0
    return windows


def test_interval_timeline_on_classify(app, client, two_class_video, uploads):
    path, _ = two_class_video
    clf = app.extensions["videoclf.inference"].classifier
    result = post_video(client, path, timeline="interval", interval="2").get_json()
    windows = check_windows(result, clf.classes)
    assert result["timeline"]["mode"] == "interval" and result["timeline"]["interval"] == 2.0
    assert len(windows) == 6 and all(w["end"] - w["start"] == pytest.approx(2, abs=0.05) for w in windows)
    assert result["timeline"]["shots"] is None
    direct = clf.classify_video(path)
    assert result["probabilities"] == direct["probabilities"]  # the single-pass answer is unchanged


def test_interval_defaults_to_the_librarys(client, two_class_video, uploads):
    path, _ = two_class_video
    result = post_video(client, path, timeline="interval").get_json()
    assert result["timeline"]["interval"] == 2.0 and len(result["timeline"]["windows"]) == 6


def test_shots_timeline_finds_the_cut(app, client, two_class_video, uploads):
    path, cut = two_class_video
    result = post_video(client, path, timeline="shots").get_json()
    windows = check_windows(result, app.extensions["videoclf.inference"].classifier.classes)
    tl = result["timeline"]
    assert tl["mode"] == "shots" and tl["interval"] is None and isinstance(tl["shots"], list)
    assert any(abs(s - cut) < 0.5 for s in tl["shots"]), tl["shots"]
    assert any(abs(w["start"] - cut) < 0.5 for w in windows[1:])  # a window starts at the cut


def test_no_timeline_unless_asked(client, clips, uploads):
    result = post_video(client, clips[0], timeline="", interval="").get_json()  # blank fields: the defaults
    assert "timeline" not in result and "timeline" not in result["timings_ms"]


def test_jobs_and_the_page_carry_the_timeline(app, client, two_class_video, uploads):
    path, _ = two_class_video
    response = post_video(client, path, endpoint="/jobs", timeline="interval", interval="3")
    assert response.status_code == 202
    job = wait_for_job(poller(client), response.get_json()["status_url"])
    assert job["options"] == {"tta": None, "top_k": None, "timeline": "interval", "interval": 3.0, "frames": False,
                              "start": None, "end": None}
    assert len(check_windows(job["result"], app.extensions["videoclf.inference"].classifier.classes)) == 4
    response = post_video(client, path, endpoint="/upload", headers={"X-CSRFToken": csrf_token(client)},
                          timeline="shots")
    assert response.status_code == 202, response.get_data(as_text=True)
    job = wait_for_job(poller(client), response.get_json()["status_url"])
    assert job["options"]["timeline"] == "shots" and job["result"]["timeline"]["mode"] == "shots"
    assert len(job["result"]["thumbnails"]) == len(job["result"]["frames"])  # the page's strip is still there


@pytest.mark.parametrize("fields,message", [
    ({"timeline": "minutes"}, "timeline must be one of interval, shots"),
    ({"timeline": "Interval"}, "timeline must be one of interval, shots"),
    ({"timeline": "interval", "interval": "0"}, "interval must be a number of seconds above 0 and at most 600"),
    ({"timeline": "interval", "interval": "-1"}, "interval must be"),
    ({"timeline": "interval", "interval": "601"}, "interval must be"),
    ({"timeline": "interval", "interval": "two"}, "interval must be"),
    ({"timeline": "interval", "interval": "nan"}, "interval must be"),
    ({"timeline": "interval", "interval": "inf"}, "interval must be"),
    ({"timeline": "shots", "interval": "2"}, "interval is the window length of timeline=interval"),
    ({"interval": "2"}, "interval is the window length of timeline=interval")])
@pytest.mark.parametrize("endpoint", ["/classify", "/jobs"])
def test_bad_timeline_fields_are_refused_before_queueing(app, client, clips, uploads, endpoint, fields, message):
    err = assert_error(post_video(client, clips[0], endpoint=endpoint, **fields), 400, "bad_field")
    assert err["message"].startswith(message)
    with sqlite3.connect(app.config["DATABASE"]) as db:
        assert db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'queued'").fetchone()[0] == 0


def test_openapi_documents_the_fields(client):
    doc = client.get("/openapi.json").get_json()
    upload = doc["components"]["schemas"]["Upload"]["properties"]
    assert upload["timeline"]["enum"] == ["", "interval", "shots"] and upload["interval"]["maximum"] == 600
    assert doc["components"]["schemas"]["Classification"]["properties"]["timeline"] == {
        "$ref": "#/components/schemas/Timeline"}


def test_timeline_jobs_are_taken_over_after_a_restart(make_web_app, two_class_video, clips, tmp_path):
    """A job queued with a timeline when its server went away keeps its options on the next
    server; a job stored before the timeline options existed (no such keys) still runs."""
    path, _ = two_class_video
    settings = {"DATABASE": str(tmp_path / "jobs.sqlite3"), "UPLOAD_DIR": str(tmp_path / "uploads")}
    first = make_web_app(**settings)
    first.extensions["videoclf.inference"].pool.gate.clear()
    client = first.test_client()
    held = post_video(client, path, endpoint="/jobs", timeline="interval", interval="4").get_json()["id"]
    first.extensions["videoclf.close"]()
    old_upload = Path(settings["UPLOAD_DIR"]) / "vc-999999999-old.mp4"  # written by a process now dead
    shutil.copy(clips[0], old_upload)
    with sqlite3.connect(settings["DATABASE"]) as db:
        db.execute("INSERT INTO jobs (id, status, source, filename, options, upload_path, owner, owner_since, created) "
                   "VALUES (?, 'queued', 'api', 'old.mp4', ?, ?, '999999999:gone', ?, ?)",
                   ("f" * 32, json.dumps({"tta": None, "top_k": 2, "frames": False}), str(old_upload), time.time(),
                    time.time()))

    second = make_web_app(**settings)
    client = second.test_client()
    taken = wait_for_job(poller(client), f"/jobs/{held}")
    assert taken["status"] == "done" and taken["options"]["timeline"] == "interval"
    assert taken["result"]["timeline"]["interval"] == 4.0 and len(taken["result"]["timeline"]["windows"]) == 3
    old = wait_for_job(poller(client), "/jobs/" + "f" * 32)
    assert old["status"] == "done" and "timeline" not in old["result"] and len(old["result"]["top_k"]) == 2
    first.extensions["videoclf.inference"].pool.gate.set()  # the old task wakes up and must not interfere
    assert not any(Path(settings["UPLOAD_DIR"]).iterdir())
