"""Extract the features the model-selection study compares, decoding each clip once.

For every clip, frames are sampled for several samplings at once (73 frames; scales 0.85 and
1.15 for multi-scale; 32 and 16 frames), the backbone runs once over the union of frames, and one
HDF5 store per sampling is written (resumable), exactly as ``videoclf extract`` would write it:

    python scripts/study_extract.py ../shared/data/content4/manifest.csv --out work/study
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
from app.features.extract import fuse_scales
from app.features.store import FeatureStore
from app.video import VideoDecodeError, sample_frames

BASE = 73
# store name -> indices into the sampled scales below
SCALES = (1.0, 0.85, 1.15, 32 / BASE, 16 / BASE)
STORES = {
    "s73": (0,),
    "ms73": (0, 1, 2),
    "s32": (3,),
    "s16": (4,),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--out", required=True)
    ap.add_argument("--backbone", default="efficientnet_lite0")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(args.manifest)
    backbone = create_backbone(args.backbone)
    info = backbone.describe()
    stores = {}
    for name, idx in STORES.items():
        scales = [SCALES[i] for i in idx]
        frames = round(BASE * scales[0])
        stores[name] = FeatureStore(out / f"{name}.h5", classes=dataset.classes, backbone=info,
                                    max_frames=frames, scales=[1.0] + [s / scales[0] for s in scales[1:]])
    done = set.intersection(*(s.ids() for s in stores.values()))
    todo = [it for it in dataset.items if it.id not in done]
    t0 = time.time()
    n_frames = 0

    def sample(it):
        return sample_frames(it.path, BASE, scales=SCALES, start=it.start, end=it.end,
                             transform=backbone.prepare_frame)

    for it, sampled in tqdm(prefetch(sample, todo), total=len(todo), desc="study extract"):
        if isinstance(sampled, Exception):
            if not isinstance(sampled, (VideoDecodeError, OSError)):
                raise sampled
            print(f"skipped {it.rel}: {sampled}")
            continue
        feats = backbone(sampled.frames)
        n_frames += len(feats)
        m = sampled.metadata
        for name, idx in STORES.items():
            if it.id in stores[name].ids():
                continue
            chosen = [sampled.scale_indices[i] for i in idx]
            base = chosen[0]
            f = feats[base] if len(chosen) == 1 else fuse_scales(feats, sampled.timestamps, chosen)
            stores[name].append(item_id=it.id, path=it.rel, split=it.split, label=it.label,
                                features=np.asarray(f, dtype=np.float32), timestamps=sampled.timestamps[base],
                                duration=m.duration, fps=m.fps, width=m.width, height=m.height)
    for s in stores.values():
        s.close()
    dt = time.time() - t0
    print(f"{len(todo)} clips, {n_frames} frames in {dt:.0f} s ({n_frames / max(dt, 1e-9):.0f} frames/s)")


if __name__ == "__main__":
    main()
