"""Sample frames uniformly over a video's duration, by timestamp, in bounded memory.

``sample_frames`` places ``n`` targets at the centres of ``n`` equal time bins over the video (or
a ``start``–``end`` segment of it) and returns, for each target, the frame on screen at that
moment. Frame times come from the stream's presentation timestamps, so variable frame rate
files are sampled evenly in time, not in frame index. Only chosen frames are converted and kept
(after the caller's ``transform``), so memory is bounded by ``max_frames`` for any length.

Headers lie: the planned duration comes from the header, and when decoding shows the video to be
shorter or longer than claimed (or the header states nothing), the targets are planned again on
the measured duration in a second pass. Long videos are crossed by seeking instead of decoding
through the gaps between targets.

Every call runs under a budget (``app.video.limits``): absurd headers are refused before decoding,
and seeks, decoded frames and wall-clock time are capped, so no file can make a decode run forever.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from app.video.limits import DecodeBudget, DecodeLimits, get_limits
from app.video.readers import READERS, Frame, ReaderOpenError, refusal

MAX_FRAME_PIXELS = 8192 * 8192  # larger frames are refused before decoding (a lying header or a bomb)
SEEK_MIN_GAP_S = 4.0  # cross gaps between targets longer than this by seeking (see docs/performance.md)
_SEEK_MARGIN_S = 0.05
_NO_FRAMES = "no frames could be decoded"


class VideoDecodeError(ValueError):
    """The input cannot be decoded as a video. The message says why, in plain words.

    ``code`` says what kind of problem it is, for callers that answer differently:
    ``empty`` (0 bytes or not a file), ``not_video`` (no decoder recognises it as a video),
    ``no_frames`` (a video container with no decodable frame), ``corrupt`` (truncated or damaged
    data), ``too_large`` (absurd frame size), ``bad_segment`` (the requested segment is outside
    the video), ``bad_header`` (the header declares an absurd frame rate or frame count),
    ``too_long`` (longer than the longest video accepted), ``over_budget`` (decoding needed more
    time, frames or seeks than its budget allows: see ``app.video.limits``), ``decoder_crashed``
    (the decoder process died while decoding it: see ``app.video.isolation``). ``details`` holds
    what each decoding library reported.
    """

    CODES = ("empty", "not_video", "no_frames", "corrupt", "too_large", "bad_segment", "bad_header", "too_long",
             "over_budget", "decoder_crashed")

    def __init__(self, message: str, details: Sequence[str] = (), *, code: str = "corrupt"):
        super().__init__(message)
        if code not in self.CODES:
            raise ValueError(f"unknown VideoDecodeError code {code!r}")
        self.code = code
        self.details = list(details)


def _check_not_text(path: Path) -> None:
    why = refusal(path)
    if why:
        raise VideoDecodeError(f"{path.name}: not a readable video ({why})", [why], code="not_video")


def _undecodable(path: Path, problems: Sequence[str], opened: bool) -> VideoDecodeError:
    if opened:  # a decoder recognised the container but got no frame out of it
        return VideoDecodeError(f"{path.name}: the video has no decodable frames (it may be truncated or corrupt)",
                                problems, code="no_frames")
    return VideoDecodeError(
        f"{path.name}: not a readable video (the file may be truncated or corrupt, or not a video at all)",
        problems, code="not_video",
    )


@dataclass(frozen=True)
class VideoMetadata:
    duration: float  # seconds
    fps: float
    width: int  # of the upright decoded frames
    height: int
    frame_count: int
    frame_count_source: str  # "decoded" (counted to the end), "header" or "estimated"
    codec: str
    backend: str
    rotation: int = 0
    segment: tuple[float, float] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    frames_decoded: int = 0  # frames the decoder produced while sampling (its work; 0 from probe)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["segment"] = list(self.segment) if self.segment else None
        d["warnings"] = list(self.warnings)
        return d


@dataclass
class SampledVideo:
    """Sampled frames in time order; ``scale_indices[k]`` picks scale k's frames (scale 0 is the base)."""

    frames: np.ndarray  # (N, H, W, 3) uint8 RGB, after the transform
    timestamps: np.ndarray  # (N,) float64 seconds from the start of the video
    scale_indices: tuple[np.ndarray, ...]
    metadata: VideoMetadata


