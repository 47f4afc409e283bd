"""``videoclf explain VIDEO --out DIR``: where the model looked, on its most-attended frames."""
from __future__ import annotations

import json
from pathlib import Path

from app.bundle import BundleError, default_bundle_dir
from app.cli.common import add_device_options, fail, load_classifier, positive_int, segment_args
from app.features.backbones import BackboneUnavailableError
from app.video import VideoDecodeError


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="Grad-CAM heatmaps and saliency boxes on the most-attended frames",
                       description="Classify VIDEO, then write, for its K most-attended frames, the crop the model "
                                   "saw, a Grad-CAM (or Grad-CAM++) overlay with the saliency box, and explain.json.")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument("--out", required=True, help="directory for the PNGs and explain.json")
    p.add_argument("--model", default=None, metavar="DIR", help=f"model bundle (default: {default_bundle_dir()})")
    p.add_argument("--k", type=positive_int, default=4, help="how many frames (default 4)")
    p.add_argument("--method", choices=["gradcam", "gradcam++"], default="gradcam")
    p.add_argument("--class", dest="target", default=None, help="explain this class (default: the prediction)")
    segment_args(p)
    add_device_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from app.explain.video import explain_video

    try:
        clf = load_classifier(args)
        exp = explain_video(clf, args.video, k=args.k, method=args.method, target=args.target, start=args.start,
                            end=args.end)
    except (BundleError, BackboneUnavailableError, VideoDecodeError, OSError, ValueError) as exc:
        return fail(exc, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    frames = []
    for f in exp["frames"]:
        stem = f"frame{f['index']:03d}_{f['timestamp']:.2f}s"
        (out / f"{stem}.png").write_bytes(f["frame"])
        (out / f"{stem}_{exp['method']}.png").write_bytes(f["overlay"])
        frames.append({k: f[k] for k in ("index", "timestamp", "attention", "box")}
                      | {"frame": f"{stem}.png", "overlay": f"{stem}_{exp['method']}.png"})
    r = exp["result"]
    summary = {"video": args.video, "label": r["label"], "confidence": r["confidence"], "target": exp["target"],
               "method": exp["method"], "frames": frames}
    (out / "explain.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{args.video}: {r['label']} ({r['confidence']:.3f}); {exp['method']} for {exp['target']} on "
          f"{len(frames)} frames -> {out}")
    for f in frames:
        print(f"  t={f['timestamp']:7.2f}s attention {f['attention']:.3f} box {f['box']}  {f['overlay']}")
    return 0
