"""``videoclf train --manifest M --out models/NAME``"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from app.cli.common import add_device_options, fail, positive_int, scales_arg
from app.data.manifest import DatasetError, load_dataset
from app.features.backbones import BACKBONES, BackboneUnavailableError
from app.features.preprocessing import GEOMETRIES
from app.features.store import FeatureStoreError
from app.training.defaults import DEFAULT_MODEL
from app.training.member import BALANCE

# The shipped default's settings (app.training.defaults, each chosen by a study in docs/model-selection/).
DEFAULTS = DEFAULT_MODEL.to_dict()


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train an ensemble bundle on a labelled video set",
                       description="Validate the manifest, extract (or reuse) features, train the members, "
                                   "calibrate, train the baseline, evaluate on the test split if there is one, "
                                   "and write the bundle with its report. Resumable: rerun the same command.")
    p.add_argument("--manifest", required=True, help="manifest CSV (split,path,label[,start,end]) or a folder per class")
    p.add_argument("--out", required=True, help="bundle directory to write (e.g. models/default)")
    p.add_argument("--work", default=None, help="features and checkpoints (default: work/<bundle name>)")
    p.add_argument("--features", default=None, help="HDF5 feature store to use/extend (default: WORK/features.h5)")
    p.add_argument("--name", default=None, help="bundle name (default: the --out folder's name)")
    p.add_argument("--backbone", choices=sorted(BACKBONES), default=DEFAULTS["backbone"])
    p.add_argument("--geometry", choices=GEOMETRIES, default=DEFAULTS["geometry"],
                   help="how each frame is cut into the backbone's square input (docs/model-selection/geometry.json)")
    p.add_argument("--max-frames", type=positive_int, default=DEFAULTS["max_frames"])
    p.add_argument("--scales", type=scales_arg, default=DEFAULTS["scales"], help="e.g. 1.0,0.85,1.15 for multi-scale")
    p.add_argument("--members", type=positive_int, default=DEFAULTS["members"])
    p.add_argument("--calibration-folds", type=int, default=DEFAULTS["calibration_folds"],
                   help="fit the temperature and the uncertain rule on source-held-out CV predictions with this "
                        "many folds (0: on the val split, never sharpening)")
    p.add_argument("--calibration-seeds", type=positive_int, default=DEFAULTS["calibration_seeds"],
                   help="members trained per CV fold; their mean is the out-of-source ensemble")
    p.add_argument("--augment-copies", type=int, default=DEFAULTS["augment_copies"],
                   help="pixel-augmented copies of each training clip (lower resolution, zoom, flip, colour)")
    p.add_argument("--hidden", type=positive_int, default=DEFAULTS["hidden"], help="BiLSTM output size")
    p.add_argument("--lstm-layers", type=positive_int, default=DEFAULTS["lstm_layers"])
    p.add_argument("--heads", type=positive_int, default=DEFAULTS["heads"])
    p.add_argument("--dropout", type=float, default=DEFAULTS["dropout"])
    p.add_argument("--mean-pool", action=argparse.BooleanOptionalAction, default=DEFAULTS["mean_pool"],
                   help="add the mean of the projected frames to the attention-pooled vector")
    p.add_argument("--epochs", type=positive_int, default=60)
    p.add_argument("--batch-size", type=positive_int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-2)
    p.add_argument("--patience", type=positive_int, default=20, help="early stopping on val macro-F1")
    p.add_argument("--balance", choices=BALANCE, default=DEFAULTS["balance"],
                   help="how class imbalance is handled (once): loss weights, a class-balanced sampler, or "
                        "a sampler that also evens out the sources within each class (the manifest's "
                        "source column; without one, each video file is a source)")
    p.add_argument("--source-power", type=float, default=DEFAULTS["source_power"],
                   help="with --balance source: a source's share of its class goes as (its clips) ** this; "
                        "0 = every source the same share, 1 = plain class balance")
    p.add_argument("--tta", choices=["auto", "on", "off"], default="auto",
                   help="TTA default of the bundle; auto = on only if it raises val macro-F1")
    p.add_argument("--abstain-threshold", type=float, default=None,
                   help="answer 'uncertain' when the top calibrated probability is below this")
    p.add_argument("--attach", action="append", default=[], metavar="NAME=FILE",
                   help="record a JSON document (e.g. the selection study) in bundle.json under NAME and "
                        "as report/NAME.json (repeatable)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot-every", type=int, default=1, metavar="N",
                   help="redraw each member's PNG dashboard every N epochs (0: only at the end)")
    p.add_argument("--no-progress", action="store_true")
    add_device_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from app.features.engine import create_backbone
    from app.temporal.model import TemporalConfig
    from app.training.member import TrainConfig
    from app.training.pipeline import TrainJob, train_bundle

    out = Path(args.out)
    name = args.name or out.name
    try:
        attached = _read_attachments(args.attach)
    except ValueError as exc:
        return fail(exc)
    work = Path(args.work) if args.work else Path("work") / name
    started = time.time()
    try:
        dataset = load_dataset(args.manifest, seed=args.seed)
        for w in dataset.warnings:
            print(f"videoclf: warning: {w}")
        backbone = create_backbone(args.backbone, device=args.device, engine=args.engine,
                                   weights=args.backbone_weights, geometry=args.geometry)
        model = TemporalConfig(input_dim=backbone.feature_dim, num_classes=len(dataset.classes),
                               hidden_dim=args.hidden, lstm_layers=args.lstm_layers, heads=args.heads,
                               dropout=args.dropout, mean_pool=args.mean_pool)
        train = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                            weight_decay=args.weight_decay, patience=args.patience, balance=args.balance,
                            source_power=args.source_power)
        job = TrainJob(dataset=dataset, out=out, work=work, backbone=backbone, max_frames=args.max_frames,
                       scales=args.scales, model=model, train=train, members=args.members, seed=args.seed,
                       tta=args.tta, abstain_threshold=args.abstain_threshold, name=name,
                       features=Path(args.features) if args.features else None, progress=not args.no_progress,
                       augment_copies=max(0, args.augment_copies), extra=attached,
                       calibration_folds=max(0, args.calibration_folds), calibration_seeds=args.calibration_seeds,
                       plot_every=max(0, args.plot_every))
        bundle_dir = train_bundle(job)
    except (DatasetError, BackboneUnavailableError, FeatureStoreError, FileNotFoundError, ValueError) as exc:
        return fail(exc)
    from app.bundle import load_bundle

    meta = load_bundle(bundle_dir).meta
    print(f"wrote {bundle_dir} in {time.time() - started:.0f} s "
          f"({len(meta['members'])} members, {len(meta['excluded_members'])} exclusion notes, "
          f"TTA default {'on' if meta['inference']['tta_default'] else 'off'})")
    for split, systems in meta["metrics"].items():
        for system, m in systems.items():
            if "f1_macro" not in m:  # e.g. the source-CV protocol note
                continue
            print(f"  {split:5} {system:14} acc {m['accuracy']:.3f}  macro-F1 {m['f1_macro']:.3f}  ECE {m['ece']:.3f}")
    return 0


def _read_attachments(specs: list[str]) -> dict:
    out = {}
    for spec in specs:
        name, _, file = spec.partition("=")
        if not name.isidentifier() or not file:
            raise ValueError(f"--attach takes NAME=FILE with NAME a plain word, got {spec!r}")
        try:
            out[name] = json.loads(Path(file).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"--attach {spec}: cannot read a JSON document ({exc})") from None
    return out
