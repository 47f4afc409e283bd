"""``python -m bench``: measure ours, the existing approach, VideoMAE and the physical limits in one run.

Order of work: generate (or reuse) the long videos, then ours on every clip and long video, the
decode-only and backbone-only limits, the existing approach (slowest, fewest runs), the VideoMAE
pipeline, and finally peak RSS per case in fresh subprocesses. Everything runs in this one process
(except the RSS children) on the same clips, each system warm. Progress goes to stderr; the tables
go to stdout and everything to a JSON file.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.clips import REPO

DEFAULT_OUT = REPO / "bench" / "results" / "latest.json"
DEFAULT_CACHE = REPO / "bench" / "cache"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the video classifier against the existing system's approach, a VideoMAE "
                    "pipeline and this machine's decode/backbone limits; prints tables and PASS/MISS per "
                    "target and writes JSON. See bench/README.md.")
    p.add_argument("--model", default=None, metavar="DIR",
                   help="model bundle (default: $VIDEOCLF_MODEL or models/default); 'wiring' = an untrained "
                        "stand-in of the default's shape, written into the cache")
    p.add_argument("--data", default=None, metavar="DIR",
                   help="content4 dataset (default: $CONTENT4_DIR or ../shared/data/content4)")
    p.add_argument("--clips", type=int, default=None, metavar="N", help="how many content4 clips (default 3; --quick 1)")
    p.add_argument("--repeats", type=int, default=None, metavar="R",
                   help="timed warm runs per clip for ours and the limits (default 5; --quick 3)")
    p.add_argument("--long-repeats", type=int, default=None, metavar="R",
                   help="timed runs of ours per generated long video (default 3; --quick 1)")
    p.add_argument("--videomae-repeats", type=int, default=None, metavar="R", help="default 3; --quick 2")
    p.add_argument("--existing-clips", type=int, default=1, metavar="N",
                   help="clips the existing approach runs on (about a minute each; default 1)")
    p.add_argument("--existing-repeats", type=int, default=1, metavar="R", help="default 1")
    p.add_argument("--videomae-spread", action="store_true",
                   help="VideoMAE's 16 frames spread over the whole clip (default: the pipeline's default, "
                        "the first 16 frames)")
    p.add_argument("--quick", action="store_true", help="1 clip, fewer repeats: a fast sanity run")
    p.add_argument("--skip-existing", action="store_true", help="do not run the existing approach")
    p.add_argument("--skip-videomae", action="store_true", help="do not run the VideoMAE pipeline")
    p.add_argument("--skip-long", action="store_true", help="no generated 1-min / 10-min videos")
    p.add_argument("--skip-rss", action="store_true", help="no peak-RSS subprocesses")
    p.add_argument("--device", default="cpu", help="device for every system (default cpu: the targets are for "
                                                   "the CPU); with CUDA visible, ours also runs on cuda")
    p.add_argument("--backbone", default=None,
                   help="also measure this backbone's throughput on the GPU if any (e.g. efficientnet_v2_s)")
    p.add_argument("--weights", default=None, metavar="FILE", help="weights file for --backbone")
    p.add_argument("--size", type=int, default=None, help="input size for --backbone (must match its crop)")
    p.add_argument("--out", default=str(DEFAULT_OUT), metavar="JSON", help=f"default {DEFAULT_OUT.relative_to(REPO)}")
    p.add_argument("--cache", default=str(DEFAULT_CACHE), metavar="DIR",
                   help="where generated videos (and the wiring bundle) are kept")
    a = p.parse_args(argv)
    # Defaults (full run, --quick): sized so the full run stays well under 10 minutes on 2 cores.
    for name, full, quick in (("clips", 3, 1), ("repeats", 5, 3), ("long_repeats", 3, 1), ("videomae_repeats", 3, 2)):
        if getattr(a, name) is None:
            setattr(a, name, quick if a.quick else full)
    for name in ("clips", "repeats", "long_repeats", "videomae_repeats", "existing_repeats"):
        if getattr(a, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return a


class Progress:
    """Timestamped progress lines on stderr (stdout carries only the report)."""

    def __init__(self):
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f} s] {msg}", file=sys.stderr, flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


def _extra_backbone(a, device: str):
    """--backbone: build it first, so missing weights fail before minutes of measuring."""
    from app.features.backbones import BackboneUnavailableError, get_spec
    from app.features.engine import create_backbone

    try:
        spec = get_spec(a.backbone)
    except ValueError as exc:
        raise SystemExit(f"bench: {exc}")
    crop = spec.preprocessing.crop
    if a.size and a.size != crop:
        raise SystemExit(f"bench: {a.backbone} runs at {crop} px (its preprocessing crop); --size {a.size} "
                         f"would need another backbone spec")
    try:
        return create_backbone(a.backbone, device=device, weights=a.weights)
    except BackboneUnavailableError as exc:
        raise SystemExit(f"bench: --backbone {a.backbone}: {exc} (here: --weights FILE)")


def main(argv: list[str] | None = None) -> int:
    # Before anything can import transformers or huggingface_hub: nothing may be fetched.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    a = parse_args(argv)
    log = Progress()

    import torch

    from bench import bundles, clips as clipsmod, ours, report, sysinfo

    # Everything that can fail on a missing input fails here, before minutes of measuring.
    cache = Path(a.cache)
    clips = clipsmod.select(clipsmod.data_dir(a.data), a.clips)
    model_dir = bundles.resolve(a.model, cache)
    extra_bb = _extra_backbone(a, "cuda" if torch.cuda.is_available() else a.device) if a.backbone else None

    machine = sysinfo.describe()
    machine["summary"] = sysinfo.one_line(machine)
    log(f"machine: {machine['summary']}")
    res: dict = {"command": ["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)],
                 "options": dict(vars(a)), "machine": machine, "warnings": [], "notes": []}
    load = machine["load_average_start"]
    if load and load[0] > 0.5 * (machine["cores_usable"] or 1):
        res["warnings"].append(f"the machine was busy at the start (load average {load[0]}): timings are noisy")
    if not a.skip_long:
        from bench.gen import long_videos

        long = long_videos(cache, log=log)
    else:
        long = []

    log(f"loading ours from {model_dir}")
    clf = ours.load(model_dir, a.device)
    res["ours_model"] = ours.describe(clf)
    if not clf.bundle.trained:
        res["warnings"].append(f"{model_dir} is an untrained bundle: speed is representative, labels are not")

    _run_ours(res, clf, clips, long, a, log)
    _run_limits(res, clf, a, log)
    _run_gpu(res, model_dir, clips, extra_bb, a, log)
    if not a.skip_existing:
        _run_existing(res, len(clf.classes), a, log)
    if not a.skip_videomae:
        _run_videomae(res, clf.classes, a, log)
    if not a.skip_rss:
        _run_rss(res, model_dir, a, log)

    for c in res["clips"]:
        c["derived"] = report.derive(c)
    res["targets"] = report.targets(res)
    machine["load_average_end"] = sysinfo.load_average()
    res["wall_s"] = log.elapsed
    out = Path(a.out)
    res["out"] = str(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=str) + "\n")
    print(report.render(res))
    return 0


def _run_ours(res: dict, clf, clips, long, a, log) -> None:
    """Ours on every clip (no TTA, TTA) and on the long videos (no TTA: TTA costs the same there)."""
    from bench import ours

    res["clips"] = []
    for c in clips:
        log(f"ours: {c.name}")
        res["clips"].append({"clip": c.to_dict(), "frames": ours.frames_sampled(clf, c.path),
                             "ours": {"no_tta": ours.measure(clf, c.path, tta=False, repeats=a.repeats),
                                      "tta": ours.measure(clf, c.path, tta=True, repeats=a.repeats)}})
    res["long_videos"] = []
    for v in long:
        log(f"ours: {v.name}")
        res["long_videos"].append({"video": vars(v), "frames": ours.frames_sampled(clf, v.path),
                                   "ours": ours.measure(clf, v.path, tta=False, repeats=a.long_repeats)})


def _run_limits(res: dict, clf, a, log) -> None:
    """Decode-only per file, and backbone-only for exactly the frame counts ours sampled."""
    from bench import limits

    for c in res["clips"]:
        log(f"decode-only: {c['clip']['name']}")
        c["limits"] = {"decode_only": limits.decode_only(c["clip"]["path"], repeats=a.repeats)}
    for v in res["long_videos"]:
        log(f"decode-only: {v['video']['name']}")
        # One run each (decoding 10 min of 720p alone takes tens of seconds); ours has just
        # read the file, so it is in the page cache as the clips are after their warm-up.
        v["limits"] = {"decode_only": limits.decode_only(v["video"]["path"], repeats=1, warmup=0, opencv=False,
                                                         keyframes=True)}
    log(f"backbone-only: {clf.backbone.name}")
    items = res["clips"] + res["long_videos"]
    bb = limits.backbone_only(clf.backbone.name, a.device, None, repeats=a.repeats, all_engines=not a.quick,
                              frame_counts=[it["frames"]["backbone"] for it in items])
    bb["batch_size"] = clf.backbone.batch_size
    res["backbone_only"] = bb
    for it in items:
        it["limits"]["backbone_only_s"] = limits.time_for(bb, it["frames"]["backbone"])


def _run_gpu(res: dict, model_dir: Path, clips, extra_bb, a, log) -> None:
    """--backbone throughput (on the GPU when there is one), and ours on cuda when it is visible."""
    import torch

    from bench import limits, ours

    gpu = torch.cuda.is_available()
    if extra_bb is not None:
        log(f"extra backbone: {a.backbone} on {extra_bb.device}")
        # Whole batches of the engine's size (64 on CUDA); on a CPU it is slow, so fewer runs.
        on_gpu = extra_bb.device.type == "cuda"
        tp = limits.throughput(extra_bb, frames=(4 if on_gpu else 2) * extra_bb.batch_size,
                               repeats=a.repeats if on_gpu else min(a.repeats, 2))
        res["extra_backbone"] = {"backbone": a.backbone, **tp, "gpu": torch.cuda.get_device_name(0) if gpu else None}
    if not gpu:
        res["notes"].append("no GPU visible: the cuda measurements were skipped")
        return
    if a.device != "cpu":
        return  # everything already ran on the GPU
    log("ours on cuda")
    clf = ours.load(model_dir, "cuda")
    e2e, frames = {}, {}
    for c in clips:
        e2e[c.name] = ours.measure(clf, c.path, tta=False, repeats=a.repeats)["e2e"]
        frames[c.name] = ours.frames_sampled(clf, c.path)["backbone"]
    tp = limits.throughput(clf.backbone, frames=4 * clf.backbone.batch_size, repeats=a.repeats)
    res["gpu"] = {"name": torch.cuda.get_device_name(0), "e2e": e2e, "frames": frames, "backbone_fps": tp["fps"],
                  "backbone": tp}


def _run_existing(res: dict, num_classes: int, a, log) -> None:
    from bench import existing

    system = existing.ExistingSystem(num_classes=num_classes, device=a.device)
    note = f"{a.existing_repeats} warm run(s) on {a.existing_clips} clip(s), after a CNN-batch + members warm-up"
    res["existing_system"] = {**system.describe(), "runs_note": note}
    log("existing approach: warm-up")
    system.warm_up()
    for c in res["clips"][:a.existing_clips]:
        log(f"existing approach: {c['clip']['name']} (about a minute per run)")
        c["existing"] = existing.measure(system, c["clip"]["path"], repeats=a.existing_repeats)
    res["notes"].append(f"existing approach: {note} (about a minute per run); its TTA total is that run's "
                        f"decode + features + its measured TTA temporal stage")


def _run_videomae(res: dict, labels: list[str], a, log) -> None:
    from bench import videomae

    vm = videomae.VideoMAE(labels, device=a.device)
    res["videomae_system"] = vm.describe()
    if vm.mode != "pipeline":
        res["warnings"].append(f"VideoMAE ran as the closest equivalent, not the pipeline: {vm.why}")
    for i, c in enumerate(res["clips"]):
        log(f"VideoMAE: {c['clip']['name']}")
        # One warm-up in all: its input is 16x224x224 whatever the clip.
        c["videomae"] = videomae.measure(vm, c["clip"]["path"], repeats=a.videomae_repeats,
                                         warmup=1 if i == 0 else 0, spread=a.videomae_spread)
    res["notes"].append(f"VideoMAE: one warm-up call in all, then {a.videomae_repeats} timed calls per clip; "
                        + ("16 frames spread over the clip" if a.videomae_spread
                           else "pipeline defaults, which read the first 16 frames of the clip"))


def _run_rss(res: dict, model_dir: Path, a, log) -> None:
    from bench import memory

    first = res["clips"][0]["clip"]
    cases = [("ours", first["path"], f"ours {first['name']}")]
    cases += [("ours", v["video"]["path"], f"ours {v['video']['name']}") for v in res["long_videos"]]
    if not a.skip_videomae and not a.quick:
        cases.append(("videomae", first["path"], f"VideoMAE {first['name']}"))
    res["peak_rss"] = []
    for case, video, label in cases:
        log(f"peak RSS: {label}")
        res["peak_rss"].append({"label": label,
                                **memory.peak_rss(case, video, model=str(model_dir), device=a.device)})
