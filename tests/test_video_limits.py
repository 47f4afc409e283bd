"""The decode budget (app.video.limits): absurd headers refused, seeks, frames and time capped,
playlists never followed. Files are real clips from content4 with bytes patched (tests/hostile.py)."""
from __future__ import annotations

import threading

import cv2
import pytest

from app.video import DecodeLimits, VideoDecodeError, get_limits, probe, sample_frames, set_limits
from tests import hostile
from tests.videos import write_cv2

# Header checks off: what is left to stop a crafted file is the budget and the seek logic.
LOOSE = DecodeLimits(min_fps=1e-9, max_duration_s=1e9, max_frame_count=2**40)


@pytest.fixture(scope="module")
def clip(content4, content4_rows):
    return content4 / content4_rows[0]["path"]


def _finishes(fn, seconds: float = 60.0):
    """Run ``fn`` in a thread; fail (instead of hanging the suite) if it does not end in time."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed back to the test
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still decoding after {seconds} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


@pytest.mark.parametrize("patch", ["timescale_0", "hour_per_frame"])
def test_the_two_files_that_hung_the_service_are_refused_from_the_header(tmp_path, clip, patch):
    path = tmp_path / f"{patch}.mp4"
    if patch == "timescale_0":
        hostile.patch_timescale(clip, path, 0)
    else:
        hostile.patch_sample_duration(clip, path, seconds=3600)
    for call in (lambda: sample_frames(path, 73), lambda: probe(path)):
        with pytest.raises(VideoDecodeError, match="frames per second") as info:
            _finishes(call)
        assert info.value.code == "bad_header"


def test_a_file_that_does_not_seek_is_decoded_through_not_seeked_forever(tmp_path, clip):
    # With the mdhd time scale 0 every seek lands on t=0 (it used to loop on that for ever).
    path = hostile.patch_timescale(clip, tmp_path / "ts0.mp4", 0)
    s = _finishes(lambda: sample_frames(path, 73, limits=LOOSE))
    assert s.metadata.frames_decoded < 1000, s.metadata


def test_seeks_are_capped(tmp_path):
    path = write_cv2(tmp_path / "long.mp4", 3000, fps=5)  # 10 min: crossed by seeking, 73 targets
    assert sample_frames(path, 73).metadata.frames_decoded < 1500  # seeking works within the budget
    with pytest.raises(VideoDecodeError, match="more seeks than allowed.*VIDEOCLF_DECODE_SEEKS_BASE") as info:
        sample_frames(path, 73, limits=DecodeLimits(seeks_base=2, seeks_per_target=0))
    assert info.value.code == "over_budget"


def test_decoded_frames_are_capped(tmp_path):
    path = write_cv2(tmp_path / "v.mp4", 300, fps=30)
    assert len(sample_frames(path, 20, limits=DecodeLimits(frames_base=300, frames_per_target=1)).frames) == 20
    with pytest.raises(VideoDecodeError, match="more frames decoded than allowed") as info:
        sample_frames(path, 20, limits=DecodeLimits(frames_base=100, frames_per_target=1))
    assert info.value.code == "over_budget"


def test_wall_clock_deadline(clip):
    with pytest.raises(VideoDecodeError, match="longer than 0.001 s.*VIDEOCLF_DECODE_TIMEOUT") as info:
        sample_frames(clip, 73, limits=DecodeLimits(timeout_s=0.001))
    assert info.value.code == "over_budget"


def test_too_long_from_the_header_and_from_the_timestamps(tmp_path, clip):
    with pytest.raises(VideoDecodeError, match="longer than the 2 s accepted") as info:
        sample_frames(clip, 73, limits=DecodeLimits(max_duration_s=2))
    assert info.value.code == "too_long"
    # A header that states no duration (AVI with its counts zeroed): the frames' times tell.
    path = write_cv2(tmp_path / "nocount.avi", 100, fps=10, fourcc="MJPG")
    from tests.videos import patch_avi_header

    patch_avi_header(path, total_frames=0)
    assert sample_frames(path, 10).metadata.duration == pytest.approx(10.0)
    with pytest.raises(VideoDecodeError, match="has frames at") as info:
        sample_frames(path, 10, limits=DecodeLimits(max_duration_s=5))
    assert info.value.code == "too_long"


def test_absurd_frame_count(tmp_path):
    path = write_cv2(tmp_path / "count.avi", 50, fps=10, fourcc="MJPG")
    hostile._patch_avi_frames(path, 2**31 - 1)
    with pytest.raises(VideoDecodeError, match="declares 2147483647 frames") as info:
        sample_frames(path)
    assert info.value.code == "bad_header"


@pytest.mark.parametrize("kind", ["hls", "concat"])
def test_playlists_naming_local_files_are_not_followed(tmp_path, clip, kind):
    out = tmp_path
    if kind == "hls":
        path = hostile._hls("local")(clip, out, out / "list.m3u8")
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)  # FFmpeg itself would follow this one
        try:
            assert cap.isOpened() and cap.grab(), "the playlist should be a working one"
        finally:
            cap.release()
    else:
        path = hostile._concat("local")(clip, out, out / "list.txt")
    for call in (lambda: sample_frames(path), lambda: probe(path)):
        with pytest.raises(VideoDecodeError, match="playlist or a list of files, which is never followed") as info:
            call()
        assert info.value.code == "not_video"


def test_limits_from_the_environment_and_set_limits():
    limits = DecodeLimits.from_env({"VIDEOCLF_DECODE_TIMEOUT": "5", "VIDEOCLF_DECODE_SEEKS_BASE": "3"})
    assert (limits.timeout_s, limits.seeks_base, limits.max_duration_s) == (5.0, 3, DecodeLimits().max_duration_s)
    with pytest.raises(ValueError, match="VIDEOCLF_MAX_DURATION_S='long' is not a valid float"):
        DecodeLimits.from_env({"VIDEOCLF_MAX_DURATION_S": "long"})
    with pytest.raises(ValueError, match="timeout_s .VIDEOCLF_DECODE_TIMEOUT. must be positive"):
        DecodeLimits(timeout_s=0)
    previous = set_limits(timeout_s=7)
    try:
        assert get_limits().timeout_s == 7 and get_limits().seeks_base == previous.seeks_base
    finally:
        set_limits(previous)
    assert get_limits() == previous
