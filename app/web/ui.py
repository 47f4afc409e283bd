"""The upload page, for a person with a browser: choose or drop a video, see the answer and why.

The page's script uploads with progress to ``POST /upload`` (CSRF-protected, answered with a job
id) and polls ``GET /upload/<id>``; the work runs as a job like the API's, with JPEG thumbnails of
the sampled frames added for the frame strip.
"""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for

from app.web.inference import get_service
from app.web.jobs import get_jobs

bp = Blueprint("ui", __name__)


@bp.get("/")
def index():
    """The upload page (it works while the model loads; the upload then answers 503)."""
    service = get_service()
    clf = service.classifier
    return render_template("index.html", bundle=clf.bundle if clf is not None else None,
                           load_error=service.load_error)


@bp.post("/upload")
def upload():
    """Queue the page's upload as a job with frame thumbnails; 202 with where to poll."""
    upload = get_service().receive(request)
    job_id = get_jobs().submit(upload, source="ui", frames=True)
    return jsonify(id=job_id, status="queued", status_url=url_for("ui.upload_status", job_id=job_id)), 202


@bp.get("/upload/<job_id>")
def upload_status(job_id: str):
    """The job's status and, once done, its result (JSON, for the page's script)."""
    return jsonify(get_jobs().find(job_id, source="ui"))
