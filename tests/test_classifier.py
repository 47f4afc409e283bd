"""SingleVideoClassifier end to end on real clips: result shape, stages, threads, and one preprocessing."""
from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.bundle import BundleError
from app.classifier import SingleVideoClassifier
from app.data.manifest import load_dataset
from app.data.extraction import extract_dataset
from app.features.store import read_features
from app.temporal.ensemble import apply_temperature
from app.video import VideoDecodeError
from tests.conftest import pick_clips


@pytest.fixture(scope="module")
def clf(wiring_bundle):
    return SingleVideoClassifier(wiring_bundle, device="cpu")


@pytest.fixture(scope="module")
def clips(content4, content4_rows):
    return [content4 / r["path"] for r in pick_clips(content4_rows, "test", 1)]


def test_result_shape(clf, clips):
    r = clf.classify_video(clips[0], top_k=2)
    classes = clf.classes
    assert set(r) >= {"label", "confidence", "top_k", "probabilities", "members", "tta", "frames", "video",
                      "model", "timings_ms"}
    assert r["label"] in classes and r["label"] == r["top_k"][0]["label"]
    assert r["confidence"] == r["top_k"][0]["score"] == max(r["probabilities"].values())
    assert len(r["top_k"]) == 2 and r["top_k"][0]["score"] >= r["top_k"][1]["score"]
    assert list(r["probabilities"]) == classes and abs(sum(r["probabilities"].values()) - 1) < 1e-5
    assert [m["name"] for m in r["members"]] == ["member_0", "member_1", "member_2"]
    for m in r["members"]:
        assert abs(sum(m["probabilities"].values()) - 1) < 1e-5
    assert r["tta"] == {"enabled": False, "views": ["original"]}
    assert len(r["frames"]) == 16  # the bundle's max_frames
    assert r["work"]["frames_featurised"] == 16 and r["work"]["frames_decoded"] >= 16
    assert abs(sum(f["attention"] for f in r["frames"]) - 1) < 1e-4
    assert all(a["timestamp"] < b["timestamp"] for a, b in zip(r["frames"], r["frames"][1:]))
    assert r["video"]["filename"] == clips[0].name and r["video"]["duration"] > 0
    assert r["model"]["name"] == "wiring" and r["model"]["trained"] is False
    t = r["timings_ms"]
    assert min(t.values()) > 0
    # decoding overlaps the backbone, so only each part (not their sum) is bounded by the total
    assert t["total"] >= max(t["decode"], t["features"] + t["temporal"])
    json.dumps(r)  # plain JSON-ready types only


def test_tta_and_top_k_options(clf, clips):
    r = clf.classify_video(clips[1], use_tta=True, top_k=99)
    assert r["tta"]["enabled"] and r["tta"]["views"] == ["original", "reverse", "speed_up", "slow_down"]
    assert len(r["top_k"]) == 4  # at most the number of classes
    for bad in (0, -1, 1.5, "3", True):
        with pytest.raises(ValueError, match="top_k must be a whole number from 1 to 4"):
            clf.classify_video(clips[1], top_k=bad)


def test_stages_compose(clf, clips):
    sampled = clf.preprocess(clips[2])
    pred = clf.forward(sampled, tta=False)
    out = clf.postprocess(pred, sampled, top_k=4)
    direct = clf.classify_video(clips[2], top_k=4)
    assert out["probabilities"] == direct["probabilities"]
    assert pred.features.shape == (16, 1280)


def test_bad_inputs_raise_named_errors(clf, tmp_path):
    text = tmp_path / "fake.mp4"
    text.write_text("hello")
    with pytest.raises(VideoDecodeError, match="fake.mp4: not a readable video"):
        clf.classify_video(text)
    with pytest.raises(FileNotFoundError):
        clf.classify_video(tmp_path / "none.mp4")


def test_concurrent_calls_give_the_sequential_answers(clf, clips):
    expected = {str(c): clf.classify_video(c)["probabilities"] for c in clips}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda c: (str(c), clf.classify_video(c)["probabilities"]), clips * 3))
    for clip, probs in results:
        assert probs == expected[clip]


def test_extract_and_classify_use_the_same_preprocessing(clf, content4, content4_rows, tmp_path):
    rows = pick_clips(content4_rows, "val", 1)
    manifest = tmp_path / "m.csv"
    manifest.write_text("split,path,label\n" + "".join(f"val,{content4 / r['path']},{r['label']}\n" for r in rows))
    dataset = load_dataset(manifest, min_per_class=1)
    b = clf.bundle
    extract_dataset(dataset, tmp_path / "f.h5", clf.backbone, max_frames=b.max_frames, scales=b.scales,
                    progress=False)
    stored = read_features(tmp_path / "f.h5")
    assert stored.classes == clf.classes
    for i, r in enumerate(rows):
        pred = clf.forward(clf.preprocess(content4 / r["path"]), tta=False)
        n = stored.num_frames[i]
        np.testing.assert_array_equal(stored.features[i, :n], pred.features)
        np.testing.assert_array_equal(stored.timestamps[i, :n], pred.timestamps)


def test_calibration_and_abstention_come_from_the_bundle(wiring_bundle, tmp_path, clips):
    plain = SingleVideoClassifier(wiring_bundle, device="cpu").classify_video(clips[0], top_k=4)
    path = tmp_path / "calibrated"
    shutil.copytree(wiring_bundle, path)
    meta = json.loads((path / "bundle.json").read_text())
    meta["calibration"].update(temperature=0.25, abstain_threshold=0.999)
    (path / "bundle.json").write_text(json.dumps(meta))
    r = SingleVideoClassifier(path, device="cpu").classify_video(clips[0], top_k=4)
    raw = np.array([plain["probabilities"][c] for c in plain["probabilities"]])
    want = apply_temperature(raw, 0.25)
    np.testing.assert_allclose(list(r["probabilities"].values()), want, atol=1e-4)
    assert r["label"] == "uncertain" and r["uncertain"] is True
    assert r["predicted_label"] == plain["label"]


def test_backbone_weights_must_match_the_bundle(wiring_bundle, tmp_path):
    path = tmp_path / "other"
    shutil.copytree(wiring_bundle, path)
    meta = json.loads((path / "bundle.json").read_text())
    meta["backbone"]["weights_id"] = "0123456789abcdef"
    (path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="features would not match"):
        SingleVideoClassifier(path, device="cpu")
