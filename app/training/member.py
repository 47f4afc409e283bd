"""Train one temporal member: the recipe of the system we build on, with its defects fixed.

- Focal loss with label smoothing; class imbalance handled once: loss weights *or* a balanced
  sampler (``balance``), never both. The ``source`` sampler also evens out sources within a class
  (a class made mostly of one source, such as content4's Atari Gaming, would otherwise teach that
  source's look as the class).
- AdamW; CosineAnnealingWarmRestarts with its period in epochs, stepped once per epoch.
- Gradient clipping; feature augmentation (temporal crop/shift, speed, frame drop, noise).
- Early stopping on validation macro-F1; the best epoch's weights are kept.
- Resumable: ``last.pt`` (model, optimizer, lr_scheduler, epoch, args, history, RNG) is written
  every epoch and picked up by the next run with the same settings.
"""
from __future__ import annotations

import copy
import csv
import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from torch.nn.utils import clip_grad_norm_
from tqdm import tqdm

from app.evaluation.metrics import macro_f1
from app.features.store import FeatureSet
from app.temporal.model import TemporalClassifier, TemporalConfig, predict_probs  # noqa: F401 (re-exported)
from app.training.augment import AugmentConfig, augment_batch
from app.training.losses import FocalLoss, class_weights

log = logging.getLogger(__name__)


BALANCE = ("loss", "sampler", "source", "none")


@dataclass
class TrainConfig:
    epochs: int = 60
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2
    restart_epochs: int = 10  # first cosine period, in epochs
    restart_mult: int = 2
    min_lr: float = 1e-6
    patience: int = 20
    focal_gamma: float = 2.0
    label_smoothing: float = 0.1
    balance: str = "loss"  # "loss" (class weights in the loss), "sampler" (balanced batches), "source" or "none"
    source_power: float = 0.0  # "source": a source's share of its class goes as (its clips) ** this
    grad_clip: float = 1.0
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self):
        if self.balance not in BALANCE:
            raise ValueError(f"balance must be one of {', '.join(BALANCE)}, got {self.balance!r}")
        if not 0.0 <= self.source_power <= 1.0:
            raise ValueError(f"source_power must be in [0, 1], got {self.source_power}")
        if isinstance(self.augment, dict):
            self.augment = AugmentConfig(**self.augment)

    def to_dict(self) -> dict:
        return asdict(self)


def tensors(fs: FeatureSet) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (torch.from_numpy(fs.features), torch.from_numpy(fs.num_frames).long(),
            torch.from_numpy(fs.labels).long())


@dataclass
class MemberResult:
    model: TemporalClassifier  # with the best epoch's weights
    history: list[dict]
    best_epoch: int
    best: dict  # validation scores at the best epoch


def sample_weights(labels, groups, num_classes: int, source_power: float = 1.0) -> torch.Tensor:
    """Per-row sampling weights: every class present gets the same total weight; within a class a
    source (``groups``) gets a share proportional to (its rows) ** ``source_power``, split evenly
    over its rows. Power 1 is the plain class-balanced sampler, 0 gives every source of a class the
    same share. Without groups every row is its own source."""
    labels = np.asarray(labels)
    groups = np.asarray(groups if groups is not None else np.arange(len(labels)).astype(str))
    w = np.zeros(len(labels))
    present = np.unique(labels)
    for c in present:
        rows = labels == c
        _, inverse, sizes = np.unique(groups[rows], return_inverse=True, return_counts=True)
        share = sizes.astype(float) ** source_power
        w[rows] = (share / share.sum())[inverse] / sizes[inverse] / len(present)
    return torch.from_numpy(w)


