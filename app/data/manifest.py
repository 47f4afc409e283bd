"""Labelled video sets: read a manifest CSV or a folder per class, and validate it before any compute.

Manifest CSV columns: ``split,path,label`` and optionally ``start,end`` (seconds, a segment of a
longer video) and ``source`` (where the clip came from: clips of one source are kept together by
the automatic split, and ``--balance source`` training weighs sources within a class); other
columns are ignored. Paths are relative to the manifest. Without a ``split`` column (or with a
folder per class), a stratified split by source, or else by video, is made: all clips of one
source, or all segments of one file, land in one split.

Validation collects every problem at once, each with its CSV row, and raises ``DatasetError``
listing them: missing or undecodable files, empty or comma-containing labels, segments with
start >= end or past the end of the video, fewer than 2 classes, fewer than ``min_per_class``
items in a class, and the same file content in more than one split (leakage). Class imbalance
above 10x is a warning.
"""
from __future__ import annotations

import csv
import hashlib
import math
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.files import sha256_file
from app.video import VideoDecodeError, VideoMetadata, probe

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv", ".flv", ".gif", ".ts"}
SPLITS = ("train", "val", "test")
MIN_PER_CLASS = 10
TRAINING_SPLITS = ("train", "val")  # the splits training learns from and stops on
IMBALANCE_WARN = 10.0


class DatasetError(ValueError):
    """The dataset has errors; ``findings`` lists all of them (and the warnings)."""

    def __init__(self, findings: list["Finding"]):
        self.findings = findings
        errors = [f for f in findings if f.level == "error"]
        lines = "\n".join(f"  - {f}" for f in errors)
        super().__init__(f"{len(errors)} problem(s) in the dataset:\n{lines}")


@dataclass(frozen=True)
class Finding:
    level: str  # "error" or "warning"
    message: str
    row: int | None = None  # line number in the manifest CSV (the header is line 1)

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}" if self.row else self.message


@dataclass(frozen=True)
class Item:
    row: int | None
    split: str
    path: Path  # absolute
    rel: str  # as written in the manifest (or relative to the folder)
    label: str
    start: float | None = None
    end: float | None = None
    source: str | None = None  # the optional ``source`` column: where the clip came from

    @property
    def group(self) -> str:
        """What must stay together: the source when the manifest names one, else the video file."""
        return self.source or str(self.path)

    @property
    def id(self) -> str:
        """Unique within a dataset: the path, plus the segment when there is one."""
        if self.start is None and self.end is None:
            return self.rel
        return f"{self.rel}#{self.start or 0:g}-{self.end if self.end is not None else 'end'}"


