"""Evaluation plots (PNG): confusion matrices, per-class F1, PR and ROC curves, reliability diagram."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import precision_recall_curve, roc_curve  # noqa: E402

from app.evaluation.metrics import reliability  # noqa: E402


def _save(fig, path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def confusion(cm: Sequence[Sequence[int]], classes: Sequence[str], path: Path, *, normalize: bool, title: str) -> str:
    cm = np.asarray(cm, dtype=float)
    shown = cm / np.clip(cm.sum(1, keepdims=True), 1, None) if normalize else cm
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else max(1, cm.max()))
    for i in range(len(classes)):
        for j in range(len(classes)):
            text = f"{shown[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=9,
                    color="white" if shown[i, j] > (0.5 if normalize else cm.max() / 2) else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(classes)), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def f1_bars(systems: dict[str, dict], classes: Sequence[str], path: Path) -> str:
    names = list(systems)
    width = 0.8 / len(names)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(classes)), 4))
    for k, name in enumerate(names):
        vals = [systems[name]["per_class"][c]["f1"] for c in classes]
        ax.bar(np.arange(len(classes)) + (k - (len(names) - 1) / 2) * width, vals, width, label=name)
    ax.set_xticks(range(len(classes)), classes, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("F1")
    ax.set_title("per-class F1")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def pr_curves(y: np.ndarray, probs: np.ndarray, classes: Sequence[str], path: Path, title: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 4.4))
    for i, c in enumerate(classes):
        if (y == i).any():
            p, r, _ = precision_recall_curve(y == i, probs[:, i])
            ax.plot(r, p, label=c)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def roc_curves(y: np.ndarray, probs: np.ndarray, classes: Sequence[str], path: Path, title: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 4.4))
    for i, c in enumerate(classes):
        if (y == i).any() and (y != i).any():
            fpr, tpr, _ = roc_curve(y == i, probs[:, i])
            ax.plot(fpr, tpr, label=c)
    ax.plot([0, 1], [0, 1], color="grey", ls=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def reliability_diagram(y: np.ndarray, curves: dict[str, np.ndarray], path: Path, title: str) -> str:
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.plot([0, 1], [0, 1], color="grey", ls=":", label="perfect")
    for name, probs in curves.items():
        r = reliability(y, probs)
        pts = [(c, a, n) for c, a, n in zip(r["confidence"], r["accuracy"], r["count"]) if n]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        for c, a, n in pts:
            ax.annotate(str(n), (c, a), fontsize=6, alpha=0.6)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)
