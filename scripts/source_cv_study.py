"""How well does a training setting carry over to sources it never saw? Source-held-out
cross-validation over the training split.

The val split (52 clips) no longer separates settings: the shipped ensemble gets 51 of them right.
This study holds out whole sources of the train split instead, in ``--folds`` folds stratified by
class: each fold's members train on the other folds' clips, stop early on val as usual, and
predict the held-out clips. Pooled over the folds, every training clip gets a prediction from
members that never saw its source, which is the situation the test split (and any user's video)
puts the model in. The held-out unit is the manifest's ``source``; a source the dataset itself
spreads over several splits (a collection such as the Atari games, the Lottie animations or the R
manuals) is held out per work (the file name before ``__segNN``), as the dataset's split does.

Each candidate trains ``--seeds`` members per fold; their mean is the candidate's ensemble
prediction. A candidate replaces the current setting only if its ensemble macro-F1 over the
held-out clips is higher by more than ``--margin``. Results are appended to ``--cache`` as they
come, so an interrupted run picks up where it stopped.

    python scripts/source_cv_study.py --manifest ../shared/data/content4/manifest.csv \\
        --features work/default/features.h5 --out docs/model-selection/source_cv.json
"""
from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import torch

from app.data.manifest import load_dataset
from app.evaluation.metrics import classification_metrics
from app.features.store import read_features
from app.training.baseline import baseline_probs, train_baseline
from app.training.defaults import DEFAULT_MODEL
from app.training.member import TrainConfig, predict_probs, train_member
from app.training.source_cv import held_out_units, make_folds

CANDIDATES = {  # name: TrainConfig overrides; the first is the current setting
    "class_weights_in_loss": {"balance": "loss"},
    "source_sampler_sqrt": {"balance": "source", "source_power": 0.5},
    "source_sampler_equal": {"balance": "source", "source_power": 0.0},
}


def summarise(y, probs, classes, sources) -> dict:
    m = classification_metrics(y, probs, classes)
    pred = probs.argmax(1)
    by_source = defaultdict(list)
    for s, ok in zip(sources, pred == y):
        by_source[s].append(bool(ok))
    return {"f1_macro": round(m["f1_macro"], 4), "accuracy": round(m["accuracy"], 4),
            "per_class_f1": {c: round(v["f1"], 3) for c, v in m["per_class"].items()},
            "confusion_matrix": m["confusion_matrix"],
            "accuracy_by_source": {s: f"{sum(v)}/{len(v)}" for s, v in sorted(by_source.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--features", required=True, help="store with the clean train and val rows")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--cache", default="work/source_cv.jsonl")
    ap.add_argument("--out", default="work/source_cv.json")
    args = ap.parse_args()
    ds = load_dataset(args.manifest, check_media=False)
    train_items = ds.split("train")
    units = held_out_units(train_items, ds.items)
    folds = make_folds(units, [ds.classes.index(it.label) for it in train_items], args.folds)
    fold_of = dict(zip(units, folds.tolist()))

    fs = read_features(args.features)
    row = {k: i for i, k in enumerate(fs.ids)}
    train = fs.take([row[it.id] for it in train_items])
    val = fs.take([row[it.id] for it in ds.split("val")])
    groups = np.array([it.group for it in train_items])
    classes = fs.classes
    cfg = DEFAULT_MODEL.temporal(fs.features.shape[-1], len(classes))

    cache = Path(args.cache)
    done = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            r = json.loads(line)
            done[(r["candidate"], r["fold"], r["seed"])] = r
    for name, overrides in [*CANDIDATES.items(), ("baseline_mlp", None)]:
        for f in range(args.folds):
            fit, held = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            for seed in range(1 if overrides is None else args.seeds):
                if (name, f, seed) in done:
                    continue
                t = time.time()
                if overrides is None:
                    mlp, _ = train_baseline(train.take(fit), val, seed=seed)
                    probs = baseline_probs(mlp, train.take(held))
                else:
                    res = train_member(train.take(fit), val, cfg, TrainConfig(**overrides), seed=seed, progress=False,
                                       groups=groups[fit].tolist())
                    h = train.take(held)
                    probs = predict_probs(res.model, torch.from_numpy(h.features), torch.from_numpy(h.num_frames).long())
                r = {"candidate": name, "fold": f, "seed": seed, "ids": [train.ids[i] for i in held],
                     "probs": np.round(probs, 6).tolist(), "seconds": round(time.time() - t, 1)}
                done[(name, f, seed)] = r
                with cache.open("a") as fh:
                    fh.write(json.dumps(r) + "\n")
                print(f"{name} fold {f} seed {seed}: {r['seconds']} s", flush=True)

    y = train.labels
    sources = [it.group for it in train_items]
    index = {k: i for i, k in enumerate(train.ids)}
    results = {}
    for name in [*CANDIDATES, "baseline_mlp"]:
        runs = [r for key, r in done.items() if key[0] == name]
        per_seed = defaultdict(lambda: np.zeros((len(y), len(classes))))
        for r in runs:
            per_seed[r["seed"]][[index[i] for i in r["ids"]]] = np.array(r["probs"])
        ensemble = np.mean(list(per_seed.values()), axis=0)
        results[name] = {"ensemble": summarise(y, ensemble, classes, sources),
                         "members_f1_macro": [round(classification_metrics(y, p, classes)["f1_macro"], 4)
                                              for _, p in sorted(per_seed.items())]}
        print(name, results[name]["ensemble"]["f1_macro"], results[name]["members_f1_macro"], flush=True)
    current = next(iter(CANDIDATES))
    best = max(CANDIDATES, key=lambda n: results[n]["ensemble"]["f1_macro"])
    if results[best]["ensemble"]["f1_macro"] - results[current]["ensemble"]["f1_macro"] <= args.margin:
        best = current
    out = {
        "question": "which class-imbalance handling carries over best to sources the model never saw?",
        "protocol": __doc__.strip().split("\n\n")[1].replace("\n", " "),
        "folds": {f"fold_{f}": sorted({u for u, k in fold_of.items() if k == f}) for f in range(args.folds)},
        "held_out_clips_per_class": dict(Counter(ds.classes[c] for c in y)),
        "seeds": args.seeds, "margin": args.margin, "candidates": CANDIDATES, "results": results,
        "decision": {"candidate": best, **CANDIDATES[best]},
        "command": "python scripts/source_cv_study.py --manifest ../shared/data/content4/manifest.csv "
                   f"--features {args.features} --out {args.out}",
        "training_minutes": round(sum(r["seconds"] for r in done.values()) / 60, 1),  # summed over the runs
    }
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("decision:", best)


if __name__ == "__main__":
    main()
