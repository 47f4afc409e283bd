"""The hostile corpus (tests/hostile.py, reduced set) against the real gunicorn server on the
default model: every answer is the expected one, within its time, JSON without a traceback; no
file is left in the upload folder or the server's temporary folder; the worker process is the
same at the end; a normal clip is still classified right. The full set: scripts/hostile_corpus.py."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests import hostile
from tests.live_server import gunicorn
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
