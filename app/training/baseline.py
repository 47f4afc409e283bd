"""The mean-pooled-features MLP baseline (as in the HMDB51 report): what the temporal model must beat."""
from __future__ import annotations

import copy

import torch
from torch import nn

from app.evaluation.metrics import macro_f1
from app.features.store import FeatureSet
from app.temporal.mean_pool import MeanPoolMLP, baseline_probs  # noqa: F401 (baseline_probs: re-exported)
from app.temporal.mean_pool import tensors as _pooled
from app.training.losses import class_weights


def train_baseline(train: FeatureSet, val: FeatureSet, *, seed: int = 0, epochs: int = 150, lr: float = 1e-3,
                   patience: int = 30, batch_size: int = 32) -> tuple[MeanPoolMLP, dict]:
    """Adam with class-weighted cross-entropy; the epoch with the best validation macro-F1 is kept."""
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    xt, lt, yt = _pooled(train)
    xv, lv, yv = _pooled(val)
    c = len(train.classes)
    model = MeanPoolMLP(xt.shape[-1], c)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss(weight=class_weights(yt, c))
    best, best_state, best_epoch = -1.0, None, -1
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(yt), generator=g)
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(xt[idx], lt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        f1 = macro_f1(yv.numpy(), baseline_probs(model, val).argmax(1), c)
        if f1 > best:
            best, best_state, best_epoch = f1, copy.deepcopy(model.state_dict()), epoch
        elif epoch - best_epoch > patience:
            break
    model.load_state_dict(best_state)
    return model.eval(), {"seed": seed, "best_epoch": best_epoch, "val_f1_macro": best, "hidden": 256,
                          "description": "mean of frame features -> Linear(D,256) -> ReLU -> Dropout(0.3) -> Linear(256,C)"}
