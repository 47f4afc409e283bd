"""Does pixel augmentation of the training clips make the model rely less on resolution shortcuts?

Trains the chosen configuration with and without ``--copies`` augmented copies of each training
clip (app.features.augment.PixelAugment) and scores both ensembles on the clean val split and on
val clips resampled to a low resolution (short side ``--sides`` px). In content4, low resolution
means Atari Gaming; a model that learned that shortcut calls other low-resolution video Gaming.

    python scripts/robustness_study.py --manifest ../shared/data/content4/manifest.csv \\
        --clean work/default/features.h5 --max-frames 73 --size tiny --work work/robust2 \\
        --out docs/model-selection/robustness.json
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch

from app.data.manifest import load_dataset
from app.evaluation.metrics import classification_metrics
from app.features.augment import PixelAugment, degrade, original_id
from app.data.extraction import extract_dataset
from app.features.engine import create_backbone
from app.features.store import read_features
from app.temporal.ensemble import Ensemble
from app.temporal.model import MODEL_SIZES as SIZES, TemporalConfig
from app.training.baseline import baseline_probs, train_baseline
from app.training.member import TrainConfig, train_member



def score(members, fs) -> dict:
    x, lengths = torch.from_numpy(fs.features), torch.from_numpy(fs.num_frames).long()
    m = classification_metrics(fs.labels, Ensemble(members).predict(x, lengths).probs.numpy(), fs.classes)
    return {"accuracy": round(m["accuracy"], 4), "f1_macro": round(m["f1_macro"], 4),
            "per_class_f1": {c: round(v["f1"], 3) for c, v in m["per_class"].items()},
            "confusion_matrix": m["confusion_matrix"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--clean", required=True, help="existing store with the clean train/val rows (copied, then extended)")
    ap.add_argument("--max-frames", type=int, required=True)
    ap.add_argument("--scales", default="1.0")
    ap.add_argument("--size", default="small", choices=sorted(SIZES))
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--sides", default="96")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--work", default="work/robust")
    ap.add_argument("--out", default="work/robustness.json")
    args = ap.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    ds = load_dataset(args.manifest)
    backbone = create_backbone("efficientnet_lite0")
    store = work / "train_aug.h5"
    if not store.exists():
        shutil.copy(args.clean, store)
    t0 = time.time()
    extract_dataset(ds, store, backbone, max_frames=args.max_frames, scales=scales, splits=["train", "val"],
                    augment=PixelAugment(seed=0), copies=args.copies)
    shifted = {}
    for side in (int(s) for s in args.sides.split(",")):
        path = work / f"val_low{side}.h5"
        extract_dataset(ds, path, backbone, max_frames=args.max_frames, scales=scales, splits=["val"],
                        shift=degrade(side))
        shifted[f"val_low{side}"] = read_features(path).split("val")
    print(f"features ready in {time.time() - t0:.0f} s", flush=True)
    fs = read_features(store)
    clean_train = fs.take([i for i, (s, k) in enumerate(zip(fs.splits, fs.ids)) if s == "train" and original_id(k) == k])
    aug_train = fs.split("train")
    val = fs.split("val")
    cfg = TemporalConfig(input_dim=fs.features.shape[-1], num_classes=len(fs.classes), dropout=0.3, **SIZES[args.size])
    result = {"protocol": __doc__.strip().split("\n\n")[0], "copies": args.copies, "size": args.size,
              "max_frames": args.max_frames, "scales": scales, "augment": PixelAugment(seed=0).to_dict(),
              "n_train": {"clean": len(clean_train), "with_copies": len(aug_train)}, "systems": {}}
    for name, train in (("without_augmentation", clean_train), ("with_augmentation", aug_train)):
        members = [train_member(train, val, cfg, TrainConfig(), seed=s, progress=False).model
                   for s in range(args.seeds)]
        result["systems"][name] = {"val": score(members, val), **{k: score(members, v) for k, v in shifted.items()}}
        mlp, _ = train_baseline(train, val)
        result["systems"][name]["baseline"] = {
            k: round(classification_metrics(v.labels, baseline_probs(mlp, v), fs.classes)["f1_macro"], 4)
            for k, v in {"val": val, **shifted}.items()}
        print(name, json.dumps(result["systems"][name]), flush=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
