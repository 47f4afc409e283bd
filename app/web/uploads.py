"""Reading a classification request: the ``video`` file and the ``tta`` / ``top_k`` fields.

The upload is copied to a private file (mode 0600, random name, in a 0700 directory) that the
decoder reads; nothing here looks at the content or trusts the extension (the decoder decides
what is a video). Whoever holds an ``Upload`` must ``discard`` it: the inference task does once it
has run, the request does if the task cannot be queued.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from app.web.errors import BadField, MissingFile

FIELD = "video"
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PREFIX = "vc-"  # uploads are named vc-<pid>-<random><suffix>; the pid tells whose they are


@dataclass
class Upload:
    """A received video waiting to be classified, and the options that go with it."""

    path: Path  # the private copy the decoder reads
    filename: str  # the client's name for it, for messages and results only
    tta: bool | None = None
    top_k: int | None = None

    def options(self) -> dict:
        return {"tta": self.tta, "top_k": self.top_k}

    def discard(self) -> None:
        """Delete the private copy (idempotent)."""
        self.path.unlink(missing_ok=True)


def prepare_dir(path: str | os.PathLike) -> Path:
    """Create the upload directory readable by this user only."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def parse_tta(raw: str | None) -> bool | None:
    """``true``/``false`` (also 1/0, yes/no, on/off); empty or absent means the model's default."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip().lower()
    if value in _TRUE | _FALSE:
        return value in _TRUE
    raise BadField(f"tta must be true or false, got {raw[:40]!r}")


def parse_top_k(raw: str | None, check_top_k: Callable[[int], int]) -> int | None:
    """A whole number checked by the classifier's ``check_top_k``; empty means the default."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    try:
        if not re.fullmatch(r"-?\d{1,6}", value):
            check_top_k(value)  # not a number: let the classifier word the error
        return check_top_k(int(value))
    except ValueError as exc:
        raise BadField(str(exc)) from None


def client_filename(name: str | None) -> str:
    """The last path component of the client's file name, without control characters, at most 200 long."""
    base = re.split(r"[\\/]", name or "")[-1]
    return _CONTROL.sub("", base)[:200] or "upload"


def receive(request, upload_dir: Path, check_top_k: Callable[[int], int]) -> Upload:
    """Validate the form fields, then copy the uploaded file to a private file.

    Raises MissingFile (no ``video`` part, or an empty file name) and BadField (bad ``tta`` or
    ``top_k``). Werkzeug raises 413 while reading a body over MAX_CONTENT_LENGTH.
    """
    tta = parse_tta(request.form.get("tta"))
    top_k = parse_top_k(request.form.get("top_k"), check_top_k)
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
    return Upload(Path(temp), filename, tta, top_k)
