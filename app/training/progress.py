"""Per-member training dashboard: one PNG with loss, accuracy, macro-F1, per-class F1 and learning rate."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def plot_dashboard(history: list[dict], classes: list[str], path: Path, title: str = "") -> None:
    if not history:
        return
    ep = [h["epoch"] for h in history]
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), dpi=80)
    (a_loss, a_acc, a_f1), (a_cls, a_bar, a_lr) = axes
    a_loss.plot(ep, [h["train_loss"] for h in history], label="train (focal)")
    a_loss.plot(ep, [h["val_loss"] for h in history], label="val (NLL)")
    a_loss.set_title("loss")
    a_acc.plot(ep, [h["train_acc"] for h in history], label="train")
    a_acc.plot(ep, [h["val_acc"] for h in history], label="val")
    a_acc.set_title("accuracy")
    a_acc.set_ylim(0, 1.02)
    f1 = [h["val_f1_macro"] for h in history]
    best = max(range(len(f1)), key=lambda i: f1[i])
    a_f1.plot(ep, f1, color="C2")
    a_f1.axvline(ep[best], color="grey", ls=":", label=f"best {f1[best]:.3f} @ {ep[best]}")
    a_f1.set_title("val macro-F1")
    a_f1.set_ylim(0, 1.02)
    for i, c in enumerate(classes):
        a_cls.plot(ep, [h["val_f1_per_class"][i] for h in history], label=c)
    a_cls.set_title("val F1 per class")
    a_cls.set_ylim(0, 1.02)
    a_bar.bar(range(len(classes)), history[best]["val_f1_per_class"], color=[f"C{i}" for i in range(len(classes))])
    a_bar.set_xticks(range(len(classes)), classes, rotation=20, fontsize=8)
    a_bar.set_ylim(0, 1.02)
    a_bar.set_title(f"val F1 per class at best epoch {ep[best]}")
    a_lr.plot(ep, [h["lr"] for h in history], color="C4")
    a_lr.set_yscale("log")
    a_lr.set_title("learning rate (per epoch)")
    for ax in (a_loss, a_acc, a_f1, a_cls):
        ax.legend(fontsize=7)
    for ax in axes.flat:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    a_bar.set_xlabel("")
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
