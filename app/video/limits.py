"""The budget every decode runs under: header sanity limits, work caps and a wall-clock deadline.

A crafted file can claim anything in its header (a timescale of 0, an hour per frame, a billion
frames) and can make a decoder seek or decode without end. Every ``sample_frames`` /
``sample_plan`` / ``probe`` call therefore runs under ``DecodeLimits``:

- headers whose frame rate, duration or frame count are absurd are refused before any frame is
  decoded (``VideoDecodeError`` code ``bad_header`` or ``too_long``);
- a video whose frames' timestamps run past ``max_duration_s`` is refused (``too_long``);
- each pass over the file may seek at most ``seeks_base + seeks_per_target * targets`` times and
  decode at most ``frames_base + frames_per_target * targets`` frames, ``targets`` being the frames
  the plan needs (``over_budget``; a pass that only measures the length may decode
  ``max_frame_count``); a reader makes at most four passes;
- the whole call, all readers and passes together, must finish within ``timeout_s`` seconds of
  wall-clock time (``over_budget``), checked at every decoded frame and every seek.

The defaults come from ``VIDEOCLF_*`` environment variables (read when first needed; see
docs/limits.md); ``set_limits`` replaces them for the process (tests, embedding programs).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, fields, replace

# field: environment variable
ENV = {
    "timeout_s": "VIDEOCLF_DECODE_TIMEOUT",
    "max_duration_s": "VIDEOCLF_MAX_DURATION_S",
    "min_fps": "VIDEOCLF_MIN_FPS",
    "max_frame_count": "VIDEOCLF_MAX_FRAME_COUNT",
    "frames_base": "VIDEOCLF_DECODE_FRAMES_BASE",
    "frames_per_target": "VIDEOCLF_DECODE_FRAMES_PER_TARGET",
    "seeks_base": "VIDEOCLF_DECODE_SEEKS_BASE",
    "seeks_per_target": "VIDEOCLF_DECODE_SEEKS_PER_TARGET",
}


@dataclass(frozen=True)
class DecodeLimits:
    """What one decode may cost. See the module docstring for what each bound guards against."""

    timeout_s: float = 60.0  # wall clock for one sample_frames / sample_plan / probe call
    max_duration_s: float = 4 * 3600.0  # longer videos (declared or decoded) are refused
    min_fps: float = 0.01  # a declared rate below this is a broken header (e.g. an mdhd timescale of 0)
    max_frame_count: int = 2_000_000  # a declared frame count above this is a broken header
    frames_base: int = 30_000  # decoded frames allowed per pass: base ...
    frames_per_target: int = 1_000  # ... plus this per sampled target
    seeks_base: int = 8  # seeks allowed per pass: base ...
    seeks_per_target: int = 4  # ... plus this per target (one seek and three retries each)

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if not (value >= 0 if f.name.endswith("_per_target") else value > 0):  # also refuses nan
                what = "0 or more" if f.name.endswith("_per_target") else "positive"
                raise ValueError(f"DecodeLimits.{f.name} ({ENV[f.name]}) must be {what}, got {value!r}")

    @classmethod
    def from_env(cls, environ=os.environ) -> "DecodeLimits":
        """Defaults overridden by the ``VIDEOCLF_*`` variables in ``ENV``; ValueError names a bad one."""
        values = {}
        for f in fields(cls):
            raw = environ.get(ENV[f.name])
            if raw is None or not raw.strip():
                continue
            kind = int if f.type in ("int", int) else float
            try:
                values[f.name] = kind(raw)
            except ValueError:
                raise ValueError(f"{ENV[f.name]}={raw!r} is not a valid {kind.__name__}") from None
        return cls(**values)


_lock = threading.Lock()
_current: DecodeLimits | None = None


def get_limits() -> DecodeLimits:
    """The process's limits (from the environment on first use)."""
    global _current
    with _lock:
        if _current is None:
            _current = DecodeLimits.from_env()
        return _current


def set_limits(limits: DecodeLimits | None = None, **changes) -> DecodeLimits:
    """Replace the process's limits (``limits``, or the current ones with ``changes``); returns the
    previous ones so a caller can put them back."""
    global _current
    previous = get_limits()
    with _lock:
        _current = replace(limits or previous, **changes)
    return previous


class DecodeBudget:
    """The running account of one decode call against its limits.

    ``frame()`` and ``seek()`` are called by the sampler at every decoded frame and every seek; they
    raise ``exceeded(...)`` (a VideoDecodeError, code ``over_budget``) once the deadline, the frame
    cap of the current reader or the seek cap of the current pass is passed.
    """

    def __init__(self, limits: DecodeLimits, name: str, exceeded):
        self.limits = limits
        self.name = name
        self._exceeded = exceeded
        self.deadline = time.monotonic() + limits.timeout_s
        self.frames_left = limits.frames_base
        self.seeks_left = limits.seeks_base

    def new_pass(self, targets: int) -> None:
        """A pass starts: its allowance of decoded frames and seeks, for a plan of ``targets`` frames.

        A pass with no targets measures a video whose header states no length (common for WebM
        from browsers): it must decode to the end, so only ``max_frame_count`` and the deadline
        bound it."""
        per_pass = self.limits.frames_base + self.limits.frames_per_target * targets
        self.frames_left = per_pass if targets else max(per_pass, self.limits.max_frame_count)
        self.seeks_left = self.limits.seeks_base + self.limits.seeks_per_target * targets

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise self._exceeded(
                f"{self.name}: decoding took longer than {self.limits.timeout_s:g} s "
                f"(the limit, {ENV['timeout_s']}); the file is too slow to decode or crafted to stall")

    def frame(self) -> None:
        self.frames_left -= 1
        if self.frames_left < 0:
            raise self._exceeded(
                f"{self.name}: sampling this video needed more frames decoded than allowed "
                f"({self.limits.frames_base} + {self.limits.frames_per_target} per sampled frame; "
                f"{ENV['frames_base']}, {ENV['frames_per_target']})")
        self.check_time()

    def seek(self) -> None:
        self.seeks_left -= 1
        if self.seeks_left < 0:
            raise self._exceeded(
                f"{self.name}: sampling this video needed more seeks than allowed "
                f"({self.limits.seeks_base} + {self.limits.seeks_per_target} per sampled frame; "
                f"{ENV['seeks_base']}, {ENV['seeks_per_target']})")
        self.check_time()
