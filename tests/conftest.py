"""Shared fixtures: the content4 dataset, an ONNX cache per test session, small real bundles."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def content4_dir() -> Path:
    """The shared content4 dataset: $CONTENT4_DIR, else ../shared/data/content4 beside the repo."""
    env = os.environ.get("CONTENT4_DIR")
    candidates = [Path(env)] if env else [REPO.parent / "shared" / "data" / "content4",
                                          REPO / "shared" / "data" / "content4"]
    for c in candidates:
        if (c / "manifest.csv").is_file():
            return c
    pytest.fail(f"the content4 dataset is needed by this test and was not found in {candidates}; "
                f"set CONTENT4_DIR")


@pytest.fixture(scope="session", autouse=True)
def _onnx_cache(tmp_path_factory):
    """Each test session exports its own ONNX engine (tests must not depend on a warm cache)."""
    if "VIDEOCLF_CACHE" not in os.environ:
        os.environ["VIDEOCLF_CACHE"] = str(tmp_path_factory.mktemp("videoclf-cache"))
    yield


@pytest.fixture(scope="session")
def content4() -> Path:
    return content4_dir()


@pytest.fixture(scope="session")
def content4_rows(content4) -> list[dict]:
    with open(content4 / "manifest.csv", newline="") as f:
        return list(csv.DictReader(f))


def pick_clips(rows: list[dict], split: str, per_class: int) -> list[dict]:
    """The first ``per_class`` rows of each class in ``split`` (manifest order: deterministic)."""
    out, seen = [], {}
    for r in rows:
        if r["split"] == split and seen.get(r["label"], 0) < per_class:
            seen[r["label"]] = seen.get(r["label"], 0) + 1
            out.append(r)
    return out


@pytest.fixture(scope="session")
def wiring_bundle(tmp_path_factory) -> Path:
    """A small bundle with freshly initialised members: for wiring tests, where weights don't matter."""
    import torch

    from app.bundle import save_bundle
    from app.features.backbones import LITE0
    from app.temporal.model import TemporalClassifier, TemporalConfig

    torch.manual_seed(0)
    cfg = TemporalConfig(hidden_dim=64, heads=2)
    backbone = {"name": LITE0.name, "feature_dim": LITE0.feature_dim, "preprocessing": LITE0.preprocessing.to_dict()}
    path = tmp_path_factory.mktemp("bundles") / "wiring"
    save_bundle(path, name="wiring", classes=["Animation", "Flat_Content", "Gaming", "Natural_Content"],
                backbone=backbone, max_frames=16, scales=[1.0], config=cfg,
                members=[(f"member_{i}", TemporalClassifier(cfg), {"seed": i}) for i in range(3)],
                trained=False, notes="freshly initialised members, for wiring tests only")
    return path


