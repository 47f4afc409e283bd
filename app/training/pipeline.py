"""From a labelled video set to an audited bundle: validate, extract, train members, calibrate,
train the baseline, evaluate, save.

A member far worse than the others on validation (a collapsed run: macro-F1 well below the
median, or a class the others recognise that it never gets right) is retrained once with another
seed and left out if it collapses again; the bundle records which and why.
"""
from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from app.bundle import load_bundle, save_bundle
from app.data.manifest import Dataset
from app.evaluation.metrics import classification_metrics, expected_calibration_error
from app.evaluation.report import evaluate
from app.features.augment import PixelAugment, copy_id, original_id
from app.data.extraction import extract_dataset
from app.features.engine import Backbone
from app.features.store import FeatureSet, read_features
from app.temporal.ensemble import Ensemble, apply_temperature
from app.temporal.mean_pool import MEAN_POOL_KIND, MeanPoolMember
from app.temporal.model import TemporalConfig, count_parameters
from app.training.baseline import train_baseline
from app.temporal.uncertainty import UncertainRule, choose_min_confidence, coverage
from app.training.calibration import fit_temperature
from app.training.source_cv import CVPredictions, held_out_units, make_folds, source_cv
from app.training.member import TrainConfig, train_member
from app.training.progress import plot_dashboard

log = logging.getLogger(__name__)

COLLAPSE_MARGIN = 0.15  # macro-F1 this far below the members' median is a collapsed run
COLLAPSE_CLASS_F1 = 0.1  # or a class this bad that the median member gets right (F1 > 0.5)


@dataclass
class TrainJob:
    dataset: Dataset
    out: Path  # the bundle directory to write
    work: Path  # features and checkpoints
    backbone: Backbone
    max_frames: int
    scales: list[float]
    model: TemporalConfig
    train: TrainConfig
    members: int = 4
    seed: int = 0
    tta: str = "auto"  # "auto" (decided on validation), "on" or "off"
    abstain_threshold: float | None = None
    calibration_folds: int = 0  # >= 2: temperature and uncertain rule from source-held-out CV on train
    calibration_seeds: int = 1  # members per CV fold (their mean is the out-of-source ensemble)
    uncertain_target_accuracy: float = 0.9  # min_confidence: answers left must be this accurate out of source
    name: str = "default"
    features: Path | None = None
    augment_copies: int = 0  # pixel-augmented copies of each training clip (app.features.augment)
    plot_every: int = 1  # redraw each member's PNG dashboard every N epochs (0: at the end only)
    progress: bool = True
    extra: dict = field(default_factory=dict)  # e.g. the selection study, recorded in bundle.json


def split_sets(job: TrainJob) -> dict[str, FeatureSet]:
    """Extract (or reuse) features, then take each split's rows in the dataset's order.

    Splits come from the dataset, not from the store, so a store shared between manifests is safe.
    """
    store = job.features or job.work / "features.h5"
    augment = PixelAugment(seed=job.seed) if job.augment_copies else None
    extract_dataset(job.dataset, store, job.backbone, max_frames=job.max_frames, scales=job.scales,
                    progress=job.progress, augment=augment, copies=job.augment_copies)
    fs = read_features(store)
    row = {item: i for i, item in enumerate(fs.ids)}
    sets = {}
    for split in job.dataset.splits:
        ids = [it.id for it in job.dataset.split(split)]
        if split == "train":  # augmented copies are training rows only
            ids += [copy_id(i, k) for i in ids for k in range(1, job.augment_copies + 1)]
        sub = fs.take([row[i] for i in ids if i in row])
        sub.splits = [split] * len(sub)
        sets[split] = sub
    return sets


def _collapsed(f1s: list[float], per_class: list[list[float]], k: int) -> str | None:
    median = float(np.median(f1s))
    if f1s[k] < median - COLLAPSE_MARGIN:
        return f"validation macro-F1 {f1s[k]:.3f} is more than {COLLAPSE_MARGIN} below the members' median {median:.3f}"
    med_cls = np.median(np.array(per_class), axis=0)
    for c, (mine, typical) in enumerate(zip(per_class[k], med_cls)):
        if mine < COLLAPSE_CLASS_F1 and typical > 0.5:
            return f"class {c} validation F1 {mine:.3f} while the median member reaches {typical:.3f}"
    return None


