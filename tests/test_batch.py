"""Batch prediction (``app.batch``, ``videoclf predict``): manifests checked row by row, results
appended and resumed, and the shipped model's answers equal to what ``videoclf evaluate`` stored."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.batch import BatchError, ResultsFile, read_requests
from app.cli import main
from tests.conftest import REPO, pick_clips

DEFAULT_REPORT = REPO / "models" / "default" / "report" / "content4_test" / "report.json"


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def clip(content4, content4_rows) -> Path:
    return content4 / pick_clips(content4_rows, "test", 1)[0]["path"]


def test_csv_rows_are_checked_first_and_bad_ones_are_listed_not_fatal(tmp_path, clip):
    (tmp_path / "videos").mkdir()
    local = tmp_path / "videos" / "a.mp4"
    local.write_bytes(clip.read_bytes())
    manifest = _write_csv(tmp_path / "m.csv", [
        {"path": "videos/a.mp4", "start": "", "end": "", "split": "test"},   # relative to the manifest
        {"path": str(clip), "start": "1", "end": "2.5s", "split": "test"},
        {"path": "", "start": "", "end": "", "split": "test"},
        {"path": "videos/missing.mp4", "start": "", "end": "", "split": "test"},
        {"path": str(clip), "start": "3", "end": "1", "split": "test"},
        {"path": str(clip), "start": "soon", "end": "", "split": "test"},
        {"path": str(clip), "start": "-1", "end": "", "split": "test"},
        {"path": str(clip), "start": "", "end": "Infinity", "split": "train"},
    ])
    requests, bad = read_requests(manifest)
    assert [(r.row, r.file, r.start, r.end) for r in requests] == [
        (1, local, None, None), (2, clip, 1.0, 2.5), (8, clip, None, None)]
    assert [(b.row, b.code) for b in bad] == [(3, "bad_field"), (4, "not_found"), (5, "bad_segment"),
                                              (6, "bad_segment"), (7, "bad_segment")]
    assert "end (1 s) must be after start (3 s)" in bad[2].message and "'soon'" in bad[3].message
    # A bad row's key is never a good row's: "soon" is kept as written, not read as "no start".
    assert bad[3].key not in {r.key for r in requests}
    requests, bad = read_requests(manifest, split="train")
    assert [r.row for r in requests] == [8] and bad == []


def test_jsonl_rows_in_vertex_ai_form(tmp_path, clip):
    lines = [json.dumps({"content": str(clip), "timeSegmentStart": "0.5s", "timeSegmentEnd": "Infinity"}),
             "",
             json.dumps({"path": str(clip), "start": 2, "end": 4}),
             "{not json",
             json.dumps(["a", "list"]),
             json.dumps({"path": str(clip), "start": True})]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    requests, bad = read_requests(manifest)
    assert [(r.row, r.start, r.end) for r in requests] == [(1, 0.5, None), (3, 2.0, 4.0)]
    assert [(b.row, b.code) for b in bad] == [(4, "bad_field"), (5, "bad_field"), (6, "bad_segment")]
    assert "not JSON" in bad[0].message and "not a JSON object" in bad[1].message


def test_manifests_that_cannot_be_read_at_all(tmp_path):
    with pytest.raises(BatchError, match="no such manifest"):
        read_requests(tmp_path / "none.csv")
    no_path = _write_csv(tmp_path / "labels.csv", [{"file": "a.mp4", "label": "Gaming"}])
    with pytest.raises(BatchError, match="naming a 'path' column"):
        read_requests(no_path)
    binary = tmp_path / "video.csv"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(BatchError, match="not a text CSV/JSONL manifest"):
        read_requests(binary)
    with pytest.raises(BatchError, match=r"must end in \.jsonl or \.csv"):
        ResultsFile(tmp_path / "out.txt")


def test_results_file_drops_a_record_cut_short_and_refuses_a_foreign_file(tmp_path):
    out = tmp_path / "r.jsonl"
    done = {"row": 1, "path": "a.mp4", "start": None, "end": None, "status": "done", "result": {"label": "Gaming"}}
    failed = {"row": 2, "path": "b.mp4", "start": 1.0, "end": None, "status": "failed", "error": {"code": "not_video"}}
    out.write_text(json.dumps(done) + "\n" + json.dumps(failed) + "\n" + '{"row": 3, "path": "c.mp4", "sta')
    with ResultsFile(out) as results:
        assert results.kept == 2 and len(results.done) == 2
    assert out.read_text().count("\n") == 2 and out.read_text().endswith("\n")  # the cut record is gone
    with ResultsFile(out, retry_failed=True) as results:
        assert results.done == {json.dumps(["a.mp4", None, None])}  # the failed row runs again
    foreign = tmp_path / "notes.csv"
    foreign.write_text("name,age\nx,1\n")
    with pytest.raises(BatchError, match="not a results file of videoclf predict"):
        ResultsFile(foreign)
    assert foreign.read_text() == "name,age\nx,1\n"  # and left as it was


def test_predict_csv_output_with_a_timeline_and_errors_in_the_apis_codes(wiring_bundle, clip, tmp_path, capsys):
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    manifest = _write_csv(tmp_path / "m.csv", [{"path": str(clip)}, {"path": str(text)}, {"path": str(clip)}])
    out = tmp_path / "r.csv"
    code = main(["predict", str(manifest), "--out", str(out), "--model", str(wiring_bundle), "--timeline",
                 "interval", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    rows = list(csv.DictReader(out.open()))
    assert sorted((r["row"], r["status"], r["error_code"]) for r in rows) == [("1", "done", ""),
                                                                                ("2", "failed", "not_video")]
    assert "repeated" in err and "[not_video] row 2" in err  # the third row repeats the first: run once
    good = next(r for r in rows if r["status"] == "done")
    scores = json.loads(good["scores"])
    assert set(scores) == set(json.loads((wiring_bundle / "bundle.json").read_text())["classes"])
    assert good["label"] == max(scores, key=scores.get)


def _lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def test_a_50_row_batch_is_killed_resumed_and_matches_evaluate(content4, tmp_path):
    """The shipped model over content4's test split plus one missing file: SIGKILLed part-way, rerun
    with the same output, every row is there once and each answer is the one ``videoclf evaluate``
    stored in the bundle's report for that clip."""
    report = json.loads(DEFAULT_REPORT.read_text())
    stored = {p["id"]: p for p in report["predictions"]}
    rows = [{"path": str(content4 / rel)} for rel in stored] + [{"path": str(tmp_path / "gone.mp4")}]
    assert len(rows) == 50
    manifest = _write_csv(tmp_path / "batch.csv", rows)
    out = tmp_path / "results.jsonl"
    cmd = [sys.executable, "-m", "app", "predict", str(manifest), "--out", str(out), "--workers", "2", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 300
    while len(_lines(out)) < 10 and first.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    before = len(_lines(out))
    assert 10 <= before < 50, (before, first.stderr.read())
    second = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 1, second.stderr  # the missing file, recorded by the first run
    assert f"{before} already in" in second.stderr  # the missing file's record was written first
    records = _lines(out)
    assert len(records) == 50 and sorted(r["row"] for r in records) == list(range(1, 51))  # none twice
    missing = next(r for r in records if r["row"] == 50)
    assert missing["status"] == "failed" and missing["error"]["code"] == "not_found"
    for r in (r for r in records if r["row"] != 50):
        want = stored[str(Path(r["path"]).relative_to(content4))]
        assert r["status"] == "done", r
        assert r["result"]["label"] == want["ensemble"], r["path"]
        for label, p in want["probabilities"].items():
            assert abs(r["result"]["probabilities"][label] - p) < 0.02, (r["path"], label)
