"""``videoclf evaluate --manifest M --model DIR --out DIR [--split NAME]``"""
from __future__ import annotations

from pathlib import Path

from app.bundle import BundleError, default_bundle_dir
from app.cli.common import add_device_options, fail
from app.data.manifest import DatasetError, load_dataset
from app.features.backbones import BackboneUnavailableError
from app.features.store import FeatureStoreError


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a bundle on a labelled set: report.json and plots",
                       description="Extract features with the bundle's settings (resumable, into OUT/features.h5 "
                                   "unless --features), then score every member, the ensemble, the ensemble "
                                   "with TTA and the baseline.")
    p.add_argument("--manifest", required=True)
    p.add_argument("--model", default=None, metavar="DIR", help=f"bundle (default: {default_bundle_dir()})")
    p.add_argument("--out", required=True, help="directory for report.json and the plots")
    p.add_argument("--split", default=None, help="only rows of this split (default: every row)")
    p.add_argument("--features", default=None, help="HDF5 feature store to use/extend")
    p.add_argument("--no-progress", action="store_true")
    add_device_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from app.bundle import load_bundle
    from app.evaluation.report import evaluate, summary_table
    from app.data.extraction import extract_dataset
    from app.features.engine import create_backbone
    from app.features.store import read_features

    out = Path(args.out)
    try:
        bundle = load_bundle(args.model or default_bundle_dir(), load_baseline=True)
        dataset = load_dataset(args.manifest, min_classes=1, min_per_class=1)
        unknown = sorted(set(dataset.classes) - set(bundle.classes))
        if unknown:
            raise ValueError(f"labels {unknown} are not classes of {bundle.name} ({bundle.classes})")
        if args.split and args.split not in dataset.splits:
            raise ValueError(f"no split {args.split!r} in the manifest; it has {dataset.splits}")
        backbone = create_backbone(bundle.backbone, device=args.device, engine=args.engine,
                                   weights=args.backbone_weights, geometry=bundle.geometry)
        store = Path(args.features) if args.features else out / "features.h5"
        out.mkdir(parents=True, exist_ok=True)
        splits = [args.split] if args.split else None
        summary = extract_dataset(dataset, store, backbone, max_frames=bundle.max_frames, scales=bundle.scales,
                                  splits=splits, progress=not args.no_progress)
        fs = read_features(store)
        wanted = {it.id: it for it in dataset.items if not args.split or it.split == args.split}
        fs = fs.take([i for i, item in enumerate(fs.ids) if item in wanted])
        report = evaluate(bundle, fs, out, split=args.split, source=str(args.manifest))
    except (BundleError, DatasetError, BackboneUnavailableError, FeatureStoreError, FileNotFoundError,
            ValueError) as exc:
        return fail(exc)
    print(f"{out / 'report.json'}: {report['n']} videos" + (f" (split {args.split})" if args.split else ""))
    if summary.failed:
        print(f"  {len(summary.failed)} video(s) could not be decoded and are not counted:")
        for item, err in summary.failed.items():
            print(f"    {item}: {err}")
    print(summary_table(report))
    return 0
