"""Evaluate a bundle's systems on stored features and write ``report.json`` with plots.

Systems: every member (uncalibrated), the ensemble and the ensemble with TTA (each calibrated with
the bundle's temperature; ECE is reported before and after), and the mean-pool MLP baseline.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from app.bundle import Bundle
from app.evaluation import plots
from app.evaluation.metrics import classification_metrics, expected_calibration_error
from app.features.store import FeatureSet
from app.temporal.ensemble import Ensemble, apply_temperature
from app.temporal.uncertainty import UncertainRule, coverage
from app.temporal.mean_pool import MeanPoolMLP, baseline_probs
from app.temporal.model import predict_probs


def relabel(fs: FeatureSet, classes: list[str]) -> FeatureSet:
    """Map a store's labels onto ``classes`` (the bundle's order); unknown labels are an error."""
    unknown = sorted(set(fs.classes) - set(classes))
    present = {fs.classes[i] for i in np.unique(fs.labels)}
    if present & set(unknown):
        raise ValueError(f"labels {sorted(present & set(unknown))} are not classes of the model ({classes})")
    lut = np.array([classes.index(c) if c in classes else -1 for c in fs.classes])
    return FeatureSet(fs.features, lut[fs.labels], fs.num_frames, fs.timestamps, fs.ids, fs.splits, list(classes),
                      fs.attrs)


@torch.inference_mode()
def system_probabilities(bundle: Bundle, fs: FeatureSet, batch_size: int = 64) -> dict[str, dict]:
    """{system: {"probs": (N, C), "raw": uncalibrated probs or None}} for every system."""
    x = torch.from_numpy(fs.features)
    lengths = torch.from_numpy(fs.num_frames).long()
    out: dict[str, dict] = {}
    for entry, member in zip(bundle.meta["members"], bundle.members):
        out[entry["name"]] = {"probs": predict_probs(member, x, lengths, batch_size), "raw": None}
    ens = Ensemble(bundle.members, bundle.member_weights)
    for name, tta in (("ensemble", False), ("ensemble_tta", True)):
        outs = [ens.predict(x[i:i + batch_size], lengths[i:i + batch_size], tta=tta) for i in range(0, len(x), batch_size)]
        raw = np.concatenate([o.probs.numpy() for o in outs])
        out[name] = {"probs": apply_temperature(raw, bundle.temperature(tta)), "raw": raw,
                     "temperature": bundle.temperature(tta),
                     "member_probs": np.concatenate([o.member_probs.numpy() for o in outs], axis=1)}
    if bundle.baseline is not None:
        mlp = MeanPoolMLP(fs.features.shape[-1], len(bundle.classes), hidden=bundle.meta["baseline"].get("hidden", 256))
        mlp.load_state_dict(bundle.baseline)
        out["baseline"] = {"probs": baseline_probs(mlp, fs), "raw": None}
    return out


def evaluate(bundle: Bundle, fs: FeatureSet, out_dir: str | Path, *, split: str | None = None,
             source: str = "", plots_for: tuple[str, ...] = ("ensemble", "ensemble_tta")) -> dict:
    """Compute every system's metrics on ``fs``, write report.json and the plots into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    classes = bundle.classes
    fs = relabel(fs, classes)
    if len(fs) == 0:
        raise ValueError(f"no items to evaluate{' in split ' + repr(split) if split else ''}")
    y = fs.labels
    probs = system_probabilities(bundle, fs)
    rule = UncertainRule.from_dict(bundle.calibration.get("uncertain"))
    systems = {}
    for name, p in probs.items():
        m = classification_metrics(y, p["probs"], classes)
        if p["raw"] is not None:
            m["ece_uncalibrated"] = expected_calibration_error(y, p["raw"])
            m["temperature"] = p["temperature"]
            m["calibrated"] = True
            flags = rule.flags(p["probs"], p["member_probs"])
            m["uncertain"] = coverage(flags, p["probs"].argmax(1) == y)
        else:
            m["calibrated"] = False
        systems[name] = m
    files = {"f1_per_class": plots.f1_bars(systems, classes, out_dir / "f1_per_class.png")}
    for name in plots_for:
        if name not in probs:
            continue
        m, p = systems[name], probs[name]
        label = name.replace("_", " + ").replace("tta", "TTA")
        files[f"{name}_confusion_counts"] = plots.confusion(m["confusion_matrix"], classes,
                                                            out_dir / f"{name}_confusion_counts.png",
                                                            normalize=False, title=f"{label}: counts")
        files[f"{name}_confusion_normalized"] = plots.confusion(m["confusion_matrix"], classes,
                                                                out_dir / f"{name}_confusion_normalized.png",
                                                                normalize=True, title=f"{label}: row-normalised")
        files[f"{name}_pr"] = plots.pr_curves(y, p["probs"], classes, out_dir / f"{name}_pr.png", f"{label}: PR")
        files[f"{name}_roc"] = plots.roc_curves(y, p["probs"], classes, out_dir / f"{name}_roc.png", f"{label}: ROC")
        files[f"{name}_reliability"] = plots.reliability_diagram(
            y, {"before calibration": p["raw"], f"after (T={p['temperature']:.2f})": p["probs"]},
            out_dir / f"{name}_reliability.png", f"{label}: reliability (15 bins)")
    video_level = _video_level(fs, probs, classes)
    predictions = []
    for i, item in enumerate(fs.ids):
        row = {"id": item, "label": classes[y[i]]}
        for name in ("ensemble", "ensemble_tta", "baseline"):
            if name in probs:
                row[name] = classes[int(probs[name]["probs"][i].argmax())]
        row["probabilities"] = {c: round(float(v), 4) for c, v in zip(classes, probs["ensemble"]["probs"][i])}
        row["uncertain"] = bool(rule.flags(probs["ensemble"]["probs"][i:i + 1], probs["ensemble"]["member_probs"][:, i:i + 1])[0])
        predictions.append(row)
    report = {
        "classes": classes,
        "n": int(len(y)),
        "split": split,
        "source": source,
        "model": {"name": bundle.name, "version": bundle.version, "path": str(bundle.path),
                  "tta_default": bundle.tta_default},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "level": "clip",
        "systems": systems,
        "video_level": video_level,
        "plots": files,
        "predictions": predictions,
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=1) + "\n")
    return report


