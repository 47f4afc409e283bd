"""Run the real service under gunicorn on a free local port, for end-to-end, concurrency and browser tests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """A gunicorn process serving ``wsgi:app``; ``url`` is its base URL, ``log`` its output file."""

    def __init__(self, proc: subprocess.Popen, url: str, data_dir: Path, log: Path):
        self.proc, self.url, self.data_dir, self.log = proc, url, data_dir, log

    @property
    def upload_dir(self) -> Path:
        return self.data_dir / "uploads"

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=kwargs.pop("timeout", 180), **kwargs)

    def log_tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self) -> int:
        """SIGTERM (graceful), SIGKILL after 60 s; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextmanager
def gunicorn(data_dir: Path, env: dict[str, str] | None = None, *, ready_timeout: float = 240.0):
    """Start gunicorn with the repository's gunicorn.conf.py and wait until /readyz says ready.

    ``env`` adds VIDEOCLF_* settings; the data folder (database, uploads) is ``data_dir``. Fails
    the test with the server's log when it does not become ready.
    """
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"gunicorn-{port}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("VIDEOCLF_") or k == "VIDEOCLF_CACHE"}
    full_env.update({"VIDEOCLF_BIND": f"127.0.0.1:{port}", "VIDEOCLF_DATA_DIR": str(data_dir),
                     "PYTHONUNBUFFERED": "1"}, **(env or {}))
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                cwd=REPO, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    server = LiveServer(proc, f"http://127.0.0.1:{port}", data_dir, log)
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with status {proc.returncode}:\n{server.log_tail()}")
            try:
                if server.get("/readyz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or still booting
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn was not ready within {ready_timeout} s:\n{server.log_tail()}")
            time.sleep(0.25)
        yield server
    finally:
        server.stop()