def out_of_source(job: TrainJob, train: FeatureSet, val: FeatureSet, groups: list[str]) -> CVPredictions | None:
    """Source-held-out CV predictions of the train split, or None when not asked for or when the
    train split has fewer sources per class than folds (then calibration falls back to val)."""
    if job.calibration_folds < 2:
        return None
    items = {it.id: it for it in job.dataset.items}
    train_items = [items[original_id(i)] for i in train.ids]
    units = held_out_units(train_items, job.dataset.items)
    per_class = {c: len({u for u, y in zip(units, train.labels) if y == c}) for c in range(len(train.classes))}
    if min(per_class.values()) < job.calibration_folds:
        log.warning("source CV skipped: a class has %d sources, fewer than %d folds", min(per_class.values()),
                    job.calibration_folds)
        return None
    folds = make_folds(units, train.labels, job.calibration_folds)
    return source_cv(train, val, folds, groups, job.model, job.train, seeds=job.calibration_seeds,
                     seed=job.seed + 500, on_run=log.info if not job.progress else print)


# What the ensemble is made of: the mean-pool MLP's share of it (the temporal members share the rest).
COMPOSITIONS = {"temporal": 0.0, "temporal+mean_pool": 0.5, "mean_pool": 1.0}


def choose_composition(cv: CVPredictions | None, classes) -> dict:
    """The composition with the highest macro-F1 on source-held-out CV (ties: the earlier one);
    temporal members only without CV."""
    if cv is None or cv.baseline is None:
        return {"name": "temporal", "mean_pool_share": 0.0, "chosen_on": "no source-held-out CV: the default"}
    f1 = {name: round(classification_metrics(cv.labels, cv.mixed(share), classes)["f1_macro"], 4)
          for name, share in COMPOSITIONS.items()}
    best = max(COMPOSITIONS, key=lambda n: f1[n])
    return {"name": best, "mean_pool_share": COMPOSITIONS[best], "source_cv_f1_macro": f1,
            "chosen_on": "macro-F1 on source-held-out CV of the train split"}


def calibrate(job: TrainJob, cv: CVPredictions | None, val_raw: dict, val_labels: np.ndarray, classes,
              share: float = 0.0) -> dict:
    """Temperatures and the uncertain rule. On source-held-out CV predictions when there are any;
    else on val, where the temperature may soften (T >= 1) but never sharpen: val shares the
    training sources' look in most datasets, so confidence it supports says little about new ones."""
    if cv is not None:
        t = {tta: fit_temperature(cv.mixed(share, tta=tta), cv.labels) for tta in (False, True)}
        calibrated = apply_temperature(cv.mixed(share), t[False])
        labels, where = cv.labels, (f"source-held-out CV on the train split ({len(set(cv.folds.tolist()))} folds, "
                                     f"{len(cv.members)} members per fold)")
    else:
        t = {tta: max(1.0, fit_temperature(val_raw[tta], val_labels)) for tta in (False, True)}
        calibrated = apply_temperature(val_raw[False], t[False])
        labels, where = np.asarray(val_labels), "the val split (never below 1: no evidence from unseen sources)"
    rule = UncertainRule(choose_min_confidence(calibrated, labels, target_accuracy=job.uncertain_target_accuracy))
    return {"temperature": round(t[False], 4), "temperature_tta": round(t[True], 4),
            "method": f"temperature scaling of the ensemble probabilities, NLL on {where}",
            "uncertain": {**rule.to_dict(), "target_accuracy": job.uncertain_target_accuracy, "chosen_on": where}}


def source_cv_scores(cv: CVPredictions, calibration: dict, classes, share: float = 0.0) -> dict:
    """Out-of-source scores of every kind of model, side by side (the ensemble calibrated)."""
    def brief(probs):
        m = classification_metrics(cv.labels, probs, classes)
        return {k: round(float(m[k]), 4) for k in ("accuracy", "f1_macro", "balanced_accuracy", "log_loss", "ece")}

    ens = apply_temperature(cv.mixed(share), calibration["temperature"])
    rule = UncertainRule.from_dict(calibration["uncertain"])
    out = {f"member_{s}": brief(p) for s, p in enumerate(cv.members)}
    out["ensemble"] = {**brief(ens), **coverage(rule.flags(ens), ens.argmax(1) == cv.labels)}
    if cv.baseline is not None:
        out["baseline"] = brief(cv.baseline)
    out["protocol"] = {"folds": len(set(cv.folds.tolist())), "members_per_fold": len(cv.members),
                       "clips": len(cv.labels), "training_seconds": cv.seconds}
    return out


