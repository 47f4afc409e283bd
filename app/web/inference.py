"""The classifier of this worker process and the bounded pool that runs it.

``init_app`` loads the model bundle once per process (in a background thread by default, so the
worker answers /healthz at once and /readyz when the model is in) and starts the inference pool.
Requests never classify in their own thread: they ``submit`` an ``Upload`` and wait on the
future (sync API) or leave it to a job; on the pool, ``run`` hands it to ``app.tasks.run_task``. Every task has a deadline (SYNC_TIMEOUT for the sync
endpoints, JOB_TIMEOUT for jobs): past it the pool stops the task and frees its slot.
"""
from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout  # not the builtin before Python 3.11
from pathlib import Path

from flask import Flask, current_app

from app.tasks import run_task
from app.web import explanations, metrics, uploads
from app.video import VideoDecodeError
from app.web.errors import ModelUnavailable, QueueFull, Timeout, from_exception
from app.web.pool import InferencePool, PoolClosed, PoolFull, TaskTimeout
from app.web.uploads import Upload

log = logging.getLogger(__name__)
EXTENSION = "videoclf.inference"


class InferenceService:
    """Holds the ``SingleVideoClassifier`` (once loaded) and the ``InferencePool``."""

    def __init__(self, model_dir: str, device: str | None, pool: InferencePool, retry_after: int,
                 stats: metrics.Metrics, upload_dir: Path):
        self.model_dir = model_dir
        self.upload_dir = upload_dir
        self.device = device
        self.pool = pool
        self.retry_after = retry_after
        self.stats = stats
        self.classifier = None
        self.load_error: str | None = None
        self.loaded = threading.Event()  # set once loading has ended, loaded or not

    # -- loading --------------------------------------------------------------------------------
    def load(self) -> None:
        """Load the bundle (slow: seconds). Records the error instead of raising it."""
        from app.classifier import SingleVideoClassifier  # torch, ONNX Runtime: only when loading

        t0 = time.perf_counter()
        try:
            clf = SingleVideoClassifier(self.model_dir, device=self.device)
        except Exception as exc:  # BundleError, BackboneUnavailableError, OSError...: all mean "not ready"
            self.load_error = f"{type(exc).__name__}: {exc}"
            log.error("could not load the model bundle %s: %s", self.model_dir, self.load_error)
            self.loaded.set()
            return
        self.classifier = clf
        self.loaded.set()
        log.info("loaded model %s %s from %s in %.1f s (trained: %s)", clf.bundle.name, clf.bundle.version,
                 self.model_dir, time.perf_counter() - t0, clf.bundle.trained)
        if not clf.bundle.trained:
            log.warning("%s is an untrained wiring bundle: its answers mean nothing", self.model_dir)

    @property
    def ready(self) -> bool:
        return self.classifier is not None and self.pool.alive

    def require_classifier(self):
        """The classifier, or ModelUnavailable (503) while it loads or when it failed to load."""
        if self.classifier is not None:
            return self.classifier
        if self.load_error:
            raise ModelUnavailable("The model could not be loaded, so videos cannot be classified; "
                                   "the server log says why.")
        raise ModelUnavailable("The model is still loading; try again in a few seconds.",
                               headers={"Retry-After": str(self.retry_after)})

    def wait_for_classifier(self, timeout: float):
        """The classifier once it has loaded (waiting up to ``timeout`` seconds for a load under way):
        for work queued before the model was in, e.g. jobs taken over at start-up."""
        self.loaded.wait(timeout)
        return self.require_classifier()

    def receive(self, request, *, frames: bool = False) -> Upload:
        """The request's video and options as an Upload (503 first if the model is not there);
        ``frames`` adds thumbnails to the result."""
        self.require_classifier()
        return uploads.receive(request, self.upload_dir, frames=frames, served=self.served_names())

    def served_names(self) -> tuple[str, ...]:
        """What a request's ``model`` field may say: the served bundle's id in /api/models, its name."""
        clf = self.require_classifier()
        key = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(self.model_dir).resolve().name) or "bundle"
        return tuple(dict.fromkeys([key, clf.bundle.name]))

    # -- running --------------------------------------------------------------------------------
    def submit(self, fn, *args, on_cancel=None, timeout: float | None = None, on_timeout=None) -> Future:
        """Queue a task on the pool (stopped ``timeout`` seconds after it starts, then ``on_timeout``
        runs); QueueFull (503 with Retry-After) when it is at capacity."""
        try:
            return self.pool.submit(fn, *args, on_cancel=on_cancel, timeout=timeout, on_timeout=on_timeout)
        except (PoolFull, PoolClosed) as exc:
            self.stats.rejected.inc()
            raise QueueFull(f"The server is busy ({exc}); try again in a few seconds.",
                            headers={"Retry-After": str(self.retry_after)}) from None

    def run(self, upload: Upload, progress=None) -> dict:
        """The upload's result document (in a pool thread): ``app.tasks.run_task``, timed and counted;
        ``progress(stage, fraction)`` hears how far it is."""
        clf = self.require_classifier()
        timer = self.stats.explain if upload.options.explain else self.stats.inference
        with self.stats.timed(timer), self._counting_rejections():
            return run_task(clf, upload.video, upload.options, progress)

    @contextlib.contextmanager
    def _counting_rejections(self):
        try:
            yield
        except VideoDecodeError as exc:
            self.stats.inputs_rejected.labels(exc.code).inc()
            raise

    def receive_for_explain(self, request) -> Upload:
        """The request's video with what to explain as its options (503 first if the model is not there)."""
        clf = self.require_classifier()
        form = request.form
        uploads.check_fields(request, uploads.EXPLAIN_FIELDS)
        uploads.check_model(form.get("model"), self.served_names())
        start, end = uploads.parse_segment(form)
        options = explanations.parse_options(form, clf.classes)
        upload = uploads.save(request, self.upload_dir, options)
        upload.start, upload.end = start, end
        return upload

    def classify_now(self, upload: Upload, timeout: float) -> dict:
        """Classify on the pool and wait up to ``timeout`` seconds (the sync API); see ``run_now``."""
        return self.run_now(self.run, upload, timeout, doing="Classifying this video", kind="classify",
                            advice="for long videos submit a job (POST /jobs) instead")

    def explain_now(self, upload: Upload, timeout: float) -> dict:
        """Explain on the pool and wait up to ``timeout`` seconds; see ``run_now``."""
        return self.run_now(self.run, upload, timeout, doing="Explaining this video", kind="explain",
                            advice="ask for fewer frames (k), or try a shorter video")

    def run_now(self, task, upload: Upload, timeout: float, *, doing: str, advice: str, kind: str) -> dict:
        """Run ``task(upload)`` on the pool and wait up to ``timeout`` seconds for its answer.

        Raises QueueFull, Timeout (504, its message "<doing> took longer than ...; <advice>.";
        the task is cancelled if it has not started and stopped if it has: nobody waits for it
        any more) or the ApiError for what went wrong with the video. The upload is deleted in
        every case. ``kind`` labels the timeout in the metrics.
        """
        try:
            future = self.submit(_then_discard, task, upload, on_cancel=upload.discard, timeout=timeout,
                                 on_timeout=upload.discard)
        except BaseException:
            upload.discard()
            raise
        try:
            return future.result(timeout=timeout)
        except (FutureTimeout, TaskTimeout):
            self.pool.kill(future, "timeout")
            upload.discard()
            self.stats.timeouts.labels(kind).inc()
            raise Timeout(f"{doing} took longer than {timeout:g} s and was stopped; {advice}.") from None
        except Exception as exc:
            raise from_exception(exc, filename=upload.filename, temp_name=upload.path.name) from None

    def close(self) -> None:
        self.pool.close()


