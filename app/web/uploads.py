"""Reading a classification request: the ``video`` file and its option fields.

The fields (``tta``, ``top_k``, ``timeline``, ``interval``) are checked before anything is
written, so a bad one costs neither disk nor a place in the queue: their text is parsed here, their
values are checked by ``app.tasks.TaskOptions`` (the one place for that, shared with the CLI). The upload is then copied to a
private file (mode 0600, random name, in a 0700 directory) that the decoder reads; nothing here
looks at the content or trusts the extension (the decoder decides what is a video). Whoever holds
an ``Upload`` must ``discard`` it: the inference task does once it has run, the request does if
the task cannot be queued.
"""
from __future__ import annotations

import contextlib
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


@dataclass
class Upload:
    """A received video waiting for its task, and the task's options (checked already)."""

    path: Path  # the private copy the decoder reads
    filename: str  # the client's name for it, for messages and results only
    options: TaskOptions = field(default_factory=TaskOptions)

    @property
    def video(self) -> StoredVideo:
        """The stored video the task reads, showing the client's file name in its result."""
        return StoredVideo(self.path, self.filename)

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
        raise BadField(str(exc)) from None


def client_filename(name: str | None) -> str:
    """The last path component of the client's file name, without control characters, at most 200 long."""
    base = re.split(r"[\\/]", name or "")[-1]
    return _CONTROL.sub("", base)[:200] or "upload"


def receive(request, upload_dir: Path, *, frames: bool = False) -> Upload:
    """Validate the classification fields (``tta``, ``top_k``, ``timeline``, ``interval``), then
    copy the uploaded file to a private file. ``frames``: the task adds thumbnails.

    Raises BadField (a bad field) and what ``save`` raises.
    """
    form = request.form
    tta = parse_tta(form.get("tta"))
    top_k = parse_int(form.get("top_k"))
    interval = parse_float(form.get("interval"))
    with options_checked():
        options = TaskOptions(tta=tta, top_k=top_k, timeline=given(form.get("timeline")), interval=interval,
                              frames=frames)
    return save(request, upload_dir, options)


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
