"""Which content4 clips the bench runs on: a small fixed, representative set, chosen by path.

The default three span what the service sees: a 10-s 640x360 camera clip at 30 fps (the clip the
1.0-s target is about: the most frames a 10-s 360p upload has), a square 360x360 Lottie
animation, and a short 10-fps GIF-derived clip (fewer frames than the sampler asks for). With
``--clips N`` more are added, one class at a time in manifest order, so larger sets stay mixed.
The dataset is read in place; nothing is copied.
"""
from __future__ import annotations

import csv
import os
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PREFERRED = (
    "clips/Natural_Content/intel-sample-videos__bottle-detection__seg00.mp4",  # 10 s, 640x360, 30 fps
    "clips/Animation/lottie__i_m_thirsty__seg00.mp4",  # 9.2 s, 360x360 Lottie, 25 fps
    "clips/Animation/tooncrafter__gif00__seg00.mp4",  # 4 s, 512x320, 10 fps (from a GIF)
)


@dataclass(frozen=True)
class Clip:
    path: str  # absolute
    name: str  # short name for tables
    label: str
    width: int
    height: int
    duration_s: float
    fps: float
    generated: bool = False

    @property
    def is_10s_360p(self) -> bool:
        """What the 1.0-s target is about: about 10 s long with a 360-px short side."""
        return min(self.width, self.height) == 360 and self.duration_s >= 9.5 and not self.generated

    def to_dict(self) -> dict:
        return {**asdict(self), "is_10s_360p": self.is_10s_360p}


def data_dir(arg: str | None) -> Path:
    """--data, else $CONTENT4_DIR, else ../shared/data/content4 beside the repository."""
    root = Path(arg or os.environ.get("CONTENT4_DIR") or REPO.parent / "shared" / "data" / "content4")
    if not (root / "manifest.csv").is_file():
        raise SystemExit(f"bench: the content4 dataset was not found at {root} (no manifest.csv); "
                         f"pass --data DIR or set CONTENT4_DIR")
    return root


def _short_name(rel: str) -> str:
    stem = Path(rel).stem  # <source>__<name>__segNN
    parts = stem.split("__")
    return "__".join(parts[1:]) if len(parts) > 2 else stem


def _clip(root: Path, row: dict) -> Clip:
    return Clip(path=str(root / row["path"]), name=_short_name(row["path"]), label=row["label"],
                width=int(row["width"]), height=int(row["height"]), duration_s=float(row["duration_s"]),
                fps=float(row["fps"]))


def select(root: Path, n: int) -> list[Clip]:
    """The preferred clips first, then one per class in turn (manifest order), ``n`` in all."""
    with open(root / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if (root / r["path"]).is_file()]
    by_path = {r["path"]: r for r in rows}
    chosen = [by_path[p] for p in PREFERRED if p in by_path]
    if not any(_clip(root, r).is_10s_360p for r in chosen):
        # The dataset changed: keep a 10-s 360p clip first, whatever its name.
        first = next((r for r in rows if _clip(root, r).is_10s_360p), None)
        chosen = ([first] if first else []) + chosen
    labels = sorted({r["label"] for r in rows})
    queues = {lab: [r for r in rows if r["label"] == lab and r not in chosen] for lab in labels}
    while len(chosen) < n and any(queues.values()):
        for lab in labels:
            if queues[lab] and len(chosen) < n:
                chosen.append(queues[lab].pop(0))
    return [_clip(root, r) for r in chosen[:n]]
