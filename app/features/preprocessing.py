"""Per-backbone frame preprocessing: one definition used by training, extraction and serving.

The geometric part turns a decoded uint8 frame into the square ``crop x crop`` view(s) the network
sees, as frames are decoded, so only small views are held in memory. The photometric part
(mean/std) runs inside the backbone's forward pass, on the device, so the same numbers reach the
network whichever engine runs it.

The frame geometry is a setting of the bundle (``geometry``), because what is cut away decides what
the model can learn from (a 16:9 centre square drops 44% of the picture: the HUD, the toolbar, the
letterbox bands, the slide margins):

- ``center_crop``: resize the shorter side to ``resize``, take the centred square (the original setting);
- ``resize``: the whole frame squeezed to ``crop x crop`` (aspect not kept);
- ``letterbox``: the whole frame fitted inside the square, aspect kept, black bands;
- ``tiles``: ``tiles`` squares of the shorter side's size spread evenly along the longer side (they
  overlap, and together cover the whole frame); each is a view, and the backbone averages their
  features into the frame's feature.

Every view is a square region of the source frame (``regions``), so anything computed on the views
(the picture itself, a Grad-CAM heatmap) maps back onto the whole frame with ``to_frame``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

# These per-frame resizes are small; OpenCV's own thread pool costs more than it gains on them
# (measured 2.2 ms -> 1.3 ms per 640x360 frame), and callers parallelise across videos instead.
cv2.setNumThreads(1)

GEOMETRIES = ("center_crop", "resize", "letterbox", "tiles")
_LAYOUTS = {
    "center_crop": "centre square (shorter side scaled to resize)",
    "resize": "whole frame scaled to crop x crop (aspect not kept)",
    "letterbox": "whole frame fitted in the square, aspect kept, black bands",
    "tiles": "N squares of the shorter side spread along the longer side, features averaged",
}


@dataclass(frozen=True)
class Preprocessing:
    resize: int  # center_crop: the shorter side is resized to this before the crop
    crop: int  # the square side the network sees
    mean: tuple[float, float, float]  # RGB, on the 0..255 scale
    std: tuple[float, float, float]
    resampling: str = "box-then-bilinear"  # how ``prepare`` resizes; part of what a bundle was trained on
    geometry: str = "center_crop"  # one of GEOMETRIES
    tiles: int = 3  # views per frame with geometry "tiles"

    def __post_init__(self):
        if self.resampling != "box-then-bilinear":
            raise ValueError(f"unknown resampling {self.resampling!r}; this code implements 'box-then-bilinear'")
        if self.geometry not in GEOMETRIES:
            raise ValueError(f"unknown geometry {self.geometry!r}; choose one of {list(GEOMETRIES)}")
        if self.geometry == "tiles" and self.tiles < 2:
            raise ValueError(f"geometry 'tiles' needs tiles >= 2, got {self.tiles}")

    @property
    def views(self) -> int:
        """Square views per frame: ``prepare`` returns them side by side, (crop, crop * views, 3)."""
        return self.tiles if self.geometry == "tiles" else 1

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        return self.crop, self.crop * self.views, 3

    def with_geometry(self, geometry: str) -> "Preprocessing":
        return Preprocessing(self.resize, self.crop, self.mean, self.std, self.resampling, geometry, self.tiles)

    def regions(self, h: int, w: int) -> list[tuple[float, float, float, float]]:
        """The square source regions (x0, y0, side_x, side_y) of an (h, w) frame, one per view.

        A region can reach outside the frame (letterbox: the bands); ``resize`` has a non-square one.
        """
        if self.geometry == "resize":
            return [(0.0, 0.0, float(w), float(h))]
        if self.geometry == "letterbox":
            side = float(max(h, w))
            return [((w - side) / 2, (h - side) / 2, side, side)]
        if self.geometry == "center_crop":
            side = float(max(1, round(min(h, w) * self.crop / self.resize)))
            return [(float(max(0, (w - side) // 2)), float(max(0, (h - side) // 2)), side, side)]
        side = float(min(h, w))
        spread = np.linspace(0.0, max(h, w) - side, self.tiles)
        return [(float(o), 0.0, side, side) if w >= h else (0.0, float(o), side, side) for o in spread]

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """One decoded RGB frame (H, W, 3) uint8 -> its views side by side, (crop, crop * views, 3) uint8.

        Each view is cut from the source and then resized (the same picture as resize-then-crop,
        less work): an integer-factor box reduction (INTER_AREA's fast path) while the source is over
        twice the target size, then bilinear for the last step. Bilinear there is 9x faster than
        INTER_AREA and its features differ little (mean cosine 0.995 on content4 frames through
        Lite0); over 2x, the box filter keeps it from aliasing.
        """
        h, w = rgb.shape[:2]
        if self.geometry == "letterbox":
            return self._letterbox(rgb)
        views = []
        for x0, y0, sx, sy in self.regions(h, w):
            x, y = int(round(x0)), int(round(y0))
            views.append(_shrink(rgb[y:y + int(round(sy)), x:x + int(round(sx))], self.crop, self.crop))
        return views[0] if len(views) == 1 else np.ascontiguousarray(np.concatenate(views, axis=1))

    def _letterbox(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        scale = self.crop / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        out = np.zeros((self.crop, self.crop, 3), dtype=np.uint8)
        y0, x0 = (self.crop - nh) // 2, (self.crop - nw) // 2
        out[y0:y0 + nh, x0:x0 + nw] = _shrink(rgb, nw, nh)
        return out

    def split_views(self, frames: np.ndarray) -> np.ndarray:
        """(N, crop, crop * views, C...) -> (N * views, crop, crop, C...), views of a frame adjacent."""
        n, s, v = len(frames), self.crop, self.views
        if v == 1:
            return frames
        x = frames.reshape(n, s, v, s, *frames.shape[3:])
        return np.ascontiguousarray(np.moveaxis(x, 2, 1).reshape(n * v, s, s, *frames.shape[3:]))

    def to_frame(self, views: np.ndarray, h: int, w: int, *, short_side: int | None = None) -> np.ndarray:
        """Map what was computed on a frame's views back onto the whole frame.

        ``views``: (crop, crop * views[, C]) — the prepared picture, or a heatmap per view side by
        side. Returns an array of the source's aspect ratio, ``short_side`` (default ``crop``) on its
        shorter side; where views overlap they are averaged, and what no view saw stays 0.
        """
        short = short_side or self.crop
        scale = short / min(h, w)
        H, W = max(1, round(h * scale)), max(1, round(w * scale))
        extra = views.shape[2:]
        acc = np.zeros((H, W, *extra), dtype=np.float32)
        cover = np.zeros((H, W) + (1,) * len(extra), dtype=np.float32)
        s = self.crop
        for k, (x0, y0, sx, sy) in enumerate(self.regions(h, w)):
            view = views[:, k * s:(k + 1) * s].astype(np.float32)
            X0, Y0 = round(x0 * scale), round(y0 * scale)
            tw, th = max(1, round(sx * scale)), max(1, round(sy * scale))
            placed = cv2.resize(view, (tw, th), interpolation=cv2.INTER_LINEAR).reshape(th, tw, *extra)
            ya, yb, xa, xb = max(0, Y0), min(H, Y0 + th), max(0, X0), min(W, X0 + tw)
            if ya >= yb or xa >= xb:
                continue
            acc[ya:yb, xa:xb] += placed[ya - Y0:yb - Y0, xa - X0:xb - X0]
            cover[ya:yb, xa:xb] += 1.0
        out = acc / np.maximum(cover, 1.0)
        return out.astype(views.dtype) if views.dtype == np.uint8 else out

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mean"], d["std"] = list(self.mean), list(self.std)
        d["layout"] = (f"RGB uint8 -> {_LAYOUTS[self.geometry]} -> integer box reduction while over 2x -> "
                       f"bilinear to crop -> (x-mean)/std")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        return cls(resize=int(d["resize"]), crop=int(d["crop"]),
                   mean=tuple(float(v) for v in d["mean"]), std=tuple(float(v) for v in d["std"]),
                   resampling=d.get("resampling", "unspecified"),
                   # bundles written before the setting existed were all trained on the centre crop
                   geometry=d.get("geometry", "center_crop"), tiles=int(d.get("tiles", 3)))


def _shrink(x: np.ndarray, tw: int, th: int) -> np.ndarray:
    """Resize (h, w, 3) to (th, tw, 3): integer box reduction per axis while over 2x, then bilinear."""
    fy, fx = max(1, x.shape[0] // th), max(1, x.shape[1] // tw)
    if fy >= 2 or fx >= 2:
        x = cv2.resize(x, (x.shape[1] // fx, x.shape[0] // fy), interpolation=cv2.INTER_AREA)
    if x.shape[:2] == (th, tw):
        return np.ascontiguousarray(x)
    return cv2.resize(x, (tw, th), interpolation=cv2.INTER_LINEAR)
