"""Test-time augmentation views of feature sequences, built for a whole batch at once.

Views (per sequence of true length L):
    original   the sequence
    reverse    frames in reverse order
    speed_up   every 2nd frame (ceil(L / 2) frames)
    slow_down  linearly interpolated to round(1.5 L) frames
All views of all sequences come back as one zero-padded batch, so each member runs once.
"""
from __future__ import annotations

import torch

TTA_VIEWS = ("original", "reverse", "speed_up", "slow_down")


def _gather(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x (B, T, D), index (B, M) -> (B, M, D)."""
    return torch.gather(x, 1, index.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def make_view(x: torch.Tensor, lengths: torch.Tensor, view: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One view of every sequence: x (B, T, D), lengths (B,) -> (B, M, D) zero-padded, (B,) lengths."""
    if view == "original":
        return x, lengths
    if view == "reverse":
        new_len = lengths
    elif view == "speed_up":
        new_len = (lengths + 1) // 2
    elif view == "slow_down":
        new_len = torch.clamp(torch.round(lengths.float() * 1.5).long(), min=1)
    else:
        raise ValueError(f"unknown TTA view {view!r}; choose from {TTA_VIEWS}")
    m = int(new_len.max())
    j = torch.arange(m, device=x.device)[None, :]  # (1, M)
    valid = j < new_len[:, None]  # (B, M)
    last = (lengths - 1)[:, None]  # (B, 1)
    if view == "reverse":
        out = _gather(x, (last - j).clamp(min=0))
    elif view == "speed_up":
        out = _gather(x, torch.minimum(2 * j, last))
    else:  # slow_down: position j of M maps to j * (L - 1) / (M - 1) in the original
        pos = j.float() * last.float() / (new_len[:, None] - 1).clamp(min=1).float()
        lo = pos.floor().long().clamp(max=last.expand_as(pos))
        hi = (lo + 1).clamp(max=last.expand_as(pos))
        w = (pos - lo.float()).unsqueeze(-1)
        out = (1 - w) * _gather(x, lo) + w * _gather(x, hi)
    return out * valid.unsqueeze(-1), new_len


def make_views(x: torch.Tensor, lengths: torch.Tensor, views=TTA_VIEWS) -> tuple[torch.Tensor, torch.Tensor]:
    """All views stacked view-major: (V * B, M, D) and (V * B,), M the longest view."""
    parts = [make_view(x, lengths, v) for v in views]
    m = max(p[0].shape[1] for p in parts)
    xs = [torch.nn.functional.pad(p[0], (0, 0, 0, m - p[0].shape[1])) for p in parts]
    return torch.cat(xs, 0), torch.cat([p[1] for p in parts], 0)
