"""Errors of the web layer and how every failure becomes a small JSON (or HTML) answer.

Views raise ``ApiError`` subclasses; the decoder's ``VideoDecodeError`` is translated by
``from_exception``. Whatever happens, a client gets ``{"error": {"code",
"message"}}`` with the right status, never a traceback: unexpected exceptions are logged here
with their traceback and answered with a generic message.
"""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.jobs.errors import DECODE_STATUS, INTERNAL
from app.video import VideoDecodeError

log = logging.getLogger(__name__)

# Werkzeug's HTTP errors in our vocabulary (clients switch on ``code``, not on the wording).
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "upload_too_large", 415: "unsupported_media_type",
              429: "too_many_requests", 500: "internal", 503: "unavailable"}
JSON_BLUEPRINTS = {"api", "ops"}


class ApiError(Exception):
    """An answer other than success: HTTP ``status``, a stable ``code`` and a plain-words ``message``."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.headers = headers or {}

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


class BadField(ApiError):
    """A bad or unknown form field; ``field`` names it (also in the JSON answer)."""

    code = "bad_field"

    def __init__(self, message: str, *, field: str | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.field = field

    def to_dict(self) -> dict:
        out = super().to_dict()
        if self.field:
            out["field"] = self.field
        return out


class MissingFile(ApiError):
    code = "missing_file"


class Unauthorized(ApiError):
    status, code = 401, "unauthorized"


class NotFound(ApiError):
    status, code = 404, "not_found"


class Conflict(ApiError):
    status, code = 409, "conflict"


class QueueFull(ApiError):
    status, code = 503, "queue_full"


class ModelUnavailable(ApiError):
    status, code = 503, "model_unavailable"


class Timeout(ApiError):
    status, code = 504, "timeout"


def from_exception(exc: BaseException, *, filename: str | None = None, temp_name: str | None = None) -> ApiError:
    """The ApiError a client should see for ``exc`` (unexpected ones are logged with their traceback).

    ``temp_name``, the private upload's name, is replaced by the client's ``filename`` in messages.
    """
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, VideoDecodeError):
        message = str(exc)
        if temp_name and filename:
            message = message.replace(temp_name, filename)
        return ApiError(message, code=exc.code, status=DECODE_STATUS.get(exc.code, 422))
    # Anything else is the server's fault: the fields were checked before queueing, so even a
    # ValueError here is a bug, and its message is for the log, not for the client.
    log.error("unexpected error while classifying %s", filename or "an upload", exc_info=exc)
    return ApiError(INTERNAL, code="internal", status=500)


def _wants_json() -> bool:
    if request.blueprint in JSON_BLUEPRINTS:
        return True
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) != "text/html"


def _respond(err: ApiError):
    g.videoclf_error = err.code  # counted by the metrics
    if _wants_json():
        response = jsonify(error=err.to_dict())
    else:
        response = make_response(render_template("error.html", error=err))
    response.status_code = err.status
    response.headers.update(err.headers)
    return response


def init_app(app: Flask) -> None:
    """Register handlers so that every error leaves the app as JSON (API) or a small HTML page (UI)."""

    @app.errorhandler(ApiError)
    def handle_api_error(err: ApiError):
        return _respond(err)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        status = exc.code or 500
        message = exc.description or exc.name
        code = HTTP_CODES.get(status, "http_error")
        if isinstance(exc, CSRFError):
            code, message = "csrf", ("This page has expired (its security token is missing or too old); "
                                     "reload it and try again.")
        if status == 413:
            limit = app.config["MAX_UPLOAD_MB"]
            message = f"The upload is larger than this server accepts ({limit:g} MB)."
        headers = {}
        if status == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        return _respond(ApiError(message, code=code, status=status, headers=headers))

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
        return _respond(ApiError("Something went wrong on the server; it has been logged.", code="internal",
                                 status=500))
