"""Model bundles on disk and their stored evaluation, read for the API and the dashboard.

Only JSON is read here (bundle.json, report.json, training histories), never weights: listing the
bundles must stay cheap and must not load models. The format of these files is defined by
``app.bundle`` and ``app.evaluation.report``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

REPORT_SPLITS = {"test": Path("report"), "val": Path("report") / "val"}
SUMMARY_METRICS = ("accuracy", "f1_macro", "balanced_accuracy", "ece")


class ReportError(ValueError):
    """A bundle or report file is missing or unreadable; the message names it."""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ReportError(f"{path.name} is missing") from None
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path.name} cannot be read ({exc})") from None


def find_bundles(models_dir: str | Path, loaded: str | Path | None = None) -> dict[str, Path]:
    """{id: directory} of the bundles in ``models_dir`` (those with a bundle.json), loaded one first.

    Ids are directory names (unique: a clash gets a numbered suffix), safe to put in a URL.
    """
    dirs: list[Path] = []
    if loaded is not None and (Path(loaded) / "bundle.json").is_file():
        dirs.append(Path(loaded).resolve())
    root = Path(models_dir)
    if root.is_dir():
        for d in sorted(root.iterdir()):
            if (d / "bundle.json").is_file() and d.resolve() not in dirs:
                dirs.append(d.resolve())
    out: dict[str, Path] = {}
    for d in dirs:
        base = re.sub(r"[^A-Za-z0-9_.-]", "_", d.name) or "bundle"
        key, n = base, 2
        while key in out:
            key, n = f"{base}-{n}", n + 1
        out[key] = d
    return out


def read_meta(bundle_dir: Path) -> dict:
    return _read_json(bundle_dir / "bundle.json")


def read_report(bundle_dir: Path, split: str = "test") -> dict | None:
    """The stored report.json for ``split`` ("test" or "val"), or None when the bundle has none."""
    if split not in REPORT_SPLITS:
        raise ReportError(f"split must be one of {sorted(REPORT_SPLITS)}, got {split!r}")
    path = bundle_dir / REPORT_SPLITS[split] / "report.json"
    return _read_json(path) if path.is_file() else None


def report_dir(bundle_dir: Path, split: str = "test") -> Path:
    return bundle_dir / REPORT_SPLITS[split]


def studies(meta: dict) -> dict[str, dict]:
    """The studies attached to a bundle at training (``--attach``) that decided a setting."""
    return {k: v for k, v in meta.items() if isinstance(v, dict) and isinstance(v.get("decision"), dict)}


def training_histories(bundle_dir: Path) -> list[dict]:
    """Per member: name, its curves image (relative to report/) and its per-epoch history."""
    out = []
    folder = bundle_dir / "report" / "training"
    for path in sorted(folder.glob("member_*.json")) if folder.is_dir() else []:
        try:
            history = _read_json(path)
        except ReportError:
            history = []
        image = path.with_suffix(".png")
        out.append({"name": path.stem, "history": history,
                    "image": f"training/{image.name}" if image.is_file() else None})
    return out


def summary(bundle_id: str, bundle_dir: Path, *, loaded: bool) -> dict:
    """What /api/models lists for one bundle: identity, model facts and headline metrics."""
    try:
        meta = read_meta(bundle_dir)
    except ReportError as exc:
        return {"id": bundle_id, "loaded": loaded, "error": str(exc)}
    report = None
    try:
        report = read_report(bundle_dir)
    except ReportError:
        pass
    test = {name: {m: s.get(m) for m in SUMMARY_METRICS} for name, s in (report or {}).get("systems", {}).items()}
    return {
        "id": bundle_id,
        "name": meta.get("name"),
        "version": meta.get("version"),
        "created": meta.get("created"),
        "trained": bool(meta.get("trained")),
        "loaded": loaded,
        "classes": meta.get("classes", []),
        "backbone": (meta.get("backbone") or {}).get("name"),
        "max_frames": (meta.get("sampling") or {}).get("max_frames"),
        "members": [m.get("name") for m in meta.get("members", [])],
        "excluded_members": meta.get("excluded_members", []),
        "tta_default": bool((meta.get("inference") or {}).get("tta_default")),
        "calibration": meta.get("calibration", {}),
        "metrics": {"val": (meta.get("metrics") or {}).get("val"), "test": test or None},
        "report": report is not None,
    }


def confusion_rows(matrix: list[list[int]]) -> list[list[dict]]:
    """Each cell as {count, share}: share is the count over its row (true class) total."""
    rows = []
    for row in matrix:
        total = sum(row)
        rows.append([{"count": c, "share": (c / total) if total else 0.0} for c in row])
    return rows


def primary_system(report: dict, tta_default: bool) -> str:
    """The system the server answers with: the ensemble, with TTA when that is the bundle's default."""
    systems = report.get("systems", {})
    wanted = "ensemble_tta" if tta_default else "ensemble"
    return wanted if wanted in systems else next(iter(systems), "")
