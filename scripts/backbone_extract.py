"""Add another backbone's per-frame features to a ``scripts/style_extract.py`` file.

The clips of the file are sampled again exactly as ``style_extract`` sampled them (same frames,
same geometry) and run through the backbone as serving runs it (``create_backbone``, engine
chosen for this machine); the features are stored under ``--key`` beside the others, so
``scripts/style_study.py`` can score them (its ``lite1``, ``lite2`` and ``final+lite2`` sets).

    python scripts/backbone_extract.py work/style/content4.npz ../shared/data/content4/manifest.csv \\
        --backbone efficientnet_lite2 --key lite2
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from tqdm import tqdm

from app.data.extraction import prefetch
from app.data.manifest import load_dataset
from app.features.engine import create_backbone
from app.video import sample_frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("features", help="an .npz written by scripts/style_extract.py (updated in place)")
    ap.add_argument("manifest", help="the manifest that file was extracted from")
    ap.add_argument("--backbone", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--geometry", default="letterbox")
    args = ap.parse_args()
    data = dict(np.load(args.features))
    frames_per_clip = data["final"].shape[1]
    by_id = {it.id: it for it in load_dataset(args.manifest, min_classes=1, min_per_class=1).items}
    items = [by_id[i] for i in data["ids"]]
    bb = create_backbone(args.backbone, geometry=args.geometry)

    def sample(it):
        return sample_frames(it.path, frames_per_clip, start=it.start, end=it.end, transform=bb.prepare_frame)

    out = np.zeros((len(items), frames_per_clip, bb.spec.feature_dim), np.float32)
    t0 = time.time()
    for k, (it, sampled) in enumerate(tqdm(prefetch(sample, items), total=len(items), desc=args.key)):
        if isinstance(sampled, Exception):
            raise sampled  # style_extract decoded this clip: it must decode again
        feats = bb(np.ascontiguousarray(sampled.frames))
        out[k, : len(feats)] = feats
    data[args.key] = out
    np.savez_compressed(args.features, **data)
    print(f"{len(items)} clips, {args.backbone} ({bb.engine}) in {time.time() - t0:.0f} s -> {args.features}:{args.key}")


if __name__ == "__main__":
    main()