def uniform_timestamps(start: float, end: float, n: int) -> np.ndarray:
    """Centres of ``n`` equal bins over ``[start, end)``."""
    return start + (np.arange(n) + 0.5) * ((end - start) / n)


def _check_dims(width: int, height: int, what: str) -> None:
    if width * height > MAX_FRAME_PIXELS or max(width, height) > 32768:
        raise VideoDecodeError(
            f"{what} frame size {width}x{height} is larger than the supported maximum "
            f"({MAX_FRAME_PIXELS} pixels); the file is not a normal video", code="too_large"
        )


def _over_budget(message: str) -> VideoDecodeError:
    return VideoDecodeError(message, code="over_budget")


def _new_budget(path: Path, limits: DecodeLimits | None) -> DecodeBudget:
    return DecodeBudget(limits or get_limits(), path.name, _over_budget)


def _check_header(header, limits: DecodeLimits, name: str) -> None:
    """Refuse headers no real video has (before decoding: a crafted header must not steer the work)."""
    if 0 < header.fps < limits.min_fps:
        raise VideoDecodeError(
            f"{name}: the header declares {header.fps:.6g} frames per second (below the {limits.min_fps:g} "
            f"accepted); the file's timing information is broken (e.g. a time scale of 0)", code="bad_header")
    if header.frame_count > limits.max_frame_count:
        raise VideoDecodeError(
            f"{name}: the header declares {header.frame_count} frames (more than the {limits.max_frame_count} "
            f"accepted); the file is broken or not a normal video", code="bad_header")
    if header.duration > limits.max_duration_s:
        raise _too_long(name, header.duration, limits, "declares")


def _too_long(name: str, seconds: float, limits: DecodeLimits, verb: str) -> VideoDecodeError:
    return VideoDecodeError(
        f"{name}: the video {verb} {seconds:.0f} s, longer than the {limits.max_duration_s:g} s accepted "
        f"(VIDEOCLF_MAX_DURATION_S)", code="too_long")


@dataclass
class _Pass:
    """What one pass over the file saw and kept."""

    images: list = field(default_factory=list)  # kept frames, in time order
    times: list = field(default_factory=list)
    target_to_image: np.ndarray | None = None
    first_t: float | None = None
    last_t: float | None = None
    interval: float | None = None
    frames_seen: int = 0
    reached_end: bool = False  # decoded to the end of the file (or past the segment's end)
    seeked: bool = False
    reordered: bool = False
    raw_shape: tuple[int, int] | None = None  # (height, width) of the upright decoded frames

    @property
    def end(self) -> float:
        """End of the last frame seen (its time plus one frame interval)."""
        return (self.last_t or 0.0) + (self.interval or 0.0)


