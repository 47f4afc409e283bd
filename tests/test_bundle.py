"""Model bundles: round trip, safetensors only, and clear failures on every kind of mismatch."""
from __future__ import annotations

import json
import shutil
import struct

import pytest
import torch

from app.bundle import BundleError, load_bundle, save_bundle
from app.features.backbones import LITE0
from app.temporal.ensemble import Ensemble
from app.temporal.model import TemporalClassifier, TemporalConfig

CLASSES = ["a", "b", "c"]


def backbone_info():
    return {"name": LITE0.name, "feature_dim": 1280, "preprocessing": LITE0.preprocessing.to_dict()}


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    cfg = TemporalConfig(num_classes=3, hidden_dim=32, heads=2)
    members = [TemporalClassifier(cfg).eval() for _ in range(2)]
    path = save_bundle(tmp_path / "b", name="test", classes=CLASSES, backbone=backbone_info(), max_frames=12,
                       scales=[1.0, 0.85, 1.15], config=cfg,
                       members=[(f"m{i}", m, {"seed": i, "weight": 1.0 + i, "val_f1_macro": 0.5})
                                for i, m in enumerate(members)],
                       calibration={"temperature": 1.7, "temperature_tta": 1.4, "abstain_threshold": 0.4},
                       inference={"tta_default": True}, training={"epochs": 3}, data={"fingerprint": "abc"},
                       metrics={"val": {"f1_macro": 0.5}},
                       excluded_members=[{"name": "m9", "reason": "collapsed"}])
    return path, members


def test_round_trip_gives_identical_outputs(saved):
    path, members = saved
    bundle = load_bundle(path)
    x = torch.randn(4, 12, 1280)
    lengths = torch.tensor([12, 5, 1, 9])
    before = Ensemble(members, [1.0, 2.0]).predict(x, lengths, tta=True)
    after = Ensemble(bundle.members, bundle.member_weights).predict(x, lengths, tta=True)
    torch.testing.assert_close(after.probs, before.probs, rtol=0, atol=0)
    torch.testing.assert_close(after.member_probs, before.member_probs, rtol=0, atol=0)


def test_metadata_describes_the_model(saved):
    path, _ = saved
    b = load_bundle(path)
    assert b.classes == CLASSES and b.backbone == "efficientnet_lite0" and b.max_frames == 12
    assert b.scales == [1.0, 0.85, 1.15] and b.tta_default is True and b.trained is True
    assert b.temperature(tta=False) == 1.7 and b.temperature(tta=True) == 1.4
    meta = json.loads((path / "bundle.json").read_text())
    for key in ("classes", "backbone", "sampling", "model", "members", "excluded_members", "calibration",
                "inference", "training", "data", "metrics", "created", "version"):
        assert key in meta, key
    assert meta["backbone"]["preprocessing"]["mean"] == [127.0, 127.0, 127.0]
    assert meta["excluded_members"] == [{"name": "m9", "reason": "collapsed"}]
    assert [m["seed"] for m in meta["members"]] == [0, 1]


def test_weights_are_safetensors_not_pickle(saved):
    path, _ = saved
    for member in (path / "members").iterdir():
        raw = member.read_bytes()
        header_len = struct.unpack("<Q", raw[:8])[0]
        header = json.loads(raw[8:8 + header_len])
        assert "lstm.weight_ih_l0" in header and header["lstm.weight_ih_l0"]["dtype"] == "F32"
        assert not raw.startswith(b"PK") and b"\x80\x02" not in raw[:2]  # no zip/pickle container


