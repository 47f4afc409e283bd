"""Extract features for every frame geometry at once, decoding each clip once.

For each clip, ``--frames`` frames are sampled; every frame is cut by every geometry of
``app.features.preprocessing.GEOMETRIES`` (the views side by side), the backbone runs over each
geometry's views, and one HDF5 store per geometry is written (resumable), with the same content
``videoclf extract`` would write for a bundle of that geometry:

    python scripts/geometry_extract.py ../shared/data/content4/manifest.csv --out work/geometry --frames 16
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app.data.manifest import load_dataset
from app.data.extraction import prefetch
from app.features.engine import create_backbone
from app.features.preprocessing import GEOMETRIES
from app.features.store import FeatureStore
from app.video import VideoDecodeError, sample_frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    ap.add_argument("--geometry", action="append", choices=GEOMETRIES, default=None, help="default: all")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.manifest, min_classes=1, min_per_class=1)
    geometries = args.geometry or list(GEOMETRIES)
    backbones = {g: create_backbone(args.backbone, geometry=g) for g in geometries}
    stores = {g: FeatureStore(out / f"{g}.h5", classes=dataset.classes, backbone=b.describe(),
                              max_frames=args.frames, scales=[1.0]) for g, b in backbones.items()}
    done = set.intersection(*(s.ids() for s in stores.values()))
    todo = [it for it in dataset.items if it.id not in done]
    widths = [b.preprocessing.frame_shape[1] for b in backbones.values()]
    edges = np.cumsum([0, *widths])

    def cut_all(rgb):  # every geometry's views side by side: one decode serves all stores
        return np.concatenate([b.prepare_frame(rgb) for b in backbones.values()], axis=1)

    def sample(it):
        return sample_frames(it.path, args.frames, start=it.start, end=it.end, transform=cut_all)

    t0 = time.time()
    for it, sampled in tqdm(prefetch(sample, todo), total=len(todo), desc="geometry extract"):
        if isinstance(sampled, Exception):
            if not isinstance(sampled, (VideoDecodeError, OSError)):
                raise sampled
            print(f"skipped {it.rel}: {sampled}")
            continue
        m = sampled.metadata
        for k, (g, b) in enumerate(backbones.items()):
            if it.id in stores[g].ids():
                continue
            feats = b(np.ascontiguousarray(sampled.frames[:, :, edges[k]:edges[k + 1]]))
            stores[g].append(item_id=it.id, path=it.rel, split=it.split, label=it.label, features=feats,
                             timestamps=sampled.timestamps, duration=m.duration, fps=m.fps, width=m.width,
                             height=m.height)
    for s in stores.values():
        s.close()
    print(f"{len(todo)} clips in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
