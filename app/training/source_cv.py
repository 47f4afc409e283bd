"""Source-held-out cross-validation: predictions for every training clip from models that never
saw its source.

Whole sources of the train split are held out in ``k`` folds stratified by class (largest sources
first, each to the fold holding the fewest clips of its class). A source that the dataset itself
spreads over several splits (a collection such as the Atari games, the Lottie animations or the R
manuals) is held out per work (the file name before ``__segNN``), as the dataset's split does.
Models for fold ``f`` train on the other folds (early stopping on val as usual) and predict fold
``f``. Pooled over the folds, this is the situation every user's video puts the model in, which a
val split of a few sources measures poorly. Used by the training pipeline to fit the temperature
and the ``uncertain`` rule on out-of-source predictions, and by the studies in ``scripts/``.
"""
from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from app.data.manifest import Item
from app.features.store import FeatureSet
from app.temporal.ensemble import Ensemble
from app.temporal.model import TemporalConfig
from app.training.baseline import baseline_probs, train_baseline
from app.training.member import TrainConfig, predict_probs, train_member


def held_out_units(train_items: Sequence[Item], all_items: Sequence[Item]) -> list[str]:
    """The unit each training item is held out with: its source, or source/work for a collection
    the dataset spreads over several splits."""
    splits_of = defaultdict(set)
    for it in all_items:
        splits_of[it.group].add(it.split)
    spread = {g for g, s in splits_of.items() if len(s) > 1}
    return [f"{it.group}/{re.sub(r'__seg[0-9]+$', '', it.path.stem)}" if it.group in spread else it.group
            for it in train_items]


def make_folds(units: Sequence[str], labels: Sequence[int], k: int) -> np.ndarray:
    """Fold index per item; all items of a unit in one fold, classes spread evenly over the folds."""
    if k < 2:
        raise ValueError(f"source-held-out CV needs at least 2 folds, got {k}")
    size: dict[str, int] = defaultdict(int)
    label_of: dict[str, int] = {}
    for u, y in zip(units, labels):
        size[u] += 1
        label_of.setdefault(u, int(y))
    fold_of, load = {}, defaultdict(lambda: [0] * k)
    for u in sorted(size, key=lambda u: (label_of[u], -size[u], u)):
        f = int(np.argmin(load[label_of[u]]))
        fold_of[u] = f
        load[label_of[u]][f] += size[u]
    return np.array([fold_of[u] for u in units])


@dataclass
class CVPredictions:
    ids: list[str]
    labels: np.ndarray  # (N,)
    folds: np.ndarray  # (N,)
    members: np.ndarray  # (S, N, C): one temporal model per seed and fold, out-of-source
    members_tta: np.ndarray  # (S, N, C): the same models with test-time augmentation
    baseline: np.ndarray | None = None  # (N, C) mean-pool MLP, out-of-source
    seconds: float = 0.0
    runs: list[dict] = field(default_factory=list)

    @property
    def ensemble(self) -> np.ndarray:
        """(N, C) mean over the seeds: the out-of-source prediction of an ensemble of members."""
        return self.members.mean(0)

    @property
    def ensemble_tta(self) -> np.ndarray:
        return self.members_tta.mean(0)

    def mixed(self, mean_pool_share: float, *, tta: bool = False) -> np.ndarray:
        """(N, C) the temporal ensemble and the mean-pool MLP averaged with this share for the MLP."""
        temporal = self.ensemble_tta if tta else self.ensemble
        if mean_pool_share == 0 or self.baseline is None:
            return temporal
        return (1 - mean_pool_share) * temporal + mean_pool_share * self.baseline


def source_cv(train: FeatureSet, val: FeatureSet, folds: np.ndarray, groups: Sequence[str],
              model_cfg: TemporalConfig, train_cfg: TrainConfig, *, seeds: int = 2, seed: int = 0,
              baseline: bool = True, on_run: Callable[[str], None] | None = None) -> CVPredictions:
    """Train ``seeds`` temporal members (and the baseline) per fold; predict the held-out fold."""
    n, c = len(train), len(train.classes)
    members = np.zeros((seeds, n, c), dtype=np.float32)
    members_tta = np.zeros_like(members)
    base = np.zeros((n, c), dtype=np.float32) if baseline else None
    groups = np.asarray(groups)
    t0, runs = time.time(), []
    for f in np.unique(folds):
        fit, held = np.flatnonzero(folds != f), np.flatnonzero(folds == f)
        h = train.take(held)
        for s in range(seeds):
            t = time.time()
            res = train_member(train.take(fit), val, model_cfg, train_cfg, seed=seed + 100 * s + int(f),
                               progress=False, groups=groups[fit].tolist())
            x, lengths = torch.from_numpy(h.features), torch.from_numpy(h.num_frames).long()
            members[s, held] = predict_probs(res.model, x, lengths)
            members_tta[s, held] = Ensemble([res.model]).predict(x, lengths, tta=True).probs.numpy()
            runs.append({"fold": int(f), "seed": s, "best_epoch": res.best_epoch, "seconds": round(time.time() - t, 1)})
            if on_run:
                on_run(f"source CV fold {f} member {s}: {runs[-1]['seconds']} s")
        if base is not None:
            mlp, _ = train_baseline(train.take(fit), val, seed=seed + int(f))
            base[held] = baseline_probs(mlp, h)
    return CVPredictions(list(train.ids), np.asarray(train.labels), np.asarray(folds), members, members_tta, base,
                         round(time.time() - t0, 1), runs)
