"""The web service: ``create_app`` builds the Flask app (UI, API, ops and dashboard blueprints).

    from app.web import create_app
    app = create_app({"MODEL_DIR": "models/default"})

Settings come from ``app.web.config`` (defaults < VIDEOCLF_* environment < ``config``). The
classifier is loaded once per app (one app per gunicorn worker), never at import.
"""
from __future__ import annotations

import atexit

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from app.web import config as settings
from app.web import backends, batches, errors, inference, metrics
from app.web.config import REPO

csrf = CSRFProtect()
# What a page may load: only this server's own files (no CDN); thumbnails are data: URIs. Inline
# styles are allowed for the bars' widths; inline scripts are not.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(config: dict | None = None) -> Flask:
    """Build the app. ``config`` overrides the environment; see ``app.web.config.SETTINGS``.

    Raises RuntimeError for a bad setting, for DEBUG (the Werkzeug debugger runs code sent to
    it), and, with LOAD_MODEL="eager", when the model bundle does not load.
    """
    app = Flask(__name__, template_folder=str(REPO / "templates"), static_folder=str(REPO / "static"),
                instance_path=str(REPO / "var"))
    app.config.update(settings.load(config))
    if app.debug or app.config.get("DEBUG"):
        raise RuntimeError("debug mode is refused: the Werkzeug debugger lets any client run code; "
                           "unset FLASK_DEBUG / DEBUG")
    csrf.init_app(app)
    errors.init_app(app)
    metrics.init_app(app)
    service = inference.init_app(app)
    job_backend = backends.init_app(app)
    batch_feeder = batches.init_app(app, job_backend)

    from app.web import api, dashboard, ops, ui

    app.register_blueprint(ui.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(ops.bp)
    app.register_blueprint(dashboard.bp)
    csrf.exempt(api.bp)  # bearer-token (or open, localhost) API for programs: no cookies, so no CSRF
    csrf.exempt(ops.bp)

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def close():
        """Stop the inference pool and give up this app's jobs (for tests and shutdown)."""
        batch_feeder.close()
        job_backend.close()
        service.close()

    app.extensions["videoclf.close"] = close
    atexit.register(close)
    return app
