"""What machine and software a result was measured on (printed with the table, stored in the JSON)."""
from __future__ import annotations

import datetime as _dt
import os
import platform
from importlib import metadata


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: a busy machine makes every timing here noisy."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def describe() -> dict:
    import torch

    cuda = torch.cuda.is_available()
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gib": _mem_total_gib(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch_threads": torch.get_num_threads(),
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "versions": {name: _version(dist) for name, dist in (
            ("torch", "torch"), ("torchvision", "torchvision"), ("onnxruntime", "onnxruntime"),
            ("opencv", "opencv-python-headless"), ("av", "av"), ("numpy", "numpy"),
            ("transformers", "transformers"))},
        "load_average_start": load_average(),
    }


def one_line(info: dict) -> str:
    v = info["versions"]
    gpu = f", GPU {info['gpu']}" if info.get("gpu") else ", no GPU"
    return (f"{info['cpu']}, {info['cores_usable']} cores, {info['memory_gib']} GiB{gpu}; "
            f"torch {v['torch']} ({info['torch_threads']} threads), onnxruntime {v['onnxruntime']}, "
            f"opencv {v['opencv']}, av {v['av']}, transformers {v['transformers']}; {info['date']}")
