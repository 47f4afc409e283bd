"""Choose the default model's settings by validation measurements, and record them.

Reads the stores written by scripts/study_extract.py and, for each candidate, trains 3 members
(seeds 0-2) on the train split with early stopping on val, then scores the members and their
ensemble on val. Questions, in order, each answered on the winner of the previous one:
frames (16 / 32 / 73; 16 measured, not eligible), multi-scale (off / on), model size (tiny / small / medium / large), TTA.
A candidate must beat the cheaper one by more than ``--margin`` val macro-F1 to be chosen (val
holds 52 clips from a handful of sources: smaller differences are noise).

    python scripts/selection_study.py --stores work/study --out work/selection.json
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from app.evaluation.metrics import classification_metrics
from app.features.store import read_features
from app.temporal.ensemble import Ensemble
from app.temporal.model import MODEL_SIZES as SIZES, TemporalConfig, count_parameters
from app.training.member import TrainConfig, train_member



def run_candidate(store: Path, size: str, seeds, train_cfg: TrainConfig) -> dict:
    fs = read_features(store)
    train, val = fs.split("train"), fs.split("val")
    cfg = TemporalConfig(input_dim=fs.features.shape[-1], num_classes=len(fs.classes), dropout=0.3, **SIZES[size])
    t0 = time.time()
    members, scores = [], []
    for seed in seeds:
        res = train_member(train, val, cfg, train_cfg, seed=seed, name=f"{store.stem}/{size}/s{seed}", progress=False)
        members.append(res.model)
        scores.append(res.best["val_f1_macro"])
    x, lengths = torch.from_numpy(val.features), torch.from_numpy(val.num_frames).long()
    ens = Ensemble(members)
    out = {"store": store.stem, "size": size, "parameters": count_parameters(members[0]),
           "member_val_f1_macro": [round(s, 4) for s in scores],
           "member_val_f1_macro_mean": round(float(np.mean(scores)), 4),
           "member_val_f1_macro_std": round(float(np.std(scores)), 4),
           "train_seconds": round(time.time() - t0, 1)}
    for tta in (False, True):
        m = classification_metrics(val.labels, ens.predict(x, lengths, tta=tta).probs.numpy(), fs.classes)
        key = "ensemble_tta" if tta else "ensemble"
        out[key] = {k: round(m[k], 4) for k in ("accuracy", "f1_macro", "balanced_accuracy", "log_loss")}
    print(json.dumps(out), flush=True)
    return out


def pick(candidates: list[dict], margin: float) -> dict:
    """Candidates ordered cheapest first: a dearer one wins only by more than ``margin``."""
    best = candidates[0]
    for c in candidates[1:]:
        if c["ensemble"]["f1_macro"] > best["ensemble"]["f1_macro"] + margin:
            best = c
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default="work/study")
    ap.add_argument("--out", default="work/selection.json")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--margin", type=float, default=0.01)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--sizes", default="tiny,small,medium,large",
                    help="model sizes to compare (cheapest first); the 65M-parameter reference size is not "
                         "in SIZES: too slow to train on a 2-core CPU")
    ap.add_argument("--cache", default="work/selection_cache.jsonl",
                    help="finished candidates, one JSON per line: a rerun skips them")
    args = ap.parse_args()
    stores = Path(args.stores)
    seeds = list(range(args.seeds))
    train_cfg = TrainConfig(epochs=args.epochs)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    study = {"protocol": __doc__.strip().split("\n\n")[1], "seeds": seeds, "margin": args.margin,
             "sizes_compared": {s: SIZES[s] for s in args.sizes.split(",")},
             "train_config": train_cfg.to_dict(), "steps": []}
    cache = Path(args.cache)
    results = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                results[(r["store"], r["size"])] = r

    def get(store, size):
        key = (store, size)
        if key not in results:
            results[key] = run_candidate(stores / f"{store}.h5", size, seeds, train_cfg)
            with open(cache, "a") as f:
                f.write(json.dumps(results[key]) + "\n")
        return results[key]

    frames = [get(s, "small") for s in ("s16", "s32", "s73")]
    # 16 frames is measured for the record but not eligible: the product must sample more frames
    # than the VideoMAE pipeline it is compared with (16), see the performance issue.
    chosen = pick(frames[1:], args.margin)
    study["steps"].append({"question": "frames per video", "candidates": frames, "chosen": chosen["store"],
                           "note": "16 frames not eligible: the service must sample more frames than VideoMAE (16)"})
    multiscale = [chosen, get("ms73", "small")] if chosen["store"] == "s73" else [chosen]
    chosen = pick(multiscale, args.margin)
    study["steps"].append({"question": "multi-scale (1.0, 0.85, 1.15) on or off", "candidates": multiscale,
                           "chosen": "on" if chosen["store"].startswith("ms") else "off",
                           "note": "" if chosen["store"] in ("s73", "ms73") else "asked at 73 frames only"})
    sizes = [get(chosen["store"], s) for s in args.sizes.split(",")]
    chosen = pick(sizes, args.margin)
    study["steps"].append({"question": "model size", "candidates": sizes, "chosen": chosen["size"]})
    tta_on = chosen["ensemble_tta"]["f1_macro"] > chosen["ensemble"]["f1_macro"]
    study["steps"].append({"question": "TTA on by default", "chosen": "on" if tta_on else "off",
                           "val_f1_macro": {"without": chosen["ensemble"]["f1_macro"],
                                            "with": chosen["ensemble_tta"]["f1_macro"]}})
    study["decision"] = {"store": chosen["store"], "size": chosen["size"], **SIZES[chosen["size"]], "tta": tta_on}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(study, indent=1) + "\n")
    print(json.dumps(study["decision"]))


if __name__ == "__main__":
    main()