def video_of(item_id: str) -> str:
    """The video an item belongs to: its path, without the ``#start-end`` of a segment."""
    return item_id.split("#", 1)[0]


def _video_level(fs: FeatureSet, probs: dict, classes: list[str]) -> dict | None:
    """Metrics per video (segments' probabilities averaged), when some video has several segments."""
    groups: dict[str, list[int]] = {}
    for i, item in enumerate(fs.ids):
        groups.setdefault(video_of(item), []).append(i)
    if all(len(rows) == 1 for rows in groups.values()):
        return None
    rows = list(groups.values())
    labels = [_majority(fs.labels[r].tolist()) for r in rows]
    return {"n": len(rows), "aggregation": "mean of the segments' probabilities",
            "systems": {name: classification_metrics(labels, np.stack([p["probs"][r].mean(0) for r in rows]), classes)
                        for name, p in probs.items()}}


def _majority(labels: list[int]) -> int:
    """The most common label; ties go to the one that comes first."""
    counts = Counter(labels)
    top = max(counts.values())
    return next(label for label in labels if counts[label] == top)


def summary_table(report: dict) -> str:
    """A Markdown table of the headline numbers of every system."""
    lines = ["| system | accuracy | macro-F1 | weighted F1 | balanced acc. | macro AUROC | log loss | ECE "
             "| uncertain (accuracy of the rest) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, m in report["systems"].items():
        ece = f"{m['ece']:.3f}" + (f" (before: {m['ece_uncalibrated']:.3f})" if m.get("calibrated") else "")
        auroc = f"{m['auroc_macro']:.3f}" if m.get("auroc_macro") is not None else "n/a"
        u = m.get("uncertain")
        unc = (f"{u['uncertain_rate']:.0%} ({u['accuracy_when_certain']:.3f})"
               if u and u.get("accuracy_when_certain") is not None else "n/a")
        lines.append(f"| {name} | {m['accuracy']:.3f} | {m['f1_macro']:.3f} | {m['f1_weighted']:.3f} | "
                     f"{m['balanced_accuracy']:.3f} | {auroc} | {m['log_loss']:.3f} | {ece} | {unc} |")
    return "\n".join(lines)
