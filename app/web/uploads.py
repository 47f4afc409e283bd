"""Reading a classification request: the ``video`` file and its option fields.

The fields (``tta``, ``top_k``, ``timeline``, ``interval``, the segment ``start``/``end``, and
``model``) are checked before anything is written, and a field the route does not know is
refused (a typo must not pass as "the default"), so a bad one costs neither disk nor a place in the queue: their text is parsed here, their
values are checked by ``app.tasks.TaskOptions`` (the one place for that, shared with the CLI). The upload is then copied to a
private file (mode 0600, random name, in a 0700 directory) that the decoder reads; nothing here
looks at the content or trusts the extension (the decoder decides what is a video). Whoever holds
an ``Upload`` must ``discard`` it: the inference task does once it has run, the request does if
the task cannot be queued.
"""
from __future__ import annotations

import contextlib
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from app.tasks import OptionError, StoredVideo, TaskOptions
from app.web.errors import BadField, MissingFile

FIELD = "video"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PREFIX = "vc-"  # uploads are named vc-<pid>-<random><suffix>; the pid tells whose they are
CLASSIFY_FIELDS = ("tta", "top_k", "timeline", "interval", "start", "end", "model")
EXPLAIN_FIELDS = ("tta", "k", "method", "class", "start", "end", "model")
CSRF_FIELD = "csrf_token"  # the page's forms send it (Flask-WTF checks it)


@dataclass
class Upload:
    """A received video waiting for its task, and the task's options (checked already)."""

    path: Path  # the private copy the decoder reads
    filename: str  # the client's name for it, for messages and results only
    options: TaskOptions = field(default_factory=TaskOptions)
    start: float | None = None  # the segment to classify (seconds; None: the video's start / end)
    end: float | None = None
    keep: bool = False  # a batch row's own file on the server (not a private copy): read, never deleted

    @property
    def video(self) -> StoredVideo:
        """The stored video the task reads, showing the client's file name in its result."""
        return StoredVideo(self.path, self.filename, self.start, self.end)

    def stored_options(self) -> dict:
        """The options and the segment, as a job stores them (``from_stored`` reads them back)."""
        out = {**self.options.to_dict(), "start": self.start, "end": self.end}
        if self.keep:
            out["keep_file"] = True
        return out

    @classmethod
    def from_stored(cls, path: Path, filename: str, stored: dict) -> "Upload":
        return cls(path, filename, TaskOptions.from_dict(stored), stored.get("start"), stored.get("end"),
                   bool(stored.get("keep_file")))

    def discard(self) -> None:
        """Delete the private copy (idempotent); a kept file (a batch row's) stays."""
        if not self.keep:
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
    raise BadField(f"tta must be true or false, got {show(raw)}", field="tta")


def parse_int(raw: str | None) -> int | str | None:
    """A whole number, or the text itself when it is not one (``TaskOptions`` refuses it and says
    what it must be); empty means the default."""
    value = given(raw)
    return int(value) if value is not None and re.fullmatch(r"-?\d{1,6}", value) else value


def parse_float(raw: str | None) -> float | str | None:
    """A number, or the text itself when it is not one (as ``parse_int``); empty means the default."""
    value = given(raw)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return value


@contextlib.contextmanager
def options_checked():
    """Turn the task options' OptionError into BadField (400) with the same message."""
    try:
        yield
    except OptionError as exc:
        first = str(exc).split(" ", 1)[0]  # the messages start with the field's name
        raise BadField(str(exc), field=first if first in CLASSIFY_FIELDS + EXPLAIN_FIELDS else None) from None


def check_fields(request, allowed: tuple[str, ...]) -> None:
    """Refuse a form field or file part the route does not take (BadField naming it); a request
    whose file is not in the ``video`` part is MissingFile, naming the part it used."""
    others = [k for k in request.files if k != FIELD]
    if FIELD not in request.files and others:
        raise MissingFile(f"No video in the request: send the file as the multipart/form-data field {FIELD!r} "
                          f"(this request used {show(others[0])}).")
    unknown = [k for k in request.form if k not in allowed and k != CSRF_FIELD] + others
    if unknown:
        raise BadField(f"unknown field {show(unknown[0])}: this route takes the file field {FIELD!r} and "
                       f"{', '.join(allowed)}", field=unknown[0])


def check_model(raw: str | None, served: tuple[str, ...]) -> None:
    """``model`` may name the served bundle (its id in /api/models or its name): one model is served
    per server. Anything else is refused rather than silently answered by another model."""
    value = given(raw)
    if value is not None and value not in served:
        raise BadField(f"model {show(value)} is not served here: this server serves {served[0]!r} only "
                       "(GET /api/models lists the bundles; run a server per model to serve another)",
                       field="model")


def parse_segment(form) -> tuple[float | None, float | None]:
    """The optional ``start`` and ``end`` (seconds) of the segment to classify; BadField naming the
    field when one is not a number, is negative, or ``end`` is not after ``start``."""
    values = {}
    for name in ("start", "end"):
        value = parse_float(form.get(name))
        if value is not None and (not isinstance(value, float) or not math.isfinite(value) or value < 0):
            raise BadField(f"{name} must be a number of seconds of 0 or more, got {show(str(value))}", field=name)
        values[name] = value
    start, end = values["start"], values["end"]
    if end is not None and end <= (start or 0.0):
        raise BadField(f"end must be after start (got start={start or 0:g} s, end={end:g} s)", field="end")
    return start, end


def client_filename(name: str | None) -> str:
    """The last path component of the client's file name, without control characters, at most 200 long."""
    base = re.split(r"[\\/]", name or "")[-1]
    return _CONTROL.sub("", base)[:200] or "upload"


def receive(request, upload_dir: Path, *, frames: bool = False, served: tuple[str, ...] = ()) -> Upload:
    """Validate the classification fields (``CLASSIFY_FIELDS``; ``served``: the names ``model`` may
    give), then copy the uploaded file to a private file. ``frames``: the task adds thumbnails.

    Raises BadField (a bad or unknown field) and what ``save`` raises.
    """
    form = request.form
    check_fields(request, CLASSIFY_FIELDS)
    check_model(form.get("model"), served)
    start, end = parse_segment(form)
    tta = parse_tta(form.get("tta"))
    top_k = parse_int(form.get("top_k"))
    interval = parse_float(form.get("interval"))
    with options_checked():
        options = TaskOptions(tta=tta, top_k=top_k, timeline=given(form.get("timeline")), interval=interval,
                              frames=frames)
    upload = save(request, upload_dir, options)
    upload.start, upload.end = start, end
    return upload


def save(request, upload_dir: Path, options: TaskOptions) -> Upload:
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
    return Upload(Path(temp), filename, options)
