"""Helpers shared by the sub-commands: option parsing and one-line errors."""
from __future__ import annotations

import argparse
import sys

from app.tasks import error_code  # noqa: F401  (the sub-commands import it from here)


def fail(message, code: int = 2) -> int:
    """Print a one-line error to stderr (an exception's with its API error code) and return the exit code."""
    text = " ".join(str(message).split())
    if isinstance(message, BaseException):
        text = f"[{error_code(message)}] {text}"
    print(f"videoclf: error: {text}", file=sys.stderr)
    return code


def task_args(p, what: str = "the video") -> None:
    """``--tta/--no-tta``, ``--top-k``, ``--timeline``, ``--interval``: the task options (``TaskOptions``)."""
    from app.explain.choices import TIMELINE_MODES  # light: no torch

    tta = p.add_mutually_exclusive_group()
    tta.add_argument("--tta", dest="tta", action="store_true", default=None, help="test-time augmentation on")
    tta.add_argument("--no-tta", dest="tta", action="store_false", help="test-time augmentation off")
    p.add_argument("--top-k", type=positive_int, default=None, metavar="K", help="how many labels to list")
    p.add_argument("--timeline", choices=TIMELINE_MODES, default=None,
                   help=f"also classify windows over {what}: fixed intervals or shots")
    p.add_argument("--interval", type=float, default=None,
                   help="window length in seconds for --timeline interval (default: 2)")


def segment_args(p) -> None:
    """``--start`` / ``--end``: a segment of the video, in seconds (as the API's fields)."""
    p.add_argument("--start", type=float, default=None, metavar="S", help="classify from S seconds on")
    p.add_argument("--end", type=float, default=None, metavar="S", help="classify up to S seconds")


def scales_arg(text: str) -> list[float]:
    try:
        scales = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"scales must be comma-separated numbers, got {text!r}") from None
    if not scales or scales[0] != 1.0:
        raise argparse.ArgumentTypeError(f"scales must start with 1.0 (e.g. 1.0,0.85,1.15), got {text!r}")
    return scales


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def add_device_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when available)")
    p.add_argument("--engine", default="auto", choices=["auto", "torch", "onnxruntime"],
                   help="backbone engine (default: auto = ONNX Runtime on CPU when available)")
    p.add_argument("--backbone-weights", default=None, metavar="FILE",
                   help="weights file for backbones that need one (efficientnet_v2_s)")


def load_classifier(args):
    """The classifier for --model/--device/--engine/--backbone-weights (imported only when needed)."""
    from app.classifier import SingleVideoClassifier

    return SingleVideoClassifier(args.model, device=args.device, engine=args.engine,
                                 backbone_weights=args.backbone_weights)
