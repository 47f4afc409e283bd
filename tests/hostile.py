"""A corpus of hostile uploads, generated from real clips (nothing binary is checked in).

``build(out_dir, clip)`` writes every case of ``CASES`` into ``out_dir`` from ``clip`` (a real
H.264 MP4 from content4; the generators also encode small videos of their own with PyAV) and
returns them as ``Case`` objects: the file, the name a client sends it under, and the outcome the
service must give (HTTP statuses accepted and, for videos, whether the label must be the clip's).
``reduced=True`` builds the subset the test suite runs against the live server; the script
``scripts/hostile_corpus.py`` runs all of them and prints a table.

The MP4 patches edit boxes in place (``find_box``): the mdhd time scale, the stts sample
durations, box sizes, the mvhd/mdhd durations, the tkhd matrix.
"""
from __future__ import annotations

import fractions
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tests.videos import set_mp4_rotation, write_cv2, write_pyav

VIDEO = (200,)
REFUSED = (400, 415, 422)  # any clear refusal of the input


@dataclass
class Case:
    name: str
    path: Path
    send_as: str  # the client's file name
    expect: tuple[int, ...]  # HTTP statuses that are right for it
    same_label: bool = False  # a 200 must carry the source clip's label
    within_s: float = 10.0  # the answer must come this fast (on a 2-core CPU)
    what: str = ""


# -- MP4 boxes --------------------------------------------------------------------------------

_CONTAINERS = {"moov", "trak", "mdia", "minf", "stbl", "edts", "dinf", "udta"}


def _boxes(data: bytes, start: int, end: int):
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            size, header = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif size == 0:
            size = end - pos
        if size < header:
            return
        yield kind.decode("latin-1"), pos, header, size
        pos += size


def find_box(data: bytes, path: str) -> tuple[int, int, int]:
    """(offset, header length, size) of the first box at ``path`` ("moov/trak/mdia/mdhd")."""
    start, end = 0, len(data)
    names = path.split("/")
    for depth, name in enumerate(names):
        for kind, pos, header, size in _boxes(data, start, end):
            if kind == name:
                if depth == len(names) - 1:
                    return pos, header, size
                start, end = pos + header, pos + size
                break
        else:
            raise ValueError(f"no {path} box")
    raise AssertionError("unreachable")


def _mdhd_fields(data: bytes) -> tuple[int, int]:
    """Offsets of the video mdhd's time scale and duration (the first trak is the video one here)."""
    pos, header, _ = find_box(data, "moov/trak/mdia/mdhd")
    version = data[pos + header]
    at = pos + header + 4 + (16 if version == 1 else 8)
    return at, at + 4


def patch_timescale(src: Path, dst: Path, value: int = 0) -> Path:
    data = bytearray(src.read_bytes())
    at, _ = _mdhd_fields(data)
    struct.pack_into(">I", data, at, value)
    dst.write_bytes(bytes(data))
    return dst


def patch_sample_duration(src: Path, dst: Path, seconds: float | None = None, ticks: int | None = None) -> Path:
    """Give every video sample the same duration in the stts box (``seconds``, or raw ``ticks``)."""
    data = bytearray(src.read_bytes())
    at, _ = _mdhd_fields(data)
    timescale = struct.unpack_from(">I", data, at)[0]
    delta = ticks if ticks is not None else int(seconds * timescale)
    pos, header, _ = find_box(data, "moov/trak/mdia/minf/stbl/stts")
    entries = struct.unpack_from(">I", data, pos + header + 4)[0]
    for i in range(entries):
        struct.pack_into(">I", data, pos + header + 8 + 8 * i + 4, delta)
    dst.write_bytes(bytes(data))
    return dst


def patch_durations(src: Path, dst: Path, value: int) -> Path:
    """Set the mvhd and the video mdhd durations (32-bit versions) to ``value`` ticks."""
    data = bytearray(src.read_bytes())
    pos, header, _ = find_box(data, "moov/mvhd")
    if data[pos + header] == 0:
        struct.pack_into(">I", data, pos + header + 16, value)
    at, duration_at = _mdhd_fields(data)
    if data[find_box(data, "moov/trak/mdia/mdhd")[0] + 8] == 0:
        struct.pack_into(">I", data, duration_at, value)
    dst.write_bytes(bytes(data))
    return dst