@dataclass
class Dataset:
    root: Path
    source: str
    items: list[Item]
    classes: list[str]
    findings: list[Finding] = field(default_factory=list)
    media: dict[str, VideoMetadata] = field(default_factory=dict)  # by item id
    hashes: dict[Path, str] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]

    def split(self, name: str) -> list[Item]:
        return [it for it in self.items if it.split == name]

    @property
    def splits(self) -> list[str]:
        present = {it.split for it in self.items}
        return [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {class: n}}"""
        out: dict[str, dict[str, int]] = {}
        for it in self.items:
            if it.label in self.classes:  # rows with an invalid label are reported, not counted
                out.setdefault(it.split, dict.fromkeys(self.classes, 0))[it.label] += 1
        return out

    def fingerprint(self) -> str:
        """sha256 over (split, label, id, content hash) of every item: names the exact data used."""
        h = hashlib.sha256()
        for it in sorted(self.items, key=lambda i: (i.split, i.id)):
            content = self.hashes.get(it.path, "")
            h.update(f"{it.split}\t{it.label}\t{it.id}\t{content}\n".encode())
        return h.hexdigest()


def load_dataset(source: str | os.PathLike, *, check_media: bool = True, seed: int = 0,
                 val_fraction: float = 0.15, test_fraction: float = 0.15,
                 min_per_class: int = MIN_PER_CLASS, min_classes: int = 2, strict: bool = True,
                 workers: int = 4) -> Dataset:
    """Read and validate a manifest CSV or a folder per class.

    ``check_media`` opens every file (header and first frame) and hashes its content; without it
    only the CSV itself is checked. ``min_classes`` and ``min_per_class`` are training's needs
    (extraction alone can relax them). With ``strict`` (the default) errors raise ``DatasetError``;
    otherwise they are returned in ``dataset.findings`` (what ``videoclf inspect`` shows).
    """
    source = Path(source)
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such manifest or folder")
    if source.is_dir():
        items, findings, has_split = _read_folder(source)
        root = source
    else:
        items, findings, has_split = _read_csv(source)
        root = source.parent
    if not has_split:
        items = _auto_split(items, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    classes = sorted({it.label for it in items if _label_problem(it.label) is None})
    ds = Dataset(root=root, source=str(source), items=items, classes=classes, findings=findings)
    if check_media:
        _check_media(ds, workers)
    _check_classes(ds, min_per_class, min_classes)
    if strict and ds.errors:
        raise DatasetError(ds.findings)
    return ds


def _label_problem(label: str) -> str | None:
    if not label.strip():
        return "empty label"
    if "," in label:
        return f"label {label!r} contains a comma"
    return None


def _parse_seconds(value: str, name: str) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    t = float(value)  # ValueError is turned into a finding by the caller
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return t


def _read_csv(path: Path) -> tuple[list[Item], list[Finding], bool]:
    findings: list[Finding] = []
    items: list[Item] = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError([Finding("error", f"{path}: cannot read the manifest ({exc})")]) from exc
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in ("path", "label") if c not in columns]
    if missing:
        raise DatasetError([Finding("error", f"{path}: the manifest needs the columns path and label "
                                             f"(missing: {', '.join(missing)}); found {columns}")])
    has_split = "split" in columns
    for line, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        label, rel = row.get("label", ""), row.get("path", "")
        problem = _label_problem(label)
        if problem:
            findings.append(Finding("error", problem, line))
        if not rel:
            findings.append(Finding("error", "empty path", line))
            continue
        split = row.get("split", "") if has_split else ""
        if has_split and not split:
            findings.append(Finding("error", "empty split", line))
        try:
            start = _parse_seconds(row.get("start", ""), "start")
            end = _parse_seconds(row.get("end", ""), "end")
        except ValueError as exc:
            findings.append(Finding("error", f"bad segment time: {exc}", line))
            continue
        if start is not None and end is not None and start >= end:
            findings.append(Finding("error", f"segment start {start:g} s is not before end {end:g} s", line))
        items.append(Item(line, split, (path.parent / rel).resolve(), rel, label, start, end,
                          row.get("source") or None))
    if not items and not findings:
        findings.append(Finding("error", f"{path}: the manifest has no rows"))
    seen: dict[str, int] = {}
    for it in items:
        if it.id in seen:
            findings.append(Finding("error", f"{it.id} is listed twice (also row {seen[it.id]})", it.row))
        seen.setdefault(it.id, it.row)
    return items, findings, has_split


def _read_folder(root: Path) -> tuple[list[Item], list[Finding], bool]:
    items = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for f in sorted(class_dir.rglob("*")):
            if f.is_file() and f.suffix.lower() in VIDEO_SUFFIXES:
                items.append(Item(None, "", f.resolve(), str(f.relative_to(root)), class_dir.name))
    findings = [] if items else [Finding("error", f"{root}: no video files found in class folders")]
    return items, findings, False


def _auto_split(items: list[Item], *, seed: int, val_fraction: float, test_fraction: float) -> list[Item]:
    """Stratified split by group: each source (or, without a source column, each video file with all
    its segments) goes to one split."""
    by_group: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_group[it.group].append(it)
    by_class: dict[str, list[str]] = defaultdict(list)
    for grp, its in by_group.items():
        majority = Counter(i.label for i in its).most_common(1)[0][0]
        by_class[majority].append(grp)
    rng = np.random.default_rng(seed)
    split_of: dict[str, str] = {}
    for label in sorted(by_class):
        groups = sorted(by_class[label])
        rng.shuffle(groups)
        n = len(groups)
        n_test = int(round(n * test_fraction)) if n >= 3 else 0
        n_val = int(round(n * val_fraction)) if n >= 3 else 0
        for k, grp in enumerate(groups):
            split_of[grp] = "test" if k < n_test else "val" if k < n_test + n_val else "train"
    return [replace(it, split=split_of[it.group]) for it in items]


def _check_media(ds: Dataset, workers: int) -> None:
    files = sorted({it.path for it in ds.items})

    def look(f: Path):
        if not f.is_file():
            return f, None, None, "file not found"
        try:
            return f, sha256_file(f), probe(f), None
        except (VideoDecodeError, OSError) as exc:
            return f, None, None, str(exc)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = {f: (h, meta, err) for f, h, meta, err in pool.map(look, files)}
    for it in ds.items:
        h, meta, err = results[it.path]
        if h:
            ds.hashes[it.path] = h
        if err:
            ds.findings.append(Finding("error", f"{it.rel}: {err}", it.row))
            continue
        ds.media[it.id] = meta
        if it.start is not None and it.start >= meta.duration:
            ds.findings.append(Finding("error", f"segment start {it.start:g} s is past the end of {it.rel} "
                                                f"({meta.duration:.2f} s)", it.row))
        elif it.end is not None and it.end > meta.duration + 0.5:
            ds.findings.append(Finding("error", f"segment end {it.end:g} s is past the end of {it.rel} "
                                                f"({meta.duration:.2f} s)", it.row))
    # The same content under several splits leaks test data into training.
    splits_by_hash: dict[str, dict[str, Item]] = defaultdict(dict)
    for it in ds.items:
        if it.path in ds.hashes:
            splits_by_hash[ds.hashes[it.path]].setdefault(it.split, it)
    for h, by_split in splits_by_hash.items():
        if len(by_split) > 1:
            where = ", ".join(f"{it.rel} ({s}, row {it.row})" if it.row else f"{it.rel} ({s})"
                              for s, it in sorted(by_split.items()))
            first = min(by_split.values(), key=lambda i: i.row or 0)
            ds.findings.append(Finding("error", f"the same video content is in more than one split "
                                                f"(leakage): {where}", first.row))


def _check_classes(ds: Dataset, min_per_class: int, min_classes: int) -> None:
    counts = Counter(it.label for it in ds.items if it.label in ds.classes)
    if len(counts) < min_classes:
        ds.findings.append(Finding("error", f"need at least {min_classes} classes, found {len(counts)}: {sorted(counts)}"))
    # The items-per-class minimum is training's need: it counts the splits training learns from,
    # and does not apply to a set with none of them (a test set to evaluate on).
    learned = Counter(it.label for it in ds.items if it.label in ds.classes and it.split in TRAINING_SPLITS)
    if learned:
        for label in sorted(counts):
            n = learned.get(label, 0)
            if n < min_per_class:
                ds.findings.append(Finding("error", f"class {label!r} has {n} item(s) in the training splits "
                                                    f"({'/'.join(TRAINING_SPLITS)}); at least {min_per_class} "
                                                    "are needed"))
    if counts and min(counts.values()) > 0:
        ratio = max(counts.values()) / min(counts.values())
        if ratio > IMBALANCE_WARN:
            big, small = max(counts, key=counts.get), min(counts, key=counts.get)
            ds.findings.append(Finding("warning", f"class imbalance {ratio:.1f}x ({big!r}: {counts[big]}, "
                                                  f"{small!r}: {counts[small]}); training weights classes to compensate"))
    per_split = ds.counts()
    for split, c in per_split.items():
        empty = [k for k, v in c.items() if v == 0]
        if empty and split in ("val", "test"):
            ds.findings.append(Finding("warning", f"split {split!r} has no items of {', '.join(empty)}"))
