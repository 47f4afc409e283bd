"""The hostile corpus (tests/hostile.py, reduced set) against the real gunicorn server on the
default model: every answer is the expected one, within its time, JSON without a traceback; no
file is left in the upload folder or the server's temporary folder; the worker process is the
same at the end; a normal clip is still classified right. The full set: scripts/hostile_corpus.py."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests import hostile
from tests.live_server import gunicorn
from tests.videos import write_large
from tests.test_web_e2e import clear_clips, model_dir  # noqa: F401 (fixtures)


@pytest.fixture(scope="module")
def base(clear_clips, content4):  # noqa: F811
    row = clear_clips[0]
    return content4 / row["path"], row["label"]


@pytest.fixture(scope="module")
def corpus(base, tmp_path_factory):
    return hostile.build(tmp_path_factory.mktemp("hostile"), base[0], reduced=True)


@pytest.fixture(scope="module")
def server(model_dir, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("server-tmp")
    env = {"VIDEOCLF_MODEL": str(model_dir), "TMPDIR": str(tmp)}
    with gunicorn(tmp_path_factory.mktemp("hostile-data"), env) as live:
        live.tmp = tmp
        yield live


def test_hostile_uploads_get_clear_answers_and_leave_nothing_behind(server, corpus, base, clear_clips):  # noqa: F811
    assert len(corpus) >= 15
    workers = hostile.worker_pids(server.proc.pid)
    assert len(workers) == 1
    tmp_before = set(server.tmp.iterdir())  # what the worker made at start (not the uploads' doing)
    outcomes = [hostile.run_case(server.url, case, label=base[1]) for case in corpus]
    print("\n" + hostile.table(outcomes))
    assert all(o.ok for o in outcomes), hostile.table([o for o in outcomes if not o.ok])
    assert not any(server.upload_dir.iterdir())
    assert set(server.tmp.iterdir()) == tmp_before
    assert not Path("/tmp/evil.mp4").exists()
    assert hostile.worker_pids(server.proc.pid) == workers  # the same worker: none crashed or was replaced
    assert server.get("/readyz").status_code == 200
    path, label = base
    normal = server.post("/classify", files={"video": (path.name, path.read_bytes())})
    assert normal.status_code == 200 and normal.json()["label"] == label
    log = server.log_tail(10**6)
    assert "Traceback" not in log and '" 500 ' not in log, log[-3000:]


def _decoders(worker: int) -> list[int]:
    """The worker's decoder processes (app.video.isolation), from /proc."""
    out = []
    for pid in hostile.worker_pids(worker):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"app.video.isolation import serve" in cmdline:
            out.append(pid)
    return out


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_a_decoder_process_killed_mid_upload_is_a_clean_422_and_replaced(server, base, tmp_path):
    slow = write_large(tmp_path / "large.mp4")  # seconds of decoding
    [worker] = hostile.worker_pids(server.proc.pid)
    idle = {pid: _cpu_s(pid) for pid in _decoders(worker)}
    out = {}
    upload = threading.Thread(target=lambda: out.setdefault("r", server.post(
        "/classify", files={"video": ("large.mp4", slow.read_bytes())})))
    upload.start()
    busy, deadline = None, time.monotonic() + 60
    while busy is None and time.monotonic() < deadline and upload.is_alive():
        for pid in _decoders(worker):  # the one that decodes burns CPU (an idle one may be started now)
            if _cpu_s(pid) - idle.get(pid, 0.0) > 0.3:
                busy = pid
        time.sleep(0.05)
    assert busy is not None, "no decoder process started decoding the upload"
    os.kill(busy, signal.SIGKILL)
    upload.join(120)
    response = out["r"]
    body = response.json()
    assert response.status_code == 422 and body["error"]["code"] == "decoder_crashed", body
    assert "large.mp4" in body["error"]["message"] and "Traceback" not in response.text
    assert hostile.worker_pids(server.proc.pid) == {worker}  # the worker lives on
    assert busy not in _decoders(worker)
    path, label = base
    normal = server.post("/classify", files={"video": (path.name, path.read_bytes())})
    assert normal.status_code == 200 and normal.json()["label"] == label
    assert not any(server.upload_dir.iterdir())