def patch_box_size(src: Path, dst: Path, path: str, size: int) -> Path:
    data = bytearray(src.read_bytes())
    pos, _, _ = find_box(data, path)
    struct.pack_into(">I", data, pos, size)
    dst.write_bytes(bytes(data))
    return dst


def swap_box_sizes(src: Path, dst: Path, a: str, b: str) -> Path:
    data = bytearray(src.read_bytes())
    pa, pb = find_box(data, a)[0], find_box(data, b)[0]
    sa, sb = struct.unpack_from(">I", data, pa)[0], struct.unpack_from(">I", data, pb)[0]
    struct.pack_into(">I", data, pa, sb)
    struct.pack_into(">I", data, pb, sa)
    dst.write_bytes(bytes(data))
    return dst


# -- encoders ---------------------------------------------------------------------------------

def _decode_frames(clip: Path, limit: int | None = None, size: tuple[int, int] | None = None):
    """The clip's frames as RGB arrays (and its rate); ``size`` (w, h) resizes them."""
    import av
    import cv2

    frames = []
    with av.open(str(clip)) as c:
        stream = c.streams.video[0]
        rate = stream.average_rate or 25
        for frame in c.decode(stream):
            img = frame.to_ndarray(format="rgb24")
            if size is not None:
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            frames.append(img)
            if limit and len(frames) >= limit:
                break
    return frames, rate


def encode(dst: Path, frames, rate, *, codec: str = "libx264", pix_fmt: str = "yuv420p", fmt: str | None = None,
           options: dict | None = None, stream_options: dict | None = None, pts=None, time_base=None) -> Path:
    """Encode RGB ``frames`` with PyAV (``pts`` in ``time_base`` units for variable rates)."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(dst), "w", format=fmt, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if stream_options:
            stream.options = stream_options
        if time_base is not None:
            stream.time_base = time_base
            stream.codec_context.time_base = time_base
        for i, img in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts is not None:
                vf.pts, vf.time_base = pts[i], time_base
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def _reencode(clip: Path, dst: Path, **kwargs) -> Path:
    frames, rate = _decode_frames(clip)
    return encode(dst, frames, rate, **kwargs)


def _audio_only(dst: Path) -> Path:
    import av

    with av.open(str(dst), "w") as out:
        stream = out.add_stream("aac", rate=44100)
        t = np.arange(44100 * 3) / 44100
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        for k in range(0, samples.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(samples[:, k:k + 1024], format="fltp", layout="mono")
            frame.sample_rate = 44100
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return dst


def _png_bomb(dst: Path, width: int, height: int) -> Path:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` zeros: a few hundred KB on disk,
    hundreds of MB once decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" * (1 + (width + 7) // 8)
    z = zlib.compressobj(9)
    body = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
           + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    dst.write_bytes(png)
    return dst


def _zip_bomb(dst: Path, megabytes: int = 1024) -> Path:
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        with z.open("video.mp4", "w", force_zip64=True) as f:
            block = b"\x00" * (1 << 20)
            for _ in range(megabytes):
                f.write(block)
    return dst


def _polyglot_zip(clip: Path, out: Path, dst: Path) -> Path:
    """The clip with a ZIP archive appended (a valid MP4 and a valid ZIP at once)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "this file is also a zip archive\n")
    dst.write_bytes(clip.read_bytes() + buf.getvalue())
    return dst


def _index_frames(n: int, size=(96, 80)):
    from tests.videos import index_frame

    return [index_frame(i, *size) for i in range(n)]


def _patch_avi_frames(path: Path, total: int) -> Path:
    data = bytearray(path.read_bytes())
    avih, strh = data.find(b"avih") + 8, data.find(b"strh") + 8
    struct.pack_into("<I", data, avih + 16, total)
    struct.pack_into("<I", data, strh + 32, total)
    idx = data.find(b"idx1")
    if idx > 0:
        data[idx:idx + 4] = b"JUNK"
    path.write_bytes(bytes(data))
    return path


def _mdat_offset(data: bytes) -> int:
    return find_box(data, "mdat")[0]


