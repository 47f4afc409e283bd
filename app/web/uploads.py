"""Reading a classification request: the ``video`` file and its option fields.

The fields (``tta``, ``top_k``, ``timeline``, ``interval``) are checked before anything is
written, so a bad one costs neither disk nor a place in the queue. The upload is then copied to a
private file (mode 0600, random name, in a 0700 directory) that the decoder reads; nothing here
looks at the content or trusts the extension (the decoder decides what is a video). Whoever holds
an ``Upload`` must ``discard`` it: the inference task does once it has run, the request does if
the task cannot be queued.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.explain.timeline import MODES as TIMELINE_MODES
from app.web.errors import BadField, MissingFile

FIELD = "video"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PREFIX = "vc-"  # uploads are named vc-<pid>-<random><suffix>; the pid tells whose they are
# The longest timeline window a client may ask for: the library caps the number of windows, and a
# window longer than this is no longer "where in time" but a second whole-video answer.
MAX_INTERVAL_S = 600.0


@dataclass
class Upload:
    """A received video waiting to be classified, and the options that go with it."""

    path: Path  # the private copy the decoder reads
    filename: str  # the client's name for it, for messages and results only
    tta: bool | None = None
    top_k: int | None = None
    timeline: str | None = None  # None, or one of the timeline modes ("interval", "shots")
    interval: float | None = None  # window length in seconds for timeline="interval"; None: the library's

    def options(self) -> dict:
        """The options as stored with a job (JSON); ``from_options`` reads them back."""
        return {"tta": self.tta, "top_k": self.top_k, "timeline": self.timeline, "interval": self.interval}

    @classmethod
    def from_options(cls, path: Path, filename: str, options: dict) -> "Upload":
        """The Upload of a stored job (jobs stored before an option existed lack its key: its default)."""
        return cls(path, filename, options.get("tta"), options.get("top_k"), options.get("timeline"),
                   options.get("interval"))

    def timeline_args(self) -> dict:
        """Keyword arguments of ``classify_video`` for the timeline (none when it is not asked for)."""
        if self.timeline is None:
            return {}
        return {"timeline": self.timeline} | ({"timeline_interval": self.interval} if self.interval else {})

    def discard(self) -> None:
        """Delete the private copy (idempotent)."""
        self.path.unlink(missing_ok=True)


def prepare_dir(path: str | os.PathLike) -> Path:
    """Create the upload directory readable by this user only."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def given(raw: str | None) -> str | None:
    """A form field's value stripped, or None when it is absent or blank (blank means "the default")."""
    return raw.strip() if raw is not None and raw.strip() else None


def show(raw: str) -> str:
    """A client's value as quoted in an error message (cut short: it is echoed back)."""
    return repr(raw[:40])


def parse_tta(raw: str | None) -> bool | None:
    """``true``/``false`` (also 1/0, yes/no, on/off); empty or absent means the model's default."""
    value = given(raw)
    if value is None:
        return None
    if value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise BadField(f"tta must be true or false, got {show(raw)}")


def parse_top_k(raw: str | None, check_top_k: Callable[[int], int]) -> int | None:
    """A whole number checked by the classifier's ``check_top_k``; empty means the default."""
    value = given(raw)
    if value is None:
        return None
    try:
        if not re.fullmatch(r"-?\d{1,6}", value):
            check_top_k(value)  # not a number: let the classifier word the error
        return check_top_k(int(value))
    except ValueError as exc:
        raise BadField(str(exc)) from None


def parse_choice(name: str, raw: str | None, choices, *, what: str = "") -> str | None:
    """One of ``choices`` (exactly), or None when blank; BadField naming the choices otherwise."""
    value = given(raw)
    if value is None or value in choices:
        return value
    raise BadField(f"{name} must be one of {', '.join(choices)}{what}, got {show(raw)}")


def parse_timeline(mode_raw: str | None, interval_raw: str | None) -> tuple[str | None, float | None]:
    """``timeline`` (blank: none, or one of the timeline modes) and ``interval`` (seconds, only
    with timeline=interval; blank: the library's default)."""
    mode = parse_choice("timeline", mode_raw, TIMELINE_MODES, what=" (or empty for no timeline)")
    interval_text = given(interval_raw)
    if interval_text is None:
        return mode, None
    if mode != "interval":
        raise BadField(f"interval is the window length of timeline=interval; it cannot go with timeline={mode}")
    try:
        seconds = float(interval_text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= MAX_INTERVAL_S:  # also refuses nan and inf
        raise BadField(f"interval must be a number of seconds above 0 and at most {MAX_INTERVAL_S:g}, "
                       f"got {show(interval_raw)}")
    return mode, seconds


def client_filename(name: str | None) -> str:
    """The last path component of the client's file name, without control characters, at most 200 long."""
    base = re.split(r"[\\/]", name or "")[-1]
    return _CONTROL.sub("", base)[:200] or "upload"


def receive(request, upload_dir: Path, check_top_k: Callable[[int], int]) -> Upload:
    """Validate the classification fields, then copy the uploaded file to a private file.

    Raises BadField (bad ``tta``, ``top_k``, ``timeline`` or ``interval``) and what ``save`` raises.
    """
    tta = parse_tta(request.form.get("tta"))
    top_k = parse_top_k(request.form.get("top_k"), check_top_k)
    timeline, interval = parse_timeline(request.form.get("timeline"), request.form.get("interval"))
    return save(request, upload_dir, tta=tta, top_k=top_k, timeline=timeline, interval=interval)


def save(request, upload_dir: Path, **options) -> Upload:
    """Copy the request's ``video`` to a private file; the Upload carries ``options`` (checked already).

    Raises MissingFile (no ``video`` part, or an empty file name). Werkzeug raises 413 while
    reading a body over MAX_CONTENT_LENGTH.
    """
    storage = request.files.get(FIELD)
    if storage is None or not storage.filename:
        raise MissingFile(f"No video in the request: send the file as the multipart/form-data field {FIELD!r}.")
    filename = client_filename(storage.filename)
    suffix = os.path.splitext(filename)[1].lower()
    # The suffix is only a hint some demuxers use; the content is what gets checked, by decoding.
    fd, temp = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=suffix if _SUFFIX.match(suffix) else "",
                                dir=upload_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            storage.save(out)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Upload(Path(temp), filename, **options)
