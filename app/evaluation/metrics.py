"""Classification metrics from labels and probabilities, computed with scikit-learn."""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    roc_auc_score,
    top_k_accuracy_score,
)

ECE_BINS = 15


def _check(y_true, probs, classes) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape != (len(y), len(classes)):
        raise ValueError(f"probs must be (n, {len(classes)}) for {len(y)} labels, got {p.shape}")
    if len(y) == 0:
        raise ValueError("no samples to evaluate")
    if y.min() < 0 or y.max() >= len(classes):
        raise ValueError(f"labels must be in [0, {len(classes) - 1}]")
    return y, p


def expected_calibration_error(y_true, probs, *, n_bins: int = ECE_BINS) -> float:
    """ECE with ``n_bins`` equal-width confidence bins: sum_b |B|/n * |acc(B) - conf(B)|."""
    y = np.asarray(y_true)
    p = np.asarray(probs)
    conf = p.max(1)
    correct = (p.argmax(1) == y).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (conf > lo) & (conf <= hi) if lo > 0 else (conf >= lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(ece)


def reliability(y_true, probs, *, n_bins: int = ECE_BINS) -> dict:
    """Per-bin confidence, accuracy and count (for the reliability diagram)."""
    y, p = np.asarray(y_true), np.asarray(probs)
    conf, correct = p.max(1), (p.argmax(1) == y)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, n_bins - 1)
    out = {"edges": edges.tolist(), "confidence": [], "accuracy": [], "count": []}
    for b in range(n_bins):
        m = bins == b
        out["count"].append(int(m.sum()))
        out["confidence"].append(float(conf[m].mean()) if m.any() else None)
        out["accuracy"].append(float(correct[m].mean()) if m.any() else None)
    return out


def classification_metrics(y_true, probs, classes: Sequence[str], *, top_k: Sequence[int] = (2, 3)) -> dict:
    """Every metric of the evaluation report for one system.

    Per-class AP and AUROC are one-vs-rest; they are None for a class absent from ``y_true``
    (undefined), and the macro averages are over the classes where they are defined.
    """
    y, p = _check(y_true, probs, classes)
    labels = np.arange(len(classes))
    pred = p.argmax(1)
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    per_class, aps, aucs = {}, [], []
    for i, c in enumerate(classes):
        positive = y == i
        ap = auc = None
        if positive.any() and (~positive).any():
            ap = float(average_precision_score(positive, p[:, i]))
            auc = float(roc_auc_score(positive, p[:, i]))
            aps.append(ap)
            aucs.append(auc)
        per_class[c] = {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]),
                        "support": int(support[i]), "ap": ap, "auroc": auc}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about classes absent from y_true
        top = {str(k): float(top_k_accuracy_score(y, p, k=k, labels=labels)) for k in top_k if k < len(classes)}
        clipped = np.clip(p, 1e-15, 1.0)
        loss = float(log_loss(y, clipped / clipped.sum(1, keepdims=True), labels=labels))
    return {
        "n": int(len(y)),
        "accuracy": float(accuracy_score(y, pred)),
        "top_k_accuracy": top,
        "f1_macro": float(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "f1_micro": float(f1_score(y, pred, labels=labels, average="micro", zero_division=0)),
        "f1_weighted": float(f1_score(y, pred, labels=labels, average="weighted", zero_division=0)),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "map_macro": float(np.mean(aps)) if aps else None,
        "auroc_macro": float(np.mean(aucs)) if aucs else None,
        "log_loss": loss,
        "ece": expected_calibration_error(y, p),
        "confusion_matrix": confusion_matrix(y, pred, labels=labels).tolist(),
        "per_class": per_class,
    }


def macro_f1(y_true, pred, num_classes: int) -> float:
    return float(f1_score(y_true, pred, labels=np.arange(num_classes), average="macro", zero_division=0))
