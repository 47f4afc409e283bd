"""Decoding in decoder processes (app.video.isolation): the same answer as decoding inline, a
decode past its deadline killed and its process replaced, a process killed mid-decode answered
with a clean error, and the next call served each time. Real files: content4 clips and a 4K clip
written here that is slow to decode."""
from __future__ import annotations

import os
import signal
import threading

import numpy as np
import pytest

from app.classifier import SingleVideoClassifier
from app.features.backbones import LITE0
from app.video import DecodeLimits, VideoDecodeError, sample_frames, sample_plan, uniform_timestamps
from app.video.isolation import DecoderPool, decoder_pool, isolation_from_env, memory_limit_mb
from tests.videos import write_large

PREP = LITE0.preprocessing.with_geometry("letterbox")


@pytest.fixture(scope="module")
def clip(content4, content4_rows):
    return content4 / content4_rows[0]["path"]


@pytest.fixture(scope="module")
def slow(tmp_path_factory):
    """4K, 48 frames: decoding it takes seconds here (far past the deadlines these tests set)."""
    return write_large(tmp_path_factory.mktemp("large") / "large.mp4")


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _warm_pid(clip) -> int:
    """The pid of the decoder process that serves the next call (one decodes ``clip`` to be sure it is up)."""
    sample_frames(clip, 4, transform=PREP.prepare, isolation="process")
    pids = decoder_pool().idle_pids()
    assert pids, "a decoder process that answered must be kept for the next call"
    return pids[-1]  # the pool hands out the most recently returned one first


def test_process_path_returns_what_inline_returns(clip):
    kept = {"inline": [], "process": []}
    out = {}
    for mode in kept:
        out[mode] = sample_frames(clip, 73, scales=(1.0, 0.5), transform=PREP.prepare, isolation=mode,
                                  on_keep=lambda gen, i, frame, m=mode: kept[m].append((i, frame)))
    a, b = out["inline"], out["process"]
    assert a.frames.shape == b.frames.shape and len(a.frames) > 40
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.timestamps, b.timestamps)
    assert all(np.array_equal(x, y) for x, y in zip(a.scale_indices, b.scale_indices, strict=True))
    assert a.metadata == b.metadata
    # Frames reach on_keep in the caller's process one by one, in the same order.
    assert [i for i, _ in kept["inline"]] == [i for i, _ in kept["process"]] == list(range(len(a.frames)))
    assert all(np.array_equal(x, y) for (_, x), (_, y) in zip(kept["inline"], kept["process"]))


def test_classifier_answers_the_same_in_both_modes(wiring_bundle, clip):
    inline = SingleVideoClassifier(wiring_bundle, device="cpu", decode_isolation="inline")
    process = SingleVideoClassifier(wiring_bundle, device="cpu", decode_isolation="process")
    a = inline.classify_video(clip, timeline="interval")
    b = process.classify_video(clip, timeline="interval")
    assert a["probabilities"] == b["probabilities"] and a["frames"] == b["frames"] and a["video"] == b["video"]
    assert a["timeline"]["windows"] == b["timeline"]["windows"] and len(a["timeline"]["windows"]) > 1


def test_the_plan_runs_in_the_caller_and_its_errors_come_back(clip):
    seen = []

    def plan(start, end):  # a closure with a side effect: it could not run in another process
        seen.append((start, end))
        return [uniform_timestamps(start, end, 5)]

    sampled = sample_plan(clip, plan, transform=PREP.prepare, isolation="process")
    assert len(seen) >= 1 and seen[-1][1] == pytest.approx(sampled.metadata.duration, rel=0.05)
    pid = decoder_pool().idle_pids()[-1]

    def broken(start, end):
        raise ValueError("this plan is broken")

    with pytest.raises(ValueError, match="this plan is broken"):
        sample_plan(clip, broken, isolation="process")
    assert decoder_pool().idle_pids()[-1] == pid  # the process answered cleanly: kept


