"""Decoding and sampling on real files: codecs, frame rates, sizes, lying headers, broken inputs."""
from __future__ import annotations

import shutil
import struct
import tracemalloc

import numpy as np
import pytest

from app.video import VideoDecodeError, probe, sample_frames, uniform_timestamps
from app.video import sampling
from tests.videos import index_frame, patch_avi_header, read_index, set_mp4_rotation, write_cv2, write_pyav


def indices(sampled) -> list[int]:
    return [read_index(f) for f in sampled.frames]


def displayed_at(pts: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the frame on screen at each time t (the last frame whose pts <= t)."""
    return np.searchsorted(pts, t, side="right") - 1


def test_uniform_by_timestamp_on_constant_rate(tmp_path):
    path = write_cv2(tmp_path / "cfr.mp4", 300, fps=30)
    s = sample_frames(path, 73)
    targets = uniform_timestamps(0.0, 10.0, 73)
    expected = displayed_at(np.arange(300) / 30, targets)
    assert indices(s) == expected.tolist()
    np.testing.assert_allclose(s.timestamps, expected / 30, atol=1e-6)
    gaps = np.diff(s.timestamps)
    assert gaps.max() - gaps.min() <= 1 / 30 + 1e-9  # uniform to within one frame
    m = s.metadata
    assert (m.duration, m.fps, m.frame_count, m.frame_count_source) == (10.0, 30.0, 300, "decoded")
    assert m.frames_decoded == 300  # one sequential pass
    assert (m.width, m.height) == (96, 80)


def test_uniform_by_timestamp_on_variable_rate(tmp_path):
    # 5 s at 2 fps, then 1 s at 30 fps: sampling by index would take most frames from the last second.
    pts_ms = [i * 500 for i in range(10)] + [5000 + round(i * 1000 / 30) for i in range(30)]
    path = write_pyav(tmp_path / "vfr.mp4", pts_ms)
    pts = np.array(pts_ms) / 1000
    for backend in ("auto", "opencv", "pyav"):
        s = sample_frames(path, 73, backend=backend)
        duration = s.metadata.duration
        assert duration == pytest.approx(6.0, abs=0.04)
        expected = np.unique(displayed_at(pts, uniform_timestamps(0.0, duration, 73)))
        got = indices(s)
        assert got == expected.tolist(), backend
        np.testing.assert_allclose(s.timestamps, pts[got], atol=2e-3)
        dense = sum(1 for i in got if i >= 10)
        assert 10 <= dense <= 14, f"{backend}: {dense} frames from the last second, expected about 73/6"


@pytest.mark.parametrize("n", [1, 2, 10])
def test_short_videos_give_all_their_frames(tmp_path, n):
    s = sample_frames(write_cv2(tmp_path / f"short{n}.mp4", n, fps=25), 73)
    assert indices(s) == list(range(n))
    assert s.frames.shape == (n, 80, 96, 3)
    assert s.metadata.frame_count == n


@pytest.mark.parametrize("fourcc,suffix,fps,size", [
    ("mp4v", ".mp4", 30, (96, 80)),
    ("MJPG", ".avi", 12.5, (160, 96)),
    ("XVID", ".avi", 24, (128, 128)),
    ("VP80", ".webm", 15, (96, 80)),
    ("FFV1", ".mkv", 60, (100, 70)),
])
def test_codecs_rates_and_sizes(tmp_path, fourcc, suffix, fps, size):
    n = 90
    path = write_cv2(tmp_path / f"v{suffix}", n, fps=fps, size=size, fourcc=fourcc)
    s = sample_frames(path, 30)
    expected = displayed_at(np.arange(n) / fps, uniform_timestamps(0.0, n / fps, 30))
    assert indices(s) == expected.tolist()
    assert (s.metadata.width, s.metadata.height) == size
    assert s.metadata.fps == pytest.approx(fps, rel=1e-3)


def test_h264_written_by_pyav(tmp_path):
    path = write_pyav(tmp_path / "h264.mp4", [i * 40 for i in range(100)], size=(128, 96))
    s = sample_frames(path, 20)
    assert indices(s) == displayed_at(np.arange(100) * 0.04, uniform_timestamps(0, 4.0, 20)).tolist()
    assert s.metadata.codec.lower() in ("h264", "avc1")


@pytest.mark.parametrize("claimed", [150, 20, 0])
def test_header_frame_count_that_lies(tmp_path, claimed):
    path = write_cv2(tmp_path / "real50.avi", 50, fps=10, fourcc="MJPG")
    patch_avi_header(path, total_frames=claimed)
    s = sample_frames(path, 25)
    # Sampled over the real 5 s whatever the header says.
    assert indices(s) == displayed_at(np.arange(50) / 10, uniform_timestamps(0, 5.0, 25)).tolist()
    assert s.metadata.duration == pytest.approx(5.0)
    assert s.metadata.frame_count == 50
    if claimed == 150:
        assert any("declares 15.00 s but decodes to 5.00 s" in w for w in s.metadata.warnings)


def test_header_size_that_lies_is_ignored(tmp_path):
    path = write_cv2(tmp_path / "dims.avi", 20, fps=10, fourcc="MJPG")
    for w, h in [(0, 0), (100000, 100000)]:
        patch_avi_header(path, width=w, height=h)
        s = sample_frames(path, 10)
        assert s.frames.shape[1:] == (80, 96, 3)
        assert indices(s) == list(range(1, 20, 2))  # bin centres 0.1, 0.3, ... s at 10 fps


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotation_metadata_is_applied(tmp_path, degrees):
    plain = write_cv2(tmp_path / "plain.mp4", 8, fps=8)
    rotated = tmp_path / f"rot{degrees}.mp4"
    shutil.copy(plain, rotated)
    set_mp4_rotation(rotated, degrees)
    upright = sample_frames(plain, 8).frames
    # Displaying rotated clockwise by d degrees is np.rot90 with k = -d / 90.
    want = np.stack([np.rot90(f, -degrees // 90) for f in upright])
    for backend in ("opencv", "pyav"):
        s = sample_frames(rotated, 8, backend=backend)
        assert s.metadata.rotation == degrees
        assert s.frames.shape == want.shape
        assert np.abs(s.frames.astype(int) - want).mean() < 1.0, backend
    assert (s.metadata.width, s.metadata.height) == ((80, 96) if degrees != 180 else (96, 80))


def test_segment(tmp_path):
    path = write_cv2(tmp_path / "seg.mp4", 300, fps=30)
    s = sample_frames(path, 20, start=2.0, end=4.0)
    assert indices(s) == displayed_at(np.arange(300) / 30, uniform_timestamps(2.0, 4.0, 20)).tolist()
    assert s.timestamps.min() >= 2.0 - 1 / 30 and s.timestamps.max() < 4.0
    assert s.metadata.segment == (2.0, 4.0)
    with pytest.raises(VideoDecodeError, match="segment starts at 12.00 s but the video ends") as info:
        sample_frames(path, 20, start=12.0, end=14.0)
    assert info.value.code == "bad_segment"


def test_multiscale_samples_each_scale_uniformly_and_decodes_shared_frames_once(tmp_path):
    path = write_cv2(tmp_path / "ms.mp4", 300, fps=30)
    s = sample_frames(path, 73, scales=(1.0, 0.85, 1.15))
    assert [len(i) for i in s.scale_indices] == [73, 62, 84]
    assert len(s.frames) == len(np.unique(np.concatenate(s.scale_indices)))
    assert len(s.frames) < 73 + 62 + 84  # shared frames kept once
    for idx, n in zip(s.scale_indices, (73, 62, 84)):
        got = [read_index(s.frames[i]) for i in idx]
        assert got == displayed_at(np.arange(300) / 30, uniform_timestamps(0, 10.0, n)).tolist()


def test_long_video_is_crossed_by_seeking_in_bounded_memory(tmp_path):
    short = write_cv2(tmp_path / "short.mp4", 300, fps=5)  # 1 min
    long = write_cv2(tmp_path / "long.mp4", 3000, fps=5)  # 10 min
    peaks = {}
    for name, path, n in (("short", short, 300), ("long", long, 3000)):
        tracemalloc.start()
        s = sample_frames(path, 73)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        expected = displayed_at(np.arange(n) / 5, uniform_timestamps(0, n / 5, 73))
        assert indices(s) == expected.tolist()
        if name == "long":  # seeking skipped most of the video instead of decoding it
            assert s.metadata.frames_decoded < n / 2, s.metadata.frames_decoded
    assert peaks["long"] < 1.5 * peaks["short"], peaks


def test_oversized_frames_are_refused(tmp_path, monkeypatch):
    path = write_cv2(tmp_path / "big.mp4", 5, fps=5)
    monkeypatch.setattr(sampling, "MAX_FRAME_PIXELS", 64 * 64)
    with pytest.raises(VideoDecodeError, match="96x80 is larger than the supported maximum") as info:
        sample_frames(path, 5)
    assert info.value.code == "too_large"


# -- broken input -----------------------------------------------------------------------------

def _patch_jpeg_size(path, width, height):
    data = bytearray(path.read_bytes())
    at = data.find(b"\xff\xc0")
    while at >= 0:  # every frame's SOF0 marker: height and width follow precision
        struct.pack_into(">HH", data, at + 5, height, width)
        at = data.find(b"\xff\xc0", at + 2)
    path.write_bytes(bytes(data))


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoDecodeError, match="notes.mp4: not a readable video") as info:
        sample_frames(path)
    assert info.value.code == "not_video"


@pytest.mark.parametrize("fourcc,suffix,code", [("MJPG", ".avi", "no_frames"), ("mp4v", ".mp4", "not_video")])
def test_zero_frame_videos(tmp_path, fourcc, suffix, code):
    path = write_cv2(tmp_path / f"zero{suffix}", 0, fourcc=fourcc)  # a container with no frame in it
    assert path.stat().st_size > 0
    with pytest.raises(VideoDecodeError) as info:
        sample_frames(path)
    assert info.value.code == code


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoDecodeError, match="empty") as info:
        sample_frames(path)
    assert info.value.code == "empty"


def test_truncated_mp4_without_index(tmp_path):
    data = write_cv2(tmp_path / "full.mp4", 100, fps=25).read_bytes()  # index (moov) at the end
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoDecodeError, match="not a readable video"):
        sample_frames(path)


def test_truncated_faststart_clip_from_content4(tmp_path, content4, content4_rows):
    data = (content4 / content4_rows[0]["path"]).read_bytes()  # H.264, +faststart
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.raises(VideoDecodeError, match="truncated or corrupt: decoding failed at") as info:
        sample_frames(path)
    assert info.value.code == "corrupt"


@pytest.mark.parametrize("width,height", [(0, 0), (60000, 60000)])
def test_absurd_frame_size_in_the_codec_header(tmp_path, width, height):
    path = write_cv2(tmp_path / "sof.avi", 10, fps=10, fourcc="MJPG")
    _patch_jpeg_size(path, width, height)
    with pytest.raises(VideoDecodeError, match="no decodable frames") as info:
        sample_frames(path)
    assert info.value.code == "no_frames"


def test_missing_file_and_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        sample_frames(tmp_path / "nope.mp4")
    with pytest.raises(VideoDecodeError, match="not a file"):
        sample_frames(tmp_path)
    path = write_cv2(tmp_path / "ok.mp4", 5)
    for kwargs, message in [({"max_frames": 0}, "max_frames"), ({"scales": (0.85, 1.0)}, "scales"),
                            ({"start": -1.0}, "start"), ({"start": 2.0, "end": 1.0}, "end"),
                            ({"backend": "gstreamer"}, "backend")]:
        with pytest.raises(ValueError, match=message):
            sample_frames(path, **kwargs)


def test_real_clips_and_probe_match_the_datasheet(content4, content4_rows):
    for row in content4_rows[::60]:
        path = content4 / row["path"]
        s = sample_frames(path, 73)
        meta = probe(path)
        for m in (s.metadata, meta):
            assert (m.width, m.height) == (int(row["width"]), int(row["height"]))
            assert m.fps == pytest.approx(float(row["fps"]), rel=1e-3)
            assert m.duration == pytest.approx(float(row["duration_s"]), abs=0.05)
        assert len(s.frames) == min(73, s.metadata.frame_count) and s.frames.dtype == np.uint8
        assert np.all(np.diff(s.timestamps) > 0)
        assert not s.metadata.warnings