def _epoch_batches(weights: torch.Tensor | None, n: int, batch_size: int, g: torch.Generator):
    if weights is not None:
        order = torch.multinomial(weights, n, replacement=True, generator=g)
    else:
        order = torch.randperm(n, generator=g)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def train_member(train: FeatureSet, val: FeatureSet, model_cfg: TemporalConfig, cfg: TrainConfig, *,
                 seed: int, out_dir: Path | None = None, name: str = "member", progress: bool = True,
                 on_epoch: Callable[[list[dict], Path | None], None] | None = None,
                 groups: Sequence[str] | None = None) -> MemberResult:
    """Train one member on ``train``, selecting the epoch by macro-F1 on ``val``.

    ``groups`` names each training row's source (used by ``balance="source"``).
    """
    num_classes = model_cfg.num_classes
    xt, lt, yt = tensors(train)
    xv, lv, yv = tensors(val)
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = TemporalClassifier(model_cfg)
    alpha = class_weights(yt, num_classes) if cfg.balance == "loss" else None
    weights = None
    if cfg.balance in ("sampler", "source"):
        weights = sample_weights(yt.numpy(), groups if cfg.balance == "source" else None, num_classes,
                                 cfg.source_power if cfg.balance == "source" else 1.0)
    loss_fn = FocalLoss(cfg.focal_gamma, cfg.label_smoothing, alpha)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=cfg.restart_epochs,
                                                                 T_mult=cfg.restart_mult, eta_min=cfg.min_lr)
    args = {"seed": seed, "train": cfg.to_dict(), "model": model_cfg.to_dict(), "n_train": len(yt),
            "sampling": None if weights is None else hashlib.sha256(weights.numpy().tobytes()).hexdigest()}
    history: list[dict] = []
    best_state, best_epoch, best_key, best = None, -1, (-math.inf, -math.inf), {}
    start_epoch = 0
    ckpt = out_dir / "last.pt" if out_dir else None
    if ckpt and ckpt.is_file():
        state = torch.load(ckpt, map_location="cpu", weights_only=True)
        if state["args"] == args:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["lr_scheduler"])
            g.set_state(state["rng"])
            history, start_epoch = state["history"], state["epoch"] + 1
            best_state, best_epoch = state["best_state"], state["best_epoch"]
            best_key, best = tuple(state["best_key"]), state["best"]
            log.info("%s: resuming at epoch %d", name, start_epoch)
        else:
            log.warning("%s: %s was made with other settings; starting over", name, ckpt)
    bar = tqdm(range(start_epoch, cfg.epochs), desc=name, unit="epoch", disable=not progress,
               dynamic_ncols=True, leave=False)
    for epoch in bar:
        if epoch - best_epoch > cfg.patience and best_epoch >= 0:
            break
        model.train()
        total, correct, seen = 0.0, 0, 0
        for idx in _epoch_batches(weights, len(yt), cfg.batch_size, g):
            x, lengths = augment_batch(xt[idx], lt[idx], cfg.augment, g)
            logits, _ = model(x, lengths)
            loss = loss_fn(logits, yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yt[idx]).sum())
            seen += len(idx)
        lr = opt.param_groups[0]["lr"]
        sched.step()  # the period is in epochs: one step per epoch
        probs = predict_probs(model, xv, lv)
        pred = probs.argmax(1)
        per_class = [float(v) for v in _per_class_f1(yv.numpy(), pred, num_classes)]
        row = {
            "epoch": epoch, "lr": lr, "train_loss": total / seen, "train_acc": correct / seen,
            "val_loss": float(-np.log(np.clip(probs[np.arange(len(yv)), yv.numpy()], 1e-12, None)).mean()),
            "val_acc": float((pred == yv.numpy()).mean()),
            "val_f1_macro": macro_f1(yv.numpy(), pred, num_classes),
            "val_f1_per_class": per_class,
        }
        history.append(row)
        key = (row["val_f1_macro"], -row["val_loss"])
        if key > best_key:
            best_key, best_epoch = key, epoch
            best_state = copy.deepcopy(model.state_dict())
            best = {k: row[k] for k in ("val_loss", "val_acc", "val_f1_macro", "val_f1_per_class")}
        bar.set_postfix(loss=f"{row['train_loss']:.3f}", val_f1=f"{row['val_f1_macro']:.3f}",
                        best=f"{best_key[0]:.3f}@{best_epoch}")
        if out_dir:
            out_dir.mkdir(parents=True, exist_ok=True)
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "lr_scheduler": sched.state_dict(),
                        "epoch": epoch, "args": args, "history": history, "rng": g.get_state(),
                        "best_state": best_state, "best_epoch": best_epoch, "best_key": list(best_key),
                        "best": best}, ckpt)
            write_history(history, out_dir)
        if on_epoch:
            on_epoch(history, out_dir)
    bar.close()
    model.load_state_dict(best_state)
    return MemberResult(model.eval(), history, best_epoch, best)


def _per_class_f1(y, pred, num_classes):
    from sklearn.metrics import f1_score

    return f1_score(y, pred, labels=np.arange(num_classes), average=None, zero_division=0)


def write_history(history: list[dict], out_dir: Path) -> None:
    (out_dir / "history.json").write_text(json.dumps(history, indent=1))
    with open(out_dir / "history.csv", "w", newline="") as f:
        w = csv.writer(f)
        n_cls = len(history[0]["val_f1_per_class"]) if history else 0
        w.writerow(["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_f1_macro"]
                   + [f"val_f1_class{i}" for i in range(n_cls)])
        for r in history:
            w.writerow([r["epoch"], r["lr"], r["train_loss"], r["train_acc"], r["val_loss"], r["val_acc"],
                        r["val_f1_macro"], *r["val_f1_per_class"]])
