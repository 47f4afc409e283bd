"""Temporal classifier over per-frame features: projection -> BiLSTM -> self-attention -> attention pooling.

Padding is masked at every step: the LSTM runs on packed sequences, self-attention gets a
``key_padding_mask``, and pooling gives padded frames exactly zero weight. (The system we build on
had no mask in attention or pooling, so padding changed its predictions.)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


@dataclass
class TemporalConfig:
    input_dim: int = 1280
    num_classes: int = 4
    hidden_dim: int = 256  # BiLSTM output size (each direction hidden_dim // 2)
    lstm_layers: int = 1
    heads: int = 4
    dropout: float = 0.3
    # Add the masked mean of the projected frames to the attention-pooled vector: a path as simple
    # as the mean-pool baseline that the temporal layers refine rather than replace.
    mean_pool: bool = False

    def __post_init__(self):
        if self.hidden_dim % 2 or self.hidden_dim % self.heads:
            raise ValueError(f"hidden_dim ({self.hidden_dim}) must be even and divisible by heads ({self.heads})")
        if self.num_classes < 2 or self.input_dim < 1 or self.lstm_layers < 1:
            raise ValueError(f"invalid temporal model config: {self}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TemporalConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown temporal model settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


# Size presets compared by scripts/selection_study.py (the shipped default is "tiny").
MODEL_SIZES = {
    "tiny": dict(hidden_dim=128, lstm_layers=1, heads=2),
    "small": dict(hidden_dim=256, lstm_layers=1, heads=4),
    "medium": dict(hidden_dim=512, lstm_layers=2, heads=8),
    "large": dict(hidden_dim=768, lstm_layers=2, heads=12),
}


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(B,) lengths -> (B, T) bool, True at real frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


class TemporalClassifier(nn.Module):
    def __init__(self, cfg: TemporalConfig):
        super().__init__()
        self.cfg = cfg
        h = cfg.hidden_dim
        # Frame features differ in scale between backbones; normalising first keeps one recipe.
        self.proj = nn.Sequential(nn.LayerNorm(cfg.input_dim), nn.Dropout(cfg.dropout / 2),
                                  nn.Linear(cfg.input_dim, h), nn.GELU(), nn.Dropout(cfg.dropout))
        self.lstm = nn.LSTM(h, h // 2, num_layers=cfg.lstm_layers, batch_first=True, bidirectional=True,
                            dropout=cfg.dropout if cfg.lstm_layers > 1 else 0.0)
        self.attn = nn.MultiheadAttention(h, cfg.heads, dropout=cfg.dropout, batch_first=True)
        self.attn_norm = nn.LayerNorm(h)
        self.pool_score = nn.Sequential(nn.Linear(h, h // 2), nn.Tanh(), nn.Linear(h // 2, 1))
        self.head = nn.Sequential(nn.Dropout(cfg.dropout), nn.Linear(h, cfg.num_classes))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, T, D) zero-padded, lengths (B,) >= 1 -> logits (B, C), pooling weights (B, T)."""
        B, T, _ = x.shape
        mask = lengths_to_mask(lengths, T)  # (B, T)
        h = self.proj(x)  # (B, T, H)
        frames = h
        packed = pack_padded_sequence(h, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # (B, T, H), zeros after length
        a, _ = self.attn(h, h, h, key_padding_mask=~mask, need_weights=False)  # (B, T, H)
        h = self.attn_norm(h + a)
        scores = self.pool_score(h).squeeze(-1)  # (B, T)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)  # (B, T), 0 on padding
        pooled = torch.bmm(weights.unsqueeze(1), h).squeeze(1)  # (B, H)
        if self.cfg.mean_pool:
            m = mask.unsqueeze(-1).to(frames.dtype)
            pooled = pooled + (frames * m).sum(1) / m.sum(1)
        return self.head(pooled), weights


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.inference_mode()
def predict_probs(model: TemporalClassifier, x: torch.Tensor, lengths: torch.Tensor,
                  batch_size: int = 64) -> np.ndarray:
    """(N, C) softmax of one temporal member, in batches."""
    model.eval()
    out = [model(x[i:i + batch_size], lengths[i:i + batch_size])[0].float().softmax(-1)
           for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()
