"""What decoding in a decoder process costs next to decoding inline, measured in one run.

    .venv/bin/python -m bench.isolation [--clips 4] [--repeats 5] [--model models/default] [--json out.json]

On the same clips (bench.clips: the 10-s 640x360 clip first, then one per class), alternating the
two modes call by call so that drift of a shared machine falls on both alike:

- sampling only: ``sample_frames`` with the bundle's frame count and preprocessing, inline vs
  ``isolation="process"`` (a warm decoder process), median per clip and the difference;
- end to end: ``SingleVideoClassifier.classify_video`` with ``decode_isolation`` inline vs process
  (the two classifiers share one backbone);
- process costs: starting a decoder process and getting its first answer (a fresh interpreter);
  a decode past a 0.3-s deadline killed and the replacement's first answer; an idle process's RSS;
  bytes of frames that cross the socket per clip.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bench import clips as bench_clips
from bench.sysinfo import load_average

REPO = Path(__file__).resolve().parent.parent


def _alternate(fns: dict, repeats: int) -> dict[str, list[float]]:
    """One untimed call of each, then ``repeats`` rounds of one timed call of each, in turn."""
    for fn in fns.values():
        fn()
    runs = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            runs[k].append(time.perf_counter() - t0)
    return runs


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _process_costs(clip: str, prepare, frames: int, repeats: int) -> dict:
    from app.video import DecodeLimits, VideoDecodeError
    from app.video.isolation import DecoderPool
    from tests.videos import write_large  # the 4K clip the tests use to outlast a deadline

    starts, replacements = [], []
    for _ in range(repeats):
        pool = DecoderPool(keep=1)
        t0 = time.perf_counter()
        pool.status()  # start, imports, handshake, one answer
        starts.append(time.perf_counter() - t0)
        pool.close()
    pool = DecoderPool(keep=1)
    pool.status()
    rss = _rss_mb(pool.idle_pids()[0])
    pool.sample_plan(clip, lambda s, e: [np.linspace(s, e, frames, endpoint=False)],
                     transform=prepare)
    rss_after = _rss_mb(pool.idle_pids()[0])
    slow = write_large(Path("/tmp") / "videoclf-bench-large.mp4", n_frames=24)
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            pool.sample_plan(slow, lambda s, e: [np.linspace(s, e, 24, endpoint=False)],
                             transform=prepare, limits=DecodeLimits(timeout_s=0.3))
        except VideoDecodeError as exc:
            assert exc.code == "over_budget", exc.code
        killed = time.perf_counter()
        pool.status()  # the replacement, started when the other was killed, answers
        replacements.append((killed - t0, time.perf_counter() - killed))
    pool.close()
    slow.unlink(missing_ok=True)
    return {"start_s": starts, "idle_rss_mb": round(rss, 1), "rss_after_a_clip_mb": round(rss_after, 1),
            "deadline_0.3_s_answered_after_s": [round(a, 3) for a, _ in replacements],
            "replacement_ready_after_s": [round(b, 3) for _, b in replacements]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.isolation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=4, help="content4 clips to time (default 4)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per mode and clip (default 5)")
    parser.add_argument("--model", default=str(REPO / "models" / "default"), help="bundle (default models/default)")
    parser.add_argument("--data", default=None, help="content4 folder (default $CONTENT4_DIR or ../shared/data/content4)")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    from app.classifier import SingleVideoClassifier
    from app.video import sample_frames

    chosen = bench_clips.select(bench_clips.data_dir(args.data), args.clips)
    inline = SingleVideoClassifier(args.model, device="cpu", decode_isolation="inline")
    process = SingleVideoClassifier(args.model, device="cpu", decode_isolation="process")
    prepare, frames, scales = inline.backbone.preprocessing.prepare, inline.bundle.max_frames, inline.bundle.scales
    load = load_average()
    print(f"load average before: {load}; {args.clips} clips x {args.repeats} calls per mode, alternating")
    rows = []
    for clip in chosen:
        sampling = _alternate({mode: (lambda m=mode: sample_frames(clip.path, frames, scales=scales, transform=prepare,
                                                                   isolation=m)) for mode in ("inline", "process")},
                              args.repeats)
        e2e = _alternate({"inline": lambda: inline.classify_video(clip.path),
                          "process": lambda: process.classify_video(clip.path)}, args.repeats)
        nbytes = sample_frames(clip.path, frames, scales=scales, transform=prepare).frames.nbytes
        row = {"clip": clip.name, "size": f"{clip.width}x{clip.height}", "duration_s": clip.duration_s,
               "frames_mb": round(nbytes / 2**20, 1)}
        for what, runs in (("sample", sampling), ("e2e", e2e)):
            a, b = statistics.median(runs["inline"]), statistics.median(runs["process"])
            row[what] = {"inline_s": round(a, 4), "process_s": round(b, 4), "overhead_ms": round((b - a) * 1e3, 1),
                         "overhead_pct": round(100 * (b - a) / a, 1), "runs": {k: [round(x, 4) for x in v]
                                                                               for k, v in runs.items()}}
        rows.append(row)
    costs = _process_costs(chosen[0].path, prepare, frames, max(3, args.repeats // 2))

    print(f"\n{'clip':34} {'size':>9} {'MB':>5} | {'sample inline':>13} {'process':>8} {'+ms':>7} {'+%':>6} | "
          f"{'e2e inline':>10} {'process':>8} {'+ms':>7} {'+%':>6}")
    for r in rows:
        s, e = r["sample"], r["e2e"]
        print(f"{r['clip'][:34]:34} {r['size']:>9} {r['frames_mb']:>5} | {s['inline_s']:>13.3f} {s['process_s']:>8.3f} "
              f"{s['overhead_ms']:>7.1f} {s['overhead_pct']:>6.1f} | {e['inline_s']:>10.3f} {e['process_s']:>8.3f} "
              f"{e['overhead_ms']:>7.1f} {e['overhead_pct']:>6.1f}")
    med = statistics.median
    print(f"\ndecoder process start to first answer: median {med(costs['start_s']):.3f} s "
          f"({min(costs['start_s']):.3f}-{max(costs['start_s']):.3f})")
    print(f"decode past a 0.3-s deadline answered after: {costs['deadline_0.3_s_answered_after_s']} s; "
          f"replacement ready after a further {costs['replacement_ready_after_s']} s")
    print(f"idle decoder process RSS: {costs['idle_rss_mb']} MB ({costs['rss_after_a_clip_mb']} MB after one clip)")
    print(f"load average after: {load_average()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"load_before": load, "load_after": load_average(), "clips": rows,
                                               "process": costs}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
