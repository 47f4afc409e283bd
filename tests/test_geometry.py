"""Frame geometry: every setting cuts the frame as documented, maps back onto the whole frame, and
reaches the network the same way through the backbone, the bundle and the classifier."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.bundle import BundleError, load_bundle
from app.classifier import SingleVideoClassifier
from app.features.backbones import LITE0
from app.features.engine import create_backbone
from app.features.preprocessing import GEOMETRIES, Preprocessing
from tests.videos import write_cv2


def gradient_frame(h: int, w: int) -> np.ndarray:
    """Red ramps left to right, green top to bottom: any misplacement shows in both channels."""
    x = np.linspace(0, 255, w)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h)[:, None].repeat(w, 1)
    return np.stack([x, y, np.full((h, w), 128.0)], axis=-1).astype(np.uint8)


@pytest.mark.parametrize("geometry", GEOMETRIES)
@pytest.mark.parametrize("shape", [(360, 640), (640, 360), (210, 160), (300, 300)])
def test_every_geometry_maps_back_onto_the_whole_frame(geometry, shape):
    pre = LITE0.preprocessing.with_geometry(geometry)
    h, w = shape
    rgb = gradient_frame(h, w)
    views = pre.prepare(rgb)
    assert views.shape == pre.frame_shape and views.dtype == np.uint8
    back = pre.to_frame(views, h, w)
    scale = 224 / min(h, w)
    assert back.shape == (round(h * scale), round(w * scale), 3)
    want = gradient_frame(*back.shape[:2]).astype(float)
    seen = back.sum(-1) > 0  # what no view covers stays black
    if geometry == "center_crop" and h != w:
        assert not seen.all(), "the centre crop cannot show the sides of a non-square frame"
    else:
        assert seen.mean() > 0.97, "this geometry shows the whole frame"
    err = np.abs(back.astype(float) - want)[seen][:, :2]
    assert np.median(err) < 6, f"{geometry} {shape}: pixels mapped back to the wrong place"


def test_the_geometries_differ_where_the_issue_says():
    rgb = gradient_frame(360, 640)
    pre = LITE0.preprocessing
    crop, squeezed, boxed = (pre.with_geometry(g).prepare(rgb) for g in ("center_crop", "resize", "letterbox"))
    # The centre crop drops the left and right 140 px: its red ramp spans less.
    assert crop[:, 0, 0].mean() > 40 and crop[:, -1, 0].mean() < 215
    assert squeezed[:, 0, 0].mean() < 5 and squeezed[:, -1, 0].mean() > 250
    # Letterbox keeps the aspect: black bands above and below (224 * 360/640 = 126 rows of picture).
    rows = boxed.sum(axis=(1, 2)) > 0
    assert abs(int(rows.sum()) - 126) <= 1 and not rows[0] and not rows[-1]
    tiles = pre.with_geometry("tiles").prepare(rgb)
    assert tiles.shape == (224, 672, 3)
    np.testing.assert_array_equal(tiles[:, 224:448], crop)  # the middle tile is the centre square


def test_bad_geometry_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown geometry 'fisheye'.*center_crop"):
        LITE0.preprocessing.with_geometry("fisheye")
    old = LITE0.preprocessing.to_dict()
    old.pop("geometry"), old.pop("tiles")
    assert Preprocessing.from_dict(old).geometry == "center_crop"  # bundles from before the setting


def test_tiles_features_are_the_mean_of_the_tiles():
    backbone = create_backbone("efficientnet_lite0", device="cpu", engine="torch", geometry="tiles")
    plain = create_backbone("efficientnet_lite0", device="cpu", engine="torch")
    assert backbone.module is plain.module  # one network, two geometries
    rgb = gradient_frame(360, 640)
    views = backbone.prepare_frame(rgb)[None]
    tiles = [np.ascontiguousarray(views[:, :, k * 224:(k + 1) * 224]) for k in range(3)]
    want = np.mean([plain(t) for t in tiles], axis=0)
    np.testing.assert_allclose(backbone(views), want, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(tiles\) expects uint8 frames of shape \(N, 224, 672, 3\)"):
        backbone(tiles[0])


@pytest.fixture(scope="module")
def resize_bundle(tmp_path_factory):
    """A tiny bundle trained with --geometry resize on real (written) videos of two kinds."""
    from app.cli import main

    root = tmp_path_factory.mktemp("geometry")
    rows = []
    for split, n in (("train", 8), ("val", 3)):
        for k in range(n):
            for label, colour in (("bright", 220), ("dark", 30)):
                seed = k + 50 * (split == "val")

                def frame(i, w, h, c=colour, seed=seed):
                    img = np.full((h, w, 3), c + seed % 7, np.uint8)
                    img[:, (i * 7 + seed * 11) % w] = 255 - c  # a moving line: not a frozen clip
                    return img
                p = write_cv2(root / f"{split}_{label}_{k}.avi", 8, fps=8, size=(160, 90), fourcc="MJPG", frame_fn=frame)
                rows.append(f"{split},{p.name},{label}")
    (root / "m.csv").write_text("split,path,label\n" + "\n".join(rows) + "\n")
    out = root / "bundle"
    assert main(["train", "--manifest", str(root / "m.csv"), "--out", str(out), "--work", str(root / "work"),
                 "--geometry", "resize", "--max-frames", "8", "--members", "2", "--hidden", "16", "--heads", "2",
                 "--epochs", "3", "--tta", "off", "--calibration-folds", "0", "--no-progress"]) == 0
    return out, root


def test_the_bundle_records_the_geometry_and_serving_uses_it(resize_bundle):
    out, root = resize_bundle
    meta = json.loads((out / "bundle.json").read_text())
    assert meta["backbone"]["preprocessing"]["geometry"] == "resize"
    assert "whole frame scaled" in meta["backbone"]["preprocessing"]["layout"]
    clf = SingleVideoClassifier(out, device="cpu")
    assert clf.backbone.preprocessing.geometry == "resize"
    result, frames = clf.classify_with_frames(root / "val_bright_0.avi")
    assert result["model"]["geometry"] == "resize"
    # Calibrated on val only (no source CV asked for): the temperature may soften, never sharpen.
    assert meta["calibration"]["temperature"] >= 1.0 and "never below 1" in meta["calibration"]["method"]
    assert frames.shape[1:] == (224, 398, 3)  # the whole 16:9 frame, shown at its aspect ratio
    # The stored features were extracted with the same geometry: serving gives the same numbers.
    from app.features.store import read_features

    fs = read_features(root / "work" / "features.h5")
    i = fs.ids.index("val_bright_0.avi")
    got = clf.predict(root / "val_bright_0.avi", tta=False)[0].features
    np.testing.assert_allclose(got, fs.features[i, :fs.num_frames[i]], rtol=1e-4, atol=1e-4)


def test_a_bundle_with_another_backbones_preprocessing_is_refused(resize_bundle, tmp_path):
    import shutil

    out, _ = resize_bundle
    copy = tmp_path / "b"
    shutil.copytree(out, copy)
    meta = json.loads((copy / "bundle.json").read_text())
    meta["backbone"]["preprocessing"]["crop"] = 192
    (copy / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="trained on other inputs"):
        load_bundle(copy)
