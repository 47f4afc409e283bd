"""Model bundles: a directory that can be loaded, run and audited on its own.

    models/<name>/
        bundle.json                 everything needed to rebuild and audit the model
        members/<member>.safetensors  temporal member weights (no pickle anywhere)
        baseline.safetensors        optional mean-pool MLP baseline (for evaluation)
        report/                     optional stored evaluation (report.json + plots)

``bundle.json`` holds the classes in order, the backbone and its preprocessing, the sampling
(max_frames, scales), the temporal model config, calibration (temperatures, abstain threshold),
TTA default, members (file, sha256, seed, weight, validation scores) and excluded members with
the reason, the training config, the data fingerprint and summary metrics. ``load_bundle``
checks all of it against the files and fails with a ``BundleError`` naming what is wrong.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from app.features.backbones import get_spec
from app.features.preprocessing import Preprocessing
from app.files import sha256_file
from app.temporal.mean_pool import MEAN_POOL_KIND, MeanPoolMember, MeanPoolMLP
from app.temporal.model import TemporalClassifier, TemporalConfig

FORMAT = "videoclf-bundle"
FORMAT_VERSION = 1
DEFAULT_BUNDLE = Path(__file__).resolve().parent.parent / "models" / "default"


class BundleError(ValueError):
    """A bundle is missing, incomplete or inconsistent; the message says what and where."""


def default_bundle_dir() -> Path:
    """$VIDEOCLF_MODEL, else models/default in this checkout."""
    return Path(os.environ.get("VIDEOCLF_MODEL") or DEFAULT_BUNDLE)


@dataclass
class Bundle:
    path: Path
    meta: dict[str, Any]
    members: list[TemporalClassifier]
    member_weights: list[float]
    config: TemporalConfig
    baseline: dict[str, torch.Tensor] | None = None

    @property
    def name(self) -> str:
        return self.meta["name"]

    @property
    def version(self) -> str:
        return self.meta.get("version", "")

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def backbone(self) -> str:
        return self.meta["backbone"]["name"]

    @property
    def preprocessing(self) -> Preprocessing:
        """How frames are cut and normalised for this bundle (its geometry included)."""
        return Preprocessing.from_dict(self.meta["backbone"]["preprocessing"])

    @property
    def geometry(self) -> str:
        return self.preprocessing.geometry

    @property
    def max_frames(self) -> int:
        return int(self.meta["sampling"]["max_frames"])

    @property
    def scales(self) -> list[float]:
        return [float(s) for s in self.meta["sampling"]["scales"]]

    @property
    def calibration(self) -> dict:
        return self.meta.get("calibration", {})

    def temperature(self, tta: bool) -> float:
        cal = self.calibration
        return float(cal.get("temperature_tta" if tta else "temperature", cal.get("temperature", 1.0)))

    @property
    def tta_default(self) -> bool:
        return bool(self.meta.get("inference", {}).get("tta_default", False))

    @property
    def trained(self) -> bool:
        return bool(self.meta.get("trained", False))


def save_bundle(path: str | os.PathLike, *, name: str, classes: list[str], backbone: dict, max_frames: int,
                scales: list[float], config: TemporalConfig, members: list[tuple[str, TemporalClassifier, dict]],
                calibration: dict | None = None, inference: dict | None = None, training: dict | None = None,
                composition: dict | None = None,
                data: dict | None = None, metrics: dict | None = None, excluded_members: list[dict] | None = None,
                baseline: dict[str, torch.Tensor] | None = None, baseline_info: dict | None = None,
                trained: bool = True, notes: str = "", version: str | None = None,
                extra: dict | None = None) -> Path:
    """Write a bundle directory. ``members`` is a list of (name, model, info) with info holding
    at least ``seed`` and optionally ``weight`` and validation scores."""
    path = Path(path)
    (path / "members").mkdir(parents=True, exist_ok=True)
    entries = []
    for member_name, model, info in members:
        file = path / "members" / f"{member_name}.safetensors"
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(file), metadata={"bundle": name, "member": member_name})
        entries.append({"name": member_name, "file": f"members/{member_name}.safetensors",
                        "sha256": sha256_file(file), "weight": float(info.get("weight", 1.0)),
                        **{k: v for k, v in info.items() if k != "weight"}})
    meta: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "version": version or datetime.now(timezone.utc).strftime("%Y.%m.%d"),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "trained": trained,
        "notes": notes,
        "classes": list(classes),
        "backbone": backbone,
        "sampling": {"max_frames": int(max_frames), "scales": [float(s) for s in scales]},
        "model": config.to_dict(),
        "members": entries,
        "excluded_members": excluded_members or [],
        "calibration": {"temperature": 1.0, "temperature_tta": 1.0, "abstain_threshold": None,
                        **(calibration or {})},
        "inference": {"tta_default": False, **(inference or {})},
        "composition": composition or {"name": "temporal", "mean_pool_share": 0.0},
        "training": training or {},
        "data": data or {},
        "metrics": metrics or {},
    }
    if baseline is not None:
        file = path / "baseline.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in baseline.items()}, str(file))
        meta["baseline"] = {"file": "baseline.safetensors", "sha256": sha256_file(file), **(baseline_info or {})}
    clash = set(extra or {}) & set(meta)
    if clash:
        raise ValueError(f"extra bundle.json entries {sorted(clash)} would replace the bundle's own")
    meta.update(extra or {})
    (path / "bundle.json").write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return path


def _require(meta: dict, key: str, kind, where: str):
    if key not in meta:
        raise BundleError(f"{where}: bundle.json has no {key!r}")
    if not isinstance(meta[key], kind):
        raise BundleError(f"{where}: {key!r} should be {getattr(kind, '__name__', kind)}, got {type(meta[key]).__name__}")
    return meta[key]


def load_bundle(path: str | os.PathLike, *, load_baseline: bool = False) -> Bundle:
    """Read and validate a bundle directory. Raises ``BundleError`` on any mismatch."""
    path = Path(path)
    meta_file = path / "bundle.json"
    if not meta_file.is_file():
        raise BundleError(f"{path}: not a model bundle (no bundle.json)")
    try:
        meta = json.loads(meta_file.read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{meta_file}: not valid JSON ({exc})") from exc
    where = str(path)
    if meta.get("format") != FORMAT:
        raise BundleError(f"{where}: not a {FORMAT} (format is {meta.get('format')!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{where}: format_version {meta.get('format_version')!r} is not supported "
                          f"(this code reads {FORMAT_VERSION})")
    classes = _require(meta, "classes", list, where)
    if len(classes) < 2 or len(set(classes)) != len(classes) or not all(isinstance(c, str) and c for c in classes):
        raise BundleError(f"{where}: classes must be 2 or more distinct names, got {classes!r}")
    backbone = _require(meta, "backbone", dict, where)
    try:
        spec = get_spec(backbone.get("name"))
    except ValueError as exc:
        raise BundleError(f"{where}: {exc}") from None
    if backbone.get("feature_dim") != spec.feature_dim:
        raise BundleError(f"{where}: backbone {spec.name} gives {spec.feature_dim}-d features, "
                          f"bundle says {backbone.get('feature_dim')}")
    stored_pre = backbone.get("preprocessing")
    try:  # the geometry is the bundle's own setting; the rest must be the backbone's
        pre = Preprocessing.from_dict(stored_pre)
        same = replace(pre, geometry=spec.preprocessing.geometry, tiles=spec.preprocessing.tiles) == spec.preprocessing
    except (AttributeError, KeyError, TypeError, ValueError):
        same = False
    if not same:
        raise BundleError(f"{where}: the bundle's preprocessing {stored_pre} differs from backbone "
                          f"{spec.name}'s {spec.preprocessing.to_dict()}; it was trained on other inputs")
    sampling = _require(meta, "sampling", dict, where)
    if not isinstance(sampling.get("max_frames"), int) or sampling["max_frames"] < 1:
        raise BundleError(f"{where}: sampling.max_frames must be a positive integer")
    try:
        config = TemporalConfig.from_dict(_require(meta, "model", dict, where))
    except (TypeError, ValueError) as exc:
        raise BundleError(f"{where}: bad model config: {exc}") from None
    if config.input_dim != spec.feature_dim:
        raise BundleError(f"{where}: model input_dim {config.input_dim} != backbone feature size {spec.feature_dim}")
    if config.num_classes != len(classes):
        raise BundleError(f"{where}: model has {config.num_classes} outputs but {len(classes)} classes are listed")
    entries = _require(meta, "members", list, where)
    if not entries:
        raise BundleError(f"{where}: the bundle lists no members")
    members, weights = [], []
    for entry in entries:
        file = path / entry.get("file", "")
        if not file.is_file():
            raise BundleError(f"{where}: member {entry.get('name')!r}: file {entry.get('file')!r} is missing")
        if entry.get("sha256") and sha256_file(file) != entry["sha256"]:
            raise BundleError(f"{where}: member {entry.get('name')!r}: {entry['file']} does not match its "
                              f"sha256 in bundle.json (changed or corrupt)")
        kind = entry.get("kind", "temporal")
        if kind == MEAN_POOL_KIND:
            model = MeanPoolMember(MeanPoolMLP(config.input_dim, config.num_classes, hidden=int(entry.get("hidden", 256))))
        elif kind == "temporal":
            model = TemporalClassifier(config)
        else:
            raise BundleError(f"{where}: member {entry.get('name')!r} has unknown kind {kind!r}; "
                              f"known: temporal, {MEAN_POOL_KIND}")
        try:
            state = load_file(str(file))
            model.load_state_dict(state, strict=True)
        except Exception as exc:  # safetensors header errors, missing/unexpected keys, shape mismatch
            raise BundleError(f"{where}: member {entry.get('name')!r} does not fit the model config: {exc}") from None
        members.append(model.eval())
        weights.append(float(entry.get("weight", 1.0)))
    baseline = None
    if load_baseline and meta.get("baseline"):
        file = path / meta["baseline"]["file"]
        if not file.is_file():
            raise BundleError(f"{where}: baseline file {meta['baseline']['file']!r} is missing")
        baseline = load_file(str(file))
    return Bundle(path=path, meta=meta, members=members, member_weights=weights, config=config, baseline=baseline)
