"""Real services for the tests, started from Debian's binaries in a private folder and port:
``redis-server`` (the Celery broker) and PostgreSQL (the job store of several nodes).
``scripts/setup.sh --dev`` installs both; where a binary is absent the test is skipped with the
reason (CI installs them, so there it runs)."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, seconds: float, what: str):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} within {seconds:g} s")


@contextmanager
def redis_server(folder: Path):
    """A redis-server on 127.0.0.1 (no persistence); yields its URL."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        pytest.skip("redis-server is not installed (scripts/setup.sh --dev installs it from Debian)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def up():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return proc.poll() is not None  # it died: stop waiting, fail below

    try:
        wait_until(up, 20, "redis-server did not answer PING")
        assert proc.poll() is None, "redis-server exited at start"
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@contextmanager
def postgres_server():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth, user ``videoclf``); yields its URL.

    PostgreSQL refuses to run as root: as root the cluster is the ``postgres`` user's (Debian's
    package creates that user), in a folder of its own under the system temp dir."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh --dev installs it from Debian)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="videoclf-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "videoclf", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    server = subprocess.Popen([*as_user, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                               "-k", str(folder), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"postgresql://videoclf@127.0.0.1:{port}/postgres"

    def up():
        if server.poll() is not None:
            return True
        try:
            import psycopg

            with psycopg.connect(f"host=127.0.0.1 port={port} user=videoclf dbname=postgres", connect_timeout=1):
                return True
        except Exception:
            return False

    try:
        wait_until(up, 60, "PostgreSQL did not accept connections")
        assert server.poll() is None, "PostgreSQL exited at start"
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: clients still connected are disconnected
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)