def test_decode_errors_cross_intact_and_the_process_is_kept(tmp_path, clip):
    pid = _warm_pid(clip)
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 100)
    with pytest.raises(VideoDecodeError) as inline:
        sample_frames(text, 8)
    with pytest.raises(VideoDecodeError) as isolated:
        sample_frames(text, 8, isolation="process")
    assert (isolated.value.code, str(isolated.value), isolated.value.details) == \
           (inline.value.code, str(inline.value), inline.value.details)
    with pytest.raises(FileNotFoundError):
        sample_frames(tmp_path / "missing.mp4", 8, isolation="process")
    assert decoder_pool().idle_pids()[-1] == pid


def test_a_transform_that_cannot_be_sent_is_refused_before_any_work(clip):
    with pytest.raises(TypeError, match="picklable"):
        sample_frames(clip, 4, transform=lambda rgb: rgb, isolation="process")


def test_the_decoder_process_never_imports_torch(clip):
    _warm_pid(clip)  # it has unpickled a Preprocessing and decoded with it
    pid, heavy = decoder_pool().status()
    assert pid != os.getpid() and heavy == []


def test_a_decode_past_its_deadline_is_killed_and_replaced(slow, clip):
    pool = decoder_pool()
    pid = _warm_pid(clip)
    killed = pool.killed
    with pytest.raises(VideoDecodeError) as info:
        sample_frames(slow, 73, transform=PREP.prepare, isolation="process", limits=DecodeLimits(timeout_s=0.2))
    assert info.value.code == "over_budget" and "0.2 s" in str(info.value)
    assert _gone(pid), "the decoder process that ran past the deadline must be killed"
    assert pool.killed == killed + 1
    assert pid not in pool.idle_pids() + pool.busy_pids() and pool.idle_pids()  # a fresh one took its place
    assert len(sample_frames(clip, 8, transform=PREP.prepare, isolation="process").frames) == 8


def test_a_decoder_process_killed_mid_decode_gives_a_clean_error(slow, clip):
    pool = decoder_pool()
    _warm_pid(clip)
    started, out = threading.Event(), {}

    def decode():
        try:
            sample_frames(slow, 73, transform=PREP.prepare, isolation="process",
                          on_keep=lambda *_: started.set())
        except BaseException as exc:  # handed to the test
            out["error"] = exc

    thread = threading.Thread(target=decode, daemon=True)
    thread.start()
    assert started.wait(60), "the slow clip's first frame never came"
    [pid] = pool.busy_pids()
    crashed = pool.crashed
    os.kill(pid, signal.SIGKILL)  # what the OOM killer does
    thread.join(60)
    assert not thread.is_alive()
    error = out.get("error")
    assert isinstance(error, VideoDecodeError) and error.code == "decoder_crashed", error
    assert "SIGKILL" in str(error) and slow.name in str(error)
    assert pool.crashed == crashed + 1 and pid not in pool.idle_pids()
    assert len(sample_frames(clip, 8, transform=PREP.prepare, isolation="process").frames) == 8


def test_the_setting_is_checked():
    assert isolation_from_env({}) == "process"
    assert isolation_from_env({"VIDEOCLF_DECODE_ISOLATION": "Inline"}) == "inline"
    with pytest.raises(ValueError, match="VIDEOCLF_DECODE_ISOLATION.*process"):
        isolation_from_env({"VIDEOCLF_DECODE_ISOLATION": "thread"})
    with pytest.raises(ValueError, match="isolation"):
        sample_frames("x.mp4", 4, isolation="threads")


def test_a_decoder_process_has_its_memory_capped(clip, monkeypatch):
    monkeypatch.setenv("VIDEOCLF_DECODE_MEMORY_MB", "3000")
    pool = DecoderPool(keep=1)
    try:
        assert len(pool.sample_plan(clip, lambda s, e: [uniform_timestamps(s, e, 8)], transform=PREP.prepare).frames) == 8
        [pid] = pool.idle_pids()
        limits = open(f"/proc/{pid}/limits").read()
        line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
        assert line.split()[3] == str(3000 << 20), line
    finally:
        pool.close()
    assert memory_limit_mb({}) == 4096 and memory_limit_mb({"VIDEOCLF_DECODE_MEMORY_MB": "0"}) == 0
    for bad in ("lots", "-1", "100"):
        with pytest.raises(ValueError, match="VIDEOCLF_DECODE_MEMORY_MB"):
            memory_limit_mb({"VIDEOCLF_DECODE_MEMORY_MB": bad})
