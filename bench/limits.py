"""Physical limits on this machine: how fast decoding alone and the backbone alone can go.

- Decode-only: every frame of the file decoded by PyAV (FFmpeg's libavcodec) with
  ``thread_type = "AUTO"`` (frame and slice threads on all cores), no colour conversion, nothing
  kept. That is the floor for any system that looks at the whole clip. OpenCV's grab-all (its
  FFmpeg backend, also decode without conversion) is reported for reference, and for long videos
  a keyframes-only decode (the floor for a sampler that seeks).
- Backbone-only: the backbone as ``create_backbone`` builds it, on random uint8 frames (a CNN's
  cost does not depend on pixel values) in its own batches (16 on the CPU): frames/s for each
  engine available, and the time the fastest takes for exactly the number of frames our sampler
  takes from each clip.
"""
from __future__ import annotations

import numpy as np

from bench.timing import median, repeat


def pyav_decode_all(path: str, keyframes_only: bool = False) -> int:
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if keyframes_only:
            stream.codec_context.skip_frame = "NONKEY"
        return sum(1 for _ in container.decode(stream))


def opencv_grab_all(path: str) -> int:
    import cv2

    cap = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    n = 0
    while cap.grab():
        n += 1
    cap.release()
    return n


def decode_only(path: str, *, repeats: int, warmup: int = 1, opencv: bool = True,
                keyframes: bool = False) -> dict:
    """Decode-only timings of one file; frames/s from the frame count decoded."""
    out = {}
    cases = [("pyav", lambda: pyav_decode_all(path))]
    if opencv:
        cases.append(("opencv_grab", lambda: opencv_grab_all(path)))
    if keyframes:
        cases.append(("pyav_keyframes", lambda: pyav_decode_all(path, keyframes_only=True)))
    for name, fn in cases:
        stats, counts = repeat(fn, repeats, warmup)
        frames = counts[-1] if counts else fn()
        out[name] = {**stats, "frames": int(frames), "fps": frames / stats["median_s"] if stats.get("n") else None}
    return out


def random_frames(n: int, size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


def engines(name: str, device: str, weights: str | None, all_engines: bool) -> dict:
    """The backbones to compare: the one ``auto`` picks, plus (on the CPU) the other engine."""
    from app.features.engine import create_backbone

    found = {}
    auto = create_backbone(name, device=device, engine="auto", weights=weights)
    found[auto.engine] = auto
    if all_engines and auto.device.type == "cpu":
        for engine in ("onnxruntime", "torch"):
            if engine not in found:
                try:
                    found[engine] = create_backbone(name, device=device, engine=engine, weights=weights)
                except Exception as exc:  # an engine that cannot run here is simply not a candidate
                    found[engine] = exc
    return found


def throughput(backbone, *, frames: int, repeats: int, warmup: int = 1) -> dict:
    """Frames/s of ``backbone`` on ``frames`` random frames (whole batches, so no partial batch)."""
    x = random_frames(frames, backbone.preprocessing.crop)
    stats, _ = repeat(lambda: backbone(x), repeats, warmup)
    return {**stats, "frames": frames, "batch_size": backbone.batch_size, "engine": backbone.engine,
            "device": str(backbone.device), "size": backbone.preprocessing.crop,
            "fps": frames / stats["median_s"]}


def backbone_only(name: str, device: str, weights: str | None, *, frame_counts: list[int], repeats: int,
                  all_engines: bool) -> dict:
    """Throughput per engine, the fastest one, and its time for each of ``frame_counts`` frames."""
    found = engines(name, device, weights, all_engines)
    per_engine, best = {}, None
    for k, (engine, bb) in enumerate(found.items()):
        if isinstance(bb, Exception):
            per_engine[engine] = {"error": str(bb)}
            continue
        # The engine the service picks gets the full measurement; another engine only needs
        # enough runs to tell whether it would be faster (the slower one costs the most time).
        tp = (throughput(bb, frames=4 * bb.batch_size, repeats=repeats) if k == 0 else
              throughput(bb, frames=2 * bb.batch_size, repeats=min(repeats, 2)))
        per_engine[engine] = tp
        if best is None or tp["fps"] > per_engine[best.engine]["fps"]:
            best = bb
    for_frames = {}
    for n in sorted(set(frame_counts)):
        x = random_frames(n, best.preprocessing.crop)
        stats, _ = repeat(lambda: best(x), repeats)
        for_frames[str(n)] = stats
    return {"backbone": name, "engines": per_engine, "fastest": best.engine,
            "fps": per_engine[best.engine]["fps"], "for_frames": for_frames}


def time_for(limits: dict, n: int) -> float | None:
    return median(limits.get("for_frames", {}).get(str(n)))
