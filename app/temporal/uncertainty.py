"""When an answer is flagged ``uncertain``: one documented rule for serving, timelines and reports.

An answer is uncertain when its calibrated top probability is below ``min_confidence`` (chosen by
training on out-of-source predictions, see ``app.training.pipeline``), or when fewer than
``min_agreement`` of the members name the same class as the ensemble. The flag does not change
the answer (``label``); a bundle's ``abstain_threshold``, when set, does.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class UncertainRule:
    min_confidence: float | None = None
    min_agreement: float = 0.5

    def reasons(self, probs: np.ndarray, member_probs: np.ndarray | None = None) -> list[str]:
        """Why one answer is uncertain: [] when it is not. probs (C,), member_probs (M, C)."""
        out = []
        best = int(np.argmax(probs))
        if self.min_confidence is not None and float(probs[best]) < self.min_confidence:
            out.append(f"confidence {float(probs[best]):.2f} is below {self.min_confidence:.2f}")
        if member_probs is not None and len(member_probs) > 1:
            agree = float(np.mean(np.argmax(member_probs, axis=-1) == best))
            if agree < self.min_agreement:
                out.append(f"only {agree:.0%} of the members agree")
        return out

    def flags(self, probs: np.ndarray, member_probs: np.ndarray | None = None) -> np.ndarray:
        """(N,) bool for probs (N, C) and member_probs (M, N, C) or None."""
        flags = np.zeros(len(probs), dtype=bool)
        best = probs.argmax(1)
        if self.min_confidence is not None:
            flags |= probs.max(1) < self.min_confidence
        if member_probs is not None and len(member_probs) > 1:
            flags |= (member_probs.argmax(-1) == best[None]).mean(0) < self.min_agreement
        return flags

    def to_dict(self) -> dict:
        return {**asdict(self), "rule": "uncertain when the calibrated top probability < min_confidence, or "
                                        "fewer than min_agreement of the members name the ensemble's class"}

    @classmethod
    def from_dict(cls, d: dict | None) -> "UncertainRule":
        d = d or {}
        conf = d.get("min_confidence")
        return cls(None if conf is None else float(conf), float(d.get("min_agreement", 0.5)))


def choose_min_confidence(probs: np.ndarray, labels: np.ndarray, *, target_accuracy: float = 0.9,
                          grid=np.round(np.arange(0.30, 0.951, 0.05), 2)) -> float:
    """The lowest threshold at which the answers left (top probability >= it) are right at least
    ``target_accuracy`` of the time; the highest in ``grid`` if none reaches it."""
    conf, right = probs.max(1), probs.argmax(1) == np.asarray(labels)
    for t in grid:
        kept = conf >= t
        if kept.any() and right[kept].mean() >= target_accuracy:
            return float(t)
    return float(grid[-1])


def coverage(flags: np.ndarray, right: np.ndarray) -> dict:
    """How often the flag fires, and how accurate the answers it leaves are."""
    kept = ~flags
    return {"uncertain_rate": round(float(flags.mean()), 4) if len(flags) else 0.0,
            "accuracy_when_certain": round(float(right[kept].mean()), 4) if kept.any() else None,
            "accuracy_when_uncertain": round(float(right[flags].mean()), 4) if flags.any() else None}
