"""The OpenAPI 3.1 document of the REST API (served at /openapi.json)."""
from __future__ import annotations

import app
from app.explain.choices import CAM_METHODS as METHODS
from app.explain.choices import TIMELINE_MODES
from app.tasks import DEFAULT_K, MAX_INTERVAL_S, MAX_K
from app.web.errors import DECODE_STATUS


def _error(description: str, codes: list[str], *, retry_after: bool = False) -> dict:
    response = {"description": f"{description} Codes: {', '.join(codes)}.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if retry_after:
        response["headers"] = {"Retry-After": {"description": "seconds to wait before trying again",
                                               "schema": {"type": "integer"}}}
    return response


def _decode_codes(status: int) -> list[str]:
    return [code for code, s in DECODE_STATUS.items() if s == status]


def _upload_errors(max_upload_mb: float) -> dict:
    return {
        "400": _error("Missing file or bad field.", ["missing_file", "bad_field", "bad_request"]
                      + _decode_codes(400)),
        "401": _error("Missing or wrong bearer token (only when the server has one).", ["unauthorized"]),
        "413": _error(f"The upload is larger than the server's limit ({max_upload_mb:g} MB).", ["upload_too_large"]),
        "415": _error("The file is not a video (checked by decoding it, not by its name).", _decode_codes(415)),
        "422": _error("A video that cannot be used: no decodable frames, truncated or corrupt, absurd size.",
                      _decode_codes(422)),
        "503": _error("The queue is full, or the model is not loaded yet.", ["queue_full", "model_unavailable"],
                      retry_after=True),
    }


def _schemas() -> dict:
    score = {"type": "object", "required": ["label", "score"],
             "properties": {"label": {"type": "string"}, "score": {"type": "number"}}}
    probabilities = {"type": "object", "additionalProperties": {"type": "number"},
                     "description": "probability per class, in the model's class order"}
    tta_video = {"video": {"type": "string", "contentMediaType": "application/octet-stream",
                           "description": "the video file (any container and codec the decoders read)"},
                 "tta": {"type": "string", "enum": ["true", "false", "1", "0", "yes", "no", "on", "off"],
                         "description": "test-time augmentation; default: the model's choice"},
                 "start": {"type": "number", "minimum": 0, "description": "classify from this second on "
                           "(default: the start); the timeline and the explanation cover the same span"},
                 "end": {"type": "number", "exclusiveMinimum": 0, "description": "classify up to this second, "
                         "after start (default: the end); a segment outside the video is 422 bad_segment"},
                 "model": {"type": "string", "description": "the served bundle's id (GET /api/models) or name; "
                           "any other is 400: one model is served per server"}}
    return {
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string", "description": "plain words"},
                           "field": {"type": "string", "description": "the form field at fault (bad_field: a bad "
                                     "value, or a field this route does not take: unknown fields are refused)"},
                           "status": {"type": "integer", "description": "HTTP status (in failed jobs)"}}}}},
        "Classification": {
            "type": "object",
            "required": ["label", "predicted_label", "confidence", "uncertain", "top_k", "probabilities", "members",
                         "tta", "frames", "video", "model", "timings_ms"],
            "properties": {
                "label": {"type": "string", "description": "the answer, or 'uncertain' below the abstain threshold"},
                "predicted_label": {"type": "string"},
                "confidence": {"type": "number"},
                "uncertain": {"type": "boolean", "description": "the bundle's uncertain rule fired: calibrated "
                              "confidence below its min_confidence, or members disagreeing (the label is kept)"},
                "uncertain_reasons": {"type": "array", "items": {"type": "string"}},
                "top_k": {"type": "array", "items": score},
                "probabilities": probabilities,
                "members": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "label": {"type": "string"}, "confidence": {"type": "number"},
                    "probabilities": probabilities}}},
                "tta": {"type": "object", "properties": {"enabled": {"type": "boolean"},
                                                         "views": {"type": "array", "items": {"type": "string"}}}},
                "frames": {"type": "array", "items": {"type": "object", "properties": {
                    "index": {"type": "integer"}, "timestamp": {"type": "number", "description": "seconds"},
                    "attention": {"type": "number"}}}},
                "video": {"type": "object", "description": "duration, fps, width, height, frame_count, codec, "
                                                           "warnings, filename..."},
                "model": {"type": "object", "description": "name, version, backbone, engine, device, trained..."},
                "timings_ms": {"type": "object", "properties": {k: {"type": "number"} for k in
                                                                ("decode", "features", "temporal", "total",
                                                                 "timeline")}},
                "timeline": {"$ref": "#/components/schemas/Timeline"},
            }},
        "Timeline": {
            "type": "object", "description": "only when the request asked for a timeline",
            "required": ["mode", "windows", "video"],
            "properties": {
                "mode": {"enum": list(TIMELINE_MODES)},
                "interval": {"type": ["number", "null"], "description": "seconds (interval mode)"},
                "aggregate": {"type": "string", "description": "how windows_aggregate combines the windows"},
                "frames_per_window": {"type": "integer"},
                "max_windows": {"type": "integer", "description": "the cap on work: intervals widen and short "
                                                                  "shots merge beyond it"},
                "shots": {"type": ["array", "null"], "items": {"type": "number"},
                          "description": "seconds where a new shot starts (shots mode)"},
                "windows": {"type": "array", "items": {"type": "object", "properties": {
                    "start": {"type": "number"}, "end": {"type": "number"}, "label": {"type": "string"},
                    "confidence": {"type": "number"}, "uncertain": {"type": "boolean"},
                    "probabilities": probabilities}},
                            "description": "consecutive windows in time order, covering the video"},
                "video": {"type": "object", "description": "the whole-video row: the answer itself (the "
                          "result's label, confidence, uncertain flag and probabilities; source 'answer')",
                          "properties": {"label": {"type": "string"}, "confidence": {"type": "number"},
                                         "uncertain": {"type": "boolean"}, "probabilities": probabilities,
                                         "source": {"enum": ["answer", "windows"]}}},
                "windows_aggregate": {"type": "object", "description": "what the windows say together "
                                      "(by 'aggregate'); it may differ from the answer, which sees the whole "
                                      "video at once",
                                      "properties": {"label": {"type": "string"}, "confidence": {"type": "number"},
                                                     "probabilities": probabilities}},
                "work": {"type": "object", "properties": {"windows": {"type": "integer"},
                                                          "frames": {"type": "integer"}}}}},
        "Explanation": {
            "type": "object", "required": ["result", "target", "method", "frames"],
            "properties": {
                "result": {"type": "object", "description": "the classification, as in Classification but "
                                                           "without timings_ms"},
                "target": {"type": "string", "description": "the class explained"},
                "method": {"enum": list(METHODS)},
                "frames": {"type": "array", "description": "the k most-attended frames, in time order",
                           "items": {"type": "object", "properties": {
                               "index": {"type": "integer"}, "timestamp": {"type": "number"},
                               "attention": {"type": "number"},
                               "box": {"type": ["array", "null"], "items": {"type": "integer"},
                                       "description": "saliency box [x, y, w, h] in crop pixels"},
                               "frame_png": {"type": "string", "contentEncoding": "base64",
                                             "description": "PNG of the crop the model saw"},
                               "overlay_png": {"type": "string", "contentEncoding": "base64",
                                               "description": "PNG of the heatmap over the crop, with the box"}}}}}},
        "Job": {"type": "object", "required": ["id", "status"], "properties": {
            "id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "failed"]},
            "stage": {"enum": ["queued", "starting", "decoding", "members", "timeline", "explaining", "done",
                               "failed"], "description": "what the job is doing now"},
            "progress": {"type": "number", "minimum": 0, "maximum": 1,
                         "description": "fraction of the work done (0 while queued, 1 when done)"},
            "filename": {"type": "string"}, "options": {"type": "object", "description": "the request's "
                         "options, the segment (start, end) included"},
            "created": {"type": "string", "format": "date-time"},
            "started": {"type": ["string", "null"], "format": "date-time"},
            "finished": {"type": ["string", "null"], "format": "date-time"},
            "result": {"$ref": "#/components/schemas/Classification"},
            "error": {"$ref": "#/components/schemas/Error/properties/error"}}},
        "Upload": {"type": "object", "required": ["video"], "additionalProperties": False, "properties": {
            **tta_video,
            "top_k": {"type": "integer", "minimum": 1, "description": "how many labels to list (default 5, "
                                                                       "at most the number of classes)"},
            "timeline": {"enum": ["", *TIMELINE_MODES], "description": "also classify windows over the video: "
                                                                      "fixed intervals or shots (empty: none)"},
            "interval": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_INTERVAL_S,
                         "description": "window length in seconds, only with timeline=interval (default 2)"}}},
        "ExplainUpload": {"type": "object", "required": ["video"], "additionalProperties": False, "properties": {
            **tta_video,
            "k": {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": DEFAULT_K,
                  "description": "how many of the most-attended frames to explain"},
            "method": {"enum": list(METHODS), "default": METHODS[0]},
            "class": {"type": "string", "description": "explain this class (one of the model's; default: the "
                                                       "predicted class)"}}},
    }


