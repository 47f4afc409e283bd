"""The mean-pool MLP: the baseline the temporal model must beat, and an ensemble member when it
carries over to new sources better (decided on source-held-out CV by the training pipeline)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from app.features.store import FeatureSet
from app.temporal.model import lengths_to_mask

MEAN_POOL_KIND = "mean_pool_mlp"


class MeanPoolMLP(nn.Module):
    """mean over real frames -> Linear(D, 256) -> ReLU -> Dropout(0.3) -> Linear(256, C)."""

    def __init__(self, input_dim: int, num_classes: int, hidden: int = 256, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = lengths_to_mask(lengths, x.shape[1]).unsqueeze(-1)  # (B, T, 1)
        pooled = (x * mask).sum(1) / lengths[:, None].clamp(min=1)  # (B, D)
        return self.net(pooled)


class MeanPoolMember(nn.Module):
    """A MeanPoolMLP with a temporal member's interface: (logits, pooling weights), the weights
    uniform over the real frames (that is what a mean is)."""

    def __init__(self, mlp: MeanPoolMLP):
        super().__init__()
        self.mlp = mlp

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = lengths_to_mask(lengths, x.shape[1]).to(x.dtype)  # (B, T)
        return self.mlp(x, lengths), mask / mask.sum(1, keepdim=True)


def tensors(fs: FeatureSet) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(features, lengths, labels) of a feature set as tensors."""
    return torch.from_numpy(fs.features), torch.from_numpy(fs.num_frames).long(), torch.from_numpy(fs.labels).long()


@torch.inference_mode()
def baseline_probs(model: MeanPoolMLP, fs: FeatureSet) -> np.ndarray:
    """(N, C) softmax of the mean-pool MLP over a feature set."""
    model.eval()
    x, lengths, _ = tensors(fs)
    return model(x, lengths).softmax(-1).numpy()
