"""The upload page, for a person with a browser: choose or drop a video, see the answer and why.

The page's script uploads with progress to ``POST /upload`` (CSRF-protected, answered with a job
id) and polls ``GET /upload/<id>``; the work runs as a job like the API's, with JPEG thumbnails of
the sampled frames added for the frame strip. "Why?" sends the same file again to
``POST /upload/explain``, which answers like the API's /explain (the upload was deleted once it was
classified, and the page's session cannot use the API's token). With ``VIDEOCLF_API_TOKEN`` set,
every route here needs it: the page asks for it once at ``/login`` (a session flag), scripts may
send it as a bearer header; a CSRF token fetched from the page is not enough.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from app.tasks import DEFAULT_K, MAX_INTERVAL_S
from app.web.auth import log_in_page, page_open, safe_target
from app.web.backends import get_backend
from app.web.errors import Unauthorized
from app.web.inference import get_service

bp = Blueprint("ui", __name__)
PAGES = ("ui.index",)  # the others answer the page's script: 401 JSON, not a redirect


@bp.before_request
def _require_login():
    if request.endpoint == "ui.login" or page_open():
        return None
    if request.endpoint in PAGES:
        return redirect(url_for("ui.login", next=request.full_path))
    raise Unauthorized("This server needs its API token: log in on the page (/login) or send "
                       "'Authorization: Bearer <token>'.")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Token login for the upload page when the API token is set (a form; CSRF-protected)."""
    target = safe_target(request.args.get("next", ""), url_for("ui.index"))
    if not current_app.config["API_TOKEN"]:
        return redirect(target)
    failed = False
    if request.method == "POST":
        if log_in_page(request.form.get("token")):
            return redirect(target)
        failed = True
    return render_template("login.html", failed=failed, next=target, action=url_for("ui.login", next=target),
                           heading="Log in",
                           hint="This server classifies videos for people with its access token. Enter it once; "
                                "this browser stays logged in until you log out."), 401 if failed else 200


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
