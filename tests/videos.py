"""Real video files for tests: written with cv2.VideoWriter or PyAV, frames that encode their index.

An index is drawn as a 4x4 grid of black/white 16x16 blocks (16 bits) in the top-left corner,
which survives lossy codecs, so a test can read back which frame a decoder returned.
"""
from __future__ import annotations

import fractions
import struct
from pathlib import Path

import cv2
import numpy as np

BLOCK = 16
GRID = 4


def index_frame(i: int, width: int = 96, height: int = 80) -> np.ndarray:
    """An RGB frame whose top-left 64x64 corner encodes ``i`` in binary."""
    img = np.full((height, width, 3), 96, dtype=np.uint8)
    img[:, :, 2] = (np.arange(width) * 255 // max(width - 1, 1)).astype(np.uint8)[None, :]
    for bit in range(GRID * GRID):
        r, c = divmod(bit, GRID)
        value = 255 if (i >> bit) & 1 else 0
        img[r * BLOCK:(r + 1) * BLOCK, c * BLOCK:(c + 1) * BLOCK] = value
    return img


def read_index(rgb: np.ndarray) -> int:
    """Inverse of ``index_frame`` on a decoded (upright, unresized) frame."""
    value = 0
    for bit in range(GRID * GRID):
        r, c = divmod(bit, GRID)
        block = rgb[r * BLOCK + 4:(r + 1) * BLOCK - 4, c * BLOCK + 4:(c + 1) * BLOCK - 4]
        if block.mean() > 127:
            value |= 1 << bit
    return value


def write_cv2(path: Path, n_frames: int, fps: float = 25.0, size=(96, 80), fourcc: str = "mp4v",
              frame_fn=index_frame) -> Path:
    """Write ``n_frames`` frames with OpenCV's writer (mp4v/.mp4, MJPG or XVID/.avi, VP80/.webm...)."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {fourcc} to {path.suffix}"
    for i in range(n_frames):
        writer.write(cv2.cvtColor(frame_fn(i, w, h), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_pyav(path: Path, pts_ms: list[int], size=(96, 80), codec: str = "libx264",
               frame_fn=index_frame, faststart: bool = False) -> Path:
    """Write H.264 (by default) with explicit presentation times in milliseconds (variable frame rate)."""
    import av

    w, h = size
    options = {"movflags": "+faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = fractions.Fraction(1, 1000)
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        for i, pts in enumerate(pts_ms):
            frame = av.VideoFrame.from_ndarray(frame_fn(i, w, h), format="rgb24")
            frame.pts, frame.time_base = pts, fractions.Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def set_mp4_rotation(path: Path, degrees: int) -> None:
    """Patch the video track's tkhd display matrix of an MP4 in place (rotation metadata)."""
    data = bytearray(path.read_bytes())
    pos = data.find(b"tkhd")
    assert pos > 0, "no tkhd box"
    version = data[pos + 4]
    matrix_at = pos + 4 + 4 + (32 if version == 1 else 20) + 8 + 8
    one, zero = 0x10000, 0
    a, b, c, d = {90: (zero, one, -one, zero), 180: (-one, zero, zero, -one),
                  270: (zero, -one, one, zero)}[degrees]
    struct.pack_into(">iiiiiiiii", data, matrix_at, a, b, 0, c, d, 0, 0, 0, 0x40000000)
    path.write_bytes(bytes(data))


def patch_avi_header(path: Path, *, total_frames: int | None = None, width: int | None = None,
                     height: int | None = None) -> None:
    """Make an AVI's headers lie about the frame count or the frame size (avih, strh, strf)."""
    data = bytearray(path.read_bytes())
    avih = data.find(b"avih") + 8  # MainAVIHeader fields follow the chunk header
    strh = data.find(b"strh") + 8
    strf = data.find(b"strf") + 8  # BITMAPINFOHEADER
    if total_frames is not None:
        struct.pack_into("<I", data, avih + 16, total_frames)  # dwTotalFrames
        struct.pack_into("<I", data, strh + 32, total_frames)  # dwLength
        idx = data.find(b"idx1")
        if idx > 0:  # drop the index too, or demuxers count the real frames from it
            data[idx:idx + 4] = b"JUNK"
    if width is not None:
        struct.pack_into("<I", data, avih + 32, width)
        struct.pack_into("<i", data, strf + 4, width)
    if height is not None:
        struct.pack_into("<I", data, avih + 36, height)
        struct.pack_into("<i", data, strf + 8, height)
    path.write_bytes(bytes(data))


def concat_clips(out: Path, clips: list[Path], size=(640, 360), fps: int = 15) -> list[float]:
    """Join clips into one H.264 video at ``fps``; returns the times where each later clip starts.

    Each clip is scaled so its short side fills the canvas height and centred on the canvas
    (black around it): the centred square the models crop is the clip's own centred square.
    """
    import av

    w, h = size
    cuts, pts = [], 0
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": str(2 * fps)}
        for n, clip in enumerate(clips):
            if n:
                cuts.append(pts / fps)
            start = pts
            with av.open(str(clip)) as src:
                for frame in src.decode(video=0):
                    img = frame.to_ndarray(format="rgb24")
                    ih, iw = img.shape[:2]
                    s = h / min(ih, iw)
                    img = cv2.resize(img, (max(1, round(iw * s)), max(1, round(ih * s))), interpolation=cv2.INTER_AREA)
                    ih, iw = img.shape[:2]
                    y0, x0 = max(0, (ih - h) // 2), max(0, (iw - w) // 2)
                    img = img[y0:y0 + h, x0:x0 + w]
                    canvas = np.zeros((h, w, 3), np.uint8)
                    cy, cx = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
                    canvas[cy:cy + img.shape[0], cx:cx + img.shape[1]] = img
                    # Resample to the output rate by time: repeat or drop frames as needed.
                    while (pts - start) / fps <= frame.time:
                        vf = av.VideoFrame.from_ndarray(canvas, format="rgb24")
                        vf.pts = pts
                        for packet in stream.encode(vf):
                            container.mux(packet)
                        pts += 1
        for packet in stream.encode():
            container.mux(packet)
    return cuts


def write_large(path: Path, n_frames: int = 48, size=(3840, 2160), fps: int = 10) -> Path:
    """A 4K H.264 clip of moving coarse noise: slow to decode, for tests that need a decode to
    outlast a deadline. Measured: 0.05 s a frame on the 2-core dev VM. CI's machine once
    decoded 24 frames inside a 0.5-s deadline (so under 0.021 s a frame, not measured further);
    48 frames against a 0.2-s deadline leave about 5x at that rate. PyAV, libx264 ultrafast."""
    import av

    w, h = size
    coarse = np.random.default_rng(0).integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for i in range(n_frames):
            image = cv2.resize(np.roll(coarse, i, axis=1), (w, h), interpolation=cv2.INTER_NEAREST)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
