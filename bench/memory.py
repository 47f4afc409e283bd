"""Peak resident memory, each case in a fresh subprocess so no system's peak hides another's.

The parent runs ``python -m bench.memory CASE ...``; the child loads its system, classifies the
video twice (so any steady-state growth shows), and prints one JSON line with its own peak RSS
(VmHWM from /proc/self/status, which counts only this process) and its RSS after loading, before
any video was touched: the difference is what the video itself costs.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from bench.clips import REPO


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    if field == "VmHWM":  # not Linux: ru_maxrss is in KiB on Linux, bytes on macOS
        import resource

        r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return r / (1024.0 * 1024.0) if sys.platform == "darwin" else r / 1024.0
    return None


def _child(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.memory")
    p.add_argument("case", choices=["ours", "videomae"])
    p.add_argument("--video", required=True)
    p.add_argument("--model")
    p.add_argument("--device", default="cpu")
    p.add_argument("--tta", action="store_true")
    a = p.parse_args(argv)
    if a.case == "ours":
        from bench.ours import load

        clf = load(a.model, a.device)
        run = lambda: clf.classify_video(a.video, use_tta=a.tta)  # noqa: E731
    else:
        from bench.bundles import CLASSES
        from bench.videomae import VideoMAE

        vm = VideoMAE(CLASSES, device=a.device)
        run = lambda: vm.classify(a.video)  # noqa: E731
    loaded = _status_mb("VmRSS")
    t0 = time.perf_counter()
    for _ in range(2):
        run()
    print(json.dumps({"case": a.case, "video": a.video, "tta": a.tta, "peak_rss_mb": _status_mb("VmHWM"),
                      "rss_after_load_mb": loaded, "seconds_two_runs": time.perf_counter() - t0}))
    return 0


def peak_rss(case: str, video: str, *, model: str | None = None, device: str = "cpu", tta: bool = False,
             timeout: float = 600) -> dict:
    """Run one case in a fresh interpreter and return what it measured (or the error)."""
    cmd = [sys.executable, "-m", "bench.memory", case, "--video", video, "--device", device]
    if model:
        cmd += ["--model", str(model)]
    if tta:
        cmd.append("--tta")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": case, "video": video, "error": f"timed out after {timeout:.0f} s"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"case": case, "video": video, "error": f"exit {proc.returncode}: " + " | ".join(tail)}
    return json.loads(lines[-1])


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