def _run_pass(reader, targets: np.ndarray, *, nominal: float | None, stop: float | None,
              expected_end: float | None, transform, budget: DecodeBudget, on_keep=None) -> _Pass:
    """Decode once, keeping the frame on screen at each target time (``targets`` sorted).

    A frame is on screen from its timestamp until the next frame's. That end is only known one
    frame later, and OpenCV can convert a frame only before the next is read, so a frame is
    converted speculatively when a target may fall before its estimated end, and targets are
    assigned once the next timestamp is known: exact for constant and rising frame rates, at
    most one frame late where the rate drops.

    After the last target the pass goes on to the end of the file when that is near (to
    measure the true duration cheaply), and stops when it is far (trusting the header).

    ``budget`` is charged for every frame and seek (VideoDecodeError ``over_budget`` when spent).
    A seek that lands no later than where decoding already was gains nothing (some files cannot
    be seeked): after two such seeks the pass decodes through instead of seeking again.
    """
    n = len(targets)
    budget.new_pass(n)
    max_t = budget.limits.max_duration_s
    useless_seeks = 0
    p = _Pass(target_to_image=np.full(n, -1, dtype=np.int64))
    j = 0  # first target not yet assigned
    held = None  # (time, image or None, stored index or None) of the previous frame
    prev_t = None
    interval = nominal
    seek_target, seek_from, seek_tries = None, 0.0, 0

    def keep(image, t, upto: int, slot):
        nonlocal j
        if slot is None:
            p.images.append(image)
            p.times.append(t)
            slot = len(p.images) - 1
            if on_keep is not None:
                on_keep(slot, image)
        p.target_to_image[j:upto] = slot
        j = upto
        return slot

    # Land a little before a target, so the frame on screen at the target is decoded too.
    margin = max(_SEEK_MARGIN_S, 1.5 * (nominal or 0.0))
    if n and targets[0] > SEEK_MIN_GAP_S:
        seek_target = targets[0]
        budget.seek()
        reader.seek(seek_target - margin)
        p.seeked = True
    frames = reader.frames()
    while True:
        try:
            fr: Frame = next(frames)
        except StopIteration:
            p.reached_end = True
            break
        budget.frame()
        t = fr.t
        if seek_target is not None:
            # First frame after a seek. OpenCV turns times into frame numbers with the average
            # rate, so on variable frame rate files it can land late: go back and try again.
            late = t - seek_target
            if late > 0 and seek_tries < 3:
                seek_tries += 1
                budget.seek()
                reader.seek(max(seek_from, seek_target - 2 * late - margin))
                frames = reader.frames()
                continue
            if math.isfinite(t) and t <= seek_from + _SEEK_MARGIN_S and seek_target - t > SEEK_MIN_GAP_S:
                useless_seeks += 1  # landed where we were, or before: this file does not seek
            seek_target, seek_tries = None, 0
        elif prev_t is not None:
            if not math.isfinite(t) or t <= prev_t:
                # Missing or repeated timestamps: fall back to frame order at the known rate.
                p.reordered = True
                t = prev_t + (interval or nominal or 1 / 30)
            else:
                interval = t - prev_t
        if not math.isfinite(t):
            t = 0.0
        if t > max_t:
            raise _too_long(budget.name, t, budget.limits, "has frames at")
        if stop is not None and t >= stop:
            p.reached_end = True
            break
        p.frames_seen += 1
        p.first_t = t if p.first_t is None else p.first_t
        p.last_t, p.interval = t, interval
        # Settle the previous frame: it was on screen for the targets before this timestamp.
        k = j
        while k < n and targets[k] < t:
            k += 1
        late = None
        if k > j:
            if held is not None and held[1] is not None:
                keep(held[1], held[0], k, held[2])
            else:
                late = k  # not converted (or none before a seek): this frame is the nearest after
        window = max(interval or 0.0, nominal or 0.0)
        wanted = late is not None or (j < n and targets[j] < t + window)
        image = None
        if wanted:
            image = fr.image()
            _check_dims(image.shape[1], image.shape[0], "decoded")
            p.raw_shape = p.raw_shape or image.shape[:2]
            image = transform(image) if transform is not None else image
        slot = keep(image, t, late, None) if late is not None else None
        held = (t, image, slot)
        prev_t = t
        if j == n:
            if expected_end is not None and expected_end - t > SEEK_MIN_GAP_S:
                break  # the rest is long: trust the header rather than decode it
            continue
        if targets[j] - t > SEEK_MIN_GAP_S and useless_seeks < 2:
            seek_target, seek_from = targets[j], t
            budget.seek()
            reader.seek(seek_target - margin)
            p.seeked = True
            frames = reader.frames()
            prev_t, interval, held = None, nominal, None
    # Targets after the last frame's timestamp are on it, if the stream really ended there.
    if p.reached_end and j < n and held is not None and held[1] is not None:
        end_t = held[0] + (interval or nominal or 0.0)
        k = j
        while k < n and targets[k] < end_t:
            k += 1
        if k > j:
            keep(held[1], held[0], k, held[2])
    return p


Plan = Callable[[float, float], Sequence[np.ndarray]]  # (start, end) -> sorted target times per group


