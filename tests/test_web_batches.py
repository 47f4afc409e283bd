"""POST /batches, GET /batches/<id>, GET /batches/<id>/results: batch prediction on the service over
files under VIDEOCLF_BATCH_ROOT, on the in-process backend (Celery: tests/test_web_celery.py)."""
from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import assert_error


@pytest.fixture(scope="module")
def root(tmp_path_factory, clips) -> Path:
    folder = tmp_path_factory.mktemp("archive")
    (folder / "sub").mkdir()
    for i, clip in enumerate(clips[:3]):
        shutil.copy(clip, folder / ("sub" if i == 2 else ".") / f"clip{i}.mp4")
    (folder / "notes.mp4").write_text("not a video\n" * 20)
    return folder


@pytest.fixture(scope="module")
def app(make_web_app, root):
    return make_web_app(BATCH_ROOT=str(root))


def wait_for_batch(client, url: str, timeout: float = 120) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = client.get(url).get_json()
        if body["status"] == "done":
            return body
        time.sleep(0.2)
    pytest.fail(f"batch {url} did not finish within {timeout} s: {body}")


def test_a_json_batch_runs_every_row_and_keeps_the_files(app, root, clips):
    client = app.test_client()
    rows = [{"path": "clip0.mp4"}, {"path": "clip1.mp4", "start": 1, "end": 3}, {"path": "sub/clip2.mp4"},
            {"path": "missing.mp4"}, {"path": "../outside.mp4"}, {"path": "/etc/passwd"}, {"path": "notes.mp4"}]
    response = client.post("/batches", json={"rows": rows, "top_k": 2})
    assert response.status_code == 202, response.get_json()
    batch = response.get_json()
    assert response.headers["Location"] == batch["status_url"] and batch["rows"] == 7
    assert [(b["row"], b["error"]["code"]) for b in batch["bad_rows"]] == [(4, "not_found"), (5, "bad_field"),
                                                                             (6, "bad_field")]
    assert "outside the folder batches may read" in batch["bad_rows"][1]["error"]["message"]
    done = wait_for_batch(client, batch["status_url"])
    assert done["counts"] == {"pending": 0, "queued": 0, "running": 0, "done": 3, "failed": 4}
    assert done["progress"] == 1.0
    results = client.get(batch["results_url"])
    assert results.status_code == 200 and results.mimetype == "application/x-ndjson"
    records = [json.loads(line) for line in results.get_data(as_text=True).splitlines()]
    assert [r["row"] for r in records] == list(range(1, 8))
    assert records[6]["status"] == "failed" and records[6]["error"]["code"] == "not_video"
    for r, clip in zip(records[:3], clips[:3]):
        assert r["status"] == "done" and len(r["result"]["top_k"]) == 2
        # The same answer as an upload of that file gets (row 2 is a segment: its own answer).
        if r["row"] != 2:
            local = client.post("/classify", data={"video": (io.BytesIO(clip.read_bytes()), clip.name)}).get_json()
            assert r["result"]["label"] == local["label"]
            assert abs(r["result"]["confidence"] - local["confidence"]) < 1e-4
    assert records[1]["start"] == 1.0 and records[1]["result"]["video"]["segment"] == [1.0, 3.0]
    assert all((root / p).exists() for p in ("clip0.mp4", "clip1.mp4", "sub/clip2.mp4"))  # read, never deleted
    table = list(csv.DictReader(io.StringIO(client.get(batch["results_url"] + "?format=csv").get_data(as_text=True))))
    assert [row["status"] for row in table] == ["done"] * 3 + ["failed"] * 4
    assert table[0]["label"] == records[0]["result"]["label"]


def test_a_manifest_file_with_options(app):
    client = app.test_client()
    manifest = "path,start,end,label\nclip0.mp4,,,Animation\nsub/clip2.mp4,0,4,Gaming\n"
    response = client.post("/batches", data={"manifest": (io.BytesIO(manifest.encode()), "m.csv"),
                                             "timeline": "interval", "interval": "2"})
    assert response.status_code == 202, response.get_json()
    done = wait_for_batch(client, response.get_json()["status_url"])
    assert done["counts"]["done"] == 2 and done["options"]["timeline"] == "interval"
    records = [json.loads(line) for line in client.get(done["results_url"]).get_data(as_text=True).splitlines()]
    assert all(r["result"]["timeline"]["windows"] for r in records)
    assert records[1]["result"]["video"]["segment"] == [0.0, 4.0]


def test_bad_batches_are_refused_plainly(app, make_web_app):
    client = app.test_client()
    assert_error(client.post("/batches", json={"rows": [], "k": 3}), 400, "bad_field")
    assert_error(client.post("/batches", json={"rows": "clip0.mp4"}), 400, "bad_field")
    assert_error(client.post("/batches", json={"rows": []}), 400, "bad_field")
    assert_error(client.post("/batches", json={"rows": [{"path": "clip0.mp4"}], "top_k": 0}), 400, "bad_field")
    assert_error(client.post("/batches", data={"video": (io.BytesIO(b"x"), "a.mp4")}), 400, "bad_field")
    assert_error(client.post("/batches", data={}), 400, "bad_field")
    assert_error(client.get("/batches/" + "0" * 32), 404, "not_found")
    assert_error(client.get("/batches/../../etc"), 404, "not_found")
    batch = client.post("/batches", json={"rows": [{"path": "missing.mp4"}]}).get_json()
    assert_error(client.get(batch["results_url"] + "?format=xml"), 400, "bad_field")
    small = make_web_app(BATCH_ROOT=app.config["BATCH_ROOT"], MAX_BATCH_ROWS=2)
    body = assert_error(small.test_client().post("/batches", json={"rows": [{"path": "a"}] * 3}), 400, "bad_field")
    assert "more than 2 rows" in body["message"]
    off = make_web_app()
    assert_error(off.test_client().post("/batches", json={"rows": [{"path": "clip0.mp4"}]}), 403,
                 "batches_disabled")


def test_a_batch_left_by_a_stopped_server_is_finished_by_the_next(make_web_app, root, tmp_path):
    shared = {"BATCH_ROOT": str(root), "DATABASE": str(tmp_path / "jobs.sqlite3"),
              "UPLOAD_DIR": str(tmp_path / "uploads"), "JOB_RECLAIM_S": 0.5}
    first = make_web_app(**shared)
    first.extensions["videoclf.inference"].pool.gate.clear()  # nothing runs on the first server
    rows = [{"path": "clip0.mp4"}, {"path": "clip1.mp4"}, {"path": "sub/clip2.mp4"}]
    batch = first.test_client().post("/batches", json={"rows": rows}).get_json()
    time.sleep(1.5)  # its feeder queues what the pool takes (as many rows as pool threads)
    first.extensions["videoclf.close"]()
    second = make_web_app(**shared)
    done = wait_for_batch(second.test_client(), batch["status_url"])
    assert done["counts"]["done"] == 3, done
