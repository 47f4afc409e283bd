"""One video in, one (T, D) feature sequence out: sampling + backbone + multi-scale fusion.

Multi-scale, done by timestamp: scale ``s`` samples ``round(T * s)`` frames over the same span.
Each scale's features are linearly interpolated *in time* to the base scale's timestamps and the
scales are averaged there, so every output position mixes frames from (nearly) the same moment.
(The system we build on averaged the three samplings position by position, so position i mixed
moments up to 15% of the video apart.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from app.features.engine import Backbone
from app.video import SampledVideo, VideoMetadata, sample_frames


@dataclass
class VideoFeatures:
    features: np.ndarray  # (T, D) float32, one row per base-scale frame
    timestamps: np.ndarray  # (T,) seconds
    metadata: VideoMetadata
    frames: np.ndarray | None = None  # (T, S, S, 3) uint8 crops the model saw, when asked for


def interpolate_in_time(features: np.ndarray, times: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Linearly interpolate (N, D) ``features`` observed at sorted ``times`` to the times ``at``.

    Outside the observed range the nearest observation is used (no extrapolation).
    """
    if len(times) == 1:
        return np.repeat(features, len(at), axis=0)
    hi = np.clip(np.searchsorted(times, at, side="right"), 1, len(times) - 1)
    lo = hi - 1
    span = times[hi] - times[lo]
    w = np.clip((at - times[lo]) / np.where(span > 0, span, 1.0), 0.0, 1.0)[:, None]
    return ((1.0 - w) * features[lo] + w * features[hi]).astype(np.float32)


def fuse_scales(features: np.ndarray, timestamps: np.ndarray, scale_indices: Sequence[np.ndarray]) -> np.ndarray:
    """Average every scale's features at the base scale's timestamps. Returns (T, D)."""
    base_t = timestamps[scale_indices[0]]
    per_scale = [interpolate_in_time(features[idx], timestamps[idx], base_t) for idx in scale_indices]
    return np.mean(per_scale, axis=0, dtype=np.float32)


def features_from_sampled(sampled: SampledVideo, backbone: Backbone) -> tuple[np.ndarray, np.ndarray]:
    """Run the backbone once over every sampled frame and fuse scales. Returns (features, timestamps)."""
    feats = backbone(sampled.frames)  # (N, D): every frame any scale needs, each once
    base = sampled.scale_indices[0]
    if len(sampled.scale_indices) == 1:
        return feats[base], sampled.timestamps[base]
    return fuse_scales(feats, sampled.timestamps, sampled.scale_indices), sampled.timestamps[base]


def extract_video_features(path, backbone: Backbone, *, max_frames: int, scales: Sequence[float] = (1.0,),
                           start: float | None = None, end: float | None = None,
                           keep_frames: bool = False) -> VideoFeatures:
    """Decode, sample and featurise one video. Raises what ``sample_frames`` raises."""
    sampled = sample_frames(path, max_frames, scales=scales, start=start, end=end,
                            transform=backbone.prepare_frame)
    feats, times = features_from_sampled(sampled, backbone)
    frames = sampled.frames[sampled.scale_indices[0]] if keep_frames else None
    return VideoFeatures(feats, times, sampled.metadata, frames)
