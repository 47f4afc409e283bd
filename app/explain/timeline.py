"""When: per-window predictions over a video, by fixed interval or by shot, and their aggregate.

Windows are planned on the video's real duration (``sample_plan`` measures it), each gets
``frames_per_window`` frames, the backbone runs once over all of them and the temporal ensemble
once over all windows as a batch. Work is capped: at most ``max_windows`` windows (intervals
widen, short shots merge), so a very long input costs at most max_windows x frames_per_window
frames.
"""
from __future__ import annotations

import os
from collections import Counter

import numpy as np

from app.explain.choices import AGGREGATES
from app.explain.choices import TIMELINE_MODES as MODES
from app.temporal.ensemble import apply_temperature, pad_batch
from app.video import sample_plan, uniform_timestamps


def interval_windows(start: float, end: float, interval: float, max_windows: int) -> list[tuple[float, float]]:
    """Consecutive windows of ``interval`` s (widened to respect ``max_windows``); a short tail joins the last."""
    span = end - start
    width = max(interval, span / max_windows)
    edges = list(np.arange(start, end, width)) + [end]
    if len(edges) > 2 and edges[-1] - edges[-2] < 0.25 * width:
        del edges[-2]
    return [(float(a), float(b)) for a, b in zip(edges[:-1], edges[1:])]


def shot_windows(start: float, end: float, cuts: list[float], max_windows: int,
                 min_len: float = 0.5) -> list[tuple[float, float]]:
    """Windows between cuts; shots shorter than ``min_len`` and, past ``max_windows``, the
    shortest shots are merged into a neighbour."""
    edges = [start] + [c for c in cuts if start < c < end] + [end]
    windows = [[a, b] for a, b in zip(edges[:-1], edges[1:])]
    while len(windows) > 1:
        lengths = [b - a for a, b in windows]
        i = int(np.argmin(lengths))
        if lengths[i] >= min_len and len(windows) <= max_windows:
            break
        j = i - 1 if i == len(windows) - 1 or (i > 0 and lengths[i - 1] < lengths[i + 1]) else i + 1
        lo, hi = min(i, j), max(i, j)
        windows[lo:hi + 1] = [[windows[lo][0], windows[hi][1]]]
    return [(float(a), float(b)) for a, b in windows]


def timeline(clf, path: str | os.PathLike, *, mode: str = "interval", interval: float = 2.0,
             frames_per_window: int = 8, max_windows: int = 60, aggregate: str = "mean", tta: bool = False,
             answer: dict | None = None, start: float | None = None, end: float | None = None,
             progress=None, share: tuple[float, float] = (0.0, 1.0)) -> dict:
    """Per-window labels and probabilities, and the whole video's row.

    ``windows_aggregate`` is what the windows say together: "mean" (duration-weighted mean of
    window probabilities) or "vote" (the label of most windows). ``video``, the whole-video row, is
    ``answer`` (the classification the timeline belongs to: the same frames and calibration, so a
    page never shows two answers) when one is given, else that aggregate. Raises ValueError for bad
    options and what decoding raises. ``start``/``end``: the windows cover that segment only.
    ``progress(stage, fraction)`` hears of the frames decoded, within ``share`` of the work.
    """
    if mode not in MODES:
        raise ValueError(f"unknown timeline mode {mode!r}; choose one of {list(MODES)}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"unknown aggregate {aggregate!r}; choose one of {list(AGGREGATES)}")
    if not interval > 0 or frames_per_window < 1 or max_windows < 1:
        raise ValueError("interval must be > 0 s, frames_per_window and max_windows >= 1")
    cuts = None
    if mode == "shots":
        from app.explain.shots import detect_shots

        cuts = detect_shots(path)
    planned: list[tuple[float, float]] = []

    def plan(start: float, end: float):
        planned[:] = (shot_windows(start, end, cuts, max_windows) if cuts is not None
                      else interval_windows(start, end, interval, max_windows))
        return [uniform_timestamps(a, b, frames_per_window) for a, b in planned]

    on_keep = None
    if progress is not None:
        lo, hi = share
        kept = {"n": 0, "gen": None}

        def count_kept(gen, _slot, _image):
            if gen is not kept["gen"]:  # a new decoding pass starts over
                kept.update(n=0, gen=gen)
            kept["n"] += 1
            wanted = max(1, len(planned) * frames_per_window)
            progress("timeline", lo + (hi - lo) * 0.9 * min(1.0, kept["n"] / wanted))

        on_keep = count_kept

    sampled = sample_plan(path, plan, start=start, end=end, transform=clf.backbone.preprocessing.prepare,
                          isolation=clf.decode_isolation, on_keep=on_keep)
    with clf.device_lock:
        feats = clf.backbone(sampled.frames)
    keep = [w for w, idx in enumerate(sampled.scale_indices) if len(idx)]
    x, lengths = pad_batch([feats[sampled.scale_indices[w]] for w in keep])
    with clf.device_lock:
        out = clf.ensemble.predict(x.to(clf.device), lengths.to(clf.device), tta=tta)
    probs = apply_temperature(out.probs.float().cpu().numpy(), clf.bundle.temperature(tta))
    classes = clf.classes
    member_probs = out.member_probs.float().cpu().numpy()  # (M, W, C)
    rule = clf.uncertain_rule
    windows = []
    for i, (w, p) in enumerate(zip(keep, probs)):
        a, b = planned[w]
        best = int(p.argmax())
        windows.append({"start": round(a, 3), "end": round(b, 3), "label": classes[best],
                        "confidence": round(float(p[best]), 6),
                        "uncertain": bool(rule.reasons(p, member_probs[:, i])),
                        "probabilities": {c: round(float(v), 6) for c, v in zip(classes, p)}})
    durations = np.array([w["end"] - w["start"] for w in windows])
    mean = (probs * durations[:, None]).sum(0) / max(durations.sum(), 1e-9)
    if aggregate == "vote":
        votes = Counter(w["label"] for w in windows)
        top = max(votes.values())
        label = max((c for c in votes if votes[c] == top), key=lambda c: mean[classes.index(c)])
    else:
        label = classes[int(mean.argmax())]
    together = {"label": label, "confidence": round(float(mean[classes.index(label)]), 6),
                "probabilities": {c: round(float(v), 6) for c, v in zip(classes, mean)}, "source": "windows"}
    video = together
    if answer is not None:
        video = {"label": answer["label"], "confidence": answer["confidence"], "uncertain": answer["uncertain"],
                 "probabilities": dict(answer["probabilities"]), "source": "answer"}
    return {"mode": mode, "interval": interval if mode == "interval" else None, "aggregate": aggregate,
            "frames_per_window": frames_per_window, "max_windows": max_windows,
            "shots": cuts, "windows": windows, "video": video, "windows_aggregate": together,
            "work": {"windows": len(windows), "frames": int(len(sampled.frames))}}