def _sample_with(reader_cls, path: Path, plan: Plan, start: float | None, end: float | None, transform,
                 on_keep=None, *, budget: DecodeBudget) -> tuple[SampledVideo, bool]:
    """Sample with one reader. Returns the sample and whether the video decoded to clearly less
    than its header declares. Raises VideoDecodeError when a data error cut decoding short."""
    window_start = start or 0.0
    reader = reader_cls(path)
    try:
        header = reader.header
        _check_header(header, budget.limits, path.name)
        if header.width and header.height:
            _check_dims(header.width, header.height, "declared")
        nominal = 1.0 / header.fps if header.fps else None
        claimed = header.duration if header.duration > 0 else None
        plan_end = min(end, claimed) if (end is not None and claimed) else (end if end is not None else claimed)
        warnings: list[str] = []
        passes = 0
        decoded_total = 0
        if plan_end is None or plan_end <= window_start:
            # The header states no usable duration: measure it with a pass that keeps nothing.
            count = _run_pass(reader, np.empty(0), nominal=nominal, stop=end, expected_end=None, transform=None,
                              budget=budget)
            passes += 1
            decoded_total += count.frames_seen
            if count.frames_seen == 0:
                raise ReaderOpenError(_NO_FRAMES)
            plan_end = count.end if end is None else min(end, count.end)
            reader.close()
            reader = reader_cls(path)
        while True:
            if plan_end <= window_start:
                raise VideoDecodeError(
                    f"{path.name}: the segment starts at {window_start:.2f} s but the video ends at {plan_end:.2f} s",
                    code="bad_segment",
                )
            groups = [np.asarray(g, dtype=np.float64) for g in plan(window_start, plan_end)]
            counts = [len(g) for g in groups]
            merged = np.concatenate(groups) if groups else np.empty(0)
            order = np.argsort(merged, kind="stable")
            generation = object()  # a new pass: frames kept by an earlier one are void
            p = _run_pass(reader, merged[order], nominal=nominal, stop=end, expected_end=plan_end,
                          transform=transform, budget=budget,
                          on_keep=(lambda slot, image, g=generation: on_keep(g, slot, image)) if on_keep else None)
            passes += 1
            decoded_total += p.frames_seen
            if p.frames_seen == 0:
                raise ReaderOpenError(_NO_FRAMES)
            shorter = bool((p.target_to_image < 0).any())
            bin_width = (plan_end - window_start) / max(1, max(counts))
            longer = p.reached_end and p.end > plan_end + bin_width and (end is None or end > plan_end)
            if not (shorter or longer) or passes >= 3:
                break
            # The header was wrong about the length: plan again on what decoding measured.
            plan_end = p.end if end is None else min(end, p.end)
            reader.close()
            reader = reader_cls(path)
        decode_error = reader.decode_error
        rotation = reader.rotation
    finally:
        reader.close()

    t2i = np.empty_like(p.target_to_image)
    t2i[order] = p.target_to_image
    scale_indices, offset = [], 0
    for n in counts:
        idx = t2i[offset:offset + n]
        offset += n
        scale_indices.append(np.unique(idx[idx >= 0]))
    if not p.images:
        raise VideoDecodeError(f"{path.name}: no frame at the requested times (the video ends at {p.end:.2f} s)",
                               code="bad_segment")
    frames = np.stack(p.images)
    full_scan = p.reached_end and not p.seeked and start is None and end is None
    measured_end = p.end if full_scan else None
    duration = measured_end or claimed or (plan_end if end is None else p.end)
    fps = header.fps or (
        (p.frames_seen - 1) / (p.last_t - p.first_t) if p.frames_seen > 1 and p.last_t > p.first_t else 0.0
    )
    if full_scan:
        frame_count, source = p.frames_seen, "decoded"
    elif header.frame_count:
        frame_count, source = header.frame_count, "header"
    else:
        frame_count, source = max(1, round(duration * fps)), "estimated"
    decoded_end = p.end if p.reached_end else None
    short = bool(claimed and decoded_end is not None and end is None
                 and decoded_end < claimed - max(0.5, 0.05 * claimed))
    if decode_error and (short or not p.reached_end or p.frames_seen == 0):
        raise VideoDecodeError(
            f"{path.name}: the video is truncated or corrupt: decoding failed at {p.end:.2f} s"
            + (f" of the {claimed:.2f} s it declares" if claimed else ""),
            [f"{reader_cls.name}: {decode_error}"], code="corrupt",
        )
    if decode_error:
        warnings.append(f"the last frames could not be decoded ({decode_error})")
    if claimed and measured_end and abs(measured_end - claimed) > max(0.5, 0.05 * claimed):
        warnings.append(f"the file declares {claimed:.2f} s but decodes to {measured_end:.2f} s")
    if p.reordered:
        warnings.append("frame timestamps were missing or out of order; frame order was used instead")
    if end is not None and p.reached_end and p.end < end - bin_width:
        warnings.append(f"the segment end {end:.2f} s is past the end of the video ({p.end:.2f} s)")
    raw_h, raw_w = p.raw_shape
    metadata = VideoMetadata(
        duration=round(float(duration), 6),
        fps=round(float(fps), 6),
        width=int(raw_w),
        height=int(raw_h),
        frame_count=int(frame_count),
        frame_count_source=source,
        codec=header.codec,
        backend=reader_cls.name,
        rotation=rotation,
        frames_decoded=int(decoded_total),
        segment=(window_start, float(end if end is not None else plan_end)) if (start is not None or end is not None) else None,
        warnings=tuple(warnings),
    )
    return SampledVideo(frames=frames, timestamps=np.asarray(p.times, dtype=np.float64),
                        scale_indices=tuple(scale_indices), metadata=metadata), short


