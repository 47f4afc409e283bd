"""Async jobs across restarts of the real service (issue 12, item 5): graceful, then ``kill -9``.

    .venv/bin/python bench/restart.py [--jobs 6] [--bound 240]

Starts gunicorn (repository's gunicorn.conf.py) on a free 127.0.0.1 port with its own temporary
data folder, then runs two phases, each on fresh jobs of real content4 clips (POST /jobs):

  graceful  submit the jobs, SIGTERM the gunicorn master, wait for it to exit (its exit status
            must be 0 and its log free of 'FATAL'/'Aborted'/'SIGABRT'), start again on the same data folder
  kill -9   submit the jobs, wait until one is running, SIGKILL the master and all its workers,
            start again on the same data folder
  kill -9 master   the same, SIGKILL of the master alone: its orphaned worker is still alive when
            the new server starts and exits by itself later, its jobs unfinished (they are taken
            over by the new server's periodic reclaim, JOB_RECLAIM_S, 10 s)

and after each restart polls GET /jobs/<id> until every job is done or failed with a reason. A
job still queued/running ``--bound`` seconds after the restart is stuck. Prints a table (phase,
done, failed with reasons, stuck, time to recover) and exits 1 if a job was stuck or a check
failed. Loopback only, bounded in time; the server is always stopped and its data folder removed.
"""
from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import Server, clips  # noqa: E402  (bench/load.py, next to this file)

TERMINAL = ("done", "failed")
PHASES = ("graceful", "kill -9", "kill -9 master")
ORPHAN_GROUPS: list[int] = []  # process groups of masters killed alone: their workers are killed at the end


def kill_orphans() -> None:
    for pgid in ORPHAN_GROUPS:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def submit(server: Server, clip: Path) -> str:
    for _ in range(20):  # a 503 queue_full / model_unavailable: wait as Retry-After says
        with open(clip, "rb") as f:
            r = requests.post(server.url + "/jobs", files={"video": (clip.name, f, "video/mp4")}, timeout=60)
        if r.status_code == 202:
            return r.json()["id"]
        if r.status_code != 503:
            raise RuntimeError(f"POST /jobs answered {r.status_code}: {r.text[:200]}")
        time.sleep(float(r.headers.get("Retry-After", 1)))
    raise RuntimeError("POST /jobs kept answering 503")


def statuses(server: Server, ids: list[str]) -> dict[str, dict]:
    out = {}
    for job_id in ids:
        r = requests.get(f"{server.url}/jobs/{job_id}", timeout=30)
        out[job_id] = r.json() if r.status_code == 200 else {"status": f"http {r.status_code}"}
    return out


def wait_terminal(server: Server, ids: list[str], bound: float, t_restart: float) -> dict[str, dict]:
    """Poll until every job is done/failed or ``bound`` seconds after ``t_restart`` have passed."""
    while True:
        jobs = statuses(server, ids)
        if all(j["status"] in TERMINAL for j in jobs.values()) or time.monotonic() - t_restart > bound:
            return jobs
        time.sleep(0.5)


