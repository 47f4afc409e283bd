"""Explain one video: classify it, then Grad-CAM (or Grad-CAM++) on its k most-attended frames."""
from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.explain.gradcam import METHODS, explain_frames, frame_picture, overlay

if TYPE_CHECKING:  # a type only: explain sits below the classifier, which calls the timeline
    from app.classifier import SingleVideoClassifier


def png_bytes(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def explain_video(clf: SingleVideoClassifier, path: str | os.PathLike, *, k: int = 4, method: str = "gradcam",
                  target: str | None = None, use_tta: bool | None = None, box_threshold: float = 0.5,
                  start: float | None = None, end: float | None = None, progress=None) -> dict:
    """The classifier's result (of the ``start``-``end`` segment when given) plus, for the ``k`` frames with the most attention, a heatmap of
    where the model looked for ``target`` (default: the predicted class) and a saliency box.

    Returns {"result": <classify result>, "target", "method", "frames": [{index, timestamp,
    attention, box [x, y, w, h] | None, frame (PNG bytes of what the model saw, in place on the
    whole frame at the video's aspect ratio), overlay (PNG bytes), heatmap ((H, W) float32 in [0, 1])}]}.
    ``progress(stage, fraction)`` as in ``classify_video`` (stages decoding, members, explaining).
    Raises ValueError for a bad k, method or class, and what ``classify_video`` raises.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {list(METHODS)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    classes = clf.classes
    if target is not None and target not in classes:
        raise ValueError(f"unknown class {target!r}; the model's classes are {classes}")
    tta = clf.bundle.tta_default if use_tta is None else bool(use_tta)
    pred, streamed = clf.predict(path, tta=tta, start=start, end=end, progress=progress, share=0.5)
    result = clf.postprocess(pred, streamed.sampled, top_k=len(classes))
    result["video"]["filename"] = os.path.basename(str(path))
    goal = target or result["predicted_label"]
    sampled = streamed.sampled
    crops = sampled.frames[sampled.scale_indices[0]]  # (T, S, S * views, 3): what the model saw
    size = (sampled.metadata.height, sampled.metadata.width)
    chosen = sorted(np.argsort(-pred.attention, kind="stable")[: min(k, len(crops))].tolist())
    if progress is not None:
        progress("explaining", 0.5)  # a backward pass per chosen frame: about as long as the classification
    with clf.device_lock:
        explained = explain_frames(clf.backbone, clf.ensemble.members, pred.features, crops, chosen,
                                   classes.index(goal), frame_size=size, method=method,
                                   box_threshold=box_threshold)
    frames = []
    for e in explained:
        picture = frame_picture(clf.backbone, crops[e.index], size)
        frames.append({
            "index": e.index,
            "timestamp": round(float(pred.timestamps[e.index]), 6),
            "attention": round(float(pred.attention[e.index]), 6),
            "box": list(e.box) if e.box else None,
            "frame": png_bytes(picture),
            "overlay": png_bytes(overlay(picture, e.heatmap, e.box)),
            "heatmap": e.heatmap,
        })
    if progress is not None:
        progress("done", 1.0)
    return {"result": result, "target": goal, "method": method, "frames": frames}


def to_json(explanation: dict) -> dict:
    """A JSON-ready copy: PNGs as base64 strings, heatmaps left out (they are in the overlays)."""
    frames = [{**{k: v for k, v in f.items() if k not in ("frame", "overlay", "heatmap")},
               "frame_png": base64.b64encode(f["frame"]).decode(), "overlay_png": base64.b64encode(f["overlay"]).decode()}
              for f in explanation["frames"]]
    return {**explanation, "frames": frames}
