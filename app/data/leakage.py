"""Leakage between splits beyond identical bytes: the same picture re-encoded or resized, and the
same ``source`` named in several splits.

Content: each item is reduced to a few small grey thumbnails at fixed fractions of its span
(32x32, each normalised to zero mean and unit variance, so scale, brightness and codec drop out),
and two items of different splits whose thumbnails correlate above ``SIMILAR`` on average are
reported as the same content. Near-flat thumbnails (a blank slide, a fade) say nothing and are
left out of the comparison; an item with fewer than two informative ones is not compared.
"""
from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from app.data.manifest import Dataset, Finding
from app.video import VideoDecodeError, sample_frames

FRAMES = 6
SIDE = 32
SIMILAR = 0.98  # mean correlation: re-encoded/resized copies measured 0.996-1.0, different Atari games up to 0.95
FLAT_STD = 4.0  # grey levels: a thumbnail flatter than this is not compared


def signature(frames: np.ndarray) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, SIDE*SIDE) normalised thumbnails; rows of NaN for flat ones."""
    rows = []
    for f in frames:
        grey = cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY)
        small = cv2.resize(grey, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
        std = small.std()
        rows.append((small - small.mean()) / std if std >= FLAT_STD else np.full(small.shape, np.nan, np.float32))
    return np.stack(rows)


def _signatures(ds: Dataset, workers: int) -> dict[str, np.ndarray]:
    def one(it):
        try:
            return it.id, signature(sample_frames(it.path, FRAMES, start=it.start, end=it.end).frames)
        except (VideoDecodeError, OSError):
            return it.id, None  # already reported by the media check

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return {i: s for i, s in pool.map(one, ds.items) if s is not None and len(s) == FRAMES}


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean correlation of the thumbnails both items have informative; -1 when fewer than two."""
    ok = ~(np.isnan(a).any(1) | np.isnan(b).any(1))
    if ok.sum() < 2:
        return -1.0
    return float((a[ok] * b[ok]).mean(1).mean())


def content_leaks(ds: Dataset, *, workers: int = 4) -> list[Finding]:
    """Errors for items of different splits that show the same pictures (identical files are the
    manifest check's; they are reported there)."""
    sigs = _signatures(ds, workers)
    items = [it for it in ds.items if it.id in sigs]
    findings = []
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            if a.split == b.split or ds.hashes.get(a.path, a.id) == ds.hashes.get(b.path, b.id):
                continue
            s = similarity(sigs[a.id], sigs[b.id])
            if s >= SIMILAR:
                findings.append(Finding("error", f"{a.rel} ({a.split}) and {b.rel} ({b.split}) show the same "
                                                 f"pictures (similarity {s:.2f}; a re-encoded or resized copy?): "
                                                 "leakage between splits", a.row))
    return findings


def source_leaks(ds: Dataset) -> list[Finding]:
    """Warnings for a ``source`` named in several splits: fine when it covers separate works (one
    repository's several films), leakage when it is one work split up."""
    splits = defaultdict(lambda: defaultdict(int))
    for it in ds.items:
        if it.source:
            splits[it.source][it.split] += 1
    return [Finding("warning", f"source {src!r} is in several splits ("
                               + ", ".join(f"{s}: {n}" for s, n in sorted(by.items()))
                               + "); if these clips are one work, the split leaks")
            for src, by in sorted(splits.items()) if len(by) > 1]