# -- web layer ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def reviewed_bundle(wiring_bundle, tmp_path_factory) -> Path:
    """A models/ folder holding a copy of the wiring bundle with a stored evaluation, for dashboard
    tests: report.json and plots written by the real evaluation code (on random features, so the
    numbers mean nothing), training histories and curves, dataset counts. Returns the bundle dir."""
    import json
    import shutil

    import numpy as np

    from app.bundle import load_bundle
    from app.evaluation.report import evaluate
    from app.features.store import FeatureSet
    from app.training.progress import plot_dashboard

    path = tmp_path_factory.mktemp("models") / "reviewed"
    shutil.copytree(wiring_bundle, path)
    meta = json.loads((path / "bundle.json").read_text())
    classes = meta["classes"]
    meta["name"] = "reviewed"
    meta["data"] = {"source": "content4 (test fixture)", "fingerprint": "0" * 64,
                    "counts": {"train": dict.fromkeys(classes, 9), "val": dict.fromkeys(classes, 3),
                               "test": dict.fromkeys(classes, 5)}}
    meta["excluded_members"] = [{"name": "member_1", "seed": 1, "action": "retrained",
                                 "reason": "validation macro-F1 0.100 is far below the members' median"}]
    meta["sampler_study"] = {"question": "which sampler?", "decision": {"balance": "source", "source_power": 0.0}}
    meta["calibration"]["uncertain"] = {"min_confidence": 0.65, "min_agreement": 0.5, "target_accuracy": 0.9,
                                        "chosen_on": "source-held-out CV on the train split"}
    meta["metrics"]["source_cv"] = {
        "member_0": {"accuracy": 0.71, "f1_macro": 0.702, "balanced_accuracy": 0.7, "log_loss": 0.9, "ece": 0.12},
        "ensemble": {"accuracy": 0.8, "f1_macro": 0.791, "balanced_accuracy": 0.79, "log_loss": 0.6, "ece": 0.05,
                     "uncertain_rate": 0.25, "accuracy_when_certain": 0.93, "accuracy_when_uncertain": 0.41},
        "protocol": {"folds": 4, "members_per_fold": 2, "clips": 36, "training_seconds": 1.0}}
    (path / "bundle.json").write_text(json.dumps(meta, indent=2))
    bundle = load_bundle(path)
    rng = np.random.default_rng(0)
    for split, per_class in (("test", 5), ("val", 3)):
        n, t, d = per_class * len(classes), bundle.max_frames, bundle.config.input_dim
        labels = np.repeat(np.arange(len(classes)), per_class)
        features = (rng.normal(size=(n, t, d)) + labels[:, None, None] * 0.05).astype(np.float32)
        fs = FeatureSet(features, labels, np.full(n, t), np.tile(np.arange(t, dtype=np.float64), (n, 1)),
                        [f"clips/{classes[y]}/clip{i:02d}.mp4" for i, y in enumerate(labels)], [split] * n,
                        list(classes), {})
        evaluate(bundle, fs, path / "report" / ("" if split == "test" else "val"), split=split, source="fixture")
    training = path / "report" / "training"
    training.mkdir(parents=True, exist_ok=True)
    for k in range(len(meta["members"])):
        history = [{"epoch": e, "lr": 1e-3 / (e + 1), "train_loss": 1.2 / (e + 1), "train_acc": 0.5 + 0.1 * e,
                    "val_loss": 1.3 / (e + 1), "val_acc": 0.45 + 0.1 * e, "val_f1_macro": 0.4 + 0.1 * e,
                    "val_f1_per_class": [0.4 + 0.1 * e] * len(classes)} for e in range(4)]
        (training / f"member_{k}.json").write_text(json.dumps(history))
        plot_dashboard(history, classes, training / f"member_{k}.png", title=f"member_{k}")
    return path


@pytest.fixture(scope="module")
def make_web_app(tmp_path_factory, wiring_bundle, reviewed_bundle):
    """Build apps on the wiring bundle with their own data folder; all are closed after the module.

    Settings default to a small pool (1 worker, queue of 2), eager model loading and no tokens,
    whatever the environment says; keyword arguments override them.
    """
    from app.web import create_app

    apps = []

    def make(**config):
        cfg = {"MODEL_DIR": str(wiring_bundle), "MODELS_DIR": str(reviewed_bundle.parent),
               "DATA_DIR": str(tmp_path_factory.mktemp("web-data")), "LOAD_MODEL": "eager",
               "INFERENCE_WORKERS": 1, "QUEUE_SIZE": 2, "API_TOKEN": "", "DASHBOARD_TOKEN": "",
               "SYNC_TIMEOUT": 60.0, **config}
        app = create_app(cfg)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["videoclf.close"]()
        app.extensions["videoclf.inference"].pool.gate.set()  # release anything a test held


def csrf_token(client) -> str:
    """The CSRF token of the client's session, read from the upload page like a browser would."""
    import re

    page = client.get("/", follow_redirects=True).get_data(as_text=True)  # (the login page, behind a token)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def log_in(client, token: str, url: str = "/login"):
    """Log the client's session in with ``token`` through the login form, like a browser would."""
    return client.post(url, data={"token": token, "csrf_token": csrf_token(client)})


def wait_for_job(get, url: str, timeout: float = 120.0) -> dict:
    """Poll a job URL with ``get(url) -> (status_code, json)`` until it is done or failed."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = get(url)
        assert status == 200, (status, body)
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.1)
    pytest.fail(f"job {url} did not finish within {timeout} s")


@pytest.fixture(scope="session")
def bad_videos(tmp_path_factory, content4, content4_rows) -> dict[str, Path]:
    """Real broken inputs, each with the error code the decoder gives it."""
    from tests.videos import write_cv2

    folder = tmp_path_factory.mktemp("bad-videos")
    text = folder / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    zero = write_cv2(folder / "zero.avi", 0, fourcc="MJPG")  # a container without a frame
    clip = (content4 / content4_rows[0]["path"]).read_bytes()
    truncated = folder / "truncated.mp4"
    truncated.write_bytes(clip[: int(len(clip) * 0.6)])
    return {"not_video": text, "empty": empty, "no_frames": zero, "corrupt": truncated}


# -- web layer: explanations, timelines, video-level evaluation ----------------------------------

def post_video(client, path, name=None, endpoint="/classify", headers=None, **fields):
    """POST ``path`` as the multipart field ``video`` (named ``name``) with form ``fields``."""
    import io

    data = {"video": (io.BytesIO(path.read_bytes()), name or path.name), **fields}
    return client.post(endpoint, data=data, content_type="multipart/form-data", headers=headers or {})


def assert_error(response, status, code) -> dict:
    """Check a JSON error answer (status, code, a message, nothing private leaked); returns its error."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and 'File "' not in text and "vc-" not in text
    return body["error"]


