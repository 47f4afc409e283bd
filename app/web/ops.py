"""Endpoints for operators and their tools: liveness, readiness, Prometheus metrics.

These never touch the inference pool's threads, so they answer while videos are classified.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.web.auth import require_api_token
from app.web.inference import get_service
from app.web.metrics import get_metrics

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    """Alive: the process answers HTTP."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready: the model is loaded, the inference pool runs and can take work (503 otherwise: also
    while the queue is full or every slot is stuck past its deadline)."""
    service = get_service()
    pool = service.pool
    busy = pool.saturated()
    ready = service.ready and busy is None
    body = {"ready": ready,
            "queue": {"depth": pool.depth, "running": pool.running, "capacity": pool.capacity,
                      "stuck": pool.stuck, "stopped": pool.killed}}
    if service.classifier is not None:
        bundle = service.classifier.bundle
        body["model"] = {"name": bundle.name, "version": bundle.version, "trained": bundle.trained}
    if ready:
        return jsonify(body)
    body["reason"] = ("the model failed to load (see the server log)" if service.load_error
                      else "the model is loading" if service.classifier is None and pool.alive
                      else "the inference pool is stopped" if not pool.alive else busy)
    return jsonify(body), 503


@bp.get("/metrics")
def metrics():
    """Prometheus text format (behind the API token when one is configured)."""
    require_api_token()
    return get_metrics(current_app).render()
