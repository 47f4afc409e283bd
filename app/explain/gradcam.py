"""Grad-CAM and Grad-CAM++ on the backbone's last convolutional stage, through the temporal model.

For the k most-attended frames of a video, the backbone's last feature map A (D, h, w) is taken as
a leaf, pooled into that frame's feature, and the whole sequence goes through every temporal
member; the target is log p(class) of the member-averaged softmax. The gradients of that score
with respect to each A give the maps:

    Grad-CAM:    w_d = mean_ij dS/dA_dij,                      cam = ReLU(sum_d w_d A_d)
    Grad-CAM++:  a_dij = g^2 / (2 g^2 + sum_ij A_dij g^3),     w_d = sum_ij a_dij ReLU(g_dij)
                 (g = dS/dA, with the usual exp(S) simplification of Chattopadhay et al. 2018)

With several views per frame (geometry "tiles"), each view gets its own map and the frame's
feature is the mean of the views' pooled maps, as in the backbone. Maps are upsampled to the views
and mapped back onto the whole frame (``Preprocessing.to_frame``), then scaled to [0, 1]. A saliency box is the
bounding box of the largest connected region above ``box_threshold`` of the map's maximum.
Computed on demand only; nothing here runs on the plain classify path.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from app.explain.choices import CAM_METHODS as METHODS
from app.features.engine import Backbone
from app.temporal.model import TemporalClassifier


@dataclass
class FrameExplanation:
    index: int  # position in the sampled sequence
    heatmap: np.ndarray  # (H, W) float32 in [0, 1] over the whole frame (``frame_picture``'s size)
    box: tuple[int, int, int, int] | None  # (x, y, w, h) in heatmap pixels, None for an empty map


def _feature_maps(backbone: Backbone, frames: np.ndarray) -> torch.Tensor:
    """(k, S, S * views, 3) uint8 -> last conv feature maps (k * views, D, h, w), without gradients."""
    return backbone.feature_maps(backbone.preprocessing.split_views(np.ascontiguousarray(frames)))


def class_maps(backbone: Backbone, members: list[TemporalClassifier], features: np.ndarray, frames: np.ndarray,
               indices: list[int], target: int, *, method: str = "gradcam") -> np.ndarray:
    """Maps (k, h, w) for the frames at ``indices`` of a (T, D) sequence, for class ``target``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {METHODS}")
    device = backbone.device
    views = backbone.preprocessing.views
    with torch.inference_mode(False), torch.enable_grad():
        maps = _feature_maps(backbone, frames[indices]).clone().requires_grad_(True)  # (k * V, D, h, w) leaf
        pooled = maps.mean(dim=(2, 3)).view(len(indices), views, -1).mean(1)  # (k, D): the backbone's pooling
        seq = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32)).to(device)
        seq = seq.index_put((torch.tensor(indices, device=device),), pooled)
        lengths = torch.tensor([len(features)], device=device)
        probs = torch.stack([m(seq[None], lengths)[0].float().softmax(-1)[0] for m in members]).mean(0)
        score = torch.log(probs[target].clamp_min(1e-12))
        (grad,) = torch.autograd.grad(score, maps)
    a, g = maps.detach(), grad
    if method == "gradcam":
        weights = g.mean(dim=(2, 3), keepdim=True)  # (k, D, 1, 1)
    else:
        g2, g3 = g.pow(2), g.pow(3)
        denom = 2 * g2 + a.sum(dim=(2, 3), keepdim=True) * g3
        alpha = g2 / torch.where(denom != 0, denom, torch.ones_like(denom))
        weights = (alpha * torch.relu(g)).sum(dim=(2, 3), keepdim=True)
    return torch.relu((weights * a).sum(1)).cpu().numpy()  # (k * V, h, w), non-negative


def _resize_map(cam: np.ndarray, size: int) -> np.ndarray:
    """(h, w) map -> (size, size), non-negative, not rescaled (views of one frame stay comparable)."""
    return np.clip(cv2.resize(cam.astype(np.float32), (size, size), interpolation=cv2.INTER_CUBIC), 0.0, None)


def upsample(cam: np.ndarray, size: int) -> np.ndarray:
    """(h, w) map -> (size, size) in [0, 1] (all zeros stays all zeros)."""
    return _unit(_resize_map(cam, size))


def _unit(x: np.ndarray) -> np.ndarray:
    top = x.max()
    return (x / top).astype(np.float32) if top > 0 else x.astype(np.float32)


def saliency_box(heatmap: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """Bounding box (x, y, w, h) of the largest connected region >= threshold * max, or None."""
    if heatmap.max() <= 0:
        return None
    mask = (heatmap >= threshold * heatmap.max()).astype(np.uint8)
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h = (int(v) for v in stats[best, :4])
    return x, y, w, h


def explain_frames(backbone: Backbone, members: list[TemporalClassifier], features: np.ndarray, frames: np.ndarray,
                   indices: list[int], target: int, *, frame_size: tuple[int, int], method: str = "gradcam",
                   box_threshold: float = 0.5) -> list[FrameExplanation]:
    """Heatmaps over the whole (height, width) = ``frame_size`` frame for the frames at ``indices``."""
    pre = backbone.preprocessing
    cams = class_maps(backbone, members, features, frames, indices, target, method=method)
    cams = cams.reshape(len(indices), pre.views, *cams.shape[1:])
    out = []
    for i, per_view in zip(indices, cams):
        side_by_side = np.concatenate([_resize_map(c, pre.crop) for c in per_view], axis=1)  # (S, S * V)
        heat = _unit(pre.to_frame(side_by_side, *frame_size))
        out.append(FrameExplanation(int(i), heat, saliency_box(heat, box_threshold)))
    return out


def frame_picture(backbone: Backbone, frame: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    """What the model saw of one frame, in place on the whole (height, width) frame (unseen parts black)."""
    return backbone.preprocessing.to_frame(frame, *frame_size)


def overlay(frame: np.ndarray, heatmap: np.ndarray, box=None, alpha: float = 0.45) -> np.ndarray:
    """RGB frame with the heatmap blended in (JET colours) and the saliency box drawn."""
    colours = cv2.applyColorMap((heatmap * 255).astype(np.uint8), cv2.COLORMAP_JET)[:, :, ::-1]
    out = (frame.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).astype(np.uint8)
    if box is not None:
        x, y, w, h = box
        cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), (255, 255, 255), 2)
    return out