def run_phase(name: str, server: Server, batch: list[Path], bound: float, problems: list[str]) -> dict:
    ids = [submit(server, c) for c in batch]
    before = statuses(server, ids)
    if name.startswith("kill -9"):  # mid-job: wait until one of them runs
        deadline = time.monotonic() + 60
        while not any(j["status"] == "running" for j in before.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
            before = statuses(server, ids)
    seen = {s: sum(j["status"] == s for j in before.values()) for s in ("queued", "running", "done", "failed")}
    workers = server.workers()
    t_stop = time.monotonic()
    if name == "graceful":
        status, stop_s = server.terminate(timeout=120)
        log = server.log_text()
        note = f"SIGTERM: exit {status} in {stop_s:.1f} s"
        if status != 0:
            problems.append(f"{name}: gunicorn exit status {status}")
        for word in ("FATAL", "Aborted", "SIGABRT", "terminate called"):  # a worker that aborted on the way out
            if word in log:
                problems.append(f"{name}: '{word}' in the server log")
                note += f", '{word}' in log"
    elif name == "kill -9":
        server.kill()
        note = f"SIGKILL of master {server.proc.pid} and workers {workers}"
    else:  # the master alone; its workers notice and leave by themselves
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait()
        ORPHAN_GROUPS.append(server.proc.pid)
        note = f"SIGKILL of master {server.proc.pid} alone (workers {workers} orphaned)"
    print(f"[{name}] {len(ids)} jobs at the stop: {seen}; {note}")
    server.start()
    boot = server.wait_ready()
    jobs = wait_terminal(server, ids, bound, t_stop)
    recover_s = time.monotonic() - t_stop
    done = [i for i, j in jobs.items() if j["status"] == "done"]
    failed = {i: j.get("error", {}) for i, j in jobs.items() if j["status"] == "failed"}
    stuck = {i: j["status"] for i, j in jobs.items() if j["status"] not in TERMINAL}
    for i, err in failed.items():
        if not (err.get("code") and err.get("message")):
            problems.append(f"{name}: job {i} failed without a reason: {err}")
    if stuck:
        problems.append(f"{name}: {len(stuck)} job(s) unfinished {bound:g} s after the restart: {stuck}")
    reasons: dict[str, int] = {}
    for err in failed.values():
        reasons[err.get("code", "?")] = reasons.get(err.get("code", "?"), 0) + 1
    print(f"[{name}] ready again {boot:.1f} s after the start; all jobs settled {recover_s:.1f} s after the stop")
    for i, err in failed.items():
        print(f"    failed {i[:8]}: {err.get('code')}: {err.get('message', '')[:100]}")
    return {"phase": name, "jobs": len(ids), "done": len(done), "failed": len(failed), "reasons": reasons,
            "stuck": len(stuck), "recover_s": recover_s, "ready_s": boot,
            "at_stop": f"{seen['queued']}q/{seen['running']}r/{seen['done']}d"}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=6, help="jobs per phase (default 6)")
    ap.add_argument("--bound", type=float, default=240.0,
                    help="seconds after the stop by which every job must be done/failed (default 240)")
    ap.add_argument("--clip", help="one clip for every job (default: content4 clips, drawn at random)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-logs", metavar="DIR", help="copy the servers' logs (gunicorn-<start>.log) here")
    ap.add_argument("--phases", default=",".join(PHASES),
                    help=f"comma-separated, from {', '.join(PHASES)} (default: all, in this order)")
    args = ap.parse_args(argv)
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    if unknown := set(phases) - set(PHASES):
        ap.error(f"unknown phase(s): {', '.join(sorted(unknown))}")
    rng = random.Random(args.seed)
    pool = clips(args.clip)

    data_dir = Path(tempfile.mkdtemp(prefix="videoclf-restart-"))
    server = Server(data_dir)
    atexit.register(lambda: (server.kill(), kill_orphans(), shutil.rmtree(data_dir, ignore_errors=True)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    problems: list[str] = []
    rows = []
    try:
        server.start()
        print(f"server {server.url} ready in {server.wait_ready():.1f} s; data {data_dir}")
        for phase in phases:
            rows.append(run_phase(phase, server, [rng.choice(pool) for _ in range(args.jobs)], args.bound,
                                  problems))
        r = requests.get(server.url + "/readyz", timeout=30)
        if r.status_code != 200:
            problems.append(f"/readyz {r.status_code} at the end")
        status, _ = server.terminate(timeout=120)
        if status != 0:
            problems.append(f"final SIGTERM: exit status {status}")
        for n, log in enumerate(sorted(data_dir.glob("gunicorn-*.log")), 1):
            text = log.read_text(errors="replace")
            if "FATAL" in text or "Aborted" in text:
                problems.append(f"{log.name}: FATAL/Aborted in the log")
            if "terminate called" in text:  # a C++ abort on the way out (not counted as a failure here)
                print(f"note: {log.name} (server start {n}): a worker ended with 'terminate called ...' (abort)")
    except (RuntimeError, requests.RequestException) as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        server.kill()
        kill_orphans()
        if args.keep_logs:
            Path(args.keep_logs).mkdir(parents=True, exist_ok=True)
            for log in data_dir.glob("gunicorn-*.log"):
                shutil.copy(log, args.keep_logs)
        shutil.rmtree(data_dir, ignore_errors=True)

    print(f"\n{'phase':<14} {'jobs':>4} {'at stop':>9} {'done':>5} {'failed (reasons)':<28} {'stuck':>5} "
          f"{'ready':>7} {'recover':>8}")
    for row in rows:
        reasons = ", ".join(f"{k} x{v}" for k, v in row["reasons"].items()) or "-"
        print(f"{row['phase']:<14} {row['jobs']:>4} {row['at_stop']:>9} {row['done']:>5} "
              f"{str(row['failed']) + ' (' + reasons + ')':<28} {row['stuck']:>5} {row['ready_s']:>6.1f}s "
              f"{row['recover_s']:>7.1f}s")
    print("(at stop: queued/running/done when the server was stopped; ready: start to /readyz 200; "
          "recover: stop to every job done/failed)")
    for p in problems:
        print(f"PROBLEM: {p}")
    print("FAILED" if problems else "OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
