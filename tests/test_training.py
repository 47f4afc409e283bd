"""Training pieces and a tiny real training run, start to finish."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from app.bundle import load_bundle
from app.cli import main
from app.evaluation.metrics import classification_metrics, expected_calibration_error
from app.features.store import read_features
from app.temporal.ensemble import Ensemble, apply_temperature
from app.temporal.uncertainty import UncertainRule, choose_min_confidence
from app.training.augment import AugmentConfig, augment_batch
from app.training.calibration import fit_temperature, nll
from app.training.losses import FocalLoss, class_weights
from app.training.member import TrainConfig, _epoch_batches, sample_weights
from app.training.pipeline import _collapsed
from tests.conftest import pick_clips

CLASSES = ["Animation", "Flat_Content", "Gaming", "Natural_Content"]


def test_focal_loss_reduces_to_cross_entropy_and_weights_classes():
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(16, 4, generator=g), torch.randint(0, 4, (16,), generator=g)
    torch.testing.assert_close(FocalLoss(gamma=0.0, smoothing=0.0)(logits, target), F.cross_entropy(logits, target))
    torch.testing.assert_close(FocalLoss(gamma=0.0, smoothing=0.1)(logits, target),
                               F.cross_entropy(logits, target, label_smoothing=0.1))
    alpha = torch.tensor([1.0, 2.0, 0.5, 1.0])
    torch.testing.assert_close(FocalLoss(gamma=0.0, smoothing=0.0, alpha=alpha)(logits, target),
                               F.cross_entropy(logits, target, weight=alpha))
    # focusing: confident right answers count less than with cross-entropy
    easy = torch.tensor([[8.0, 0, 0, 0]])
    assert FocalLoss(gamma=2.0, smoothing=0.0)(easy, torch.tensor([0])) < F.cross_entropy(easy, torch.tensor([0])) / 100


def test_class_weights():
    w = class_weights(torch.tensor([0, 0, 0, 1]), 3)
    assert w[0] < w[1] and w[2] == 0 and torch.isclose(w[:2].mean(), torch.tensor(1.0))


def test_source_sampler_evens_out_classes_and_sources():
    labels = np.array([0] * 12 + [1] * 4)
    groups = np.array(["big"] * 9 + ["small"] * 3 + ["x"] * 4)  # class 0: one source of 9 clips, one of 3
    even = sample_weights(labels, groups, 2, source_power=0.0)
    assert torch.isclose(even[labels == 0].sum(), even[labels == 1].sum())  # classes: equal mass
    assert torch.isclose(even[:9].sum(), even[9:12].sum())  # sources of a class: equal mass
    sqrt = sample_weights(labels, groups, 2, source_power=0.5)
    assert torch.isclose(sqrt[:9].sum() / sqrt[9:12].sum(), torch.tensor(3.0, dtype=torch.float64).sqrt())  # (9/3)**0.5
    plain = sample_weights(labels, groups, 2, source_power=1.0)  # power 1: class balance only
    torch.testing.assert_close(plain, sample_weights(labels, None, 2, source_power=0.0))
    old = class_weights(torch.from_numpy(labels), 2)[labels].double()  # the class-balanced sampler's weights
    torch.testing.assert_close(plain, old / old.sum())
    # What the trainer draws follows the weights: the small source is drawn as often as the big one.
    g = torch.Generator().manual_seed(0)
    drawn = torch.cat([torch.cat(_epoch_batches(even, 16, 4, g)) for _ in range(500)])
    share = np.bincount(groups[drawn.numpy()] == "small", minlength=2) / len(drawn)
    assert abs(share[1] - 0.25) < 0.02 and abs((labels[drawn.numpy()] == 1).mean() - 0.5) < 0.02
    with pytest.raises(ValueError, match="balance must be one of"):
        TrainConfig(balance="both")


def test_augmentation_picks_real_frames_in_order():
    x = torch.arange(2 * 20, dtype=torch.float32).view(2, 20, 1).repeat(1, 1, 3)
    lengths = torch.tensor([20, 6])
    cfg = AugmentConfig(noise=0.0)
    out, new_len = augment_batch(x, lengths, cfg, torch.Generator().manual_seed(0))
    for i in range(2):
        vals = out[i, : new_len[i], 0]
        assert 1 <= new_len[i] <= lengths[i]
        assert torch.all(vals[1:] > vals[:-1])  # order kept
        assert set(vals.tolist()) <= set(x[i, : lengths[i], 0].tolist())  # only real frames
        assert (out[i, new_len[i]:] == 0).all()
    again, _ = augment_batch(x, lengths, cfg, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, again)  # one generator, one stream: reproducible
    noisy, _ = augment_batch(x, lengths, AugmentConfig(noise=0.5, drop_prob=0, speed_prob=0, min_crop=1.0),
                             torch.Generator().manual_seed(1))
    assert not torch.equal(noisy[0, :20], x[0])


def test_temperature_scaling_fixes_overconfidence():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    correct = rng.random(400) < 0.7  # 70% right, but always 99% sure
    pred = np.where(correct, labels, (labels + 1) % 4)
    probs = np.full((400, 4), 0.01 / 3)
    probs[np.arange(400), pred] = 0.99
    t = fit_temperature(probs, labels)
    assert t > 1.5
    calibrated = apply_temperature(probs, t)
    assert nll(calibrated, labels) < nll(probs, labels)
    assert expected_calibration_error(labels, calibrated) < 0.05 < expected_calibration_error(labels, probs)


def test_metrics_match_scikit_learn_computed_independently():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 60)
    logits = rng.normal(size=(60, 4)) + 2.0 * np.eye(4)[y] * (rng.random(60) < 0.6)[:, None]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    m = classification_metrics(y, p, CLASSES)
    pred = p.argmax(1)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["f1_weighted"] == pytest.approx(f1_score(y, pred, average="weighted"))
    assert m["log_loss"] == pytest.approx(log_loss(y, p), rel=1e-6)
    assert m["auroc_macro"] == pytest.approx(roc_auc_score(y, p, multi_class="ovr", average="macro"))
    assert m["per_class"]["Gaming"]["f1"] == pytest.approx(f1_score(y == 2, pred == 2))
    assert sum(sum(r) for r in m["confusion_matrix"]) == 60
    # ECE by hand with 15 bins
    conf, hit = p.max(1), (pred == y)
    bins = np.minimum((conf * 15).astype(int), 14)
    by_hand = sum(abs(hit[bins == b].mean() - conf[bins == b].mean()) * (bins == b).mean()
                  for b in range(15) if (bins == b).any())
    assert m["ece"] == pytest.approx(by_hand, abs=1e-9)


def test_collapse_detection():
    ok = [0.8, 0.82, 0.79, 0.81]
    per_class = [[0.8, 0.8, 0.8, 0.8]] * 4
    assert all(_collapsed(ok, per_class, k) is None for k in range(4))
    assert "below the members' median" in _collapsed([0.8, 0.82, 0.5, 0.81], per_class, 2)
    bad_class = [[0.8, 0.8, 0.8, 0.8]] * 3 + [[0.01, 0.9, 0.9, 0.9]]
    assert "class 0 validation F1 0.010" in _collapsed([0.8, 0.8, 0.8, 0.75], bad_class, 3)


@pytest.fixture(scope="module")
def tiny_manifest(content4, content4_rows, tmp_path_factory):
    """10 train clips per class (the minimum for training), 2 val and 2 test: a real, small subset."""
    rows = (pick_clips(content4_rows, "train", 10) + pick_clips(content4_rows, "val", 2)
            + pick_clips(content4_rows, "test", 2))
    path = tmp_path_factory.mktemp("tiny") / "manifest.csv"
    path.write_text("split,path,label\n" + "".join(f"{r['split']},{content4 / r['path']},{r['label']}\n" for r in rows))
    return path


def test_tiny_training_run_learns_and_ships_a_bundle(tiny_manifest, tmp_path, capsys):
    out, work = tmp_path / "tiny", tmp_path / "work"
    study = tmp_path / "study.json"
    study.write_text(json.dumps({"decision": {"frames": 8}}))
    args = ["train", "--manifest", str(tiny_manifest), "--out", str(out), "--work", str(work), "--max-frames", "8",
            "--members", "3", "--hidden", "32", "--heads", "2", "--epochs", "25", "--patience", "25",
            "--attach", f"selection={study}", "--plot-every", "5", "--no-progress"]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "wrote" in printed and "test" in printed
    history = json.loads((work / "member_0" / "seed0" / "history.json").read_text())
    assert (work / "member_0" / "seed0" / "dashboard.png").stat().st_size > 10_000
    assert (work / "member_0" / "seed0" / "history.csv").read_text().startswith("epoch,lr,train_loss")
    first, last = history[0], history[-1]
    assert last["train_loss"] < 0.7 * first["train_loss"]  # loss falls
    assert max(h["train_acc"] for h in history[-5:]) > 0.6  # well above chance (0.25)
    assert max(h["val_acc"] for h in history) > 0.5
    assert [h["lr"] for h in history][:10] == sorted([h["lr"] for h in history][:10], reverse=True)  # per epoch
    bundle = load_bundle(out, load_baseline=True)
    meta = bundle.meta
    assert meta["trained"] is True and meta["data"]["fingerprint"]
    # 8 val clips make macro-F1 jumpy: a member may be judged collapsed; then the bundle says so.
    left_out = [e for e in meta["excluded_members"] if e["action"] == "left out"]
    temporal = [m for m in meta["members"] if m.get("kind", "temporal") == "temporal"]
    assert len(temporal) + len(left_out) == 3 and len(temporal) >= 2
    # The ensemble's make-up was chosen on held-out sources, and the members' weights say it.
    comp = meta["composition"]
    assert comp["name"] in {"temporal", "temporal+mean_pool", "mean_pool"}
    assert comp["source_cv_f1_macro"][comp["name"]] == max(comp["source_cv_f1_macro"].values())
    mlp_weight = sum(m["weight"] for m in meta["members"] if m.get("kind") == "mean_pool_mlp")
    assert mlp_weight == pytest.approx(comp["mean_pool_share"])
    assert all(e["reason"] for e in meta["excluded_members"])
    assert meta["calibration"]["temperature"] > 0 and "tta_decision" in meta["inference"]
    # Calibrated on predictions for sources held out of training (each file is a source here).
    assert "source-held-out CV" in meta["calibration"]["method"]
    cv = meta["metrics"]["source_cv"]
    assert cv["protocol"]["clips"] == 40 and cv["protocol"]["folds"] == 4
    assert {"member_0", "ensemble", "baseline"} <= set(cv) and cv["protocol"]["members_per_fold"] == 1
    # The temperature and the uncertain threshold are those of the stored out-of-source predictions.
    oof = np.load(work / "source_cv.npz")
    share = meta["composition"]["mean_pool_share"]
    mixed = (1 - share) * oof["members"].mean(0) + share * oof["baseline"]
    assert meta["calibration"]["temperature"] == pytest.approx(fit_temperature(mixed, oof["labels"]), abs=1e-3)
    calibrated = apply_temperature(mixed, meta["calibration"]["temperature"])
    assert meta["calibration"]["uncertain"]["min_confidence"] == choose_min_confidence(calibrated, oof["labels"])
    flags = UncertainRule.from_dict(meta["calibration"]["uncertain"]).flags(calibrated)
    assert cv["ensemble"]["uncertain_rate"] == pytest.approx(flags.mean(), abs=1e-3)
    assert "uncertain" in report_systems_of(out)["ensemble"]
    assert meta["selection"] == {"decision": {"frames": 8}}  # attached study, also kept in the report
    assert json.loads((out / "report" / "selection.json").read_text()) == meta["selection"]
    first = meta["members"][0]["name"]
    assert (out / "report" / "report.json").is_file() and (out / "report" / "training" / f"{first}.png").is_file()
    assert (out / "baseline.safetensors").is_file()
    report = json.loads((out / "report" / "report.json").read_text())
    assert report["split"] == "test" and report["n"] == 8 and report["classes"] == CLASSES
    assert set(report["systems"]) == {m["name"] for m in meta["members"]} | {"ensemble", "ensemble_tta", "baseline"}
    for m in report["systems"].values():
        assert {"accuracy", "f1_macro", "f1_weighted", "balanced_accuracy", "ece", "confusion_matrix",
                "per_class"} <= set(m)
    # Reloaded, the bundle reproduces the ensemble probabilities of the report on the stored features.
    fs = read_features(work / "features.h5")
    test = fs.take([i for i, s in enumerate(fs.ids) if s in {p["id"] for p in report["predictions"]}])
    ens = Ensemble(bundle.members, bundle.member_weights)
    assert len(bundle.members) == len(meta["members"])
    raw = ens.predict(torch.from_numpy(test.features), torch.from_numpy(test.num_frames).long()).probs.numpy()
    probs = apply_temperature(raw, bundle.temperature(False))
    by_id = {p["id"]: p for p in report["predictions"]}
    for i, item in enumerate(test.ids):
        np.testing.assert_allclose(list(by_id[item]["probabilities"].values()), probs[i], atol=1e-4)
    # Rerunning the same command resumes from the checkpoints instead of starting over.
    assert main(args) == 0
    assert json.loads((work / "member_0" / "seed0" / "history.json").read_text()) == history


def report_systems_of(bundle_dir):
    return json.loads((bundle_dir / "report" / "report.json").read_text())["systems"]


def test_evaluate_command(tiny_manifest, tmp_path, capsys, wiring_bundle):
    out = tmp_path / "eval"
    assert main(["evaluate", "--manifest", str(tiny_manifest), "--model", str(wiring_bundle), "--out", str(out),
                 "--split", "val", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "| ensemble |" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["n"] == 8 and report["split"] == "val"
    assert (out / "ensemble_confusion_counts.png").is_file() and (out / "ensemble_reliability.png").is_file()
    assert main(["evaluate", "--manifest", str(tiny_manifest), "--model", str(wiring_bundle), "--out", str(out),
                 "--split", "nope"]) == 2
    assert "no split 'nope'" in capsys.readouterr().err


def test_inspect_command(tiny_manifest, tmp_path, capsys):
    assert main(["inspect", str(tiny_manifest), "--plots", str(tmp_path / "eda"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "Gaming" in printed and "no problems found" in printed and "duration s" in printed
    for name in ("class_balance.png", "durations.png", "resolutions.png", "feature_tsne.png"):
        assert (tmp_path / "eda" / name).stat().st_size > 1000


def test_evaluate_reports_clip_and_video_level(content4, content4_rows, tmp_path, wiring_bundle):
    rows = pick_clips(content4_rows, "test", 2)
    lines = []
    for r in rows:  # each clip as two segments: its first and second half
        half = float(r["duration_s"]) / 2
        lines += [f"test,{content4 / r['path']},{r['label']},0,{half:.3f}",
                  f"test,{content4 / r['path']},{r['label']},{half:.3f},{2 * half - 0.05:.3f}"]
    manifest = tmp_path / "segments.csv"
    manifest.write_text("split,path,label,start,end\n" + "\n".join(lines) + "\n")
    out = tmp_path / "eval"
    assert main(["evaluate", "--manifest", str(manifest), "--model", str(wiring_bundle), "--out", str(out),
                 "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["level"] == "clip" and report["n"] == 16
    video = report["video_level"]
    assert video["n"] == 8 and set(video["systems"]) == set(report["systems"])
    # Video level by hand for the ensemble: mean of the two halves' probabilities.
    by_video = {}
    for p in report["predictions"]:
        by_video.setdefault(p["id"].split("#")[0], []).append((p["label"], list(p["probabilities"].values())))
    hits = [CLASSES[int(np.argmax(np.mean([v for _, v in segs], axis=0)))] == segs[0][0] for segs in by_video.values()]
    assert video["systems"]["ensemble"]["accuracy"] == pytest.approx(np.mean(hits), abs=1e-9)


def test_inspect_an_evaluation_set_with_its_own_split_names_and_leaks(content4, content4_rows, tmp_path, capsys):
    """An evaluation-only set (2 clips per class, splits 'holdout' and 'probe') is not held to
    training's 10-per-class rule and gets its projection; a re-encoded, resized copy of a clip in
    the other split is found as leakage, and so is one source named in both splits."""
    import subprocess

    rows = pick_clips(content4_rows, "test", 2)
    copy = tmp_path / "copy.mp4"  # what a careless dataset builder makes: same pictures, other bytes
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(content4 / rows[0]["path"]), "-vf", "scale=320:-2",
                    "-c:v", "libx264", "-crf", "30", str(copy)], check=True)
    lines = [f"{'holdout' if i % 2 else 'probe'},{content4 / r['path']},{r['label']},src{i // 2}"
             for i, r in enumerate(rows)]
    manifest = tmp_path / "eval.csv"
    manifest.write_text("split,path,label,source\n" + "\n".join(lines) + "\n")
    assert main(["inspect", str(manifest), "--plots", str(tmp_path / "eda"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "at least 10" not in out and "show the same pictures" not in out
    assert (tmp_path / "eda" / "feature_tsne.png").stat().st_size > 1000
    assert "source 'src0' is in several splits (holdout: 1, probe: 1)" in out  # warned, not an error
    split_of_first = "probe"
    lines.append(f"{'holdout' if split_of_first == 'probe' else 'probe'},{copy},{rows[0]['label']},other")
    manifest.write_text("split,path,label,source\n" + "\n".join(lines) + "\n")
    assert main(["inspect", str(manifest), "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert f"{content4 / rows[0]['path']} (probe) and {copy} (holdout) show the same pictures" in out
