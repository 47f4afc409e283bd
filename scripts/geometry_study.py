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

Several datasets are scored together by naming each manifest with its features folder:

    python scripts/geometry_extract.py ../shared/data/content4/manifest.csv --out work/geometry --frames 16
    python scripts/geometry_extract.py datasets/more4/manifest.csv --out work/geometry_more4 --frames 16
    python scripts/geometry_extract.py datasets/more4/fetched.csv --out work/geometry_more4f --frames 16
    python scripts/geometry_study.py --manifest ../shared/data/content4/manifest.csv --features work/geometry \\
        --manifest datasets/more4/manifest.csv --features work/geometry_more4 \\
        --manifest datasets/more4/fetched.csv --features work/geometry_more4f \\
        --only-in datasets/mix-fetched.csv --out docs/model-selection/geometry.json
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
from app.evaluation.report import relabel
from app.features.store import FeatureSet, read_features
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


def rows_of(datasets, folders, geometry: str, split: str, classes: list[str]) -> FeatureSet:
    """The ``split`` rows of every dataset, in manifest order, from its ``<geometry>.h5``, labels on ``classes``."""
    parts = []
    for ds, folder in zip(datasets, folders):
        fs = relabel(read_features(Path(folder) / f"{geometry}.h5"), classes)
        row = {k: i for i, k in enumerate(fs.ids)}
        parts.append(fs.take([row[it.id] for it in ds.split(split)]))
    return FeatureSet(np.concatenate([p.features for p in parts]), np.concatenate([p.labels for p in parts]),
                      np.concatenate([p.num_frames for p in parts]), np.concatenate([p.timestamps for p in parts]),
                      [i for p in parts for i in p.ids], [s for p in parts for s in p.splits], classes, {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", action="append", required=True, help="repeatable, each with its --features")
    ap.add_argument("--features", action="append", required=True,
                    help="folder with one <geometry>.h5 per geometry for the --manifest in the same place")
    ap.add_argument("--only-in", default=None, metavar="MANIFEST",
                    help="keep only the clips this manifest lists too (e.g. datasets/mix-fetched.csv, which leaves "
                         "out non-commercial clips)")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--out", default="work/geometry.json")
    args = ap.parse_args()
    if len(args.manifest) != len(args.features):
        ap.error("give one --features folder per --manifest")
    datasets = [load_dataset(m, check_media=False, min_classes=1, min_per_class=1) for m in args.manifest]
    if args.only_in:
        wanted = {(it.path, it.start, it.end) for it in load_dataset(args.only_in, check_media=False).items}
        for d in datasets:
            d.items = [it for it in d.items if (it.path, it.start, it.end) in wanted]
    classes = sorted({c for d in datasets for c in d.classes})
    items = [it for d in datasets for it in d.items]
    train_items = [it for it in items if it.split == "train"]
    units = held_out_units(train_items, items)
    labels = [classes.index(it.label) for it in train_items]
    folds = make_folds(units, labels, args.folds)
    groups = [it.group for it in train_items]
    train_cfg = DEFAULT_MODEL.train_config()
    results = {}
    for g in GEOMETRIES:
        train = rows_of(datasets, args.features, g, "train", classes)
        val = rows_of(datasets, args.features, g, "val", classes)
        assert train.ids == [it.id for it in train_items]
        model_cfg = DEFAULT_MODEL.temporal(train.features.shape[-1], len(classes))
        cv = source_cv(train, val, folds, groups, model_cfg, train_cfg, seeds=args.seeds,
                       on_run=lambda msg, g=g: print(g, msg, flush=True))
        y = train.labels
        results[g] = {"ensemble": scores(y, cv.ensemble, classes, groups),
                      "members_f1_macro": [round(classification_metrics(y, p, classes)["f1_macro"], 4)
                                           for p in cv.members],
                      "baseline_mlp": scores(y, cv.baseline, classes, groups),
                      "linear_probe": scores(y, linear_probe(train, folds), classes, groups),
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
        "manifests": args.manifest, "only_in": args.only_in, "held_out_clips": len(train_items), "held_out_units": len(set(units)),
        "held_out_units_per_class": {c: len({u for u, y in zip(units, labels) if y == k}) for k, c in enumerate(classes)},
        "results": results, "views_per_frame": views, "within_margin_of_best": close,
        "decision": {"geometry": best},
        "command": "python scripts/geometry_study.py " + " ".join(f"--manifest {m} --features {f}" for m, f in
                                                                zip(args.manifest, args.features))
                   + (f" --only-in {args.only_in}" if args.only_in else "") + f" --out {args.out}",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("decision:", best)


if __name__ == "__main__":
    main()