def sample_frames(
    path: str | os.PathLike,
    max_frames: int = 73,
    *,
    scales: Sequence[float] = (1.0,),
    start: float | None = None,
    end: float | None = None,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    backend: str = "auto",
    on_keep: Callable[[object, int, np.ndarray], None] | None = None,
    limits: DecodeLimits | None = None,
    isolation: str = "inline",
) -> SampledVideo:
    """Decode ``path`` and sample up to ``max_frames`` frames uniformly by timestamp.

    Parameters
    ----------
    path : video file.
    max_frames : frames for scale 1.0; a video with fewer frames gives all of its frames.
    scales : temporal scales; scale ``s`` samples ``round(max_frames * s)`` frames over the same
        span. Frames shared by several scales are decoded once. ``scales[0]`` must be 1.0.
    start, end : optional segment in seconds.
    transform : applied to each kept RGB frame (e.g. the backbone's resize and crop), so only
        small frames are held.
    backend : "auto" (OpenCV, then PyAV where OpenCV fails), "opencv" or "pyav".
    on_keep : called as ``on_keep(generation, index, frame)`` as soon as each returned frame is
        final (in time order, ``index`` its position in ``frames``), so a consumer can start on
        it while decoding goes on. A new ``generation`` object means a new pass began (the header
        was wrong, or another decoder took over): frames of earlier generations are void.
    limits : the budget of this call (default: ``app.video.limits.get_limits()``).
    isolation : "inline" (decode in the calling thread) or "process" (in a decoder process that
        is killed past the deadline: see ``app.video.isolation``; ``transform`` must then be
        picklable, e.g. ``Preprocessing.prepare``).

    Returns
    -------
    SampledVideo

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    VideoDecodeError
        The file is empty, not a video, has no decodable frames, claims an absurd frame size,
        frame rate or length, decoding it exceeds its budget, or (isolation "process") the
        decoder process dies (see ``VideoDecodeError.CODES``).
    ValueError
        Bad arguments.
    TypeError
        ``transform`` cannot be sent to a decoder process (isolation "process").
    """
    _check_args(max_frames, scales, start, end, backend)
    counts = [max(1, round(max_frames * float(s))) for s in scales]
    return sample_plan(path, lambda s, e: [uniform_timestamps(s, e, n) for n in counts], start=start, end=end,
                       transform=transform, backend=backend, on_keep=on_keep, limits=limits, isolation=isolation)


