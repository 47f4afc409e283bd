"""Feature store in HDF5, in the layout of the system we build on, plus what auditing needs.

Datasets (N rows, T = max_frames, D = feature size):
    features   [N, T, D] float32, gzip-compressed, zero-padded after num_frames
    labels     [N] int64 (index into category_mapping)
    num_frames [N] int32
    timestamps [N, T] float64 seconds (0 after num_frames)
    ids, paths, splits [N] strings (utf-8); ids are unique (path, plus #start-end for segments)
    duration, fps [N] float64; width, height [N] int32 (of the source video)
Attributes: category_mapping (JSON {class: index}), backbone, backbone_info (JSON),
max_frames, scales (JSON list), feature_dim, format_version, failures (JSON {id: error}).

Rows are appended and flushed one video at a time, so an interrupted extraction resumes where it
stopped (``ids`` already present are skipped by the extractor).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

FORMAT_VERSION = 1
_STR = h5py.string_dtype("utf-8")


class FeatureStoreError(ValueError):
    """The store cannot be used as asked (settings differ, file damaged)."""


@dataclass
class FeatureSet:
    """A store's rows in memory."""

    features: np.ndarray  # (N, T, D) float32
    labels: np.ndarray  # (N,)
    num_frames: np.ndarray  # (N,)
    timestamps: np.ndarray  # (N, T)
    ids: list[str]
    splits: list[str]
    classes: list[str]
    attrs: dict

    def take(self, indices) -> "FeatureSet":
        """Rows at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return FeatureSet(self.features[idx], self.labels[idx], self.num_frames[idx], self.timestamps[idx],
                          [self.ids[i] for i in idx], [self.splits[i] for i in idx], self.classes, self.attrs)

    def subset(self, mask: np.ndarray) -> "FeatureSet":
        return self.take(np.flatnonzero(mask))

    def split(self, name: str) -> "FeatureSet":
        return self.subset(np.array([s == name for s in self.splits], dtype=bool))

    def __len__(self) -> int:
        return len(self.ids)


class FeatureStore:
    """Open (or create) ``path`` for the given settings. Use as a context manager."""

    def __init__(self, path: str | os.PathLike, *, classes: Sequence[str], backbone: dict,
                 max_frames: int, scales: Sequence[float], mode: str = "a"):
        self.path = Path(path)
        self.classes = list(classes)
        self.max_frames = int(max_frames)
        self.scales = [float(s) for s in scales]
        self.feature_dim = int(backbone["feature_dim"])
        self.backbone = backbone
        exists = self.path.exists()
        if mode in ("a", "w"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._f = h5py.File(self.path, mode)
        except OSError as exc:
            raise FeatureStoreError(f"{self.path}: cannot open as HDF5 ({exc}); delete it to start over") from exc
        if exists and "features" in self._f:
            self._check_settings()
        elif mode in ("a", "w"):
            self._create()
        else:
            raise FeatureStoreError(f"{self.path}: not a feature store")

    def _create(self) -> None:
        f, T, D = self._f, self.max_frames, self.feature_dim
        f.create_dataset("features", (0, T, D), maxshape=(None, T, D), dtype="float32",
                         chunks=(1, T, D), compression="gzip", compression_opts=4, shuffle=True)
        f.create_dataset("timestamps", (0, T), maxshape=(None, T), dtype="float64", chunks=(64, T))
        for name, dtype in (("labels", "int64"), ("num_frames", "int32"), ("duration", "float64"),
                            ("fps", "float64"), ("width", "int32"), ("height", "int32")):
            f.create_dataset(name, (0,), maxshape=(None,), dtype=dtype, chunks=(256,))
        for name in ("ids", "paths", "splits"):
            f.create_dataset(name, (0,), maxshape=(None,), dtype=_STR, chunks=(256,))
        f.attrs.update({
            "format_version": FORMAT_VERSION,
            "category_mapping": json.dumps({c: i for i, c in enumerate(self.classes)}),
            "backbone": self.backbone["name"],
            "backbone_info": json.dumps(self.backbone, sort_keys=True),
            "max_frames": self.max_frames,
            "scales": json.dumps(self.scales),
            "feature_dim": self.feature_dim,
            "failures": "{}",
        })

    def _check_settings(self) -> None:
        a = self._f.attrs
        found = {
            "backbone": a.get("backbone"),
            "max_frames": int(a.get("max_frames", -1)),
            "scales": json.loads(a.get("scales", "[]")),
            "classes": list(json.loads(a.get("category_mapping", "{}"))),
        }
        wanted = {"backbone": self.backbone["name"], "max_frames": self.max_frames, "scales": self.scales,
                  "classes": self.classes}
        diff = {k: (found[k], wanted[k]) for k in wanted if found[k] != wanted[k]}
        stored_pre = json.loads(a.get("backbone_info", "{}")).get("preprocessing")
        if stored_pre != self.backbone.get("preprocessing"):
            diff["preprocessing"] = (stored_pre, self.backbone.get("preprocessing"))
        if diff:
            details = "; ".join(f"{k}: store has {v[0]!r}, asked for {v[1]!r}" for k, v in diff.items())
            raise FeatureStoreError(f"{self.path} was made with other settings ({details}); "
                                    f"use another --out or delete it")

    def __enter__(self) -> "FeatureStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._f.id.valid:
            self._f.close()

    def ids(self) -> set[str]:
        return {s.decode() if isinstance(s, bytes) else s for s in self._f["ids"][:]}

    def __len__(self) -> int:
        return int(self._f["ids"].shape[0])

    def append(self, *, item_id: str, path: str, split: str, label: str, features: np.ndarray,
               timestamps: np.ndarray, duration: float, fps: float, width: int, height: int) -> None:
        """Add one video's (t, D) features (t <= max_frames) and flush."""
        t, d = features.shape
        if d != self.feature_dim or t > self.max_frames or t < 1:
            raise ValueError(f"features of shape {features.shape} do not fit a store of (T<={self.max_frames}, D={self.feature_dim})")
        if label not in self.classes:
            raise ValueError(f"unknown label {label!r}; the store's classes are {self.classes}")
        f = self._f
        n = len(self)
        for name in ("features", "timestamps", "labels", "num_frames", "duration", "fps", "width", "height",
                     "ids", "paths", "splits"):
            f[name].resize(n + 1, axis=0)
        row = np.zeros((self.max_frames, d), dtype=np.float32)
        row[:t] = features
        times = np.zeros(self.max_frames, dtype=np.float64)
        times[:t] = timestamps
        f["features"][n] = row
        f["timestamps"][n] = times
        f["labels"][n] = self.classes.index(label)
        f["num_frames"][n] = t
        f["duration"][n], f["fps"][n], f["width"][n], f["height"][n] = duration, fps, width, height
        f["ids"][n], f["paths"][n], f["splits"][n] = item_id, path, split
        f.flush()

    def record_failure(self, item_id: str, error: str) -> None:
        failures = json.loads(self._f.attrs.get("failures", "{}"))
        failures[item_id] = error
        self._f.attrs["failures"] = json.dumps(failures)
        self._f.flush()

    def clear_failure(self, item_id: str) -> None:
        failures = json.loads(self._f.attrs.get("failures", "{}"))
        if failures.pop(item_id, None) is not None:
            self._f.attrs["failures"] = json.dumps(failures)


def read_features(path: str | os.PathLike) -> FeatureSet:
    """Load a whole store into memory."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise FeatureStoreError(f"{path}: cannot open as HDF5 ({exc})") from exc
    with f:
        if "features" not in f:
            raise FeatureStoreError(f"{path}: not a feature store (no 'features' dataset)")
        mapping = json.loads(f.attrs["category_mapping"])
        classes = [c for c, _ in sorted(mapping.items(), key=lambda kv: kv[1])]

        def strings(name):
            return [s.decode() if isinstance(s, bytes) else str(s) for s in f[name][:]] if name in f else []

        ids = strings("ids") or [str(i) for i in range(f["features"].shape[0])]
        attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
        return FeatureSet(
            features=f["features"][:],
            labels=f["labels"][:].astype(np.int64),
            num_frames=f["num_frames"][:].astype(np.int64),
            timestamps=f["timestamps"][:] if "timestamps" in f else np.zeros(f["features"].shape[:2]),
            ids=ids,
            splits=strings("splits") or [""] * len(ids),
            classes=classes,
            attrs=attrs,
        )
