"""Concurrent uploads against the real server (gunicorn threads, the bounded pool): every answer is
the one a lone request gets, or a 503 with Retry-After; health checks answer throughout; nothing is
left on disk; the server is healthy after."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import pick_clips
from tests.live_server import gunicorn

PARALLEL = 16  # requests in flight at once (local only)
WORKERS, QUEUE = 2, 2  # pool capacity 4: most of the 16 find it full


@pytest.fixture(scope="module")
def server(wiring_bundle, tmp_path_factory):
    env = {"VIDEOCLF_MODEL": str(wiring_bundle), "VIDEOCLF_INFERENCE_WORKERS": str(WORKERS),
           "VIDEOCLF_QUEUE_SIZE": str(QUEUE)}
    with gunicorn(tmp_path_factory.mktemp("concurrency"), env) as live:
        yield live


@pytest.fixture(scope="module")
def clips(content4, content4_rows):
    return [content4 / r["path"] for r in pick_clips(content4_rows, "test", 1)]


def classify(server, path, endpoint="/classify"):
    with open(path, "rb") as f:
        return server.post(endpoint, files={"video": (path.name, f)})


def rejected_total(server) -> float:
    for line in server.get("/metrics").text.splitlines():
        if line.startswith("videoclf_queue_rejected_total "):
            return float(line.split()[1])
    return 0.0


def test_parallel_uploads_are_right_or_refused(server, clips):
    expected = {}
    for path in clips:  # one at a time: the reference answers
        response = classify(server, path)
        assert response.status_code == 200, response.text
        expected[path.name] = response.json()["probabilities"]
    rejected_before = rejected_total(server)

    probes, stop = [], threading.Event()

    def probe():
        while not stop.is_set():
            t0 = time.perf_counter()
            status = server.get("/healthz", timeout=10).status_code
            probes.append((status, time.perf_counter() - t0))
            time.sleep(0.1)

    prober = threading.Thread(target=probe)
    prober.start()
    work = [(clips[i % len(clips)], "/jobs" if i % 4 == 3 else "/classify") for i in range(PARALLEL)]
    barrier = threading.Barrier(PARALLEL)

    def send(item):
        barrier.wait()  # all at once
        return item, classify(server, *item)

    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            answers = list(pool.map(send, work))
    finally:
        stop.set()
        prober.join()

    ok = refused = 0
    jobs = []
    for (path, endpoint), response in answers:
        if response.status_code == 503:
            assert response.json()["error"]["code"] == "queue_full"
            assert int(response.headers["Retry-After"]) >= 1
            refused += 1
        elif endpoint == "/jobs":
            assert response.status_code == 202, response.text
            jobs.append((path, response.json()["status_url"]))
        else:
            assert response.status_code == 200, response.text
            assert response.json()["probabilities"] == expected[path.name]
            ok += 1
    for path, url in jobs:
        deadline = time.monotonic() + 120
        while (job := server.get(url).json())["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert job["status"] == "done" and job["result"]["probabilities"] == expected[path.name]
        ok += 1
    print(f"{ok} answered, {refused} refused; health probes: {len(probes)}, "
          f"slowest {max(t for _, t in probes):.3f} s")
    assert ok + refused == PARALLEL and ok >= WORKERS + QUEUE - 1 and refused >= 1
    assert rejected_total(server) - rejected_before == refused  # metrics count every refusal
    assert probes and all(status == 200 for status, _ in probes)
    assert max(t for _, t in probes) < 2.0  # health answered while the pool was busy
    ready = server.get("/readyz").json()
    assert ready["ready"] is True and ready["queue"]["depth"] == 0 and ready["queue"]["running"] == 0
    assert not any(server.upload_dir.iterdir())
    assert classify(server, clips[0]).json()["probabilities"] == expected[clips[0].name]  # still serving
