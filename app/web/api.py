"""The REST API, for programs: classify now, classify as a job, explain, list the models, the OpenAPI document."""
from __future__ import annotations

import json
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from app.web import openapi, reports
from app.web.auth import require_api_token
from app.web.backends import get_backend
from app.web.batches import get_batches, records_csv
from app.web.errors import BadField, Conflict
from app.web.inference import get_service

bp = Blueprint("api", __name__)


@bp.before_request
def _authenticate():
    if request.endpoint != "api.openapi_document":  # the description of the API is public
        require_api_token()


@bp.post("/classify")
def classify():
    """Classify the uploaded ``video`` and answer with the classifier's result (waits for it)."""
    service = get_service()
    upload = service.receive(request)
    result = service.classify_now(upload, current_app.config["SYNC_TIMEOUT"])
    return jsonify(result)


@bp.post("/explain")
def explain():
    """Classify the uploaded ``video`` and explain the answer: Grad-CAM overlays of its ``k``
    most-attended frames (waits for it, like /classify)."""
    service = get_service()
    upload = service.receive_for_explain(request)
    return jsonify(service.explain_now(upload, current_app.config["SYNC_TIMEOUT"]))


@bp.post("/jobs")
def create_job():
    """Queue the uploaded ``video``; 202 with the job's id and where to poll it."""
    upload = get_service().receive(request)
    job_id = get_backend().submit(upload, source="api")
    url = url_for("api.job_status", job_id=job_id)
    return jsonify(id=job_id, status="queued", status_url=url), 202, {"Location": url}


@bp.get("/jobs/<job_id>")
def job_status(job_id: str):
    """A job's status (queued, running, done, failed) with its result or error."""
    return jsonify(get_backend().status(job_id))


@bp.delete("/jobs/<job_id>")
def cancel_job(job_id: str):
    """Cancel a queued or running job: 200 with the job (failed, code ``cancelled``); 409 when it
    had already finished (it is shown as it finished)."""
    backend = get_backend()
    backend.status(job_id)  # 404 for an unknown id
    if not backend.cancel(job_id):
        raise Conflict("This job has already finished; there is nothing to cancel.", code="finished")
    return jsonify(backend.status(job_id))


@bp.post("/batches")
def create_batch():
    """Classify every row of a manifest of files under the server's batch folder (VIDEOCLF_BATCH_ROOT):
    202 with the batch's id, counts and where to poll it."""
    batch = get_batches().create(request)
    return jsonify(batch), 202, {"Location": batch["status_url"]}


@bp.get("/batches/<batch_id>")
def batch_status(batch_id: str):
    """A batch's progress: counts of rows pending, queued, running, done and failed."""
    return jsonify(get_batches().view(batch_id))


@bp.get("/batches/<batch_id>/results")
def batch_results(batch_id: str):
    """The batch's records, one per row (``?format=jsonl``, the default, or ``csv``), as
    ``videoclf predict`` writes them; rows not finished yet carry their status only."""
    fmt = request.args.get("format", "jsonl")
    if fmt not in ("jsonl", "csv"):
        raise BadField(f"format must be jsonl or csv, got {fmt[:20]!r}", field="format")
    records = get_batches().records(batch_id)
    if fmt == "csv":
        body, mime = records_csv(records), "text/csv"
    else:
        body, mime = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records), "application/x-ndjson"
    return Response(body, mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="batch-{batch_id}.{fmt}"'})


@bp.get("/api/models")
def models():
    """The bundles in the models directory with their summary metrics; ``loaded`` marks the served one."""
    loaded = Path(get_service().model_dir).resolve()
    found = reports.find_bundles(current_app.config["MODELS_DIR"], loaded)
    return jsonify(models=[reports.summary(key, path, loaded=path == loaded) for key, path in found.items()])


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 description of this API."""
    cfg = current_app.config
    return jsonify(openapi.document(max_upload_mb=cfg["MAX_UPLOAD_MB"], token_required=bool(cfg["API_TOKEN"])))
