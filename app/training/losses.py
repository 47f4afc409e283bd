"""Focal loss with label smoothing and optional per-class weights."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FocalLoss(nn.Module):
    """mean_i alpha[y_i] * sum_c q_ic * (1 - p_ic)^gamma * -log p_ic, q the smoothed one-hot target.

    ``alpha`` (per-class weights) is how class imbalance is handled when the loss handles it; pass
    None when a balanced sampler does instead (never both).
    """

    def __init__(self, gamma: float = 2.0, smoothing: float = 0.1, alpha: torch.Tensor | None = None):
        super().__init__()
        if not 0.0 <= smoothing < 1.0 or gamma < 0:
            raise ValueError(f"need gamma >= 0 and 0 <= smoothing < 1, got gamma={gamma}, smoothing={smoothing}")
        self.gamma, self.smoothing = gamma, smoothing
        self.register_buffer("alpha", alpha if alpha is not None else torch.empty(0))

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        c = logits.shape[-1]
        logp = F.log_softmax(logits.float(), dim=-1)  # (B, C)
        q = torch.full_like(logp, self.smoothing / c)
        q.scatter_(1, target[:, None], 1.0 - self.smoothing + self.smoothing / c)
        focal = (1.0 - logp.exp()).pow(self.gamma)
        loss = -(q * focal * logp).sum(-1)  # (B,)
        if self.alpha.numel():
            loss = loss * self.alpha[target]
            return loss.sum() / self.alpha[target].sum()
        return loss.mean()


def class_weights(labels, num_classes: int) -> torch.Tensor:
    """Inverse-frequency weights normalised to mean 1 over the classes present."""
    counts = torch.bincount(torch.as_tensor(labels), minlength=num_classes).float()
    w = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp(min=1)), torch.zeros_like(counts))
    return w / w[counts > 0].mean()
