"""Ours: ``SingleVideoClassifier.classify_video`` end to end (with and without TTA) and its stages.

Each timed call is one full ``classify_video`` (decode + sample + crop, backbone features, temporal
ensemble, calibration and the JSON-ready answer), wall-clock, warm. The stage times are those that
``classify_video`` itself reports for the same calls (``timings_ms``: decode, features, temporal),
so the stages and the end-to-end numbers come from the very same runs.
"""
from __future__ import annotations

from pathlib import Path

from bench.timing import repeat, summarize

STAGES = ("decode", "features", "temporal")


def load(model_dir: Path, device: str):
    from app.classifier import SingleVideoClassifier

    return SingleVideoClassifier(model_dir, device=device)


def describe(clf) -> dict:
    b = clf.bundle
    return {"bundle": str(b.path), "name": b.name, "version": b.version, "trained": b.trained,
            "members": len(b.members), "max_frames": b.max_frames, "scales": b.scales,
            "temporal_config": b.config.to_dict(), "backbone": clf.backbone.name,
            "engine": clf.backbone.engine, "device": str(clf.device), "batch_size": clf.backbone.batch_size}


def frames_sampled(clf, path: str) -> dict:
    """How many frames our sampler takes from ``path``: through the backbone, and at the base scale."""
    sampled = clf.preprocess(path)
    return {"backbone": int(len(sampled.frames)), "base": int(len(sampled.scale_indices[0])),
            "video": sampled.metadata.to_dict()}


def measure(clf, path: str, *, tta: bool, repeats: int, warmup: int = 1) -> dict:
    """End to end and per-stage timings of ``repeats`` warm calls."""
    e2e, outs = repeat(lambda: clf.classify_video(path, use_tta=tta), repeats, warmup)
    stages = {k: summarize([o["timings_ms"][k] / 1e3 for o in outs]) for k in STAGES}
    return {"tta": tta, "e2e": e2e, "stages": stages, "label": outs[-1]["label"] if outs else None}
