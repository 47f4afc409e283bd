"""One video in, a calibrated top-k answer out.

    clf = SingleVideoClassifier("models/default")
    result = clf.classify_video("clip.mp4", use_tta=False, top_k=3)

Three stages, each usable alone: ``preprocess`` (decode, sample, resize/crop; CPU, runs in the
caller's thread), ``forward`` (backbone + temporal ensemble on the device, serialised by a lock so
concurrent callers decode in parallel but never oversubscribe the device), ``postprocess``
(calibration, abstention, top-k, a plain JSON-ready dict). ``classify_video`` runs the first two
overlapped: the backbone starts on the first finished frames while the rest are decoded.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from app.bundle import Bundle, BundleError, default_bundle_dir, load_bundle
from app.features.backbones import resolve_device
from app.features.engine import create_backbone
from app.features.extract import Streamed, sample_and_featurise, select_scales
from app.temporal.ensemble import Ensemble, apply_temperature
from app.temporal.tta import TTA_VIEWS
from app.temporal.uncertainty import UncertainRule
from app.video import SampledVideo, sample_frames
from app.video.isolation import check_isolation, isolation_from_env

# ``progress(stage, fraction)``: how far one video's work is, fraction of the whole from 0 to 1.
Progress = Callable[[str, float], None]

__all__ = ["SingleVideoClassifier", "Prediction"]


@dataclass
class Prediction:
    """Output of ``forward`` for one video (numpy, uncalibrated)."""

    features: np.ndarray  # (T, D)
    timestamps: np.ndarray  # (T,)
    probs: np.ndarray  # (C,) ensemble mean
    member_probs: np.ndarray  # (M, C)
    attention: np.ndarray  # (T,)
    tta: bool
    features_ms: float
    temporal_ms: float


class SingleVideoClassifier:
    """Loads a bundle and its backbone once; ``classify_video`` is safe to call from many threads.

    Parameters
    ----------
    bundle_dir : model bundle directory (default: $VIDEOCLF_MODEL or models/default).
    device : "cpu", "cuda", "cuda:1"...; default CUDA when available.
    engine : backbone engine, "auto", "torch" or "onnxruntime" (CPU only).
    backbone_weights : weights file for backbones that need one (efficientnet_v2_s).
    decode_isolation : "process" (decode in a decoder process killed past the decode deadline,
        app.video.isolation) or "inline" (in the caller's thread); default $VIDEOCLF_DECODE_ISOLATION,
        else "process".
    """

    def __init__(self, bundle_dir: str | os.PathLike | None = None, device: str | None = None, *,
                 engine: str = "auto", backbone_weights: str | None = None, decode_isolation: str | None = None):
        self.bundle: Bundle = load_bundle(bundle_dir or default_bundle_dir())
        self.device = resolve_device(device)
        self.backbone = create_backbone(self.bundle.backbone, device=self.device, engine=engine,
                                        weights=backbone_weights, geometry=self.bundle.geometry)
        expected = self.bundle.meta["backbone"].get("weights_id")
        if expected and expected != self.backbone.weights_id:
            raise BundleError(
                f"{self.bundle.path}: trained on {self.bundle.backbone} weights {expected}, "
                f"but the weights found here are {self.backbone.weights_id}; features would not match"
            )
        self.ensemble = Ensemble(self.bundle.members, self.bundle.member_weights).to(self.device)
        self.decode_isolation = check_isolation(decode_isolation) if decode_isolation else isolation_from_env()
        self._lock = threading.Lock()

    @property
    def classes(self) -> list[str]:
        return self.bundle.classes

    @property
    def uncertain_rule(self) -> UncertainRule:
        """When an answer is flagged uncertain (the bundle's rule; members disagreeing only, for
        bundles trained before the rule existed)."""
        return UncertainRule.from_dict(self.bundle.calibration.get("uncertain"))

    @property
    def device_lock(self) -> threading.Lock:
        """Held around device work; hold it to run other work on the same models (explanations)."""
        return self._lock

    # -- stage 1: CPU ---------------------------------------------------------------------------
    def preprocess(self, path: str | os.PathLike, *, start: float | None = None,
                   end: float | None = None) -> SampledVideo:
        """Decode and sample the video into the backbone's input crops. Raises VideoDecodeError."""
        return sample_frames(path, self.bundle.max_frames, scales=self.bundle.scales, start=start, end=end,
                             transform=self.backbone.preprocessing.prepare, isolation=self.decode_isolation)

    # -- stage 2: device ------------------------------------------------------------------------
    def forward(self, sampled: SampledVideo, *, tta: bool) -> Prediction:
        with self._lock:
            t0 = time.perf_counter()
            frame_features = self.backbone(sampled.frames)
        return self._temporal(frame_features, sampled, tta, (time.perf_counter() - t0) * 1e3)

    def _temporal(self, frame_features: np.ndarray, sampled: SampledVideo, tta: bool, features_ms: float) -> Prediction:
        feats, times = select_scales(frame_features, sampled)
        t0 = time.perf_counter()
        with self._lock:
            out = self.predict_features(feats, tta=tta)
        return Prediction(feats, times, out["probs"], out["member_probs"], out["attention"], tta,
                          features_ms, (time.perf_counter() - t0) * 1e3)

    def predict_features(self, features: np.ndarray, *, tta: bool) -> dict[str, np.ndarray]:
        """Temporal ensemble on one (T, D) feature sequence (uncalibrated probabilities)."""
        x = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))[None].to(self.device)
        lengths = torch.tensor([len(features)], device=self.device)
        out = self.ensemble.predict(x, lengths, tta=tta)
        return {"probs": out.probs[0].cpu().numpy(), "member_probs": out.member_probs[:, 0].cpu().numpy(),
                "attention": out.attention[0].cpu().numpy()}

    def predict(self, path: str | os.PathLike, *, tta: bool, start: float | None = None,
                end: float | None = None, progress: Progress | None = None,
                share: float = 1.0) -> tuple[Prediction, Streamed]:
        """Stages 1 and 2 overlapped: the backbone starts on the first finished frames while the
        rest are decoded. Returns the prediction and the sampled frames with their features.
        ``progress(stage, fraction)`` hears of the frames featurised, up to ``share`` of the work."""
        expected = self.bundle.max_frames * len(self.bundle.scales)
        on_batch = None
        if progress is not None:
            progress("decoding", 0.0)
            on_batch = lambda n: progress("decoding", share * 0.95 * min(1.0, n / expected))  # noqa: E731
        streamed = sample_and_featurise(path, self.backbone, max_frames=self.bundle.max_frames,
                                        scales=self.bundle.scales, start=start, end=end, device_lock=self._lock,
                                        isolation=self.decode_isolation, on_batch=on_batch)
        if progress is not None:
            progress("members", share * 0.95)
        return self._temporal(streamed.frame_features, streamed.sampled, tta, streamed.features_s * 1e3), streamed

    # -- stage 3: postprocess -------------------------------------------------------------------
    def postprocess(self, pred: Prediction, sampled: SampledVideo, *, top_k: int) -> dict:
        classes = self.classes
        probs = apply_temperature(pred.probs, self.bundle.temperature(pred.tta))
        order = np.argsort(-probs, kind="stable")
        best = int(order[0])
        threshold = self.bundle.calibration.get("abstain_threshold")
        abstain = threshold is not None and float(probs[best]) < float(threshold)
        reasons = self.uncertain_rule.reasons(probs, pred.member_probs)
        if abstain:
            reasons.insert(0, f"confidence {float(probs[best]):.2f} is below the abstain threshold {float(threshold):.2f}")
        member_names = [m["name"] for m in self.bundle.meta["members"]]
        return {
            "label": "uncertain" if abstain else classes[best],
            "predicted_label": classes[best],
            "confidence": _r(probs[best]),
            "uncertain": bool(reasons),
            "uncertain_reasons": reasons,
            "top_k": [{"label": classes[i], "score": _r(probs[i])} for i in order[:top_k]],
            "probabilities": {c: _r(p) for c, p in zip(classes, probs)},
            "members": [
                {"name": n, "label": classes[int(np.argmax(p))], "confidence": _r(np.max(p)),
                 "probabilities": {c: _r(v) for c, v in zip(classes, p)}}
                for n, p in zip(member_names, pred.member_probs)
            ],
            "tta": {"enabled": pred.tta, "views": list(TTA_VIEWS) if pred.tta else ["original"]},
            "frames": [{"index": i, "timestamp": _r(t), "attention": _r(a)}
                       for i, (t, a) in enumerate(zip(pred.timestamps, pred.attention))],
            "video": sampled.metadata.to_dict(),
            "model": {"name": self.bundle.name, "version": self.bundle.version, "backbone": self.backbone.name,
                      "engine": self.backbone.engine, "device": str(self.device), "trained": self.bundle.trained,
                      "temperature": self.bundle.temperature(pred.tta), "abstain_threshold": threshold,
                      "geometry": self.backbone.preprocessing.geometry,
                      "uncertain_rule": self.uncertain_rule.to_dict()},
        }

    def classify_video(self, path: str | os.PathLike, use_tta: bool | None = None, top_k: int | None = None, *,
                       start: float | None = None, end: float | None = None, timeline: str | None = None,
                       timeline_interval: float = 2.0, progress: Progress | None = None) -> dict:
        """Classify one video file.

        Returns a dict with ``label``, ``confidence``, ``top_k`` [{"label", "score"}],
        ``probabilities``, ``members``, ``tta``, ``frames`` (timestamp and attention per sampled
        frame), ``video`` metadata, ``model`` and ``timings_ms`` (decode, features, temporal, total).
        ``use_tta=None`` uses the bundle's default. ``timeline`` ("interval" or "shots") adds
        ``timeline``: per-window predictions over the same span (see app.explain.timeline). Raises
        ``VideoDecodeError`` for input that is not a decodable video or a bad ``start``/``end``
        (code ``bad_segment``, as the API's), ``FileNotFoundError``, and ``ValueError`` for other bad
        arguments. ``progress(stage, fraction)``, when given, hears how far the work is (stages
        decoding, members, timeline, done; fraction of the whole, 0 to 1).
        """
        return self._classify(path, use_tta, top_k, start=start, end=end, timeline=timeline,
                              timeline_interval=timeline_interval, progress=progress)[0]

    def classify_with_frames(self, path: str | os.PathLike, use_tta: bool | None = None, top_k: int | None = None, *,
                             start: float | None = None, end: float | None = None, timeline: str | None = None,
                             timeline_interval: float = 2.0, progress: Progress | None = None) -> tuple[dict, np.ndarray]:
        """``classify_video``'s result and, one per entry of ``result["frames"]``, what the model saw
        of each frame, in place on the whole frame: (T, H, W, 3) uint8 at the video's aspect ratio
        (for showing them: decoding once serves both)."""
        result, sampled = self._classify(path, use_tta, top_k, start=start, end=end, timeline=timeline,
                                         timeline_interval=timeline_interval, progress=progress)
        size = (sampled.metadata.height, sampled.metadata.width)
        pre = self.backbone.preprocessing
        return result, np.stack([pre.to_frame(f, *size) for f in sampled.frames[sampled.scale_indices[0]]])

    def _classify(self, path, use_tta, top_k, *, start, end, timeline, timeline_interval,
                  progress=None) -> tuple[dict, SampledVideo]:
        tta = self.bundle.tta_default if use_tta is None else bool(use_tta)
        k = self.check_top_k(top_k)
        t0 = time.perf_counter()
        # A timeline decodes the video again, window by window: about as much work again.
        pred, streamed = self.predict(path, tta=tta, start=start, end=end, progress=progress,
                                      share=0.5 if timeline is not None else 1.0)
        result = self.postprocess(pred, streamed.sampled, top_k=k)
        total = (time.perf_counter() - t0) * 1e3
        result["video"]["filename"] = Path(path).name
        result["work"] = {"frames_decoded": streamed.sampled.metadata.frames_decoded,
                          "frames_featurised": int(len(streamed.sampled.frames))}
        # Decoding and features overlap, so decode + features + temporal can exceed the total.
        result["timings_ms"] = {"decode": round(streamed.decode_s * 1e3, 2), "features": round(pred.features_ms, 2),
                                "temporal": round(pred.temporal_ms, 2), "total": round(total, 2)}
        if timeline is not None:
            from app.explain.timeline import timeline as make_timeline

            t1 = time.perf_counter()
            if progress is not None:
                progress("timeline", 0.5)
            result["timeline"] = make_timeline(self, path, mode=timeline, interval=timeline_interval, tta=tta,
                                               answer=result, start=start, end=end, progress=progress,
                                               share=(0.5, 1.0))
            result["timings_ms"]["timeline"] = round((time.perf_counter() - t1) * 1e3, 2)
        if progress is not None:
            progress("done", 1.0)
        return result, streamed.sampled

    def check_top_k(self, top_k) -> int:
        """``top_k`` as the number of labels to list: None -> min(5, classes); above -> clamped.
        Raises ValueError for anything but a whole number >= 1."""
        n = len(self.classes)
        if top_k is None:
            return min(5, n)
        if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1:
            raise ValueError(f"top_k must be a whole number from 1 to {n}, got {top_k!r}")
        return min(int(top_k), n)


def _r(x) -> float:
    return round(float(x), 6)
