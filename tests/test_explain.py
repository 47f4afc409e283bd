"""Explanations: Grad-CAM follows the object that decides the class; saliency boxes hold the hot region."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.classifier import SingleVideoClassifier
from app.cli import main
from app.explain.gradcam import saliency_box, upsample
from app.explain.video import explain_video, to_json
from tests.videos import write_cv2

SIZE, SQUARE, FRAMES = 224, 56, 8


def square_at(i: int, n: int, row: int) -> tuple[int, int]:
    """Top-left corner of the square in frame i of n: it crosses the frame left to right."""
    x = round(8 + (SIZE - SQUARE - 16) * i / max(1, n - 1))
    return x, row


def scene(seed: int, square_row: int | None):
    rng = np.random.default_rng(seed)
    base = rng.integers(20, 70, size=(SIZE, SIZE, 3), dtype=np.uint8)

    def frame(i, w, h):
        img = base.copy()
        if square_row is not None:
            x, y = square_at(i, FRAMES, square_row)
            img[y:y + SQUARE, x:x + SQUARE] = 255
        return img
    return frame


@pytest.fixture(scope="module")
def square_model(tmp_path_factory):
    """A tiny bundle trained on real videos where a bright moving square decides the class."""
    root = tmp_path_factory.mktemp("squares")
    rows = []
    for split, n in (("train", 12), ("val", 4)):
        for k in range(n):
            seed = hash((split, k)) % 10_000
            for label, row in (("square", 20 + (k * 37) % 140), ("plain", None)):
                path = write_cv2(root / f"{split}_{label}_{k}.avi", FRAMES, fps=8, size=(SIZE, SIZE), fourcc="MJPG",
                                 frame_fn=scene(seed + (label == "plain"), row))
                rows.append(f"{split},{path.name},{label}")
    (root / "m.csv").write_text("split,path,label\n" + "\n".join(rows) + "\n")
    out = root / "bundle"
    code = main(["train", "--manifest", str(root / "m.csv"), "--out", str(out), "--work", str(root / "work"),
                 "--max-frames", str(FRAMES), "--members", "2", "--hidden", "32", "--heads", "2", "--epochs", "30",
                 "--patience", "30", "--tta", "off", "--calibration-folds", "0", "--no-progress"])
    assert code == 0
    probe = write_cv2(root / "probe.avi", FRAMES, fps=8, size=(SIZE, SIZE), fourcc="MJPG",
                      frame_fn=scene(999, 84))
    return SingleVideoClassifier(out, device="cpu"), probe


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_heatmaps_follow_the_square(square_model, method):
    clf, probe = square_model
    exp = explain_video(clf, probe, k=FRAMES, method=method, target="square")
    assert exp["result"]["label"] == "square"
    peaks = []
    for f in exp["frames"]:
        heat = f["heatmap"]
        assert heat.shape == (SIZE, SIZE) and heat.dtype == np.float32
        assert heat.min() >= 0 and heat.max() == pytest.approx(1.0)
        x, y = square_at(f["index"], FRAMES, 84)
        inside = heat[y:y + SQUARE, x:x + SQUARE].mean()
        outside = (heat.sum() - heat[y:y + SQUARE, x:x + SQUARE].sum()) / (heat.size - SQUARE * SQUARE)
        assert inside > 2 * outside, f"{method} frame {f['index']}: the map is not on the square"
        bx, by, bw, bh = f["box"]
        hy, hx = np.unravel_index(np.argmax(heat), heat.shape)
        assert bx <= hx < bx + bw and by <= hy < by + bh  # the box holds the hottest point
        assert bx < x + SQUARE and x < bx + bw and by < y + SQUARE and y < by + bh  # and meets the square
        centre = float((heat.sum(0) * np.arange(SIZE)).sum() / heat.sum())  # heat-weighted column
        peaks.append((centre, x + SQUARE / 2))
    got, want = np.array(peaks).T
    # The map moves with the square (a 7x7 map upsampled: within about one cell of 32 px).
    assert np.corrcoef(got, want)[0, 1] > 0.9 and np.abs(got - want).max() < 48, peaks


def test_explanations_pick_the_most_attended_frames_and_serialise(square_model):
    clf, probe = square_model
    exp = explain_video(clf, probe, k=3)
    r = exp["result"]
    attention = [f["attention"] for f in r["frames"]]
    chosen = sorted(np.argsort(attention)[::-1][:3].tolist())
    assert [f["index"] for f in exp["frames"]] == chosen
    payload = json.loads(json.dumps(to_json(exp)))
    assert payload["frames"][0]["overlay_png"].startswith("iVBOR")  # base64 PNG
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        explain_video(clf, probe, target="cat")
    with pytest.raises(ValueError, match="unknown method"):
        explain_video(clf, probe, method="lime")


def test_saliency_box_and_upsampling():
    cam = np.zeros((7, 7), np.float32)
    cam[2, 4] = 1.0
    heat = upsample(cam, 224)
    assert heat.shape == (224, 224) and heat.max() == pytest.approx(1.0) and heat.min() >= 0
    x, y, w, h = saliency_box(heat)
    hy, hx = np.unravel_index(np.argmax(heat), heat.shape)
    assert x <= hx < x + w and y <= hy < y + h and w < 100 and h < 100
    assert saliency_box(np.zeros((10, 10), np.float32)) is None


def test_explain_command(square_model, tmp_path, capsys):
    clf, probe = square_model
    out = tmp_path / "why"
    assert main(["explain", str(probe), "--model", str(clf.bundle.path), "--out", str(out), "--k", "2"]) == 0
    summary = json.loads((out / "explain.json").read_text())
    assert summary["label"] == "square" and len(summary["frames"]) == 2
    for f in summary["frames"]:
        assert (out / f["overlay"]).stat().st_size > 1000 and (out / f["frame"]).is_file()
