"""``videoclf extract MANIFEST --out features.h5``"""
from __future__ import annotations

from app.bundle import BundleError, default_bundle_dir, load_bundle
from app.cli.common import add_device_options, fail, positive_int, scales_arg
from app.data.manifest import DatasetError, load_dataset
from app.features.backbones import BACKBONES, BackboneUnavailableError
from app.features.preprocessing import GEOMETRIES
from app.features.store import FeatureStoreError


def add_parser(sub) -> None:
    p = sub.add_parser("extract", help="extract per-frame features of a labelled dataset into HDF5",
                       description="Validate MANIFEST (CSV or a folder per class), then append the features of "
                                   "every video not yet in --out (resumable). Backbone, frame count and scales "
                                   "default to those of --model, so the features match what it serves.")
    p.add_argument("manifest", metavar="MANIFEST")
    p.add_argument("--out", required=True, help="HDF5 feature store to create or extend")
    p.add_argument("--model", default=None, metavar="DIR",
                   help=f"take backbone, max frames and scales from this bundle (default: {default_bundle_dir()})")
    p.add_argument("--backbone", choices=sorted(BACKBONES), default=None, help="override the bundle's backbone")
    p.add_argument("--geometry", choices=GEOMETRIES, default=None, help="override the bundle's frame geometry")
    p.add_argument("--max-frames", type=positive_int, default=None, help="override the bundle's frame count")
    p.add_argument("--scales", type=scales_arg, default=None, help="override the bundle's scales, e.g. 1.0,0.85,1.15")
    p.add_argument("--split", action="append", default=None, help="only this split (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_device_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from app.data.extraction import extract_dataset
    from app.features.engine import create_backbone

    try:
        settings = sampling_settings(args.model, args.backbone, args.max_frames, args.scales, args.geometry)
        dataset = load_dataset(args.manifest, min_classes=1, min_per_class=1)
        backbone = create_backbone(settings["backbone"], device=args.device, engine=args.engine,
                                   weights=args.backbone_weights, geometry=settings["geometry"])
        summary = extract_dataset(dataset, args.out, backbone, max_frames=settings["max_frames"],
                                  scales=settings["scales"], splits=args.split, progress=not args.no_progress)
    except (DatasetError, BundleError, BackboneUnavailableError, FeatureStoreError, FileNotFoundError,
            ValueError) as exc:
        return fail(exc)
    print(f"{args.out}: {summary.written} written, {summary.skipped} already present, "
          f"{len(summary.failed)} failed")
    for item_id, err in summary.failed.items():
        print(f"  failed: {item_id}: {err}")
    return 1 if summary.failed else 0


def sampling_settings(model: str | None, backbone: str | None, max_frames: int | None,
                      scales: list[float] | None, geometry: str | None = None) -> dict:
    """Backbone, max_frames, scales and geometry: explicit values win, then the bundle's."""
    if backbone and max_frames and scales and geometry:
        return {"backbone": backbone, "max_frames": max_frames, "scales": scales, "geometry": geometry}
    bundle = load_bundle(model or default_bundle_dir())
    return {"backbone": backbone or bundle.backbone, "max_frames": max_frames or bundle.max_frames,
            "scales": scales or bundle.scales, "geometry": geometry or bundle.geometry}
