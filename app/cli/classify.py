"""``videoclf classify VIDEO... [--tta] [--top-k K] [--start S] [--end S] [--model DIR] [--json]``"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from app.bundle import BundleError, default_bundle_dir
from app.cli.common import add_device_options, error_code, fail, load_classifier, segment_args, task_args
from app.features.backbones import BackboneUnavailableError
from app.tasks import OptionError, StoredVideo, TaskOptions, run_task
from app.video import VideoDecodeError


def add_parser(sub) -> None:
    p = sub.add_parser("classify", help="classify video files with a model bundle",
                       description="Classify each VIDEO; a file that fails gets a one-line error and the "
                                   "others go on. Exit status 1 if any file failed.")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    p.add_argument("--model", default=None, metavar="DIR", help=f"model bundle (default: {default_bundle_dir()})")
    task_args(p)
    segment_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object per video (JSON Lines)")
    add_device_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        options = TaskOptions(tta=args.tta, top_k=args.top_k, timeline=args.timeline, interval=args.interval)
    except OptionError as exc:
        return fail(exc)
    try:
        clf = load_classifier(args)
    except (BundleError, BackboneUnavailableError, ValueError) as exc:
        return fail(exc)
    if not clf.bundle.trained:
        print(f"videoclf: warning: {clf.bundle.path} is an untrained wiring bundle; its answers mean nothing",
              file=sys.stderr)
    failed = 0
    if not args.json:
        print(f"{'FILE':40} {'LABEL':18} {'CONF':>6}  TOP-K{'':30} {'FRAMES':>6} {'MS':>7}")
    for video in args.videos:
        try:
            result = run_task(clf, StoredVideo(video, start=args.start, end=args.end), options)
        except (VideoDecodeError, OSError, ValueError) as exc:
            failed += 1
            message = str(exc) if Path(video).name in str(exc) else f"{video}: {exc}"
            fail(f"[{error_code(exc)}] {message}", 1)
            if args.json:
                print(json.dumps({"file": video, "error": {"code": error_code(exc), "message": str(exc)}}))
            continue
        if args.json:
            print(json.dumps({"file": video, **result}))
        else:
            top = " | ".join(f"{t['label']} {t['score']:.2f}" for t in result["top_k"])
            name = video if len(video) <= 40 else "..." + video[-37:]
            print(f"{name:40} {result['label']:18} {result['confidence']:6.3f}  {top:35} "
                  f"{len(result['frames']):6d} {result['timings_ms']['total']:7.0f}")
            for w in result.get("timeline", {}).get("windows", []):
                print(f"    {w['start']:8.2f}-{w['end']:8.2f} s  {w['label']:18} {w['confidence']:.3f}")
        sys.stdout.flush()
    return 1 if failed else 0