def document(*, max_upload_mb: float, token_required: bool) -> dict:
    """The OpenAPI document; ``token_required`` says whether the bearer token applies to this server."""
    upload_body = {"required": True, "content": {"multipart/form-data": {
        "schema": {"$ref": "#/components/schemas/Upload"}}}}
    json_of = lambda ref: {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}  # noqa: E731
    secured = [{"bearer": []}] if token_required else []
    return {
        "openapi": "3.1.0",
        "info": {"title": "videoclf", "version": app.__version__,
                 "description": "Upload a video, get its category with calibrated probabilities, the ensemble "
                                "members' votes, the model's attention over time, per-window timelines and Grad-CAM "
                                "explanations."},
        "components": {"schemas": _schemas(),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/classify": {"post": {
                "summary": "Classify one video and wait for the answer", "operationId": "classify",
                "security": secured, "requestBody": upload_body,
                "responses": {"200": {"description": "the classification", "content": json_of("Classification")},
                              **_upload_errors(max_upload_mb),
                              "504": _error("Classifying took longer than the server waits.", ["timeout"])}}},
            "/explain": {"post": {
                "summary": "Classify one video and show why: Grad-CAM on its most-attended frames",
                "description": "Computed on demand only (a backward pass per frame: slower than /classify). "
                               "Heatmaps and saliency boxes come as base64 PNGs.",
                "operationId": "explain", "security": secured,
                "requestBody": {"required": True, "content": {"multipart/form-data": {
                    "schema": {"$ref": "#/components/schemas/ExplainUpload"}}}},
                "responses": {"200": {"description": "the explanation", "content": json_of("Explanation")},
                              **_upload_errors(max_upload_mb),
                              "504": _error("Explaining took longer than the server waits.", ["timeout"])}}},
            "/jobs": {"post": {
                "summary": "Queue one video for classification", "operationId": "createJob",
                "security": secured, "requestBody": upload_body,
                "responses": {"202": {"description": "queued; poll status_url",
                                      "headers": {"Location": {"schema": {"type": "string"}}},
                                      "content": {"application/json": {"schema": {"type": "object", "properties": {
                                          "id": {"type": "string"}, "status": {"const": "queued"},
                                          "status_url": {"type": "string"}}}}}},
                              **{k: v for k, v in _upload_errors(max_upload_mb).items() if k in
                                 ("400", "401", "413", "503")}}}},
            "/jobs/{job_id}": {"get": {
                "summary": "A job's status, with its result or error", "operationId": "getJob", "security": secured,
                "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the job (a failed job carries the error the video got)",
                                      "content": json_of("Job")},
                              "401": _error("Missing or wrong bearer token.", ["unauthorized"]),
                              "404": _error("No such job (or it expired).", ["not_found"])}},
                "delete": {
                "summary": "Cancel a queued or running job", "operationId": "cancelJob", "security": secured,
                "parameters": [{"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "cancelled: the job, failed with code cancelled",
                                      "content": json_of("Job")},
                              "401": _error("Missing or wrong bearer token.", ["unauthorized"]),
                              "404": _error("No such job (or it expired).", ["not_found"]),
                              "409": _error("The job had already finished.", ["finished"])}}},
            "/batches": {"post": {
                "summary": "Classify every row of a manifest of files under the server's batch folder "
                           "(VIDEOCLF_BATCH_ROOT)", "operationId": "createBatch", "security": secured,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"type": "object", "required": ["rows"], "properties": {
                        "rows": {"type": "array", "items": {"type": "object", "required": ["path"], "properties": {
                            "path": {"type": "string"}, "start": {"type": "number"}, "end": {"type": "number"}}}},
                        "tta": {"type": "boolean"}, "top_k": {"type": "integer", "minimum": 1},
                        "timeline": {"enum": ["interval", "shots"]}, "interval": {"type": "number"}}}},
                    "multipart/form-data": {"schema": {"type": "object", "required": ["manifest"], "properties": {
                        "manifest": {"type": "string", "format": "binary",
                                     "description": "CSV (path[,start,end]) or JSON Lines"},
                        "tta": {"type": "string"}, "top_k": {"type": "string"}, "timeline": {"type": "string"},
                        "interval": {"type": "string"}}}}}},
                "responses": {"202": {"description": "accepted: the batch, as GET /batches/{batch_id} shows it",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "400": _error("A bad field, no rows, or too many.", ["bad_field"]),
                              "401": _error("Missing or wrong bearer token.", ["unauthorized"]),
                              "403": _error("Batches are not enabled on this server.", ["batches_disabled"])}}},
            "/batches/{batch_id}": {"get": {
                "summary": "A batch's progress: rows pending, queued, running, done and failed",
                "operationId": "getBatch", "security": secured,
                "parameters": [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "the batch",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "401": _error("Missing or wrong bearer token.", ["unauthorized"]),
                              "404": _error("No such batch.", ["not_found"])}}},
            "/batches/{batch_id}/results": {"get": {
                "summary": "The batch's records, one per row (as videoclf predict writes them)",
                "operationId": "getBatchResults", "security": secured,
                "parameters": [{"name": "batch_id", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "format", "in": "query", "schema": {"enum": ["jsonl", "csv"]}}],
                "responses": {"200": {"description": "JSON Lines or CSV",
                                      "content": {"application/x-ndjson": {"schema": {"type": "string"}},
                                                  "text/csv": {"schema": {"type": "string"}}}},
                              "400": _error("A bad format.", ["bad_field"]),
                              "401": _error("Missing or wrong bearer token.", ["unauthorized"]),
                              "404": _error("No such batch.", ["not_found"])}}},
            "/api/models": {"get": {
                "summary": "Model bundles and their summary metrics", "operationId": "listModels",
                "security": secured,
                "responses": {"200": {"description": "bundles; loaded marks the one this server answers with",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              "401": _error("Missing or wrong bearer token.", ["unauthorized"])}}},
            "/healthz": {"get": {"summary": "Liveness", "operationId": "healthz", "security": [],
                                 "responses": {"200": {"description": "the process answers"}}}},
            "/readyz": {"get": {"summary": "Readiness: the model is loaded", "operationId": "readyz", "security": [],
                                "responses": {"200": {"description": "ready"},
                                              "503": {"description": "loading, or failed to load"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "operationId": "metrics", "security": secured,
                                 "responses": {"200": {"description": "Prometheus text format",
                                                       "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        },
    }
