"""The unit of work: one stored video and the request's options in, the result document out.

    from app.tasks import StoredVideo, TaskOptions, run_task
    doc = run_task(clf, StoredVideo("clip.mp4"), TaskOptions(tta=True, top_k=3))

``run_task`` is what ``POST /classify``, ``POST /jobs``, ``POST /explain`` and the upload page run
on the inference pool, what ``videoclf classify`` runs per file, and what a queue worker will run:
the document is the same JSON wherever it was made. Importing this module loads neither Flask nor
torch (a web process checks options before the model is in; a worker imports it before it loads
a model); the classifier is passed in, already loaded.

``TaskOptions`` is validated once, when it is made: a bad value raises ``OptionError`` (a
``ValueError``) naming the value and the valid choices. The web layer parses form text into
values and answers an ``OptionError`` with 400; the CLI exits with status 2.
"""
from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.explain.choices import CAM_METHODS, TIMELINE_MODES

__all__ = ["OptionError", "ExplainOptions", "TaskOptions", "StoredVideo", "run_task", "error_code", "thumbnails"]

# The longest timeline window one may ask for: the library caps the number of windows, and a
# window longer than this is no longer "where in time" but a second whole-video answer.
MAX_INTERVAL_S = 600.0
DEFAULT_K = 4
# Each explained frame adds a backward pass and two PNGs (about 100 KB of base64) to the answer;
# more than this is not a sanity check any more but a second copy of the video.
MAX_K = 16
THUMBNAIL_PX = 112


class OptionError(ValueError):
    """A task option has a bad value; the message names it and the valid ones."""


def _show(value) -> str:
    """A value as quoted in an error message, cut short (the web layer echoes it to the client)."""
    text = repr(value)
    return text if len(text) <= 42 else text[:39] + "..."


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class ExplainOptions:
    """Explain ``k`` frames (the most attended) with ``method``, for class ``target`` (None: the
    prediction). Whether ``target`` is one of the model's classes is checked by ``check_classes``."""

    k: int = DEFAULT_K
    method: str = CAM_METHODS[0]
    target: str | None = None

    def __post_init__(self):
        if not _is_int(self.k) or not 1 <= self.k <= MAX_K:
            raise OptionError(f"k must be a whole number from 1 to {MAX_K}, got {_show(self.k)}")
        if self.method not in CAM_METHODS:
            raise OptionError(f"method must be one of {', '.join(CAM_METHODS)}, got {_show(self.method)}")
        if self.target is not None and not isinstance(self.target, str):
            raise OptionError(f"class must be a class name or None, got {_show(self.target)}")


@dataclass(frozen=True)
class TaskOptions:
    """What to compute for one video.

    tta : test-time augmentation on or off; None: the model's default.
    top_k : how many labels to list (more than the model has lists them all); None: up to 5, or
        every class when ``frames`` is set (the page shows a bar per class).
    timeline : None, or one of ``TIMELINE_MODES``: also classify windows over the video.
    interval : window length in seconds, only with ``timeline="interval"``; None: the library's.
    frames : add ``thumbnails``, one JPEG data URI per sampled frame (the upload page's strip).
    explain : classify and explain (Grad-CAM on the most-attended frames) instead.
    """

    tta: bool | None = None
    top_k: int | None = None
    timeline: str | None = None
    interval: float | None = None
    frames: bool = False
    explain: ExplainOptions | None = field(default=None)

    def __post_init__(self):
        if self.tta is not None and not isinstance(self.tta, bool):
            raise OptionError(f"tta must be true, false or None (the model's default), got {_show(self.tta)}")
        if self.top_k is not None and (not _is_int(self.top_k) or self.top_k < 1):
            raise OptionError(f"top_k must be a whole number of 1 or more, got {_show(self.top_k)}")
        if self.timeline is not None and self.timeline not in TIMELINE_MODES:
            raise OptionError(f"timeline must be one of {', '.join(TIMELINE_MODES)} (or empty for no timeline), "
                              f"got {_show(self.timeline)}")
        if self.interval is not None:
            if self.timeline != "interval":
                raise OptionError(f"interval is the window length of timeline=interval; it cannot go with "
                                  f"timeline={self.timeline}")
            # ``not 0 < x <= max`` also refuses nan and inf.
            if (isinstance(self.interval, bool) or not isinstance(self.interval, (int, float))
                    or not 0 < self.interval <= MAX_INTERVAL_S):
                raise OptionError(f"interval must be a number of seconds above 0 and at most {MAX_INTERVAL_S:g}, "
                                  f"got {_show(self.interval)}")
        if not isinstance(self.frames, bool):
            raise OptionError(f"frames must be true or false, got {_show(self.frames)}")
        if self.explain is not None:
            if not isinstance(self.explain, ExplainOptions):
                raise OptionError(f"explain must be ExplainOptions or None, got {_show(self.explain)}")
            if self.timeline is not None or self.frames:
                raise OptionError("an explanation comes without a timeline or thumbnails; ask for them separately")

    def check_classes(self, classes: list[str]) -> "TaskOptions":
        """Self, once the explained class is known to be one of the model's ``classes``."""
        target = self.explain.target if self.explain else None
        if target is not None and target not in classes:
            raise OptionError(f"class must be one of {', '.join(classes)} (the model's classes; empty: the "
                              f"prediction), got {_show(target)}")
        return self

    def to_dict(self) -> dict:
        """JSON-ready (as stored with a job); ``explain`` only when set. ``from_dict`` reads it back."""
        out = asdict(self)
        if self.explain is None:
            del out["explain"]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "TaskOptions":
        """The options of ``to_dict`` (keys missing from older stored jobs take their defaults,
        unknown keys are ignored). Raises OptionError for a bad value."""
        explain = data.get("explain")
        if isinstance(explain, dict):
            explain = ExplainOptions(**{k: explain[k] for k in ("k", "method", "target") if k in explain})
        known = {k: data[k] for k in ("tta", "top_k", "timeline", "interval", "frames") if k in data}
        return cls(**known, explain=explain)