# -- the cases --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    name: str
    make: Callable[[Path, Path, Path], Path]  # (clip, out_dir, dst stem) -> the file
    send_as: str
    expect: tuple[int, ...]
    same_label: bool = False
    within_s: float = 10.0
    reduced: bool = False
    what: str = ""


def _cut(fraction: float):
    def make(clip, out, dst):
        data = clip.read_bytes()
        dst.write_bytes(data[: int(len(data) * fraction)])
        return dst
    return make


def _bytes(content: bytes):
    def make(clip, out, dst):
        dst.write_bytes(content)
        return dst
    return make


def _header_only(clip, out, dst):
    data = clip.read_bytes()
    dst.write_bytes(data[: _mdat_offset(data) + 16])
    return dst


def _no_moov(clip, out, dst):
    data = clip.read_bytes()
    dst.write_bytes(data[_mdat_offset(data):])
    return dst


def _copy(clip, out, dst):
    dst.write_bytes(clip.read_bytes())
    return dst


def _hls(target: str):
    def make(clip, out, dst):
        import av

        if target == "local":
            seg = out / "segment.ts"  # a real, decodable segment: followed, it would be classified
            with av.open(str(clip)) as src, av.open(str(seg), "w", format="mpegts") as ts:
                ins = src.streams.video[0]
                ost = ts.add_stream_from_template(ins)
                for packet in src.demux(ins):
                    if packet.dts is not None:
                        packet.stream = ost
                        ts.mux(packet)
            entry = str(seg)
        else:
            entry = "http://127.0.0.1:9/segment.ts"
        dst.write_text(f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXTINF:9.0,\n{entry}\n#EXT-X-ENDLIST\n")
        return dst
    return make


def _concat(target: str):
    def make(clip, out, dst):
        entry = str(clip.resolve()) if target == "local" else "http://127.0.0.1:9/clip.mp4"
        dst.write_text(f"ffconcat version 1.0\nfile '{entry}'\n")
        return dst
    return make


def _frames_of(clip, n=None, size=None):
    frames, rate = _decode_frames(clip, n, size)
    return frames, rate


def _small(clip, n=60, size=(320, 180)):
    return _frames_of(clip, n, size)


def _gif(clip, out, dst):
    frames, rate = _small(clip, 40, (160, 90))
    return encode(dst, frames, rate, codec="gif", pix_fmt="rgb8", fmt="gif")


def _apng(clip, out, dst):
    frames, rate = _small(clip, 30, (160, 90))
    return encode(dst, frames, rate, codec="apng", pix_fmt="rgb24", fmt="apng")


def _webp(clip, out, dst):
    frames, rate = _small(clip, 30, (160, 90))
    return encode(dst, frames, rate, codec="libwebp_anim", pix_fmt="yuv420p", fmt="webp")


def _one_frame(clip, out, dst):
    frames, rate = _frames_of(clip, 1)
    return encode(dst, frames, rate)


def _black(clip, out, dst):
    return encode(dst, [np.zeros((180, 320, 3), np.uint8)] * 50, 25)


def _tiny(clip, out, dst):
    frames = [np.full((1, 1, 3), (i * 5) % 255, np.uint8) for i in range(50)]
    return encode(dst, frames, 25, codec="ffv1", pix_fmt="bgr0", fmt="matroska")


def _vfr_gaps(clip, out, dst):
    frames, _ = _small(clip, 60)
    # 2 s at 15 fps, a 60-s gap, 2 s more: the second half starts at 62 s.
    pts = [i * 67 for i in range(30)] + [62000 + i * 67 for i in range(30)]
    return encode(dst, frames, 15, pts=pts, time_base=fractions.Fraction(1, 1000))


def _long_tiny(clip, out, dst):
    frames = [np.full((32, 32, 3), (i * 7) % 255, np.uint8) for i in range(256)]
    n = 3600 * 4  # an hour at 4 frames per second
    seq = [frames[i % 256] for i in range(n)]
    return encode(dst, seq, 4, stream_options={"preset": "ultrafast", "g": "40"})


def _rotated(clip, out, dst):
    dst.write_bytes(clip.read_bytes())
    set_mp4_rotation(dst, 90)
    return dst


def _mjpeg_lying_count(clip, out, dst):
    write_cv2(dst, 50, fps=10, fourcc="MJPG")
    return _patch_avi_frames(dst, 2**31 - 1)


def _avi_from(clip, out, dst):
    frames, rate = _small(clip, 120)
    return encode(dst, frames, rate, codec="mjpeg", pix_fmt="yuvj420p", fmt="avi")


def _webm_as_mp4(clip, out, dst):
    frames, rate = _small(clip, 120)
    return encode(dst, frames, rate, codec="libvpx-vp9", pix_fmt="yuv420p", fmt="webm",
                  stream_options={"deadline": "realtime", "cpu-used": "8"})


def _zero_frames(clip, out, dst):
    return write_cv2(dst, 0)


def _noise(clip, out, dst):
    dst.write_bytes(np.random.default_rng(0).integers(0, 256, 200_000, dtype=np.uint8).tobytes())
    return dst


def _trunc_webm(clip, out, dst):
    full = _webm_as_mp4(clip, out, out / "full.webm")
    data = full.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    full.unlink()
    return dst


def _avi_declared_size(clip, out, dst):
    from tests.videos import patch_avi_header

    write_cv2(dst, 20, fps=10, fourcc="MJPG")
    patch_avi_header(dst, width=16000, height=16000)
    return dst


def _sof_16000(clip, out, dst):
    write_cv2(dst, 10, fps=10, fourcc="MJPG")
    data = bytearray(dst.read_bytes())
    at = data.find(b"\xff\xc0")
    while at >= 0:
        struct.pack_into(">HH", data, at + 5, 16000, 16000)
        at = data.find(b"\xff\xc0", at + 2)
    dst.write_bytes(bytes(data))
    return dst


L = 60.0  # within_s for videos that are classified (decode + model on a busy 2-core CPU)
D = 30.0  # within_s for damage found only by decoding (the frames before it are decoded and featurised)
SPECS: list[Spec] = [
    Spec("zero_bytes", _bytes(b""), "empty.mp4", (400,), reduced=True),
    Spec("truncated_5pct", _cut(0.05), "cut5.mp4", REFUSED, reduced=True),
    Spec("truncated_30pct", _cut(0.30), "cut30.mp4", REFUSED, within_s=D),
    Spec("truncated_60pct", _cut(0.60), "cut60.mp4", REFUSED, reduced=True, within_s=D),
    Spec("truncated_95pct", _cut(0.95), "cut95.mp4", REFUSED + VIDEO, what="the last frames missing", within_s=D),
    Spec("header_only", _header_only, "header.mp4", REFUSED, reduced=True),
    Spec("mdat_without_moov", _no_moov, "nomoov.mp4", REFUSED),
    Spec("text_named_mp4", _bytes(b"this is not a video\n" * 100), "notes.mp4", (415,), reduced=True),
    Spec("html_named_mp4", _bytes(b"<!doctype html><html><body><script>alert(1)</script></body></html>\n"),
         "page.mp4", (415,)),
    Spec("random_bytes", _noise, "noise.mp4", (415,)),
    Spec("zero_frame_container", _zero_frames, "zero.mp4", REFUSED),
    Spec("mp4_named_avi", _copy, "clip.avi", VIDEO, same_label=True, within_s=L),
    Spec("avi_named_mp4", _avi_from, "clip.mp4", VIDEO, within_s=L),
    Spec("webm_named_mp4", _webm_as_mp4, "clip.mp4", VIDEO, within_s=L),
    Spec("truncated_webm", _trunc_webm, "cut.webm", REFUSED + VIDEO, within_s=D),
    Spec("box_size_huge", lambda c, o, d: patch_box_size(c, d, "moov", 0xFFFFFFF0), "bigbox.mp4", REFUSED + VIDEO),
    Spec("box_size_zero_moov", lambda c, o, d: patch_box_size(c, d, "moov", 0), "zerobox.mp4", REFUSED + VIDEO),
    Spec("box_size_tiny_stbl", lambda c, o, d: patch_box_size(c, d, "moov/trak/mdia/minf/stbl", 9), "stbl.mp4",
         REFUSED),
    Spec("box_sizes_swapped", lambda c, o, d: swap_box_sizes(c, d, "moov", "mdat"), "swapped.mp4", REFUSED + VIDEO,
         reduced=True),
    Spec("mdhd_timescale_0", lambda c, o, d: patch_timescale(c, d, 0), "timescale0.mp4", (422,), reduced=True,
         what="issue 12: hung the service"),
    Spec("stts_one_hour_per_frame", lambda c, o, d: patch_sample_duration(c, d, seconds=3600), "hour.mp4", (422,),
         reduced=True, what="issue 12: hung the service"),
    Spec("stts_duration_0", lambda c, o, d: patch_sample_duration(c, d, ticks=0), "fps_inf.mp4", REFUSED + VIDEO),
    Spec("fps_1e6", lambda c, o, d: patch_sample_duration(patch_timescale(c, d, 1_000_000), d, ticks=1), "fps1e6.mp4",
         REFUSED + VIDEO),
    Spec("duration_0", lambda c, o, d: patch_durations(c, d, 0), "dur0.mp4", VIDEO, within_s=L),
    Spec("duration_huge", lambda c, o, d: patch_durations(c, d, 0xFFFFFFF0), "durhuge.mp4", REFUSED + VIDEO,
         reduced=True),
    Spec("frame_count_2e9", _mjpeg_lying_count, "count.avi", (422,), reduced=True),
    Spec("size_1x1", _tiny, "tiny.mkv", VIDEO, within_s=L),
    Spec("declared_16000x16000", _avi_declared_size, "declared.avi", REFUSED + VIDEO),
    Spec("frames_16000x16000", _sof_16000, "sof.avi", (422,), reduced=True),
    Spec("png_bomb_16000x16000", lambda c, o, d: _png_bomb(d, 16000, 16000), "bomb.png", (415, 422), reduced=True),
    Spec("one_frame", _one_frame, "one.mp4", VIDEO, within_s=L),
    Spec("all_black", _black, "black.mp4", VIDEO, within_s=L),
    Spec("vfr_60s_gap", _vfr_gaps, "vfr.mp4", VIDEO, within_s=L),
    Spec("audio_only", lambda c, o, d: _audio_only(d), "sound.m4a", REFUSED, reduced=True),
    Spec("h264_10bit", lambda c, o, d: _reencode(c, d, pix_fmt="yuv420p10le"), "10bit.mp4", VIDEO, same_label=True,
         within_s=L),
    Spec("h264_yuv444", lambda c, o, d: _reencode(c, d, pix_fmt="yuv444p"), "444.mp4", VIDEO, same_label=True,
         within_s=L),
    Spec("ffv1_gray", lambda c, o, d: encode(d, *_small(c, 60), codec="ffv1", pix_fmt="gray", fmt="matroska"),
         "gray.mkv", VIDEO, within_s=L),
    Spec("hevc_yuv422_10bit", lambda c, o, d: encode(d, *_small(c, 60), codec="libx265", pix_fmt="yuv422p10le",
                                                   stream_options={"preset": "ultrafast", "x265-params": "log-level=error"}),
         "hevc.mp4", VIDEO, within_s=L),
    Spec("rotated_90", _rotated, "rotated.mp4", VIDEO, within_s=L),
    Spec("interlaced", lambda c, o, d: _reencode(c, d, stream_options={"flags": "+ildct+ilme", "x264-params":
                                                                        "interlaced=1:tff=1"}),
         "interlaced.mp4", VIDEO, same_label=True, within_s=L),
    Spec("hour_of_tiny_frames", _long_tiny, "long.mp4", VIDEO + REFUSED, within_s=L),
    Spec("hls_local_file", _hls("local"), "playlist.m3u8", (415,), reduced=True,
         what="FFmpeg follows it to a local file"),
    Spec("hls_url", _hls("url"), "remote.m3u8", (415,), reduced=True),
    Spec("concat_local_file", _concat("local"), "list.ffconcat", (415,), reduced=True),
    Spec("concat_url", _concat("url"), "list.txt", (415,)),
    Spec("gif", _gif, "anim.gif", VIDEO, within_s=L),
    Spec("apng", _apng, "anim.png", VIDEO + REFUSED, within_s=L),
    Spec("webp_animated", _webp, "anim.webp", VIDEO + REFUSED, within_s=L),
    Spec("zip_bomb", lambda c, o, d: _zip_bomb(d), "bomb.mp4", (415,), reduced=True),
    Spec("polyglot_mp4_zip", _polyglot_zip, "poly.mp4", VIDEO, same_label=True, within_s=L),
    Spec("name_path_traversal", _copy, "../../../../tmp/evil.mp4", VIDEO, same_label=True, within_s=L,
         reduced=True),
    Spec("name_with_nul", _copy, "a\x00b.mp4", VIDEO, same_label=True, within_s=L, reduced=True),
    Spec("name_4kb", _copy, "n" * 4096 + ".mp4", VIDEO, same_label=True, within_s=L, reduced=True),
]


def build(out_dir: Path, clip: Path, *, reduced: bool = False, only: set[str] | None = None) -> list[Case]:
    """Write the cases (all, or the reduced set, or those named in ``only``) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for spec in SPECS:
        if (reduced and not spec.reduced) or (only and spec.name not in only):
            continue
        suffix = Path(spec.send_as.replace("\x00", "")).suffix or ".bin"
        path = spec.make(clip, out_dir, out_dir / f"{spec.name}{suffix}")
        cases.append(Case(spec.name, path, spec.send_as, spec.expect, spec.same_label, spec.within_s, spec.what))
    return cases


# -- running the corpus against a server --------------------------------------------------------

@dataclass
class Outcome:
    case: Case
    status: int | None
    code: str | None  # the error code, or the label for a 200
    seconds: float
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_case(url: str, case: Case, *, label: str | None = None, timeout: float = 180.0,
             headers: dict | None = None) -> Outcome:
    """POST ``case`` to ``url``/classify and judge the answer: the status is one ``case`` expects,
    it came within ``case.within_s``, it is JSON without a traceback, and a 200 for a
    ``same_label`` case carries ``label``."""
    import time

    import requests

    problems: list[str] = []
    t0 = time.perf_counter()
    try:
        response = requests.post(f"{url}/classify", files={"video": (case.send_as, case.path.read_bytes())},
                                 headers=headers or {}, timeout=timeout)
    except requests.RequestException as exc:
        return Outcome(case, None, None, time.perf_counter() - t0, [f"no answer: {type(exc).__name__}: {exc}"])
    seconds = time.perf_counter() - t0
    text = response.text
    code = None
    if "Traceback" in text or 'File "' in text:
        problems.append("a traceback in the answer")
    try:
        body = response.json()
    except ValueError:
        body = None
        problems.append("the answer is not JSON")
    if response.status_code == 200 and isinstance(body, dict):
        code = body.get("label")
        if case.same_label and label is not None and code != label:
            problems.append(f"label {code!r}, expected {label!r}")
    elif isinstance(body, dict):
        err = body.get("error") or {}
        code = err.get("code")
        if not (code and err.get("message")):
            problems.append("an error without code and message")
    if response.status_code not in case.expect:
        problems.append(f"status {response.status_code}, expected one of {list(case.expect)}")
    if seconds > case.within_s:
        problems.append(f"took {seconds:.1f} s, more than {case.within_s:g} s")
    return Outcome(case, response.status_code, code, seconds, problems)


def table(outcomes: list[Outcome]) -> str:
    """A plain-text table of the outcomes, one line per case, and a summary line."""
    lines = [f"{'case':28s} {'expected':14s} {'got':5s} {'code / label':18s} {'time':>7s}  verdict"]
    for o in outcomes:
        expect = "/".join(str(s) for s in o.case.expect)
        verdict = "ok" if o.ok else "FAIL: " + "; ".join(o.problems)
        lines.append(f"{o.case.name:28s} {expect:14s} {str(o.status):5s} {str(o.code)[:18]:18s} "
                     f"{o.seconds:6.2f}s  {verdict}")
    n_ok = sum(o.ok for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    lines.append(f"{n_ok}/{len(outcomes)} as expected; refused: "
                 f"{sum(1 for o in outcomes if o.status and o.status >= 400)}, classified: "
                 f"{sum(1 for o in outcomes if o.status == 200)}; slowest {slowest.case.name} {slowest.seconds:.2f} s")
    return "\n".join(lines)


def worker_pids(master_pid: int) -> set[int]:
    """The gunicorn master's child processes (its workers), from /proc."""
    pids = set()
    for task in Path(f"/proc/{master_pid}/task").iterdir():
        children = (task / "children").read_text().split()
        pids.update(int(c) for c in children)
    return pids
