"""A backbone ready to run: spec + weights + device + engine, batched, inference only.

Engines:
- ``torch``: ``inference_mode`` and ``channels_last``; on CUDA, bf16 (or fp16) autocast with
  pinned, non-blocking host-to-device copies of the uint8 frames.
- ``onnxruntime`` (CPU): the same module exported once to ONNX and cached on disk, checked
  against PyTorch on a random batch before first use; about 1.7x faster than PyTorch on the
  2-core CPU this project is developed on (docs/performance.md).
- ``auto``: CUDA -> torch; CPU -> onnxruntime when it is installed and the check passes, else torch.

Every path processes a video's frames in the same fixed-size chunks, so one clip gives the same
features whether it comes through ``videoclf extract`` or ``SingleVideoClassifier``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path

import numpy as np
import torch

from app.features.backbones import BackboneSpec, get_spec, resolve_device
from app.features.preprocessing import Preprocessing

log = logging.getLogger(__name__)

ENGINES = ("auto", "torch", "onnxruntime")
# Relative tolerance between the ONNX export and PyTorch (fp32; observed about 1e-6 relative).
ONNX_RTOL = 1e-4


def cache_dir() -> Path:
    """Where exported engines are cached: $VIDEOCLF_CACHE, else ~/.cache/videoclf."""
    root = os.environ.get("VIDEOCLF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "videoclf")
    return Path(root)


class Backbone:
    """Callable: (N, S, S, 3) uint8 frames -> (N, D) float32 features."""

    def __init__(self, spec: BackboneSpec, module: torch.nn.Module, weights_id: str,
                 device: torch.device, engine: str, batch_size: int, session=None,
                 preprocessing: Preprocessing | None = None):
        self.spec = spec
        self.preprocessing = preprocessing or spec.preprocessing
        self.module = module
        self.weights_id = weights_id
        self.device = device
        self.engine = engine
        self.batch_size = batch_size
        self._session = session
        self._amp_dtype = None
        if device.type == "cuda":
            self._amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def feature_dim(self) -> int:
        return self.spec.feature_dim

    def with_geometry(self, geometry: str | None) -> "Backbone":
        """The same network (shared, not copied) behind another frame geometry."""
        if geometry is None or geometry == self.preprocessing.geometry:
            return self
        return Backbone(self.spec, self.module, self.weights_id, self.device, self.engine, self.batch_size,
                        self._session, self.preprocessing.with_geometry(geometry))

    def prepare_frame(self, rgb: np.ndarray) -> np.ndarray:
        """Cut one decoded RGB frame into its view(s) (the geometric half of preprocessing)."""
        return self.preprocessing.prepare(rgb)

    def describe(self) -> dict:
        return {
            "name": self.spec.name,
            "feature_dim": self.spec.feature_dim,
            "weights_id": self.weights_id,
            "engine": self.engine,
            "device": str(self.device),
            "preprocessing": self.preprocessing.to_dict(),
        }

    def feature_maps(self, frames: np.ndarray) -> torch.Tensor:
        """(N, S, S, 3) uint8 crops -> the last conv stage's maps (N, D, h, w) float32 on the device,
        without gradients (always the PyTorch module: Grad-CAM's input, whatever the engine)."""
        with torch.no_grad():
            return self.module.feature_maps(torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)).float()

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        pre = self.preprocessing
        if frames.ndim != 4 or frames.shape[1:] != pre.frame_shape or frames.dtype != np.uint8:
            raise ValueError(f"{self.name} ({pre.geometry}) expects uint8 frames of shape (N, "
                             f"{', '.join(map(str, pre.frame_shape))}), got {frames.dtype} {frames.shape}")
        out = np.empty((len(frames), self.feature_dim), dtype=np.float32)
        views = pre.views
        for i in range(0, len(frames), self.batch_size):
            chunk = pre.split_views(np.ascontiguousarray(frames[i:i + self.batch_size]))
            feats = self._forward(chunk)  # (n * views, D)
            out[i:i + len(chunk) // views] = feats.reshape(-1, views, self.feature_dim).mean(axis=1)
        return out

    def _forward(self, chunk: np.ndarray) -> np.ndarray:
        if self._session is not None:
            return self._session.run(None, {"frames": chunk})[0]
        with torch.inference_mode():
            x = torch.from_numpy(chunk)
            if self.device.type == "cuda":
                x = x.pin_memory().to(self.device, non_blocking=True)
                with torch.autocast("cuda", dtype=self._amp_dtype):
                    y = self.module(x)
                return y.float().cpu().numpy()
            return self.module(x).numpy()


_lock = threading.Lock()
_cache: dict[tuple, Backbone] = {}


def create_backbone(name: str, *, device: str | torch.device | None = None, engine: str = "auto",
                    weights: str | None = None, batch_size: int | None = None,
                    geometry: str | None = None) -> Backbone:
    """Build (once per process and settings) a ready backbone; ``geometry`` (one of
    ``app.features.preprocessing.GEOMETRIES``, default the backbone's own) sets how frames are cut.

    Raises ``ValueError`` for an unknown name, engine or device, and
    ``BackboneUnavailableError`` when the weights or library are missing.
    """
    spec = get_spec(name)
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {list(ENGINES)}")
    dev = resolve_device(device)
    if engine == "onnxruntime" and dev.type != "cpu":
        raise ValueError("the onnxruntime engine runs on the CPU; use engine='torch' for CUDA")
    key = (name, str(dev), engine, weights, batch_size)
    with _lock:
        if key not in _cache:
            _cache[key] = _build(spec, dev, engine, weights, batch_size)
        return _cache[key].with_geometry(geometry)


def _build(spec: BackboneSpec, dev: torch.device, engine: str, weights: str | None,
           batch_size: int | None) -> Backbone:
    module, weights_id = spec.build(weights)
    module.eval().requires_grad_(False)
    module = module.to(dev).to(memory_format=torch.channels_last)
    batch_size = batch_size or (64 if dev.type == "cuda" else 16)
    session = None
    chosen = "torch"
    if dev.type == "cpu" and engine in ("auto", "onnxruntime"):
        try:
            session = _onnx_session(spec, module, weights_id)
            chosen = "onnxruntime"
        except Exception as exc:  # export or check failed: PyTorch is always correct
            if engine == "onnxruntime":
                raise
            log.warning("ONNX Runtime engine unavailable for %s (%s); using PyTorch", spec.name, exc)
    return Backbone(spec, module, weights_id, dev, chosen, batch_size, session)


def _onnx_session(spec: BackboneSpec, module: torch.nn.Module, weights_id: str):
    import onnxruntime as ort

    crop = spec.preprocessing.crop
    tag = hashlib.sha256(repr((spec.name, weights_id, spec.preprocessing, torch.__version__)).encode()).hexdigest()[:16]
    path = cache_dir() / "onnx" / f"{spec.name}-{tag}.onnx"
    if not path.is_file():
        _export_onnx(module, crop, path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    # Check the cached export against PyTorch before trusting it.
    probe = np.random.default_rng(0).integers(0, 256, size=(2, crop, crop, 3), dtype=np.uint8)
    with torch.inference_mode():
        ref = module(torch.from_numpy(probe)).numpy()
    got = session.run(None, {"frames": probe})[0]
    err = float(np.abs(got - ref).max() / (np.abs(ref).max() + 1e-6))
    if not np.isfinite(err) or err > ONNX_RTOL:
        path.unlink(missing_ok=True)
        raise RuntimeError(f"ONNX export differs from PyTorch (relative error {err:.2e})")
    return session


def _export_onnx(module: torch.nn.Module, crop: int, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.zeros(2, crop, crop, 3, dtype=torch.uint8)
    # Write to a temporary name and rename, so a crash never leaves a half-written cache file.
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module, (dummy,), tmp, input_names=["frames"], output_names=["features"],
                dynamic_axes={"frames": {0: "batch"}, "features": {0: "batch"}},
                opset_version=17, dynamo=False,
            )
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
