"""The existing system's approach, re-implemented faithfully for comparison only (random weights).

What a user of the system we replace runs per video, step by step:

1. Decode: three samplings (temporal scales 1.0, 0.85, 1.15 -> int(73 * s) = 73, 62, 83 frames),
   each placing its frame indices uniformly over the frame count that OpenCV reports
   (``np.linspace(0, count - 1, n)``) and reading every frame with
   ``cap.set(cv2.CAP_PROP_POS_FRAMES, i); cap.read()``. FFmpeg can only start decoding at a
   keyframe, so every such seek decodes again from the previous keyframe: this is where most of its
   decode time goes. Frames are converted BGR -> RGB and resized (squashed) to 256 x 256.
2. Features: all 218 frames through torchvision ``efficientnet_v2_s(weights=None)`` (its
   classifier replaced by identity: 1280-d after global pooling), fp32, default NCHW memory format,
   ImageNet mean/std on [0, 1] pixels, ``torch.no_grad`` (not ``inference_mode``), batches of 32.
   The three scales' features are averaged position by position (position i of each sampling,
   the longer one cut to 73 and the shorter one held at its last frame), as it did.
3. Temporal: four members of its size, one after another, each a Linear(1280 -> 768) projection,
   a 4-layer bidirectional LSTM (hidden 768 per direction), MultiheadAttention(1536, 12 heads),
   attention pooling and an MLP classifier (about 66 M parameters each). TTA is four sequential
   passes per member (original, reversed, every 2nd frame, x1.5 slow-down by linspace indices),
   each a separate forward on a single (1, T, 1280) tensor; members' softmax averaged.

Speed does not depend on the weights, so nothing is downloaded. What is approximated: how it
aligned the 62- and 83-frame samplings (the padding rule above; negligible cost either way) and
its CNN batch size (32). OpenCV's resize runs single-threaded here because the service sets
``cv2.setNumThreads(1)`` process-wide; resizing 218 frames is well under 1% of this system's time.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

MAX_FRAMES = 73
SCALES = (1.0, 0.85, 1.15)
SIZE = 256
BATCH = 32
MEMBERS = 4
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
TTA_VIEWS = ("original", "reversed", "speed_up", "slow_down")


def frame_indices(count: int, n: int) -> np.ndarray:
    return np.linspace(0, max(count - 1, 0), n).astype(np.int64)


def read_seek(path: str, n: int) -> np.ndarray:
    """``n`` frames by seeking to each index: (n, 256, 256, 3) uint8 RGB."""
    import cv2

    cap = cv2.VideoCapture(path)
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        frames = []
        for i in frame_indices(count, n):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
            ok, bgr = cap.read()
            if not ok:
                continue  # it skipped frames it could not read
            frames.append(cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (SIZE, SIZE)))
    finally:
        cap.release()
    if not frames:
        raise ValueError(f"{path}: no frame could be read")
    return np.stack(frames)


class ReferenceMember(nn.Module):
    """One member of the existing ensemble, at its size (about 66 M parameters)."""

    def __init__(self, num_classes: int, input_dim: int = 1280, proj: int = 768, layers: int = 4, heads: int = 12):
        super().__init__()
        h = 2 * proj  # BiLSTM output
        self.proj = nn.Sequential(nn.Linear(input_dim, proj), nn.ReLU(), nn.Dropout(0.3))
        self.lstm = nn.LSTM(proj, proj, num_layers=layers, batch_first=True, bidirectional=True, dropout=0.3)
        self.attn = nn.MultiheadAttention(h, heads, dropout=0.1, batch_first=True)
        self.norm = nn.LayerNorm(h)
        self.pool = nn.Sequential(nn.Linear(h, proj), nn.Tanh(), nn.Linear(proj, 1))
        self.head = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Dropout(0.3), nn.Linear(h, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (1, T, 1280) -> (1, C); no mask, as it had none
        h, _ = self.lstm(self.proj(x))
        a, _ = self.attn(h, h, h)
        h = self.norm(h + a)
        w = torch.softmax(self.pool(h), dim=1)  # (1, T, 1)
        return self.head((w * h).sum(1))


def tta_views(x: torch.Tensor) -> list[torch.Tensor]:
    """The four views of one (T, D) sequence, as separate tensors."""
    t = len(x)
    slow = torch.linspace(0, t - 1, max(1, int(t * 1.5))).long()
    return [x, x.flip(0), x[::2], x[slow]]


class ExistingSystem:
    """Random-weight stand-in with the existing system's shapes, formats and control flow."""

    def __init__(self, num_classes: int = 4, device: str = "cpu", seed: int = 0):
        from torchvision.models import efficientnet_v2_s

        torch.manual_seed(seed)
        self.device = torch.device(device)
        cnn = efficientnet_v2_s(weights=None)
        cnn.classifier = nn.Identity()  # features: 1280-d after global average pooling
        self.cnn = cnn.eval().to(self.device)
        self.members = [ReferenceMember(num_classes).eval().to(self.device) for _ in range(MEMBERS)]

    def describe(self) -> dict:
        params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
        return {"cnn": "torchvision efficientnet_v2_s, fp32 NCHW, 256 px, random weights",
                "cnn_params": params(self.cnn), "members": len(self.members),
                "member_params": params(self.members[0]), "scales": list(SCALES), "max_frames": MAX_FRAMES,
                "frames_per_video": sum(int(MAX_FRAMES * s) for s in SCALES), "batch_size": BATCH,
                "device": str(self.device)}

    # -- stages ---------------------------------------------------------------------------------
    def decode(self, path: str) -> list[np.ndarray]:
        return [read_seek(path, int(MAX_FRAMES * s)) for s in SCALES]

    @torch.no_grad()
    def features(self, samplings: list[np.ndarray]) -> torch.Tensor:
        per_scale = []
        for frames in samplings:
            out = []
            for i in range(0, len(frames), BATCH):
                x = (frames[i:i + BATCH].astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
                x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous().to(self.device)  # NCHW
                out.append(self.cnn(x))
            per_scale.append(torch.cat(out))
        return self._fuse(per_scale)

    @staticmethod
    def _fuse(per_scale: list[torch.Tensor]) -> torch.Tensor:
        t = len(per_scale[0])
        aligned = [f[:t] if len(f) >= t else torch.cat([f, f[-1:].expand(t - len(f), -1)]) for f in per_scale]
        return torch.stack(aligned).mean(0)  # (T, 1280): position i of every sampling

    @torch.no_grad()
    def temporal(self, feats: torch.Tensor, tta: bool) -> np.ndarray:
        probs = []
        for member in self.members:  # one after another
            views = tta_views(feats) if tta else [feats]
            p = [torch.softmax(member(v[None]), -1) for v in views]  # one forward per view
            probs.append(torch.stack(p).mean(0))
        return torch.stack(probs).mean(0)[0].cpu().numpy()

    # -- end to end -----------------------------------------------------------------------------
    def classify(self, path: str, tta: bool = False) -> dict:
        t0 = time.perf_counter()
        samplings = self.decode(path)
        t1 = time.perf_counter()
        feats = self.features(samplings)
        t2 = time.perf_counter()
        probs = self.temporal(feats, tta)
        t3 = time.perf_counter()
        return {"probs": probs, "feats": feats, "frames": sum(len(s) for s in samplings),
                "timings_s": {"decode": t1 - t0, "features": t2 - t1, "temporal": t3 - t2, "total": t3 - t0}}

    def warm_up(self) -> None:
        """First-call costs without a full (about a minute) run: one CNN batch of the shape the
        real run uses, and every member once at full length."""
        with torch.no_grad():
            self.cnn(torch.zeros(BATCH, 3, SIZE, SIZE, device=self.device))
        self.temporal(torch.zeros(MAX_FRAMES, 1280, device=self.device), tta=False)


def measure(system: ExistingSystem, path: str, *, repeats: int) -> dict:
    """``repeats`` end-to-end runs without TTA (call ``warm_up`` first); TTA measured on the last
    run's features.

    The TTA end to end is that run's decode + features + the measured TTA temporal stage (the
    first two do not depend on TTA), which saves a second one-minute run per clip.
    """
    from bench.timing import summarize

    runs = [system.classify(path, tta=False) for _ in range(repeats)]
    t0 = time.perf_counter()
    system.temporal(runs[-1]["feats"], tta=True)
    tta_temporal = time.perf_counter() - t0
    stage = lambda k: summarize([r["timings_s"][k] for r in runs])  # noqa: E731
    decode_feats = [r["timings_s"]["decode"] + r["timings_s"]["features"] for r in runs]
    return {"frames": runs[-1]["frames"], "e2e": stage("total"),
            "stages": {k: stage(k) for k in ("decode", "features", "temporal")},
            "temporal_tta": summarize([tta_temporal]),
            "e2e_tta": summarize([d + tta_temporal for d in decode_feats]),
            "warmup": "one CNN batch + each member once (not a full run: that would take another minute)"}
