"""Long test videos the bench writes itself: 1 min and 10 min of 720p30 H.264, cached and reused.

Content is synthetic but moving (a scrolling textured picture with a moving block), so the
encoder produces real P-frames and the decoder does real work. Written with PyAV's libx264
(ultrafast preset, a keyframe every 2 s, as streaming and phone encoders do). Only the 1-min
video is encoded (about 1800 frames); the 10-min one is the same bitstream muxed ten times in a
row with shifted timestamps: every copy starts on a keyframe, so it is a valid 10-min H.264 file
with the decode cost of a 10-min file, and it takes seconds instead of minutes to make.
Files are written under a temporary name and renamed, so an interrupted run never leaves a
half-written video in the cache.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WIDTH, HEIGHT, FPS = 1280, 720, 30
KEYFRAME_S = 2
BASE_S = 60
LONG_COPIES = 10


@dataclass(frozen=True)
class GeneratedVideo:
    path: str
    name: str
    duration_s: float
    width: int = WIDTH
    height: int = HEIGHT
    fps: float = FPS


def _textures(seed: int = 0):
    """A picture twice the frame width (luma, chroma) to scroll through: cheap per frame."""
    rng = np.random.default_rng(seed)
    x = np.arange(2 * WIDTH, dtype=np.float32)[None, :]
    y = np.arange(HEIGHT, dtype=np.float32)[:, None]
    luma = 128 + 60 * np.sin(x / 37.0) * np.cos(y / 23.0) + 40 * ((x // 64 + y // 64) % 2)
    luma += rng.normal(0, 6, size=luma.shape)  # some texture, so motion search has work to do
    cx = np.arange(WIDTH, dtype=np.float32)[None, :]  # chroma planes: half size, twice as wide
    cy = np.arange(HEIGHT // 2, dtype=np.float32)[:, None]
    u = 128 + 50 * np.sin(cx / 25.0) + 0 * cy
    v = 128 + 50 * np.cos(cy / 15.0) + 0 * cx
    clip = lambda a: np.clip(a, 0, 255).astype(np.uint8)  # noqa: E731
    return clip(luma), clip(u), clip(v)


def _encode_base(path: Path, seconds: int) -> None:
    import av

    luma, u, v = _textures()
    buf = np.empty((HEIGHT * 3 // 2, WIDTH), dtype=np.uint8)  # yuv420p: no colour conversion per frame
    q = HEIGHT // 4
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        gop = str(KEYFRAME_S * FPS)
        # Fixed GOP (no scene-cut keyframes), so the file is copyable in whole-GOP pieces.
        stream.options = {"preset": "ultrafast", "crf": "30", "g": gop, "keyint_min": gop, "sc_threshold": "0"}
        for i in range(seconds * FPS):
            off = (i * 5) % WIDTH
            buf[:HEIGHT] = luma[:, off:off + WIDTH]
            bx, by = (i * 11) % (WIDTH - 160), (i * 7) % (HEIGHT - 160)
            buf[by:by + 160, bx:bx + 160] = 235  # a moving block
            half = off // 2
            buf[HEIGHT:HEIGHT + q] = u[:, half:half + WIDTH // 2].reshape(q, WIDTH)
            buf[HEIGHT + q:] = v[:, half:half + WIDTH // 2].reshape(q, WIDTH)
            frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def _concat(src: Path, dst: Path, copies: int) -> None:
    """Mux ``copies`` copies of ``src`` one after another (no re-encoding)."""
    import av

    with av.open(str(src)) as inp:
        ins = inp.streams.video[0]
        packets = [p for p in inp.demux(ins) if p.dts is not None]
        span = max(p.pts + (p.duration or 0) for p in packets) - min(p.pts for p in packets)
        with av.open(str(dst), "w", format="mp4") as out:
            outs = out.add_stream_from_template(ins)
            for k in range(copies):
                for p in packets:
                    p.pts += span if k else 0
                    p.dts += span if k else 0
                    p.stream = outs
                    out.mux(p)


def _atomic(path: Path, make) -> None:
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}" + path.suffix)
    try:
        make(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _looks_complete(path: Path, seconds: float) -> bool:
    """A cached file is reused only if it opens and lasts as long as it should."""
    if not path.is_file() or path.stat().st_size == 0:
        return False
    try:
        import av

        with av.open(str(path)) as c:
            s = c.streams.video[0]
            dur = float(s.duration * s.time_base) if s.duration else (c.duration or 0) / 1e6
            return abs(dur - seconds) < 1.0 and s.codec_context.width == WIDTH
    except Exception:
        return False


def long_videos(cache: Path, log=print) -> list[GeneratedVideo]:
    """The 1-min and 10-min videos, generated into ``cache`` the first time."""
    cache.mkdir(parents=True, exist_ok=True)
    base = cache / f"synthetic_{HEIGHT}p{FPS}_{BASE_S}s.mp4"
    long = cache / f"synthetic_{HEIGHT}p{FPS}_{BASE_S * LONG_COPIES}s.mp4"
    if not _looks_complete(base, BASE_S):
        log(f"generating {base.name} (720p H.264, {BASE_S} s; once, then cached)")
        _atomic(base, lambda p: _encode_base(p, BASE_S))
    if not _looks_complete(long, BASE_S * LONG_COPIES):
        log(f"generating {long.name} ({LONG_COPIES} x {base.name}, remuxed)")
        _atomic(long, lambda p: _concat(base, p, LONG_COPIES))
    return [GeneratedVideo(str(base), "720p 1 min", float(BASE_S)),
            GeneratedVideo(str(long), "720p 10 min", float(BASE_S * LONG_COPIES))]
