"""Per-frame feature groups for ``scripts/style_study.py``, decoding each clip once.

For every clip, ``--frames`` frames are sampled and cut with the bundle geometry (letterbox by
default); one PyTorch pass of EfficientNet-Lite0 gives, per frame:

- ``final``: the backbone's 1280-d feature (global mean of the last stage, as served today);
- ``final_masked``: the same mean over the picture only (letterbox bands left out);
- ``mid``: mean and standard deviation over the picture of three intermediate stages (blocks 4,
  10 and 15: 40, 112 and 320 channels), 944 numbers: texture and rendering style;
- ``stats``: ``scripts/frame_stats.py`` (22 picture statistics).

    python scripts/style_extract.py ../shared/data/content4/manifest.csv --out work/style/content4.npz
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from app.data.manifest import load_dataset
from app.data.extraction import prefetch
from app.features.engine import create_backbone
from frame_stats import frame_stats  # scripts/frame_stats.py
from app.video import VideoDecodeError, sample_frames

BLOCKS = (4, 10, 15)


def picture_box(pre, h: int, w: int) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the picture inside a view (the letterbox bands left out)."""
    s = pre.crop
    if pre.geometry != "letterbox":
        return 0, 0, s, s
    scale = s / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    return (s - nw) // 2, (s - nh) // 2, nw, nh


def masked_mean_std(x: torch.Tensor, box, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x (N, C, h, w) -> mean and std over the cells that fall inside box (in view pixels)."""
    h = x.shape[2]
    k = size / h
    bx, by, bw, bh = box
    x0, y0 = int(bx // k), int(by // k)
    x1, y1 = max(x0 + 1, int(np.ceil((bx + bw) / k))), max(y0 + 1, int(np.ceil((by + bh) / k)))
    cell = x[:, :, y0:y1, x0:x1].flatten(2)
    return cell.mean(-1), cell.std(-1, unbiased=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("manifest")
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--geometry", default="letterbox")
    args = ap.parse_args()
    dataset = load_dataset(args.manifest, min_classes=1, min_per_class=1)
    bb = create_backbone("efficientnet_lite0", engine="torch", geometry=args.geometry)
    pre, module = bb.preprocessing, bb.module
    net = module.net
    grabbed: dict[int, torch.Tensor] = {}
    for k in BLOCKS:
        net._blocks[k].register_forward_hook(lambda m, i, o, k=k: grabbed.__setitem__(k, o))

    def sample(it):
        return sample_frames(it.path, args.frames, start=it.start, end=it.end, transform=bb.prepare_frame)

    rows = {k: [] for k in ("final", "final_masked", "mid", "stats")}
    ids, labels, splits, sources, paths, sizes, fps = [], [], [], [], [], [], []
    t0 = time.time()
    for it, sampled in tqdm(prefetch(sample, dataset.items), total=len(dataset.items), desc="style extract"):
        if isinstance(sampled, Exception):
            if not isinstance(sampled, (VideoDecodeError, OSError)):
                raise sampled
            print(f"skipped {it.rel}: {sampled}")
            continue
        m = sampled.metadata
        frames = np.ascontiguousarray(sampled.frames)
        n = len(frames)
        box = picture_box(pre, m.height, m.width)
        with torch.inference_mode():
            x = torch.from_numpy(frames).permute(0, 3, 1, 2).float()
            x = ((x - module.mean) * module.inv_std).contiguous(memory_format=torch.channels_last)
            last = module._trunk(x)
            final = last.mean(dim=(2, 3))
            fm, _ = masked_mean_std(last, box, pre.crop)
            mid = torch.cat([t for k in BLOCKS for t in masked_mean_std(grabbed[k], box, pre.crop)], dim=1)
        pad = lambda a: np.concatenate([a, np.zeros((args.frames - n, *a.shape[1:]), a.dtype)]) if n < args.frames else a
        rows["final"].append(pad(final.numpy()))
        rows["final_masked"].append(pad(fm.numpy()))
        rows["mid"].append(pad(mid.numpy()))
        rows["stats"].append(pad(frame_stats(frames, box)))
        ids.append(it.id), labels.append(it.label), splits.append(it.split), sources.append(it.group)
        paths.append(it.rel), sizes.append((m.width, m.height, n)), fps.append(m.fps)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, ids=np.array(ids), labels=np.array(labels), splits=np.array(splits),
                        sources=np.array(sources), paths=np.array(paths), sizes=np.array(sizes), fps=np.array(fps),
                        **{k: np.stack(v).astype(np.float32) for k, v in rows.items()})
    print(f"{len(ids)} clips in {time.time() - t0:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()
