"""Which model bundle "ours" runs: --model DIR (default models/default), or ``--model wiring``.

``wiring`` writes an untrained bundle of the default's shape (4 members of
TemporalClassifier(hidden 256, 1 BiLSTM layer, 4 heads), 73 frames, scale 1.0, EfficientNet-Lite0)
into the bench cache, the way tests/conftest.py builds its wiring bundle. Speed does not depend on
the weights, so it stands in for the real bundle while that is being trained; the output says so.
"""
from __future__ import annotations

from pathlib import Path

from bench.clips import REPO

WIRING = "wiring"
CLASSES = ["Animation", "Flat_Content", "Gaming", "Natural_Content"]


def default_model_dir() -> Path:
    from app.bundle import default_bundle_dir

    return default_bundle_dir()


def _write_wiring(path: Path) -> Path:
    import torch

    from app.bundle import save_bundle
    from app.features.backbones import LITE0
    from app.temporal.model import TemporalClassifier, TemporalConfig

    torch.manual_seed(0)
    cfg = TemporalConfig(hidden_dim=256, lstm_layers=1, heads=4)
    backbone = {"name": LITE0.name, "feature_dim": LITE0.feature_dim, "preprocessing": LITE0.preprocessing.to_dict()}
    return save_bundle(path, name="wiring", classes=CLASSES, backbone=backbone, max_frames=73, scales=[1.0],
                       config=cfg, members=[(f"member_{i}", TemporalClassifier(cfg), {"seed": i}) for i in range(4)],
                       trained=False, notes="untrained, default-shaped: for benchmarking the wiring only")


def resolve(model: str | None, cache: Path) -> Path:
    """The bundle directory to load; exits with a clear message when it is missing."""
    if model == WIRING:
        path = cache / "wiring-bundle"
        if not (path / "bundle.json").is_file():
            _write_wiring(path)
        return path
    path = Path(model) if model else default_model_dir()
    if not path.is_absolute() and not path.exists():
        path = REPO / path
    if not (path / "bundle.json").is_file():
        raise SystemExit(f"bench: no model bundle at {path} (no bundle.json). Train or copy one there, pass "
                         f"--model DIR, or use --model wiring for an untrained stand-in of the same shape.")
    return path
