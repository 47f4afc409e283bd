"""Which per-frame features carry over to sources the model never saw?

Rule, written before the run: every feature set below is scored by source-held-out
cross-validation over the train split of content4 + more4 (the clips of ``--only-in``), with the
folds of ``app.training.source_cv`` (4 folds, whole sources held out), by two models on the
clip's pooled frames (mean over frames): the project's mean-pool MLP (``train_baseline``, early
stopping on val, 3 seeds averaged) and a logistic regression (C=1, balanced, features
standardised on the fitted folds). A set that adds features to ``final`` (today's) is adopted
only if its MLP macro-F1 beats ``final``'s by more than 0.02 and its log loss is not worse; of
several such sets, the one with the fewest numbers per frame within 0.01 of the best wins.
ECE and the logistic regression are reported beside it, not used by the rule.

    python scripts/style_extract.py ../shared/data/content4/manifest.csv --out work/style/content4.npz
    python scripts/style_extract.py datasets/more4/manifest.csv --out work/style/more4.npz
    python scripts/style_extract.py datasets/more4/fetched.csv --out work/style/more4f.npz
    python scripts/style_study.py --manifest ../shared/data/content4/manifest.csv --features work/style/content4.npz \\
        --manifest datasets/more4/manifest.csv --features work/style/more4.npz \\
        --manifest datasets/more4/fetched.csv --features work/style/more4f.npz \\
        --only-in datasets/mix-fetched.csv --out docs/model-selection/style.json
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from app.data.manifest import load_dataset
from app.evaluation.metrics import classification_metrics
from app.features.store import FeatureSet
from app.training.baseline import baseline_probs, train_baseline
from app.training.source_cv import held_out_units, make_folds

SETS = {
    "final": ["final"],
    "final_masked": ["final_masked"],
    "final+stats": ["final", "stats"],
    "final+still": ["final", "still"],
    "final_masked+stats": ["final_masked", "stats"],
    "final+mid": ["final", "mid"],
    "final+mid+stats": ["final", "mid", "stats"],
    "stats": ["stats"],
    "mid": ["mid"],
}
MID_SCALE = 0.25  # mid-level means/stds reach about +-8; scaled to the backbone features' range


def load(paths: list[str]) -> dict:
    parts = [dict(np.load(p)) for p in paths]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def group_of(data: dict, names: list[str]) -> np.ndarray:
    """``still``: the per-frame statistics without the three that compare neighbouring frames."""
    cols = {"still": lambda: data["stats"][..., :19], "mid": lambda: data["mid"] * MID_SCALE}
    return np.concatenate([cols[n]() if n in cols else data[n] for n in names], axis=-1)


def featureset(x: np.ndarray, y: np.ndarray, n: np.ndarray, ids, classes) -> FeatureSet:
    return FeatureSet(x.astype(np.float32), y, n, np.zeros(x.shape[:2], np.float32), list(ids), ["train"] * len(y),
                      classes, {})


def scores(y, probs, classes, groups=None) -> dict:
    m = classification_metrics(y, probs, classes)
    out = {"f1_macro": round(m["f1_macro"], 4), "accuracy": round(m["accuracy"], 4),
           "log_loss": round(m["log_loss"], 4), "ece": round(m["ece"], 4),
           "per_class_f1": {c: round(v["f1"], 3) for c, v in m["per_class"].items()}}
    if groups is not None:
        wrong = defaultdict(int)
        for g, ok in zip(groups, probs.argmax(1) == y):
            wrong[g] += int(not ok)
        out["most_wrong_sources"] = dict(sorted(wrong.items(), key=lambda kv: -kv[1])[:8])
    return out


def study_args(doc: str, sets: dict, out: str):
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", action="append", required=True)
    ap.add_argument("--features", action="append", required=True)
    ap.add_argument("--only-in", default=None)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--sets", nargs="*", default=list(sets))
    ap.add_argument("--out", default=out)
    return ap.parse_args()


def run_study(args, sets: dict) -> tuple[dict, dict]:
    """Source-held-out CV of the MLP and the logistic regression on each feature set's pooled frames."""
    datasets = [load_dataset(m, check_media=False, min_classes=1, min_per_class=1) for m in args.manifest]
    if args.only_in:
        wanted = {(it.path, it.start, it.end) for it in load_dataset(args.only_in, check_media=False).items}
        for d in datasets:
            d.items = [it for it in d.items if (it.path, it.start, it.end) in wanted]
    classes = sorted({c for d in datasets for c in d.classes})
    items = [it for d in datasets for it in d.items]
    data = load(args.features)
    row = {i: k for k, i in enumerate(data["ids"])}
    train_items = [it for it in items if it.split == "train" and it.id in row]
    val_items = [it for it in items if it.split == "val" and it.id in row]
    units = held_out_units(train_items, items)
    y = np.array([classes.index(it.label) for it in train_items])
    yv = np.array([classes.index(it.label) for it in val_items])
    folds = make_folds(units, y, args.folds)
    groups = [it.group for it in train_items]
    tr, va = [row[it.id] for it in train_items], [row[it.id] for it in val_items]
    nframes = (np.abs(data["final"]).sum(-1) > 0).sum(1)
    results = {}
    for name in args.sets:
        t0 = time.time()
        x = group_of(data, sets[name])
        train = featureset(x[tr], y, nframes[tr], [it.id for it in train_items], classes)
        val = featureset(x[va], yv, nframes[va], [it.id for it in val_items], classes)
        pooled = np.stack([f[:n].mean(0) for f, n in zip(x[tr], nframes[tr])])
        mlp = np.zeros((len(y), len(classes)))
        lr = np.zeros_like(mlp)
        for f in np.unique(folds):
            fit, held = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
            for s in range(args.seeds):
                model, _ = train_baseline(train.take(fit), val, seed=s * 10 + int(f))
                mlp[held] += baseline_probs(model, train.take(held)) / args.seeds
            sc = StandardScaler().fit(pooled[fit])
            clf = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000).fit(sc.transform(pooled[fit]), y[fit])
            lr[held] = clf.predict_proba(sc.transform(pooled[held]))
        results[name] = {"dims": int(x.shape[-1]), "mlp": scores(y, mlp, classes, groups),
                         "logistic": scores(y, lr, classes), "seconds": round(time.time() - t0, 1)}
        print(name, results[name]["dims"], "mlp", results[name]["mlp"]["f1_macro"], results[name]["mlp"]["log_loss"],
              "lr", results[name]["logistic"]["f1_macro"], f"{time.time() - t0:.0f}s", flush=True)
    info = {"folds": args.folds, "seeds": args.seeds, "frames_per_clip": int(data["final"].shape[1]),
            "held_out_clips": len(train_items), "held_out_units": len(set(units)), "manifests": args.manifest,
            "only_in": args.only_in}
    return results, info


def write_study(args, question: str, doc: str, results: dict, info: dict, decision: dict) -> None:
    out = {"question": question, "rule": doc.strip().split("\n\n")[1].replace("\n", " "), **info,
           "results": results, "decision": decision,
           "machine": f"{platform.machine()} {platform.processor() or ''}".strip()}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print("decision:", decision)


def main() -> None:
    args = study_args(__doc__, SETS, "work/style.json")
    results, info = run_study(args, SETS)
    base = results.get("final")
    decision = "final"
    if base:
        better = [n for n in results if n != "final" and SETS[n][0].startswith("final")
                  and results[n]["mlp"]["f1_macro"] > base["mlp"]["f1_macro"] + 0.02
                  and results[n]["mlp"]["log_loss"] <= base["mlp"]["log_loss"]]
        if better:
            top = max(results[n]["mlp"]["f1_macro"] for n in better)
            decision = min((n for n in better if results[n]["mlp"]["f1_macro"] >= top - 0.01),
                           key=lambda n: (results[n]["dims"], -results[n]["mlp"]["f1_macro"]))
    write_study(args, "which per-frame features carry over best to sources the model never saw?", __doc__,
                results, info, {"features": decision})


if __name__ == "__main__":
    main()
