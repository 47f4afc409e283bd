"""Prometheus metrics of one app: requests, latencies, errors, inference and the queue.

Each app gets its own ``CollectorRegistry`` (several apps in one test process must not share
counters). Under gunicorn every worker process counts its own requests: with more than one
worker, scrape each or aggregate (see the README).
"""
from __future__ import annotations

import time
from contextlib import contextmanager

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

EXTENSION = "videoclf.metrics"
# Fast endpoints answer in milliseconds; /classify waits for decoding and the model (seconds).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    """The app's collectors; ``watch`` adds gauges read from the inference service at scrape time."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("videoclf_http_requests", "HTTP requests answered",
                                ["method", "endpoint", "status"], registry=r)
        self.latency = Histogram("videoclf_http_request_duration_seconds", "Time to answer an HTTP request",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("videoclf_http_errors", "Error answers by error code", ["code"], registry=r)
        self.inference = Histogram("videoclf_inference_duration_seconds", "Time to classify one video "
                                   "(decode, features, temporal model)", ["outcome"], buckets=LATENCY_BUCKETS,
                                   registry=r)
        self.explain = Histogram("videoclf_explain_duration_seconds", "Time to explain one video (classify, "
                                 "then Grad-CAM on its most-attended frames)", ["outcome"], buckets=LATENCY_BUCKETS,
                                 registry=r)
        self.rejected = Counter("videoclf_queue_rejected", "Requests refused because the queue was full",
                                registry=r)
        self.timeouts = Counter("videoclf_task_timeouts", "Tasks that ran past their deadline (the client got "
                                "504, or the job failed with code timeout)", ["task"], registry=r)
        self.killed = Counter("videoclf_tasks_killed", "Running tasks the pool stopped and replaced (reason: "
                              "timeout, past the deadline; killed, nobody waited any more)", ["reason"], registry=r)
        self.inputs_rejected = Counter("videoclf_inputs_rejected", "Uploads refused by the decoder, by error code "
                                       "(not_video, corrupt, bad_header, too_long, over_budget...)", ["code"],
                                       registry=r)

    @contextmanager
    def timed(self, histogram: Histogram):
        """Observe the time the block takes in ``histogram``, labelled with its outcome: "ok", the
        error's ``code`` (a decoder error) or the exception's name."""
        t0 = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        except Exception as exc:
            outcome = getattr(exc, "code", None) or type(exc).__name__
            raise
        finally:
            histogram.labels(outcome=outcome).observe(time.perf_counter() - t0)

    def watch(self, service) -> None:
        """Gauges for the queue and the model, read from ``service`` when scraped."""
        r = self.registry
        Gauge("videoclf_queue_depth", "Videos waiting for an inference thread",
              registry=r).set_function(lambda: service.pool.depth)
        Gauge("videoclf_inference_running", "Videos being classified now",
              registry=r).set_function(lambda: service.pool.running)
        Gauge("videoclf_queue_capacity", "Most videos held at once (running + waiting)",
              registry=r).set_function(lambda: service.pool.capacity)
        Gauge("videoclf_model_loaded", "1 when the model is loaded and the pool runs",
              registry=r).set_function(lambda: 1.0 if service.ready else 0.0)
        Gauge("videoclf_inference_threads_stuck", "Threads of stopped tasks still inside a native call",
              registry=r).set_function(lambda: service.pool.stuck)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> Metrics:
    """Count every request (by route rule, so the label set stays bounded) and every error code."""
    disable_created_metrics()  # the *_created series only add noise to every scrape
    stats = Metrics()
    app.extensions[EXTENSION] = stats

    @app.before_request
    def _start_timer():
        g.videoclf_t0 = time.perf_counter()

    @app.after_request
    def _count(response):
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        stats.requests.labels(request.method, endpoint, str(response.status_code)).inc()
        if "videoclf_t0" in g:
            stats.latency.labels(endpoint).observe(time.perf_counter() - g.videoclf_t0)
        code = g.get("videoclf_error")
        if code:
            stats.errors.labels(code).inc()
        return response

    return stats


def get_metrics(app: Flask) -> Metrics:
    return app.extensions[EXTENSION]
