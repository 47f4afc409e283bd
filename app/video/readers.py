"""Frame readers: one small class per decoding library, behind the same three calls.

A reader opens a file, reports what its header claims (``Header``), yields frames in
presentation order with their timestamps (``frames()``), and can ``seek(t)``. Each yielded
``Frame`` converts its pixels to RGB only when ``image()`` is called, so frames the sampler
skips cost a decode but no colour conversion. ``image()`` is valid until the next frame is read.

OpenCV is the default reader; PyAV is used where OpenCV cannot open or decode a file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # unreadable uploads would log warnings


class ReaderOpenError(Exception):
    """The library could not open the file (the sampler decides what to tell the user)."""


@dataclass(frozen=True)
class Header:
    """What the container claims. Any field may be wrong; 0 means 'not stated'."""

    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    rotation: int
    codec: str


@dataclass
class Frame:
    t: float  # presentation time in seconds from the start of the stream
    image: Callable[[], np.ndarray]  # (H, W, 3) uint8 RGB, upright


# Text that FFmpeg's demuxers read as a list of other files or URLs to open (HLS, concat, DASH,
# SDP, ...). FFmpeg follows them, local files included, so such an upload could make the
# service read any file it can reach (another user's upload) or connect out: refused unread.
_PLAYLIST_MARKERS = (b"#EXTM3U", b"#EXT-X-", b"ffconcat", b"<MPD", b"<?xml", b"<smil", b"[playlist]")
_SNIFF_BYTES = 64 * 1024


def refusal(path: Path) -> str | None:
    """Why ``path`` must not be given to a decoder at all (a playlist or other text), or None.

    No video container is plain text; playlists, file lists and session descriptions are.
    """
    with open(path, "rb") as f:
        head = f.read(_SNIFF_BYTES)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:4096]
    if any(marker.lower() in start.lower() for marker in _PLAYLIST_MARKERS):
        return "it is a playlist or a list of files, which is never followed"
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not just a multi-byte character cut at the end
                return None
        return "it is a text file"
    return None


def _sane_fps(fps: float) -> float:
    # VFR files often report a time-base rate (e.g. 90000) or NaN; treat those as unknown.
    return float(fps) if fps and math.isfinite(fps) and 0.0 < fps <= 1000.0 else 0.0


class OpenCVReader:
    """cv2.VideoCapture over FFmpeg; rotation metadata is applied by OpenCV itself.

    OpenCV stops silently at corrupt or missing data, so ``decode_error`` is always None.
    """

    name = "opencv"
    decode_error = None

    def __init__(self, path: Path):
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise ReaderOpenError("OpenCV could not open the file")
        self._cap = cap
        fps = _sane_fps(cap.get(cv2.CAP_PROP_FPS))
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        count = count if 0 < count < 2**40 else 0
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC) or 0)
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ") or "unknown"
        self.header = Header(
            fps=fps,
            frame_count=count,
            width=max(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0), 0),
            height=max(int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0), 0),
            duration=count / fps if fps and count else 0.0,
            rotation=int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0) % 360,
            codec=codec,
        )
        self.rotation = self.header.rotation

    def frames(self) -> Iterator[Frame]:
        cap = self._cap

        def image() -> np.ndarray:
            ok, bgr = cap.retrieve()
            if not ok or bgr is None:
                raise ReaderOpenError("OpenCV decoded a frame but could not convert it")
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

        while cap.grab():
            yield Frame(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0, image)

    def seek(self, t: float) -> None:
        # OpenCV turns a time into a frame number with the average rate, so on a variable
        # frame rate file it can land late; the sampler checks where it landed.
        self._cap.set(cv2.CAP_PROP_POS_MSEC, max(t, 0.0) * 1000.0)

    def close(self) -> None:
        self._cap.release()


class PyAVReader:
    """PyAV (FFmpeg's libraries directly): exact timestamps and seeking, decode threads."""

    name = "pyav"

    def __init__(self, path: Path):
        try:
            import av
        except ImportError as exc:  # PyAV is optional: OpenCV alone covers common files
            raise ReaderOpenError("PyAV is not installed") from exc
        self._av = av
        try:
            container = av.open(str(path), metadata_errors="ignore")
        except (av.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise ReaderOpenError(f"PyAV could not open the file ({exc})") from exc
        if not container.streams.video:
            container.close()
            raise ReaderOpenError("the file has no video stream")
        self._container = container
        stream = container.streams.video[0]
        if stream.codec_context is None:  # e.g. a sample table too damaged to name the codec
            container.close()
            raise ReaderOpenError("the video stream has no usable codec")
        # Slice threads only: with frame threads FFmpeg swallows the data error at a truncation
        # point, and telling truncated files from lying headers is this reader's job.
        stream.thread_type = "SLICE"
        self._stream = stream
        self._start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        fps = _sane_fps(float(stream.average_rate or stream.guessed_rate or 0))
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        else:
            duration = 0.0
        ctx = stream.codec_context
        self.header = Header(
            fps=fps,
            frame_count=int(stream.frames or 0),
            width=int(ctx.width or 0),
            height=int(ctx.height or 0),
            duration=max(duration, 0.0),
            rotation=0,  # known per frame (display matrix side data), applied in image()
            codec=ctx.name or "unknown",
        )
        self.decode_error: str | None = None
        self.rotation = 0  # clockwise degrees applied for display, as OpenCV reports it

    def frames(self) -> Iterator[Frame]:
        av = self._av
        iterator = self._container.decode(self._stream)
        last_t = None
        while True:
            try:
                frame = next(iterator)
            except StopIteration:
                return
            except av.FFmpegError as exc:  # corrupt data mid-stream: stop, keep what decoded
                self.decode_error = str(exc)
                return
            if frame.time is not None:
                t = frame.time - self._start
            else:
                t = last_t if last_t is not None else 0.0
            last_t = t

            def image(frame=frame) -> np.ndarray:
                rgb = frame.to_ndarray(format="rgb24")
                # frame.rotation is counter-clockwise degrees of the display matrix; np.rot90
                # also turns counter-clockwise, so k follows the sign directly (the pixels then
                # match OpenCV's automatic rotation exactly).
                k = round(getattr(frame, "rotation", 0) / 90) % 4
                self.rotation = (-90 * k) % 360
                return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb

            yield Frame(t, image)

    def seek(self, t: float) -> None:
        target = int((max(t, 0.0) + self._start) / self._stream.time_base)
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)

    def close(self) -> None:
        self._container.close()


READERS = {"opencv": OpenCVReader, "pyav": PyAVReader}
