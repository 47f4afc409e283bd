"""Which frame geometry carries over best to sources the model never saw?

Rule, written before the run: every geometry of ``app.features.preprocessing.GEOMETRIES`` is
scored by source-held-out cross-validation over the train split (``app.training.source_cv``:
4 folds, 2 members per fold with the shipped model settings, their mean as the ensemble). Of the
geometries whose ensemble macro-F1 over the held-out clips is within 0.01 of the best, the one
with the fewest backbone views per frame wins (tiles cost 3 per frame, the others 1: three
times the serving time), the higher score breaking a tie. Log loss, ECE, the mean-pool MLP baseline and a linear probe on mean features are reported
beside it, not used by the rule. Features come from ``scripts/geometry_extract.py`` (16 frames
per clip, a cost-saving proxy for the shipped 73: the geometry decides what each frame shows,
not how many frames there are).

    python scripts/geometry_extract.py ../shared/data/content4/manifest.csv --out work/geometry --frames 16
    python scripts/geometry_study.py --manifest ../shared/data/content4/manifest.csv \\
        --features work/geometry --out docs/model-selection/geometry.json
"""
from __future__ import annotations

import argparse
import json
import platform
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from app.data.manifest import load_dataset
from app.evaluation.metrics import classification_metrics
from app.features.backbones import LITE0
from app.features.preprocessing import GEOMETRIES
from app.features.store import read_features
from app.training.defaults import DEFAULT_MODEL
from app.training.source_cv import held_out_units, make_folds, source_cv



def scores(y, probs, classes, groups) -> dict:
    m = classification_metrics(y, probs, classes)
    by_source = defaultdict(list)
    for g, ok in zip(groups, probs.argmax(1) == y):
        by_source[g].append(bool(ok))
    return {"f1_macro": round(m["f1_macro"], 4), "accuracy": round(m["accuracy"], 4),
            "log_loss": round(m["log_loss"], 4), "ece": round(m["ece"], 4),
            "per_class_f1": {c: round(v["f1"], 3) for c, v in m["per_class"].items()},
            "accuracy_by_source": {s: f"{sum(v)}/{len(v)}" for s, v in sorted(by_source.items())}}


def linear_probe(train, folds) -> np.ndarray:
    x = np.stack([f[:n].mean(0) for f, n in zip(train.features, train.num_frames)])
    out = np.zeros((len(x), len(train.classes)))
    for f in np.unique(folds):
        fit, held = folds != f, folds == f
        lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x[fit], train.labels[fit])
        out[held] = lr.predict_proba(x[held])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--features", required=True, help="folder with one <geometry>.h5 per geometry")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--out", default="work/geometry.json")
    args = ap.parse_args()
    ds = load_dataset(args.manifest, check_media=False)
    train_items = ds.split("train")
    units = held_out_units(train_items, ds.items)
    labels = [ds.classes.index(it.label) for it in train_items]
    folds = make_folds(units, labels, args.folds)
    groups = [it.group for it in train_items]
    train_cfg = DEFAULT_MODEL.train_config()
    results = {}
    for g in GEOMETRIES:
        fs = read_features(Path(args.features) / f"{g}.h5")
        row = {k: i for i, k in enumerate(fs.ids)}
        train = fs.take([row[it.id] for it in train_items])
        val = fs.take([row[it.id] for it in ds.split("val")])
        model_cfg = DEFAULT_MODEL.temporal(train.features.shape[-1], len(ds.classes))
        cv = source_cv(train, val, folds, groups, model_cfg, train_cfg, seeds=args.seeds,
                       on_run=lambda msg, g=g: print(g, msg, flush=True))
        y = train.labels
        results[g] = {"ensemble": scores(y, cv.ensemble, ds.classes, groups),
                      "members_f1_macro": [round(classification_metrics(y, p, ds.classes)["f1_macro"], 4)
                                           for p in cv.members],
                      "baseline_mlp": scores(y, cv.baseline, ds.classes, groups),
                      "linear_probe": scores(y, linear_probe(train, folds), ds.classes, groups),
                      "training_seconds": cv.seconds}
        print(g, {k: v["f1_macro"] for k, v in results[g].items() if isinstance(v, dict)}, flush=True)
    f1 = {g: results[g]["ensemble"]["f1_macro"] for g in GEOMETRIES}
    close = [g for g in GEOMETRIES if f1[g] >= max(f1.values()) - args.margin]
    views = {g: LITE0.preprocessing.with_geometry(g).views for g in GEOMETRIES}
    best = min(close, key=lambda g: (views[g], -f1[g]))
    out = {
        "question": "which frame geometry carries over best to sources the model never saw?",
        "rule": __doc__.strip().split("\n\n")[1].replace("\n", " "),
        "folds": args.folds, "seeds": args.seeds, "margin": args.margin, "frames_per_clip": int(train.features.shape[1]),
        "held_out_clips": len(train_items), "held_out_units": len(set(units)),
        "results": results, "views_per_frame": views, "within_margin_of_best": close,
        "decision": {"geometry": best},
        "command": f"python scripts/geometry_study.py --manifest {args.manifest} --features {args.features} --out {args.out}",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("decision:", best)


if __name__ == "__main__":
    main()
