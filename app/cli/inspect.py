"""``videoclf inspect MANIFEST [--plots DIR]``: what is in a labelled set, and what is wrong with it."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from app.cli.common import fail
from app.data.manifest import Dataset, load_dataset


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="class counts, durations, resolutions and problems of a labelled set",
                       description="Validate MANIFEST (CSV or a folder per class) and print class counts per "
                                   "split, durations, resolutions, frame rates and every problem found. With "
                                   "--plots, also write EDA plots, including a 2-D projection of mean frame features. "
                                   "Leakage between splits is looked for by bytes, by picture (re-encoded or "
                                   "resized copies) and by source.")
    p.add_argument("manifest", metavar="MANIFEST")
    p.add_argument("--plots", default=None, metavar="DIR", help="write EDA plots here")
    p.add_argument("--features", default=None, metavar="H5",
                   help="feature store for the 2-D projection (default: extract 8 frames per video)")
    p.add_argument("--no-leakage", action="store_true",
                   help="skip the content check across splits (it decodes a few frames of every item)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        ds = load_dataset(args.manifest, strict=False)
    except FileNotFoundError as exc:
        return fail(exc)
    from app.data.leakage import content_leaks, source_leaks

    ds.findings += source_leaks(ds)
    if not args.no_leakage and len(ds.splits) > 1:
        ds.findings += content_leaks(ds)
    print(describe(ds))
    if args.plots:
        from app.data.eda import write_plots
        from app.training.defaults import DEFAULT_MODEL

        files = write_plots(ds, Path(args.plots), features=args.features, progress=not args.no_progress,
                            backbone=DEFAULT_MODEL.backbone, geometry=DEFAULT_MODEL.geometry)
        print("plots: " + ", ".join(str(f) for f in files))
    return 1 if ds.errors else 0


def describe(ds: Dataset) -> str:
    lines = [f"{ds.source}: {len(ds.items)} items, {len(ds.classes)} classes, splits {ds.splits}", ""]
    counts = ds.counts()
    splits = ds.splits
    lines.append(f"{'class':20}" + "".join(f"{s:>8}" for s in splits) + f"{'total':>8}")
    for c in ds.classes:
        row = [counts.get(s, {}).get(c, 0) for s in splits]
        lines.append(f"{c:20}" + "".join(f"{n:8d}" for n in row) + f"{sum(row):8d}")
    by_class = defaultdict(list)
    for it in ds.items:
        if it.id in ds.media:
            by_class[it.label].append(ds.media[it.id])
    if by_class:
        lines += ["", f"{'class':20}{'duration s (min/median/max)':>30}{'fps (median)':>14}  resolutions (most common)"]
        for c in ds.classes:
            metas = by_class.get(c, [])
            if not metas:
                continue
            d = np.array([m.duration for m in metas])
            fps = np.median([m.fps for m in metas])
            res = Counter(f"{m.width}x{m.height}" for m in metas).most_common(3)
            lines.append(f"{c:20}{f'{d.min():.1f} / {np.median(d):.1f} / {d.max():.1f}':>30}{fps:14.1f}  "
                         + ", ".join(f"{r} ({n})" for r, n in res))
    lines.append("")
    if ds.findings:
        lines.append(f"{len(ds.errors)} error(s), {len(ds.warnings)} warning(s):")
        lines += [f"  {f.level}: {f}" for f in ds.findings]
    else:
        lines.append("no problems found")
    return "\n".join(lines)
