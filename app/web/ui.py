"""The upload page, for a person with a browser: choose or drop a video, see the answer and why.

The page's script uploads with progress to ``POST /upload`` (CSRF-protected, answered with a job
id) and polls ``GET /upload/<id>``; the work runs as a job like the API's, with JPEG thumbnails of
the sampled frames added for the frame strip. "Why?" sends the same file again to
``POST /upload/explain``, which answers like the API's /explain (the upload was deleted once it was
classified, and the page's session cannot use the API's token).
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from app.tasks import DEFAULT_K, MAX_INTERVAL_S
from app.web.backends import get_backend
from app.web.inference import get_service

bp = Blueprint("ui", __name__)


@bp.get("/")
def index():
    """The upload page (it works while the model loads; the upload then answers 503)."""
    service = get_service()
    clf = service.classifier
    return render_template("index.html", bundle=clf.bundle if clf is not None else None,
                           load_error=service.load_error, max_interval=MAX_INTERVAL_S,
                           default_k=DEFAULT_K)


@bp.post("/upload")
def upload():
    """Queue the page's upload as a job with frame thumbnails; 202 with where to poll."""
    upload = get_service().receive(request, frames=True)
    job_id = get_backend().submit(upload, source="ui")
    return jsonify(id=job_id, status="queued", status_url=url_for("ui.upload_status", job_id=job_id)), 202


@bp.get("/upload/<job_id>")
def upload_status(job_id: str):
    """The job's status and, once done, its result (JSON, for the page's script)."""
    return jsonify(get_backend().status(job_id, source="ui"))


@bp.post("/upload/explain")
def explain():
    """The page's "Why?": explain the uploaded video (waits for it; the page shows progress meanwhile)."""
    service = get_service()
    upload = service.receive_for_explain(request)
    return jsonify(service.explain_now(upload, current_app.config["SYNC_TIMEOUT"]))