@dataclass(frozen=True)
class StoredVideo:
    """A video file the task may read, optionally a segment of it (seconds; None: its start or end).

    ``filename`` is the name the result shows (a client's name for an upload stored under a private
    one); None: the file's own name.
    """

    path: Path
    filename: str | None = None
    start: float | None = None
    end: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "path", Path(self.path))

    @property
    def name(self) -> str:
        return self.filename or self.path.name

    @property
    def segment(self) -> bool:
        return self.start is not None or self.end is not None


def run_task(classifier, video: StoredVideo, options: TaskOptions, progress=None) -> dict:
    """The result document for ``video`` under ``options``, computed with ``classifier`` (a loaded
    ``SingleVideoClassifier``).

    Classification: ``classify_video``'s result (``timeline`` added when asked, ``thumbnails``
    with ``frames``). Explanation: {result, target, method, frames: [{index, timestamp, attention,
    box, frame_png, overlay_png}]}, PNGs as base64. ``video.filename`` is the result's file name.

    A segment (``video.start``/``end``) is what is classified, explained and drawn on the timeline.
    ``progress(stage, fraction)``, when given, hears how far the work is (see ``classify_video``).

    Raises OptionError (a class the model does not have), ``VideoDecodeError`` for input that is
    not a decodable video or a segment outside it (``bad_segment``), ``FileNotFoundError``.
    """
    options.check_classes(classifier.classes)
    if options.explain is not None:
        return _explain(classifier, video, options, progress)
    return _classify(classifier, video, options, progress)


def _classify(clf, video: StoredVideo, options: TaskOptions, progress) -> dict:
    kwargs = {"start": video.start, "end": video.end, "progress": progress}
    if options.timeline is not None:
        kwargs["timeline"] = options.timeline
        if options.interval is not None:
            kwargs["timeline_interval"] = options.interval
    if options.frames:
        result, frames = clf.classify_with_frames(video.path, use_tta=options.tta,
                                                  top_k=options.top_k or len(clf.classes), **kwargs)
        result["thumbnails"] = thumbnails(frames)
    else:
        result = clf.classify_video(video.path, use_tta=options.tta, top_k=options.top_k, **kwargs)
    result["video"]["filename"] = video.name
    return result


def _explain(clf, video: StoredVideo, options: TaskOptions, progress) -> dict:
    from app.explain.video import explain_video, to_json  # torch and the classifier: only when explaining

    ex = options.explain
    out = to_json(explain_video(clf, video.path, k=ex.k, method=ex.method, target=ex.target, use_tta=options.tta,
                                start=video.start, end=video.end, progress=progress))
    out["result"]["video"]["filename"] = video.name
    return out


def error_code(exc: BaseException) -> str:
    """The API's error code for an exception (``VideoDecodeError`` carries its own: bad_segment,
    not_video, ...); the CLI and batch results use it too, so scripts switch on the same words
    whichever way they called."""
    code = getattr(exc, "code", None)
    if isinstance(code, str):
        return code
    if isinstance(exc, OptionError):
        return "bad_field"
    if isinstance(exc, FileNotFoundError):
        return "not_found"
    if isinstance(exc, (ValueError, TypeError)):
        return "bad_request"
    if isinstance(exc, OSError):
        return "io_error"
    return "internal"


def thumbnails(frames, size: int = THUMBNAIL_PX) -> list[str]:
    """JPEG data URIs of (N, H, W, 3) uint8 RGB frames, ``size`` pixels on the long side."""
    import cv2  # only for the upload page's frame strip

    out = []
    for frame in frames:
        h, w = frame.shape[:2]
        scale = size / max(h, w)
        small = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 80])
        out.append("data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode("ascii") if ok else "")
    return out

