"""What a failed job records: ``{"code", "message", "status"}``, the API's error document with the
HTTP status it is answered with. Shared by the web tier and queue workers."""
from __future__ import annotations

import logging

from app.tasks import OptionError
from app.video import VideoDecodeError

log = logging.getLogger(__name__)

# The decoder's codes and the HTTP status each one gets.
DECODE_STATUS = {"empty": 400, "not_video": 415, "no_frames": 422, "corrupt": 422, "too_large": 422,
                 "bad_segment": 422, "bad_header": 422, "too_long": 422, "over_budget": 422,
                 "decoder_crashed": 422}
INTERNAL = "Something went wrong on the server while classifying this video; it has been logged."


def error_document(exc: BaseException, *, filename: str | None = None, temp_name: str | None = None) -> dict:
    """The error a client sees for ``exc`` raised by a job (unexpected ones are logged with their
    traceback and shown as a plain ``internal`` error). ``temp_name``, the private upload's name,
    is replaced by the client's ``filename`` in messages."""
    if isinstance(exc, VideoDecodeError):
        message = str(exc)
        if temp_name and filename:
            message = message.replace(temp_name, filename)
        return {"code": exc.code, "message": message, "status": DECODE_STATUS.get(exc.code, 422)}
    if isinstance(exc, OptionError):  # options stored by another version of the service
        return {"code": "bad_field", "message": str(exc), "status": 400}
    log.error("unexpected error while classifying %s", filename or "an upload", exc_info=exc)
    return {"code": "internal", "message": INTERNAL, "status": 500}