def sample_plan(path: str | os.PathLike, plan: Plan, *, start: float | None = None, end: float | None = None,
                transform: Callable[[np.ndarray], np.ndarray] | None = None, backend: str = "auto",
                on_keep: Callable[[object, int, np.ndarray], None] | None = None,
                limits: DecodeLimits | None = None, isolation: str = "inline") -> SampledVideo:
    """Like ``sample_frames``, for any plan: ``plan(start, end)`` returns groups of sorted target
    times for the span the video really has (it is called again if decoding shows the header was
    wrong). ``scale_indices[g]`` lists the frames of group g (the frame on screen at each of its
    targets, repeats removed); targets past the video's end are dropped. The plan and ``on_keep``
    always run in the calling process, whatever the ``isolation``.
    """
    path = Path(path)
    _check_args(1, (1.0,), start, end, backend)
    if isolation != "inline":
        from app.video.isolation import check_isolation, decoder_pool

        check_isolation(isolation)
        return decoder_pool().sample_plan(path, plan, start=start, end=end, transform=transform, backend=backend,
                                          on_keep=on_keep, limits=limits)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file():
        raise VideoDecodeError(f"{path.name}: not a file", code="empty")
    if path.stat().st_size == 0:
        raise VideoDecodeError(f"{path.name}: the file is empty (0 bytes)", code="empty")
    _check_not_text(path)
    order = ["opencv", "pyav"] if backend == "auto" else [backend]
    problems = []
    fallback: SampledVideo | None = None
    budget = _new_budget(path, limits)  # one deadline for all readers and passes
    for name in order:
        try:
            sampled, short = _sample_with(READERS[name], path, plan, start, end, transform, on_keep, budget=budget)
        except ReaderOpenError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if short and name != order[-1]:
            # OpenCV stops silently at missing data. The next reader tells a truncated file
            # (a data error: raised) from a header that overstates the length (sampled as is).
            fallback = sampled
            continue
        return sampled
    if fallback is not None:
        return fallback
    raise _undecodable(path, problems, opened=any(_NO_FRAMES in p for p in problems))


def _check_args(max_frames, scales, start, end, backend) -> None:
    if not isinstance(max_frames, (int, np.integer)) or max_frames < 1:
        raise ValueError(f"max_frames must be a positive integer, got {max_frames!r}")
    if not scales or float(scales[0]) != 1.0 or any(not (0.1 <= float(s) <= 4.0) for s in scales):
        raise ValueError(f"scales must start with 1.0 and lie in [0.1, 4], got {list(scales)!r}")
    # A bad segment is the API's ``bad_segment`` for Python callers too (still a ValueError).
    if start is not None and (isinstance(start, bool) or not isinstance(start, (int, float, np.number))
                              or not math.isfinite(start) or start < 0):
        raise VideoDecodeError(f"start must be a non-negative number of seconds, got {start!r}", code="bad_segment")
    if end is not None and (isinstance(end, bool) or not isinstance(end, (int, float, np.number))
                            or not math.isfinite(end) or end <= (start or 0.0)):
        raise VideoDecodeError(f"end must be after start, got start={start!r} end={end!r}", code="bad_segment")
    if backend not in ("auto", *READERS):
        raise ValueError(f"backend must be one of {['auto', *READERS]}, got {backend!r}")


def probe(path: str | os.PathLike, backend: str = "auto", *, limits: DecodeLimits | None = None) -> VideoMetadata:
    """Read a video's header and decode its first frame, without sampling.

    Cheap (one frame), for validating datasets. Duration and frame count come from the header
    (or, when it states none, from decoding to the end). Raises like ``sample_frames``.
    """
    path = Path(path)
    _check_args(1, (1.0,), None, None, backend)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if not path.is_file() or path.stat().st_size == 0:
        raise VideoDecodeError(f"{path.name}: the file is empty or not a file", code="empty")
    _check_not_text(path)
    problems = []
    budget = _new_budget(path, limits)
    for name in (["opencv", "pyav"] if backend == "auto" else [backend]):
        try:
            reader = READERS[name](path)
        except ReaderOpenError as exc:
            problems.append(f"{name}: {exc}")
            continue
        try:
            h = reader.header
            _check_header(h, budget.limits, path.name)
            if h.width and h.height:
                _check_dims(h.width, h.height, "declared")
            first = next(reader.frames(), None)
            if first is None:
                problems.append(f"{name}: no frames could be decoded")
                continue
            height, width = first.image().shape[:2]
            _check_dims(width, height, "decoded")
            duration, count, source = h.duration, h.frame_count, "header"
            if duration <= 0:
                p = _run_pass(reader, np.empty(0), nominal=1 / h.fps if h.fps else None, stop=None,
                              expected_end=None, transform=None, budget=budget)
                duration, count, source = p.end, p.frames_seen + 1, "decoded"
            fps = h.fps or (count / duration if duration > 0 else 0.0)
            return VideoMetadata(duration=round(float(duration), 6), fps=round(float(fps), 6), width=int(width),
                                 height=int(height), frame_count=int(count or round(duration * fps)),
                                 frame_count_source=source, codec=h.codec, backend=name, rotation=h.rotation)
        finally:
            reader.close()
    raise _undecodable(path, problems, opened=any(_NO_FRAMES in p for p in problems))