def _edit(path, fn):
    meta = json.loads((path / "bundle.json").read_text())
    fn(meta)
    (path / "bundle.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.update(format="other"), "not a videoclf-bundle"),
    (lambda m: m.update(format_version=99), "format_version 99 is not supported"),
    (lambda m: m.update(classes=["a", "a", "c"]), "distinct names"),
    (lambda m: m.update(classes=["a", "b"]), "model has 3 outputs but 2 classes"),
    (lambda m: m["backbone"].update(name="resnet50"), "unknown backbone 'resnet50'"),
    (lambda m: m["backbone"].update(feature_dim=512), "gives 1280-d features, bundle says 512"),
    (lambda m: m["backbone"]["preprocessing"].update(crop=256), "preprocessing .* differs"),
    (lambda m: m["backbone"]["preprocessing"].update(resampling="area"), "preprocessing .* differs"),
    (lambda m: m["backbone"]["preprocessing"].pop("resampling"), "preprocessing .* differs"),
    (lambda m: m["model"].update(hidden_dim=64), "does not fit the model config"),
    (lambda m: m["model"].update(layers=3), "unknown temporal model settings"),
    (lambda m: m["sampling"].update(max_frames=0), "max_frames must be a positive integer"),
    (lambda m: m.update(members=[]), "lists no members"),
    (lambda m: m["members"][0].update(file="members/gone.safetensors"), "file 'members/gone.safetensors' is missing"),
    (lambda m: m.pop("classes"), "has no 'classes'"),
])
def test_mismatches_fail_clearly(saved, edit, message):
    path, _ = saved
    _edit(path, edit)
    with pytest.raises(BundleError, match=message):
        load_bundle(path)


def test_changed_weights_are_detected(saved):
    path, _ = saved
    file = path / "members" / "m0.safetensors"
    raw = bytearray(file.read_bytes())
    raw[-5] ^= 0xFF
    file.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="does not match its sha256"):
        load_bundle(path)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path)
    (tmp_path / "bundle.json").write_text("{oops")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path)


def test_untrained_bundles_say_so(tmp_path, wiring_bundle):
    b = load_bundle(wiring_bundle)
    assert b.trained is False and "wiring" in b.meta["notes"]
    copy = tmp_path / "copy"
    shutil.copytree(wiring_bundle, copy)
    assert load_bundle(copy).trained is False


def test_a_mean_pool_member_loads_beside_temporal_ones(tmp_path):
    """An ensemble may mix kinds: a bundle with a mean-pool MLP member reloads it with its weight."""
    from app.temporal.mean_pool import MEAN_POOL_KIND, MeanPoolMember, MeanPoolMLP

    torch.manual_seed(0)
    cfg = TemporalConfig(hidden_dim=32, heads=2)
    mlp = MeanPoolMember(MeanPoolMLP(cfg.input_dim, cfg.num_classes)).eval()
    backbone = {"name": LITE0.name, "feature_dim": LITE0.feature_dim, "preprocessing": LITE0.preprocessing.to_dict()}
    save_bundle(tmp_path / "b", name="mixed", classes=["a", "b", "c", "d"], backbone=backbone, max_frames=8,
                scales=[1.0], config=cfg,
                members=[("member_0", TemporalClassifier(cfg), {"seed": 0, "weight": 0.5}),
                         (MEAN_POOL_KIND, mlp, {"seed": 0, "weight": 0.5, "kind": MEAN_POOL_KIND, "hidden": 256})])
    bundle = load_bundle(tmp_path / "b")
    assert isinstance(bundle.members[1], MeanPoolMember) and bundle.member_weights == [0.5, 0.5]
    x, lengths = torch.randn(2, 8, cfg.input_dim), torch.tensor([8, 3])
    logits, weights = bundle.members[1](x, lengths)
    torch.testing.assert_close(logits, mlp(x, lengths)[0])
    assert torch.allclose(weights[1, :3], torch.full((3,), 1 / 3)) and weights[1, 3:].abs().sum() == 0
    out = Ensemble(bundle.members, bundle.member_weights).predict(x, lengths)
    assert out.probs.shape == (2, 4)
    meta = (tmp_path / "b" / "bundle.json").read_text().replace('"kind": "mean_pool_mlp"', '"kind": "svm"')
    (tmp_path / "b" / "bundle.json").write_text(meta)
    with pytest.raises(BundleError, match="unknown kind 'svm'"):
        load_bundle(tmp_path / "b")