def train_bundle(job: TrainJob) -> Path:
    t_start = time.time()
    ds = job.dataset
    classes = ds.classes
    if job.model.num_classes != len(classes) or job.model.input_dim != job.backbone.feature_dim:
        raise ValueError(f"model config {job.model} does not fit {len(classes)} classes and "
                         f"{job.backbone.feature_dim}-d features")
    sets = split_sets(job)
    if "train" not in sets or "val" not in sets:
        raise ValueError(f"training needs a train and a val split; the dataset has {ds.splits}")
    train, val = sets["train"], sets["val"]
    group_of = {it.id: it.group for it in ds.items}
    groups = [group_of[original_id(i)] for i in train.ids]  # an augmented copy keeps its clip's source
    t_features = time.time() - t_start

    results, infos = {}, {}
    excluded = []

    def run(k: int, seed: int):
        name = f"member_{k}"
        out = job.work / name / f"seed{seed}"
        title = f"{name} (seed {seed})"

        def progress(history, _out):
            if job.plot_every and len(history) % job.plot_every == 0:
                plot_dashboard(history, classes, out / "dashboard.png", title=title)

        res = train_member(train, val, job.model, job.train, seed=seed, out_dir=out, name=name,
                           progress=job.progress, on_epoch=progress, groups=groups)
        plot_dashboard(res.history, classes, out / "dashboard.png", title=title)
        return res

    for k in range(job.members):
        results[k] = run(k, job.seed + k)
        infos[k] = {"seed": job.seed + k}
    if job.members >= 3:
        for k in list(results):
            f1s = [results[i].best["val_f1_macro"] for i in sorted(results)]
            pcs = [results[i].best["val_f1_per_class"] for i in sorted(results)]
            why = _collapsed(f1s, pcs, sorted(results).index(k))
            if not why:
                continue
            log.warning("member_%d collapsed (%s); retraining with another seed", k, why)
            first = {"name": f"member_{k}", "seed": infos[k]["seed"], "reason": why, "action": "retrained"}
            retry = run(k, job.seed + 1000 + k)
            f1s[sorted(results).index(k)] = retry.best["val_f1_macro"]
            pcs[sorted(results).index(k)] = retry.best["val_f1_per_class"]
            why2 = _collapsed(f1s, pcs, sorted(results).index(k))
            excluded.append(first)
            if why2:
                excluded.append({"name": f"member_{k}", "seed": job.seed + 1000 + k, "reason": why2,
                                 "action": "left out"})
                del results[k]
            else:
                results[k], infos[k] = retry, {"seed": job.seed + 1000 + k}

    baseline, baseline_info = train_baseline(train, val, seed=job.seed)
    cv = out_of_source(job, train, val, groups)
    composition = choose_composition(cv, classes)
    share = composition["mean_pool_share"]
    members = [results[k].model for k in sorted(results)]
    weights = [(1 - share) / len(members)] * len(members)
    if share > 0:
        members.append(MeanPoolMember(baseline))
        weights.append(share)
    ens = Ensemble(members, weights)
    x, lengths = torch.from_numpy(val.features), torch.from_numpy(val.num_frames).long()
    val_raw = {tta: ens.predict(x, lengths, tta=tta).probs.numpy() for tta in (False, True)}
    calibration = calibrate(job, cv, val_raw, val.labels, classes, share)
    temps = {False: calibration["temperature"], True: calibration["temperature_tta"]}
    val_scores = {("tta" if tta else "plain"): classification_metrics(val.labels, val_raw[tta], classes)
                  for tta in (False, True)}
    for tta in (False, True):
        val_scores["tta" if tta else "plain"]["ece_calibrated"] = expected_calibration_error(
            val.labels, apply_temperature(val_raw[tta], temps[tta]))
    tta_better = val_scores["tta"]["f1_macro"] > val_scores["plain"]["f1_macro"]
    tta_default = {"on": True, "off": False}.get(job.tta, tta_better)

    member_entries = []
    for k in sorted(results):
        r = results[k]
        member_entries.append((f"member_{k}", r.model, {
            **infos[k], "weight": (1 - share) / len(results), "best_epoch": r.best_epoch, "epochs_run": len(r.history),
            "val_f1_macro": round(r.best["val_f1_macro"], 4), "val_acc": round(r.best["val_acc"], 4),
            "val_f1_per_class": dict(zip(classes, (round(v, 4) for v in r.best["val_f1_per_class"]))),
        }))
    if share > 0:
        member_entries.append((MEAN_POOL_KIND, members[-1], {
            "kind": MEAN_POOL_KIND, "weight": share, "seed": job.seed, "hidden": baseline_info["hidden"],
            "val_f1_macro": round(float(baseline_info["val_f1_macro"]), 4)}))
    backbone = job.backbone.describe()
    for key in ("engine", "device"):
        backbone.pop(key)
    t_train = time.time() - t_start - t_features
    bundle_dir = save_bundle(
        job.out, name=job.name, classes=classes, backbone=backbone, max_frames=job.max_frames, scales=job.scales,
        config=job.model, members=member_entries, excluded_members=excluded,
        calibration={**calibration, "abstain_threshold": job.abstain_threshold},
        composition=composition,
        inference={"tta_default": tta_default, "tta_views": ["original", "reverse", "speed_up", "slow_down"],
                   "tta_decision": (f"val macro-F1 {val_scores['tta']['f1_macro']:.4f} with TTA vs "
                                    f"{val_scores['plain']['f1_macro']:.4f} without"
                                    + ("" if job.tta == "auto" else f"; forced {job.tta}"))},
        training={**job.train.to_dict(), "members": job.members, "seed": job.seed,
                  "augment_copies": job.augment_copies,
                  "pixel_augment": PixelAugment(seed=job.seed).to_dict() if job.augment_copies else None,
                  "n_train_rows": len(train),
                  "parameters_per_member": count_parameters(members[0]),
                  "time_s": {"features": round(t_features, 1), "training": round(t_train, 1)},
                  "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                  "torch": torch.__version__},
        data={"fingerprint": ds.fingerprint(), "source": str(ds.source), "counts": ds.counts()},
        metrics={"val": {k: {m: v[m] for m in ("accuracy", "f1_macro", "balanced_accuracy", "log_loss", "ece",
                                               "ece_calibrated")}
                         for k, v in val_scores.items()},
                 **({"source_cv": source_cv_scores(cv, calibration, classes, share)} if cv else {})},
        baseline={k: v.detach() for k, v in baseline.state_dict().items()}, baseline_info=baseline_info,
        trained=True, notes=f"trained on {ds.source}", extra=job.extra,
    )
    if cv:
        np.savez_compressed(job.work / "source_cv.npz", ids=np.array(cv.ids), labels=cv.labels, folds=cv.folds,
                            members=cv.members, members_tta=cv.members_tta, baseline=cv.baseline)
    report_dir = bundle_dir / "report"
    training_dir = report_dir / "training"
    training_dir.mkdir(parents=True, exist_ok=True)
    for name, doc in job.extra.items():  # studies behind the settings, kept with the report too
        (report_dir / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    for k in sorted(results):
        r = results[k]
        plot_dashboard(r.history, classes, training_dir / f"member_{k}.png",
                       title=f"member_{k} (seed {infos[k]['seed']})")
        (training_dir / f"member_{k}.json").write_text(json.dumps(r.history))
    bundle = load_bundle(bundle_dir, load_baseline=True)
    evaluate(bundle, val, report_dir / "val", split="val", source=str(ds.source))
    if "test" in sets and len(sets["test"]):
        report = evaluate(bundle, sets["test"], report_dir, split="test", source=str(ds.source))
        meta = bundle.meta
        meta["metrics"]["test"] = {name: {m: s[m] for m in ("accuracy", "f1_macro", "balanced_accuracy", "ece")}
                                   for name, s in report["systems"].items()}
        meta["training"]["time_s"]["total"] = round(time.time() - t_start, 1)
        (bundle_dir / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n")
    return bundle_dir