def _then_discard(task, upload: Upload) -> dict:
    """``task(upload)``, then delete the upload whatever happened (the sync endpoints' pool task)."""
    try:
        return task(upload)
    finally:
        upload.discard()


def init_app(app: Flask) -> InferenceService:
    """Start the pool and load the model (eagerly or in the background, per LOAD_MODEL)."""
    cfg = app.config
    stats = metrics.get_metrics(app)
    pool = InferencePool(cfg["INFERENCE_WORKERS"], cfg["QUEUE_SIZE"],
                         on_kill=lambda reason: stats.killed.labels(reason).inc())
    service = InferenceService(cfg["MODEL_DIR"], cfg["DEVICE"], pool, cfg["RETRY_AFTER"], stats,
                               uploads.prepare_dir(cfg["UPLOAD_DIR"]))
    stats.watch(service)
    app.extensions[EXTENSION] = service
    if cfg["LOAD_MODEL"] == "eager":
        service.load()
        if service.load_error:
            pool.close()
            raise RuntimeError(f"cannot serve: the model bundle {cfg['MODEL_DIR']} did not load "
                               f"({service.load_error}); set VIDEOCLF_MODEL to a bundle directory")
    else:
        # Not a daemon: the interpreter waits for it before exiting. A daemon thread still inside
        # torch or ONNX Runtime when a worker stops early (SIGTERM during start-up) aborts the
        # process ("terminate called without an active exception", SIGABRT) instead of exiting.
        threading.Thread(target=service.load, name="model-loader", daemon=False).start()
    return service


def get_service(app: Flask | None = None) -> InferenceService:
    """The InferenceService of ``app`` (default: the current app)."""
    return (app or current_app).extensions[EXTENSION]