def poller(client):
    """``get(url) -> (status, json)`` on a Flask test client, for ``wait_for_job``."""
    def get(url):
        r = client.get(url, headers={"Accept": "application/json"})
        return r.status_code, r.get_json()
    return get


@pytest.fixture(scope="session")
def clips(content4, content4_rows) -> list[Path]:
    """The first test clip of each class, in class order (Animation, Flat_Content, Gaming, Natural_Content)."""
    return [content4 / r["path"] for r in pick_clips(content4_rows, "test", 1)]


@pytest.fixture
def client(app):
    """A test client of the module's ``app``."""
    return app.test_client()


@pytest.fixture
def uploads(app):
    """The upload folder of the module's ``app``; every test that uses it must leave it empty."""
    import time

    folder = app.extensions["videoclf.inference"].upload_dir
    yield folder
    deadline = time.monotonic() + 10
    while any(folder.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(folder.iterdir()), f"uploads left behind: {list(folder.iterdir())}"


@pytest.fixture(scope="session")
def two_class_video(tmp_path_factory, content4, content4_rows) -> tuple[Path, float]:
    """A real H.264 video made of the first seconds of two test clips of different classes
    (Animation, then Natural_Content), so it has a hard cut; returns (path, time of the cut)."""
    import av
    import cv2

    from tests.videos import write_pyav

    seconds, fps, size = 6.0, 24, (320, 180)
    clips = {r["label"]: content4 / r["path"] for r in pick_clips(content4_rows, "test", 1)}
    frames = []
    for label in ("Animation", "Natural_Content"):
        with av.open(str(clips[label])) as container:
            stream = container.streams.video[0]
            part = [cv2.resize(f.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA)
                    for f in container.decode(stream) if f.time is not None and f.time < seconds]
        # Resample to a steady rate so the cut lands at ``seconds`` whatever the sources' rates.
        frames += [part[min(len(part) - 1, round(i * len(part) / (seconds * fps)))] for i in range(int(seconds * fps))]
    path = tmp_path_factory.mktemp("two-class") / "animation_then_nature.mp4"
    write_pyav(path, [round(i * 1000 / fps) for i in range(len(frames))], size=size,
               frame_fn=lambda i, w, h: frames[i])
    return path, seconds


@pytest.fixture(scope="session")
def segmented_bundle(reviewed_bundle, tmp_path_factory) -> Path:
    """A copy of ``reviewed_bundle`` in its own models/ folder whose test report was evaluated on
    segments ("clipNN.mp4#start-end", three per video), so report.json has ``video_level``."""
    import shutil

    import numpy as np

    from app.bundle import load_bundle
    from app.evaluation.report import evaluate
    from app.features.store import FeatureSet

    path = tmp_path_factory.mktemp("models-segmented") / "segmented"
    shutil.copytree(reviewed_bundle, path)
    bundle = load_bundle(path)
    classes, per_class, segments = bundle.classes, 2, 3
    rng = np.random.default_rng(1)
    n, t, d = per_class * segments * len(classes), bundle.max_frames, bundle.config.input_dim
    labels = np.repeat(np.arange(len(classes)), per_class * segments)
    features = (rng.normal(size=(n, t, d)) + labels[:, None, None] * 0.05).astype(np.float32)
    ids = [f"clips/{classes[y]}/clip{i // segments:02d}.mp4#{5 * (i % segments)}-{5 * (i % segments) + 5}"
           for i, y in enumerate(labels)]
    fs = FeatureSet(features, labels, np.full(n, t), np.tile(np.arange(t, dtype=np.float64), (n, 1)), ids,
                    ["test"] * n, list(classes), {})
    report = evaluate(bundle, fs, path / "report", split="test", source="fixture (segments)")
    assert report["video_level"] and report["video_level"]["n"] == per_class * len(classes)
    return path
