"""Job throughput: the in-process backend against Celery workers (issue 13, item 5).

    .venv/bin/python bench/workers.py [--n 24] [--workers 1,2]

Submits the same ``--n`` real content4 test clips as jobs (POST /jobs through the web app, the
shipped default model) and times from the first submission to the last job finished:

* ``inprocess``: the default backend, the web process's own inference pool
  (``VIDEOCLF_INFERENCE_WORKERS``, default 2 threads);
* ``celery xK``: ``VIDEOCLF_JOB_BACKEND=celery`` with K ``videoclf worker --pool solo`` processes
  on a redis-server started here (Debian's; the script stops if there is none).

Prints videos/s for each and the ratio to ``inprocess`` measured in the same run. The model is
loaded before the clock starts (workers are warmed with one job each). Not a test: figures only.
"""
from __future__ import annotations

import argparse
import json
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.sysinfo import describe  # noqa: E402
from tests.services import redis_server  # noqa: E402

CONTENT4 = Path(os.environ.get("CONTENT4_DIR", REPO.parent / "shared" / "data" / "content4"))


def test_clips(n: int) -> list[Path]:
    import csv

    rows = [r for r in csv.DictReader((CONTENT4 / "manifest.csv").open()) if r["split"] == "test"]
    return [CONTENT4 / rows[i % len(rows)]["path"] for i in range(n)]


def run_jobs(app, clips: list[Path]) -> float:
    """Submit every clip as a job, wait for all; seconds from the first submission to the last answer."""
    client = app.test_client()
    t0 = time.perf_counter()
    ids = []
    for clip in clips:
        r = client.post("/jobs", data={"video": (io.BytesIO(clip.read_bytes()), clip.name)})
        assert r.status_code == 202, r.get_json()
        ids.append(r.get_json()["id"])
    pending = set(ids)
    while pending:
        for job_id in list(pending):
            job = client.get(f"/jobs/{job_id}").get_json()
            if job["status"] in ("done", "failed"):
                assert job["status"] == "done", job
                pending.discard(job_id)
        time.sleep(0.05)
    return time.perf_counter() - t0


def make_app(folder: Path, **config):
    from app.web import create_app

    return create_app({"DATA_DIR": str(folder), "LOAD_MODEL": "eager", "QUEUE_SIZE": 1000, **config})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=24, help="jobs per configuration")
    ap.add_argument("--workers", default="1,2", help="Celery worker counts to try")
    args = ap.parse_args()
    if not shutil.which("redis-server") and not Path("/usr/bin/redis-server").exists():
        print("bench/workers.py: redis-server is not installed (scripts/setup.sh --dev)", file=sys.stderr)
        return 2
    clips = test_clips(args.n)
    print(json.dumps(describe()))
    print(f"{args.n} jobs of content4 test clips, shipped default model\n")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        app = make_app(tmp / "inprocess")
        run_jobs(app, clips[:2])  # warm: ONNX session, decoder processes
        results["inprocess"] = run_jobs(app, clips)
        app.extensions["videoclf.close"]()
        with redis_server(tmp) as broker:
            for k in [int(x) for x in args.workers.split(",")]:
                folder = tmp / f"celery{k}"
                app = make_app(folder, JOB_BACKEND="celery", BROKER=broker)
                env = {**os.environ, "PYTHONPATH": str(REPO), "VIDEOCLF_BROKER": broker,
                       "VIDEOCLF_DB": app.config["DATABASE"]}
                procs = [subprocess.Popen([sys.executable, "-m", "app", "worker", "--pool", "solo", "--hostname",
                                           f"w{i}@bench", "--loglevel", "WARNING"], cwd=REPO, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(k)]
                try:
                    run_jobs(app, clips[: 2 * k])  # warm every worker (model loaded at its first job)
                    results[f"celery x{k}"] = run_jobs(app, clips)
                finally:
                    for p in procs:
                        p.send_signal(signal.SIGTERM)
                    for p in procs:
                        p.wait(60)
                    app.extensions["videoclf.close"]()
    base = args.n / results["inprocess"]
    print(f"{'backend':14} {'seconds':>8} {'videos/s':>9} {'vs inprocess':>13}")
    for name, seconds in results.items():
        rate = args.n / seconds
        print(f"{name:14} {seconds:8.1f} {rate:9.2f} {rate / base:12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
