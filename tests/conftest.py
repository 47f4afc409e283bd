"""Shared fixtures: the content4 dataset, an ONNX cache per test session, small real bundles."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def content4_dir() -> Path:
    """The shared content4 dataset: $CONTENT4_DIR, else ../shared/data/content4 beside the repo."""
    env = os.environ.get("CONTENT4_DIR")
    candidates = [Path(env)] if env else [REPO.parent / "shared" / "data" / "content4",
                                          REPO / "shared" / "data" / "content4"]
    for c in candidates:
        if (c / "manifest.csv").is_file():
            return c
    pytest.fail(f"the content4 dataset is needed by this test and was not found in {candidates}; "
                f"set CONTENT4_DIR")


@pytest.fixture(scope="session", autouse=True)
def _onnx_cache(tmp_path_factory):
    """Each test session exports its own ONNX engine (tests must not depend on a warm cache)."""
    if "VIDEOCLF_CACHE" not in os.environ:
        os.environ["VIDEOCLF_CACHE"] = str(tmp_path_factory.mktemp("videoclf-cache"))
    yield


@pytest.fixture(scope="session")
def content4() -> Path:
    return content4_dir()


@pytest.fixture(scope="session")
def content4_rows(content4) -> list[dict]:
    with open(content4 / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def pick_clips(rows: list[dict], split: str, per_class: int) -> list[dict]:
    """The first ``per_class`` rows of each class in ``split`` (manifest order: deterministic)."""
    out, seen = [], {}
    for r in rows:
        if r["split"] == split and seen.get(r["label"], 0) < per_class:
            seen[r["label"]] = seen.get(r["label"], 0) + 1
            out.append(r)
    return out


@pytest.fixture(scope="session")
def wiring_bundle(tmp_path_factory) -> Path:
    """A small bundle with freshly initialised members: for wiring tests, where weights don't matter."""
    import torch

    from app.bundle import save_bundle
    from app.features.backbones import LITE0
    from app.temporal.model import TemporalClassifier, TemporalConfig

    torch.manual_seed(0)
    cfg = TemporalConfig(hidden_dim=64, heads=2)
    backbone = {"name": LITE0.name, "feature_dim": LITE0.feature_dim, "preprocessing": LITE0.preprocessing.to_dict()}
    path = tmp_path_factory.mktemp("bundles") / "wiring"
    save_bundle(path, name="wiring", classes=["Animation", "Flat_Content", "Gaming", "Natural_Content"],
                backbone=backbone, max_frames=16, scales=[1.0], config=cfg,
                members=[(f"member_{i}", TemporalClassifier(cfg), {"seed": i}) for i in range(3)],
                trained=False, notes="freshly initialised members, for wiring tests only")
    return path
