"""A popular alternative: Hugging Face ``pipeline("video-classification")`` with VideoMAE-base.

Built offline, as a user would build it from a config: ``VideoMAEConfig()`` (base: ViT-B,
16 frames, 224 px, tubelet 2), ``VideoMAEForVideoClassification(config)`` with random weights and
our 4 labels, ``VideoMAEImageProcessor()`` constructed directly (no ``from_pretrained``), and
``pipeline("video-classification", model=..., image_processor=...)`` called on the clip's path.
HF_HUB_OFFLINE=1 is set before transformers is imported, so nothing can be fetched.

The installed pipeline (transformers 5.x) decodes with PyAV itself: it takes frames
``linspace(0, num_frames * frame_sampling_rate - 1, num_frames)``, i.e. with the defaults the
first 16 consecutive frames (about half a second of the clip), converts them to RGB, and runs the
image processor (resize to 224 short side, centre crop, rescale, normalise) and the model.
Called with its defaults that is the cheapest way to run it, so the ratios here favour it;
``spread=True`` passes ``frame_sampling_rate`` so its 16 frames span the whole clip (it then
decodes the whole clip, as ours does).

If the pipeline cannot be built, the closest equivalent runs instead (the same PyAV sampling,
processor and model forward, without the pipeline wrapper) and is labelled as such.
"""
from __future__ import annotations

import os

from bench.timing import repeat


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # its deprecation warnings are not results


class VideoMAE:
    def __init__(self, labels: list[str], device: str = "cpu", seed: int = 0):
        _offline()
        import torch
        import transformers
        from transformers import VideoMAEConfig, VideoMAEForVideoClassification, VideoMAEImageProcessor

        torch.manual_seed(seed)
        config = VideoMAEConfig(num_labels=len(labels), id2label=dict(enumerate(labels)),
                                label2id={lab: i for i, lab in enumerate(labels)})
        self.model = VideoMAEForVideoClassification(config).eval().to(device)
        self.processor = VideoMAEImageProcessor()
        self.num_frames = config.num_frames
        self.version = transformers.__version__
        self.device = device
        try:
            self.pipe = transformers.pipeline("video-classification", model=self.model,
                                              image_processor=self.processor, device=device)
            self.mode, self.why = "pipeline", None
        except Exception as exc:
            self.pipe, self.mode, self.why = None, "equivalent", f"{type(exc).__name__}: {exc}"

    def describe(self) -> dict:
        return {"mode": self.mode, "fallback_reason": self.why, "transformers": self.version,
                "model": "VideoMAE-base (VideoMAEConfig() defaults), random weights",
                "params": sum(p.numel() for p in self.model.parameters()), "frames": self.num_frames,
                "device": self.device}

    def _rate(self, path: str, spread: bool) -> int:
        if not spread:
            return 1
        import av

        with av.open(path) as c:
            count = c.streams.video[0].frames or 0
        return max(1, count // self.num_frames)

    def classify(self, path: str, spread: bool = False) -> list[dict]:
        rate = self._rate(path, spread)
        if self.pipe is not None:
            return self.pipe(path, frame_sampling_rate=rate)
        return self._equivalent(path, rate)

    def _equivalent(self, path: str, rate: int) -> list[dict]:
        """What the pipeline does, step by step (used only when it cannot be built)."""
        import av
        import numpy as np
        import torch

        wanted = set(np.linspace(0, self.num_frames * rate - 1, self.num_frames, dtype=np.int64).tolist())
        frames = []
        with av.open(path) as c:
            for i, frame in enumerate(c.decode(video=0)):
                if i > max(wanted):
                    break
                if i in wanted:
                    frames.append(frame.to_ndarray(format="rgb24"))
        inputs = self.processor(list(np.stack(frames)), return_tensors="pt").to(self.device)
        with torch.no_grad():
            probs = self.model(**inputs).logits[0].softmax(-1)
        top = probs.topk(min(5, len(probs)))
        return [{"score": float(s), "label": self.model.config.id2label[int(i)]} for s, i in zip(*top)]


def measure(system: VideoMAE, path: str, *, repeats: int, warmup: int, spread: bool = False) -> dict:
    stats, outs = repeat(lambda: system.classify(path, spread), repeats, warmup)
    return {"e2e": stats, "frames": system.num_frames, "spread": spread,
            "label": outs[-1][0]["label"] if outs else None}
