"""One video in, one (T, D) feature sequence out: sampling + backbone + multi-scale fusion.

Multi-scale, done by timestamp: scale ``s`` samples ``round(T * s)`` frames over the same span.
Each scale's features are linearly interpolated *in time* to the base scale's timestamps and the
scales are averaged there, so every output position mixes frames from (nearly) the same moment.
(The system we build on averaged the three samplings position by position, so position i mixed
moments up to 15% of the video apart.)
"""
from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Sequence

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


def select_scales(frame_features: np.ndarray, sampled: SampledVideo) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame features of every sampled frame -> the (T, D) sequence and its timestamps."""
    base = sampled.scale_indices[0]
    if len(sampled.scale_indices) == 1:
        return frame_features[base], sampled.timestamps[base]
    return fuse_scales(frame_features, sampled.timestamps, sampled.scale_indices), sampled.timestamps[base]


def features_from_sampled(sampled: SampledVideo, backbone: Backbone) -> tuple[np.ndarray, np.ndarray]:
    """Run the backbone once over every sampled frame and fuse scales. Returns (features, timestamps)."""
    return select_scales(backbone(sampled.frames), sampled)  # every frame any scale needs, each once


_DONE = object()


@dataclass
class Streamed:
    sampled: SampledVideo
    frame_features: np.ndarray  # (N, D), one row per sampled frame
    decode_s: float  # wall time of decoding and sampling
    features_s: float  # time spent in the backbone


def sample_and_featurise(path, backbone: Backbone, *, max_frames: int, scales: Sequence[float] = (1.0,),
                         start: float | None = None, end: float | None = None,
                         device_lock: threading.Lock | None = None, isolation: str = "inline",
                         on_batch: Callable[[int], None] | None = None) -> Streamed:
    """Decode on a worker thread while the backbone runs on each full batch of finished frames.

    ``on_batch(n)`` is told, after each backbone batch, how many frames have features so far
    (for progress reports; it runs on the calling thread).

    Batches are cut exactly as ``backbone(all_frames)`` cuts them, so the features are the same
    numbers as the sequential path. ``device_lock`` is held around each backbone call only, so
    other callers can decode meanwhile. ``isolation``: as in ``sample_frames`` ("process": the
    decoding itself runs in a decoder process). Raises what ``sample_frames`` raises.
    """
    q: queue.SimpleQueue = queue.SimpleQueue()
    result: dict = {}

    def produce():
        t0 = time.perf_counter()
        try:
            result["sampled"] = sample_frames(path, max_frames, scales=scales, start=start, end=end,
                                              transform=backbone.preprocessing.prepare, isolation=isolation,
                                              on_keep=lambda gen, i, frame: q.put((gen, frame)))
        except BaseException as exc:  # handed to the caller's thread
            result["error"] = exc
        finally:
            result["decode_s"] = time.perf_counter() - t0
            q.put(_DONE)

    busy = 0.0
    done = [0]

    def run(frames):
        nonlocal busy
        t0 = time.perf_counter()
        with device_lock or contextlib.nullcontext():
            out = backbone(np.stack(frames))
        busy += time.perf_counter() - t0
        done[0] += len(frames)
        if on_batch is not None:
            on_batch(done[0])
        return out

    worker = threading.Thread(target=produce, name="video-decode", daemon=True)
    worker.start()
    chunks, pending, frames, generation = [], [], [], None
    while (item := q.get()) is not _DONE:
        gen, frame = item
        if gen is not generation:  # a new decoding pass: what came before is void
            chunks, pending, frames, generation = [], [], [], gen
            done[0] = 0
        pending.append(frame)
        frames.append(frame)
        if len(pending) == backbone.batch_size:
            chunks.append(run(pending))
            pending = []
    worker.join()
    if "error" in result:
        raise result["error"]
    sampled = result["sampled"]
    if pending:
        chunks.append(run(pending))
    same = len(frames) == len(sampled.frames) and all(np.array_equal(a, b) for a, b in zip(frames, sampled.frames))
    if not same:  # the decoder fell back to an earlier pass's result: featurise what was returned
        done[0] = 0
        chunks = [run(list(sampled.frames))]
    return Streamed(sampled, np.concatenate(chunks), result["decode_s"], busy)


def extract_video_features(path, backbone: Backbone, *, max_frames: int, scales: Sequence[float] = (1.0,),
                           start: float | None = None, end: float | None = None,
                           keep_frames: bool = False) -> VideoFeatures:
    """Decode, sample and featurise one video. Raises what ``sample_frames`` raises."""
    sampled = sample_frames(path, max_frames, scales=scales, start=start, end=end,
                            transform=backbone.prepare_frame)
    feats, times = features_from_sampled(sampled, backbone)
    frames = sampled.frames[sampled.scale_indices[0]] if keep_frames else None
    return VideoFeatures(feats, times, sampled.metadata, frames)
