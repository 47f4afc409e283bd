"""Picture statistics of each frame: how it was made rather than what it shows.

The four default classes differ as much in how the picture is made as in what it shows: a camera
adds sensor noise and blur and never gives two identical neighbouring pixels; drawn and rendered
pictures have flat colour regions and sharp edges; screen content has few colours, a dominant
background and text edges. ImageNet features describe the objects; these numbers describe the
making, and they are measured on the picture the backbone sees (the frame scaled to the model's
input size, bands left out), so they do not depend on the source's resolution.

    stats = frame_stats(views, region)     # (N, S, S, 3) uint8 views -> (N, len(STAT_NAMES)) float32

Every value lies in [0, 1] (fractions, or scaled by a fixed constant), so the numbers sit beside
the backbone's features without a fitted scaler. Temporal values compare each frame with the next
sampled one (the last with the one before it).
"""
from __future__ import annotations

import numpy as np

STAT_NAMES = (
    "flat_lt1", "flat_lt3", "flat_lt8", "edge_gt40", "edge_gt100", "grad_mean", "noise",
    "sat_mean", "sat_std", "gray_share", "luma_mean", "luma_std", "dark_share", "bright_share",
    "luma_entropy", "colours_90", "colour_entropy", "top1_colour", "top8_colour",
    "diff_mean", "changed_gt12", "unchanged_lt2",
)


def frame_stats(views: np.ndarray, region: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, len(STAT_NAMES)) float32; ``region`` (x, y, w, h) is the picture
    inside each view (letterbox bands excluded), default the whole view."""
    if views.ndim != 4 or views.shape[-1] != 3 or views.dtype != np.uint8:
        raise ValueError(f"frame_stats expects (N, H, W, 3) uint8, got {views.dtype} {views.shape}")
    if region is not None:
        x, y, w, h = region
        views = views[:, y:y + h, x:x + w]
    n = len(views)
    out = np.zeros((n, len(STAT_NAMES)), dtype=np.float32)
    if n == 0 or views.shape[1] < 3 or views.shape[2] < 3:
        return out
    rgb = views.astype(np.float32)
    luma = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (N, h, w)
    for i in range(n):
        out[i, :19] = _still(views[i], rgb[i], luma[i])
    out[:, 19:] = _motion(luma)
    return out


def _still(u8: np.ndarray, rgb: np.ndarray, g: np.ndarray) -> list[float]:
    grad = np.abs(np.diff(g, axis=1))[:-1] + np.abs(np.diff(g, axis=0))[:, :-1]
    lap = np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])
    smooth = grad[:-1, :-1][:lap.shape[0], :lap.shape[1]] < 8
    noise = float(lap[smooth].mean()) / 16 if smooth.any() else 0.0
    hi, lo = rgb.max(-1), rgb.min(-1)
    sat = (hi - lo) / np.maximum(hi, 1.0)
    hist = np.bincount(np.clip(g, 0, 255).astype(np.int32).ravel() >> 3, minlength=32) / g.size
    q = u8 >> 4
    codes = ((q[..., 0].astype(np.int32) << 8) | (q[..., 1].astype(np.int32) << 4) | q[..., 2]).ravel()
    counts = np.sort(np.bincount(codes, minlength=4096))[::-1] / codes.size
    covered = int(np.searchsorted(np.cumsum(counts), 0.9) + 1)
    return [
        float((grad < 1).mean()), float((grad < 3).mean()), float((grad < 8).mean()),
        float((grad > 40).mean()), float((grad > 100).mean()), float(grad.mean()) / 255, min(noise, 1.0),
        float(sat.mean()), float(sat.std()), float((sat < 0.1).mean()),
        float(g.mean()) / 255, float(g.std()) / 128, float((g < 20).mean()), float((g > 235).mean()),
        _entropy(hist) / 5, np.log2(covered) / 12, _entropy(counts) / 12, float(counts[0]), float(counts[:8].sum()),
    ]


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _motion(luma: np.ndarray) -> np.ndarray:
    """(N, h, w) -> (N, 3): mean |difference| to the next frame, share changed > 12, share < 2."""
    n = len(luma)
    if n < 2:
        return np.zeros((n, 3), dtype=np.float32)
    d = np.abs(np.diff(luma, axis=0))  # (N - 1, h, w): frame i vs i + 1
    per = np.stack([d.mean(axis=(1, 2)) / 64, (d > 12).mean(axis=(1, 2)), (d < 2).mean(axis=(1, 2))], axis=1)
    return np.clip(np.concatenate([per, per[-1:]]), 0, 1).astype(np.float32)
