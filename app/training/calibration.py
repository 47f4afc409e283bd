"""Temperature scaling of ensemble probabilities, fitted by minimising NLL on validation."""
from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from app.temporal.ensemble import apply_temperature


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))


def fit_temperature(probs: np.ndarray, labels: np.ndarray, *, bounds=(0.05, 20.0)) -> float:
    """The T > 0 minimising the NLL of softmax(log(probs) / T) on (probs, labels)."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("cannot fit a temperature on an empty validation set")
    res = minimize_scalar(lambda logt: nll(apply_temperature(probs, float(np.exp(logt))), labels),
                          bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded",
                          options={"xatol": 1e-4})
    return float(np.exp(res.x))
