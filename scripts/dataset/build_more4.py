"""Assemble more4 from the recipes' per-class parts, split it by source, and write the training mixes.

    python scripts/dataset/build_more4.py            # after the class recipes (scripts/dataset/<class>_*)

Reads ``datasets/more4/parts/<Label>.csv`` (one row per clip, written by the recipes), checks every
clip exists and that no source has more than 15 clips, and writes:

- ``datasets/more4/manifest.csv``: the committed clips (origin package or generated, under clips/);
- ``datasets/more4/fetched.csv``: the clips made from fetched GitHub repositories (under fetched/,
  not committed: rebuilt by the recipes where the repositories can be fetched);
- ``datasets/mix.csv`` and ``datasets/mix-fetched.csv``: content4 plus more4 (committed clips only,
  or all of them), in one manifest for ``videoclf train`` (content4 keeps its own split). Clips
  under a non-commercial licence are listed in more4's manifests but left out of the mixes, so the
  shipped model is not trained on them.
- ``datasets/more4/tables.md``: the counts and source tables the datasheet (README.md) shows.

The split is by source: within each class, sources are ordered by a hash of their name (stable,
not chosen by looking at them); the first two go to test, the next one to val, the rest to train.
"""
from __future__ import annotations

import csv
import re
import hashlib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MORE4 = ROOT / "datasets" / "more4"
CONTENT4 = ROOT.parent / "shared" / "data" / "content4"
COLUMNS = ["split", "path", "label", "source", "license", "origin", "duration_s", "width", "height", "fps"]
MAX_PER_SOURCE = 15
NON_COMMERCIAL = re.compile(r"\bNC\b|-NC-|non-commercial", re.IGNORECASE)


def read_parts() -> list[dict]:
    rows = []
    for part in sorted((MORE4 / "parts").glob("*.csv")):
        with part.open(newline="") as fh:
            rows += [r for r in csv.DictReader(fh) if r.get("path")]
    missing = [r["path"] for r in rows if not (MORE4 / r["path"]).is_file()]
    if missing:  # a recipe still running, or a fetched clip not rebuilt here: left out, said aloud
        print(f"warning: {len(missing)} clip(s) listed but missing, left out: {missing[:3]}...")
        rows = [r for r in rows if r["path"] not in set(missing)]
    per_source = Counter(r["source"] for r in rows)
    over = {s: n for s, n in per_source.items() if n > MAX_PER_SOURCE}
    if over:
        raise SystemExit(f"sources over {MAX_PER_SOURCE} clips: {over}")
    return rows


def assign_splits(rows: list[dict]) -> None:
    sources = defaultdict(set)
    for r in rows:
        sources[r["label"]].add(r["source"])
    split_of = {}
    for label, names in sources.items():
        ordered = sorted(names, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
        for i, s in enumerate(ordered):
            split_of[s] = "test" if i < 2 else "val" if i == 2 else "train"
    for r in rows:
        r["split"] = split_of[r["source"]]


def write(path: Path, rows: list[dict], prefix: str = "") -> None:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({**r, "path": prefix + r["path"]})


def tables(rows: list[dict]) -> str:
    labels = sorted({r["label"] for r in rows})
    lines = ["| label | sources | train | val | test | clips | seconds |", "|---|---|---|---|---|---|---|"]
    for label in labels:
        mine = [r for r in rows if r["label"] == label]
        n = Counter(r["split"] for r in mine)
        lines.append(f"| {label} | {len({r['source'] for r in mine})} | {n['train']} | {n['val']} | {n['test']} | "
                     f"{len(mine)} | {sum(float(r['duration_s']) for r in mine):.0f} |")
    lines += ["", "| source | label | split | clips | origin | sizes | fps | licence as stated |",
              "|---|---|---|---|---|---|---|---|"]
    by_source = defaultdict(list)
    for r in rows:
        by_source[r["source"]].append(r)
    for source, mine in sorted(by_source.items(), key=lambda kv: (kv[1][0]["label"], kv[0])):
        sizes = ", ".join(sorted({f"{r['width']}x{r['height']}" for r in mine}))
        fps = ", ".join(sorted({f"{float(r['fps']):g}" for r in mine}))
        lines.append(f"| {source} | {mine[0]['label']} | {mine[0]['split']} | {len(mine)} | {mine[0]['origin']} | "
                     f"{sizes} | {fps} | {mine[0]['license']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    rows = read_parts()
    assign_splits(rows)
    committed = [r for r in rows if r["origin"] != "fetched"]
    fetched = [r for r in rows if r["origin"] == "fetched"]
    write(MORE4 / "manifest.csv", committed)
    write(MORE4 / "fetched.csv", fetched)
    with (CONTENT4 / "manifest.csv").open(newline="") as fh:
        content4 = [{**r, "origin": "content4"} for r in csv.DictReader(fh)]
    c4 = "../../shared/data/content4/"  # relative to datasets/, where the mixes live
    usable = [r for r in rows if not NON_COMMERCIAL.search(r["license"])]
    for name, more in (("mix.csv", [r for r in usable if r["origin"] != "fetched"]), ("mix-fetched.csv", usable)):
        with (ROOT / "datasets" / name).open("w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=COLUMNS, extrasaction="ignore")
            w.writeheader()
            for r in content4:
                w.writerow({**r, "path": c4 + r["path"]})
            for r in more:
                w.writerow({**r, "path": "more4/" + r["path"]})
    (MORE4 / "tables.md").write_text(tables(rows))
    print(f"more4: {len(rows)} clips ({len(committed)} committed, {len(fetched)} fetched) from "
          f"{len({r['source'] for r in rows})} sources")


if __name__ == "__main__":
    main()
