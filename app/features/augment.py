"""Pixel-level augmentation of training clips, applied before the backbone's own preprocessing.

The content4 datasheet warns that resolution, sharpness and frame shape correlate with the class
(Atari Gaming is 160 px wide and upscaled; Lottie animations are square, clean and sharp). Each
augmented copy of a training clip gets one random draw, applied to all its frames: a lower
resolution (down to a 64 px short side), a zoomed crop, a horizontal flip, brightness, contrast
and saturation changes, sometimes greyscale. Copies are stored as extra training rows
(``<id>@aug<k>``); validation, test and serving never see augmentation.

Draws are seeded by (seed, item id, copy), so a rerun extracts identical copies.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Callable

import cv2
import numpy as np

COPY_MARK = "@aug"


def copy_id(item_id: str, copy: int) -> str:
    """The store row id of augmented copy ``copy`` (1, 2, ...) of a clip."""
    return f"{item_id}{COPY_MARK}{copy}"


def original_id(row_id: str) -> str:
    """The clip a store row comes from: itself, or the clip an augmented copy was made of."""
    return row_id.split(COPY_MARK)[0]


@dataclass(frozen=True)
class PixelAugment:
    seed: int = 0
    lowres_prob: float = 0.5  # resample to a short side in [min_side, 256]
    min_side: int = 64
    zoom_prob: float = 0.5  # crop a window keeping [min_area, 1] of the frame, aspect kept
    min_area: float = 0.5
    flip_prob: float = 0.5
    jitter: float = 0.2  # brightness, contrast, saturation factors in [1 - j, 1 + j]
    gray_prob: float = 0.1

    def to_dict(self) -> dict:
        return asdict(self)

    def for_clip(self, item_id: str, copy: int) -> Callable[[np.ndarray], np.ndarray]:
        """The transform for one copy of one clip (RGB uint8 in, RGB uint8 out)."""
        digest = hashlib.sha256(f"{self.seed}|{item_id}|{copy}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        side = int(rng.integers(self.min_side, 257)) if rng.random() < self.lowres_prob else None
        area = float(rng.uniform(self.min_area, 1.0)) if rng.random() < self.zoom_prob else 1.0
        cx, cy = rng.random(), rng.random()
        flip = rng.random() < self.flip_prob
        b, c, s = (float(rng.uniform(1 - self.jitter, 1 + self.jitter)) for _ in range(3))
        gray = rng.random() < self.gray_prob

        def apply(rgb: np.ndarray) -> np.ndarray:
            h, w = rgb.shape[:2]
            if area < 1.0:
                k = np.sqrt(area)
                ch, cw = max(1, int(h * k)), max(1, int(w * k))
                y0, x0 = int((h - ch) * cy), int((w - cw) * cx)
                rgb = rgb[y0:y0 + ch, x0:x0 + cw]
                h, w = ch, cw
            if side is not None and min(h, w) > side:
                f = side / min(h, w)
                rgb = cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
            if flip:
                rgb = rgb[:, ::-1]
            x = rgb.astype(np.float32)
            mean = x.mean()
            x = (x - mean) * c + mean * b  # contrast around the mean, then brightness
            grey = x.mean(axis=2, keepdims=True)
            x = grey + (x - grey) * (0.0 if gray else s)
            return np.clip(x, 0, 255).astype(np.uint8)

        return apply


def degrade(short_side: int) -> Callable[[np.ndarray], np.ndarray]:
    """A fixed low-resolution shift (for robustness checks): resample to ``short_side`` pixels."""
    def apply(rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if min(h, w) <= short_side:
            return rgb
        f = short_side / min(h, w)
        return cv2.resize(rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    return apply
