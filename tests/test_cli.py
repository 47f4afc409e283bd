"""The videoclf command line, run as users run it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.features.store import read_features
from tests.conftest import REPO, pick_clips


@pytest.fixture(scope="module")
def clips(content4, content4_rows):
    return [str(content4 / r["path"]) for r in pick_clips(content4_rows, "test", 1)[:2]]


def test_classify_table_and_a_bad_file_among_good_ones(wiring_bundle, clips, tmp_path, capsys):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    code = main(["classify", "--model", str(wiring_bundle), clips[0], str(bad), clips[1]])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["FILE", "LABEL", "CONF"]
    assert len(lines) == 3  # header + the two good files, in order
    errors = [line for line in err.splitlines() if line.startswith("videoclf: error:")]
    assert errors == [f"videoclf: error: [not_video] broken.mp4: not a readable video (the file may be truncated or corrupt, "
                      f"or not a video at all)"]
    assert "untrained wiring bundle" in err


def test_classify_a_segment_and_errors_in_the_apis_codes(wiring_bundle, clips, tmp_path, capsys):
    code = main(["classify", "--model", str(wiring_bundle), "--json", "--start", "1", "--end", "3", clips[0]])
    out, _ = capsys.readouterr()
    assert code == 0
    result = json.loads(out)
    assert result["video"]["segment"] == [1.0, 3.0] and all(1 <= f["timestamp"] <= 3 for f in result["frames"])
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00" * 1000)
    code = main(["classify", "--model", str(wiring_bundle), "--json", "--start", "500", clips[0], str(bad)])
    out, err = capsys.readouterr()
    assert code == 1
    codes = [json.loads(line)["error"]["code"] for line in out.strip().splitlines()]
    assert codes == ["bad_segment", "not_video"]  # the API's codes, not Python class names
    assert "[bad_segment]" in err


def test_classify_json_lines(wiring_bundle, clips, capsys):
    code = main(["classify", "--model", str(wiring_bundle), "--json", "--tta", "--top-k", "2", *clips])
    out, _ = capsys.readouterr()
    assert code == 0
    results = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["file"] for r in results] == clips
    assert all(len(r["top_k"]) == 2 and r["tta"]["enabled"] for r in results)


def test_bad_model_and_bad_options(tmp_path, clips, capsys):
    assert main(["classify", "--model", str(tmp_path), clips[0]]) == 2
    assert "not a model bundle" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["classify", "--top-k", "zero", clips[0]])
    assert exit_info.value.code == 2
    assert "expected a whole number" in capsys.readouterr().err


def test_extract_writes_a_store(wiring_bundle, content4, content4_rows, tmp_path, capsys):
    rows = pick_clips(content4_rows, "val", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("split,path,label\n" + "".join(f"val,{content4 / r['path']},{r['label']}\n" for r in rows))
    out = tmp_path / "features.h5"
    assert main(["extract", str(manifest), "--out", str(out), "--model", str(wiring_bundle)]) == 0
    assert f"{out}: 4 written, 0 already present, 0 failed" in capsys.readouterr().out
    assert main(["extract", str(manifest), "--out", str(out), "--model", str(wiring_bundle)]) == 0
    assert "0 written, 4 already present" in capsys.readouterr().out  # resumable
    fs = read_features(out)
    assert len(fs) == 4 and fs.features.shape[1:] == (16, 1280) and fs.attrs["backbone"] == "efficientnet_lite0"


def test_python_dash_m_app_and_console_script(wiring_bundle, clips):
    script = Path(sys.executable).parent / "videoclf"  # installed by scripts/setup.sh (pip install -e .)
    assert script.is_file(), "the videoclf console script is not installed"
    for cmd in ([sys.executable, "-m", "app"], [str(script)]):
        done = subprocess.run([*cmd, "classify", "--model", str(wiring_bundle), "--json", clips[0]],
                              capture_output=True, text=True, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["file"] == clips[0]


def test_classify_refuses_the_files_that_hung_the_service_and_goes_on(wiring_bundle, clips, tmp_path, capsys):
    from tests import hostile

    ts0 = hostile.patch_timescale(Path(clips[0]), tmp_path / "ts0.mp4", 0)
    playlist = hostile._hls("local")(Path(clips[0]), tmp_path, tmp_path / "list.m3u8")
    code = main(["classify", "--model", str(wiring_bundle), str(ts0), str(playlist), clips[1]])
    out, err = capsys.readouterr()
    assert code == 1
    assert len(out.strip().splitlines()) == 2  # header + the good file
    errors = [line for line in err.splitlines() if line.startswith("videoclf: error:")]
    assert len(errors) == 2
    assert errors[0].startswith("videoclf: error: [bad_header] ts0.mp4: the header declares 0.00195312 frames per second")
    assert errors[1] == ("videoclf: error: [not_video] list.m3u8: not a readable video (it is a playlist or a list of files, "
                         "which is never followed)")
