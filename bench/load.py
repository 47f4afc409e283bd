"""Bounded load test of the real service (issue 12, item 4): N concurrent uploads to POST /classify.

    .venv/bin/python bench/load.py [--n 100] [--concurrency 100] [--clip PATH]

Starts gunicorn (the repository's gunicorn.conf.py, ``wsgi:app``) on a free 127.0.0.1 port with
its own temporary data folder, sends ``--n`` uploads of real content4 clips from a thread pool of
``--concurrency``, and counts the answers: 200, or a clean 503/429 JSON error. Anything else
(another status, a non-JSON body, a connection error, a timeout) is a failure and the script
exits 1. It prints p50/p95/max latency of the 200s, the peak RSS (VmHWM) of gunicorn's worker
processes, and checks afterwards that /readyz is 200 and one more clip classifies. Loopback only,
bounded in count and time; the server it starts is always stopped and its data folder removed.
Not a unit test: it prints figures.
"""
from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
CLIPS_DIR = Path(os.environ.get("CONTENT4_DIR", REPO.parent / "shared" / "data" / "content4")) / "clips"
PYTHON = REPO / ".venv" / "bin" / "python"


# -- the server ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn master (in its own process group) on 127.0.0.1, logging to ``data_dir``."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log: Path | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = free_port()
        self.starts += 1
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log = self.data_dir / f"gunicorn-{self.starts}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOCLF_") or k == "VIDEOCLF_CACHE"}
        env.update({"VIDEOCLF_BIND": f"127.0.0.1:{self.port}", "VIDEOCLF_DATA_DIR": str(self.data_dir),
                    "PYTHONUNBUFFERED": "1", **self.env})
        python = str(PYTHON if PYTHON.exists() else sys.executable)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([python, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                         cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds until /readyz answered 200; raises RuntimeError if it exits or takes too long."""
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/readyz", timeout=5).status_code == 200:
                    return time.monotonic() - t0
            except requests.RequestException:
                pass
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"not ready within {timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.25)

    def workers(self) -> list[int]:
        """Pids of the master's child processes (gunicorn workers)."""
        if self.proc is None:
            return []
        return _children(self.proc.pid)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def log_tail(self, n: int = 3000) -> str:
        return self.log_text()[-n:]

    def terminate(self, timeout: float = 90.0) -> tuple[int | None, float]:
        """SIGTERM the master and wait (SIGKILL of the group past ``timeout``): (exit status, seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None, time.monotonic() - t0
        self._reap_group()
        return self.proc.returncode, time.monotonic() - t0

    def kill(self) -> None:
        """kill -9 of the master and all its workers (the whole process group)."""
        if self.proc is None:
            return
        pids = [self.proc.pid, *self.workers()]
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self._reap_group()

    def _reap_group(self, timeout: float = 10.0) -> None:
        """Wait until no process of the group is left (workers die after the master)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.1)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    out += [int(p) for p in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM (peak resident set) of ``pid`` in MiB, or None when it is gone.

    Read from /proc (psutil is not in .venv, and its Linux memory info has no peak anyway).
    """
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def clips(chosen: str | None) -> list[Path]:
    if chosen:
        return [Path(chosen)]
    found = sorted(CLIPS_DIR.rglob("*.mp4"))
    if not found:
        sys.exit(f"no clips under {CLIPS_DIR} (set CONTENT4_DIR or pass --clip)")
    return found


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


# -- the load ------------------------------------------------------------------------------------
def one_upload(url: str, clip: Path, timeout: float) -> tuple[str, float, str]:
    """(kind, seconds, detail): kind is '200', '503', '429' or 'fail'."""
    t0 = time.monotonic()
    try:
        with open(clip, "rb") as f:
            r = requests.post(url + "/classify", files={"video": (clip.name, f, "video/mp4")}, timeout=timeout)
    except requests.RequestException as exc:
        return "fail", time.monotonic() - t0, f"{type(exc).__name__}: {exc}"[:200]
    dt = time.monotonic() - t0
    try:
        body = r.json()
    except ValueError:
        return "fail", dt, f"{r.status_code} non-JSON: {r.text[:120]!r}"
    if r.status_code == 200 and isinstance(body, dict) and "probabilities" in body:
        return "200", dt, ""
    if r.status_code in (503, 429) and isinstance(body, dict) and isinstance(body.get("error"), dict) \
            and body["error"].get("code"):
        return str(r.status_code), dt, body["error"]["code"]
    return "fail", dt, f"{r.status_code}: {r.text[:160]!r}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100, help="uploads in all (default 100)")
    ap.add_argument("--concurrency", type=int, default=100, help="threads sending them (default 100)")
    ap.add_argument("--clip", help="one clip for every upload (default: content4 clips, drawn at random)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per-request timeout, s (default 300)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    pool_clips = clips(args.clip)
    rng = random.Random(args.seed)
    chosen = [rng.choice(pool_clips) for _ in range(args.n)]

    data_dir = Path(tempfile.mkdtemp(prefix="videoclf-load-"))
    server = Server(data_dir)
    atexit.register(lambda: (server.kill(), shutil.rmtree(data_dir, ignore_errors=True)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failures: list[str] = []
    try:
        server.start()
        boot = server.wait_ready()
        print(f"server {server.url} ready in {boot:.1f} s; workers {server.workers()}; "
              f"{args.n} uploads, concurrency {args.concurrency}, {len(set(chosen))} distinct clips "
              f"(avg {sum(c.stat().st_size for c in chosen) / len(chosen) / 1024:.0f} KiB)")
        t0 = time.monotonic()
        with ThreadPoolExecutor(args.concurrency) as ex:
            results = list(ex.map(lambda c: one_upload(server.url, c, args.timeout), chosen))
        wall = time.monotonic() - t0
        counts: dict[str, int] = {}
        codes: dict[str, int] = {}
        for kind, _, detail in results:
            counts[kind] = counts.get(kind, 0) + 1
            if kind in ("503", "429"):
                codes[f"{kind} {detail}"] = codes.get(f"{kind} {detail}", 0) + 1
            elif kind == "fail":
                failures.append(detail)
        ok = [dt for kind, dt, _ in results if kind == "200"]
        rejected = [dt for kind, dt, _ in results if kind in ("503", "429")]
        rss = {pid: peak_rss_mb(pid) for pid in server.workers()}

        print(f"\nwall {wall:.1f} s for {args.n} uploads")
        print(f"  200: {counts.get('200', 0)}   503: {counts.get('503', 0)}   429: {counts.get('429', 0)}   "
              f"failures: {counts.get('fail', 0)}")
        for k, v in sorted(codes.items()):
            print(f"    {k}: {v}")
        if ok:
            print(f"  latency of the 200s: p50 {percentile(ok, 50):.2f} s   p95 {percentile(ok, 95):.2f} s   "
                  f"max {max(ok):.2f} s   ({len(ok) / wall:.2f} classified/s)")
        if rejected:
            print(f"  latency of the 503/429s: p50 {percentile(rejected, 50):.2f} s   max {max(rejected):.2f} s")
        for pid, mb in rss.items():
            print(f"  worker {pid} peak RSS (VmHWM): {mb:.0f} MiB" if mb else f"  worker {pid}: gone")
        for d in failures[:10]:
            print(f"  FAILURE: {d}")

        # afterwards: healthy, and one more clip classifies
        ready = requests.get(server.url + "/readyz", timeout=30)
        kind, dt, detail = one_upload(server.url, pool_clips[0], args.timeout)
        print(f"\nafter: /readyz {ready.status_code}; one more clip: {kind} in {dt:.2f} s {detail}")
        if ready.status_code != 200:
            failures.append(f"/readyz {ready.status_code} after the load")
        if kind != "200":
            failures.append(f"the clip after the load: {kind} {detail}")
        status, stop_s = server.terminate()
        print(f"stopped with SIGTERM: exit status {status} in {stop_s:.1f} s")
        log = server.log_text()
        if any(w in log for w in ("FATAL", "Aborted", "SIGABRT", "terminate called")):
            failures.append("the server log has FATAL/Aborted/SIGABRT (a worker aborted)")
            print(server.log_tail())
        elif "Traceback" in log:
            print(f"note: the server log has {log.count('Traceback')} traceback(s)")
    except RuntimeError as exc:
        failures.append(str(exc))
        print(exc)
    finally:
        server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)
    if failures:
        print(f"\nFAILED: {len(failures)} problem(s)")
        return 1
    print("\nOK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
