"""Feature-sequence augmentation for training (the frames' features are fixed; their choice is not).

Per sequence, independently: a random contiguous window (temporal crop/shift), sometimes every
2nd frame (speed), random frame drop, and Gaussian noise scaled to the features' spread. All
randomness comes from one ``torch.Generator``, so a resumed run continues the same stream.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch


@dataclass
class AugmentConfig:
    min_crop: float = 0.6  # keep a window of at least this fraction of the frames
    speed_prob: float = 0.25  # probability of keeping every 2nd frame only
    drop_prob: float = 0.1  # probability of dropping each frame
    noise: float = 0.1  # Gaussian noise, as a fraction of the per-dimension std of the batch

    def to_dict(self) -> dict:
        return asdict(self)


def augment_batch(x: torch.Tensor, lengths: torch.Tensor, cfg: AugmentConfig,
                  g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """x (B, T, D) zero-padded, lengths (B,) -> augmented (B, T', D), lengths (B,)."""
    B, T, D = x.shape
    picks = []
    for i in range(B):
        n = int(lengths[i])
        keep = max(1, int(round(n * (cfg.min_crop + (1 - cfg.min_crop) * torch.rand(1, generator=g).item()))))
        start = int(torch.randint(0, n - keep + 1, (1,), generator=g))
        idx = torch.arange(start, start + keep)
        if keep >= 4 and torch.rand(1, generator=g).item() < cfg.speed_prob:
            idx = idx[int(torch.randint(0, 2, (1,), generator=g)):: 2]
        if cfg.drop_prob > 0 and len(idx) > 2:
            mask = torch.rand(len(idx), generator=g) >= cfg.drop_prob
            if mask.any():
                idx = idx[mask]
        picks.append(idx)
    new_len = torch.tensor([len(p) for p in picks])
    out = torch.zeros(B, int(new_len.max()), D, dtype=x.dtype)
    for i, idx in enumerate(picks):
        out[i, : len(idx)] = x[i, idx]
    if cfg.noise > 0:
        valid = torch.arange(out.shape[1])[None, :] < new_len[:, None]  # (B, T')
        std = out[valid].std(0, unbiased=False).clamp(min=1e-6)  # (D,)
        out = out + torch.randn(out.shape, generator=g) * std * cfg.noise * valid.unsqueeze(-1)
    return out, new_len
