"""Configuration of the web service: defaults, then environment variables, then ``create_app(config)``.

Every setting has one Flask config key and (for those an operator sets) one ``VIDEOCLF_*``
environment variable. Values from the environment are strings and are converted here, so a bad
value fails at start-up with a message naming the variable, not later in a request.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.bundle import DEFAULT_BUNDLE, default_bundle_dir
from app.jobs.store import default_database

REPO = DEFAULT_BUNDLE.parent.parent

# key: (environment variable, type, default). A default of None means "decided in ``load``".
SETTINGS: dict[str, tuple[str, type, object]] = {
    "MODEL_DIR": ("VIDEOCLF_MODEL", str, None),
    "MODELS_DIR": ("VIDEOCLF_MODELS_DIR", str, None),
    "DEVICE": ("VIDEOCLF_DEVICE", str, None),
    "DATA_DIR": ("VIDEOCLF_DATA_DIR", str, None),
    "DATABASE": ("VIDEOCLF_DB", str, None),
    "UPLOAD_DIR": ("VIDEOCLF_UPLOAD_DIR", str, None),
    "MAX_UPLOAD_MB": ("VIDEOCLF_MAX_UPLOAD_MB", float, 200.0),
    "INFERENCE_WORKERS": ("VIDEOCLF_INFERENCE_WORKERS", int, 2),
    "QUEUE_SIZE": ("VIDEOCLF_QUEUE_SIZE", int, 6),
    "SYNC_TIMEOUT": ("VIDEOCLF_SYNC_TIMEOUT", float, 120.0),
    "JOB_TIMEOUT": ("VIDEOCLF_JOB_TIMEOUT", float, 600.0),
    "RETRY_AFTER": ("VIDEOCLF_RETRY_AFTER", int, 5),
    "JOB_TTL_HOURS": ("VIDEOCLF_JOB_TTL_HOURS", float, 168.0),
    "JOB_RECLAIM_S": ("VIDEOCLF_JOB_RECLAIM_S", float, None),  # None: app.web.jobs.RECLAIM_INTERVAL_S
    "JOB_BACKEND": ("VIDEOCLF_JOB_BACKEND", str, "inprocess"),  # checked by app.web.backends.init_app
    "BROKER": ("VIDEOCLF_BROKER", str, "redis://localhost:6379/0"),  # JOB_BACKEND=celery: the Celery broker
    "BROKER_VISIBILITY_S": ("VIDEOCLF_BROKER_VISIBILITY_S", float, 3600.0),  # a dead worker's job goes to another after this
    "BATCH_ROOT": ("VIDEOCLF_BATCH_ROOT", str, ""),  # the folder POST /batches may read ("" : batches off)
    "MAX_BATCH_ROWS": ("VIDEOCLF_MAX_BATCH_ROWS", int, 10000),
    "LOAD_MODEL": ("VIDEOCLF_LOAD_MODEL", str, "background"),
    "API_TOKEN": ("VIDEOCLF_API_TOKEN", str, ""),
    "DASHBOARD_TOKEN": ("VIDEOCLF_DASHBOARD_TOKEN", str, ""),
    "SECRET_KEY": ("VIDEOCLF_SECRET_KEY", str, None),
    "SESSION_COOKIE_SECURE": ("VIDEOCLF_COOKIE_SECURE", bool, False),
}

LOAD_MODES = ("background", "eager")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(name: str, kind: type, raw: str):
    try:
        if kind is bool:
            value = raw.strip().lower()
            if value not in _TRUE | _FALSE:
                raise ValueError
            return value in _TRUE
        return kind(raw)
    except ValueError:
        raise RuntimeError(f"{name}={raw!r} is not a valid {kind.__name__}") from None


def load(overrides: dict | None = None, environ=os.environ) -> dict:
    """The effective settings: defaults < environment < ``overrides``. Raises RuntimeError on bad values."""
    cfg: dict = {}
    for key, (env, kind, default) in SETTINGS.items():
        cfg[key] = _convert(env, kind, environ[env]) if env in environ else default
    cfg.update(overrides or {})
    if not cfg["MODEL_DIR"]:
        cfg["MODEL_DIR"] = str(default_bundle_dir())
    cfg["MODELS_DIR"] = cfg["MODELS_DIR"] or str(REPO / "models")
    data = Path(cfg["DATA_DIR"] or REPO / "var")
    cfg["DATA_DIR"] = str(data)
    cfg["DATABASE"] = cfg["DATABASE"] or str(default_database(data))
    cfg["UPLOAD_DIR"] = cfg["UPLOAD_DIR"] or str(data / "uploads")
    if cfg["JOB_RECLAIM_S"] is None:
        from app.web.jobs import RECLAIM_INTERVAL_S

        cfg["JOB_RECLAIM_S"] = RECLAIM_INTERVAL_S
    # Without a configured key every process draws its own: fine for one worker (gunicorn.conf.py
    # shares one across its workers); sessions and CSRF tokens then end with the process.
    cfg["SECRET_KEY"] = cfg["SECRET_KEY"] or secrets.token_hex(32)
    _check(cfg)
    cfg["MAX_CONTENT_LENGTH"] = int(cfg["MAX_UPLOAD_MB"] * 1024 * 1024)
    cfg.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    cfg.setdefault("SESSION_COOKIE_HTTPONLY", True)
    return cfg


def _check(cfg: dict) -> None:
    def need(ok: bool, key: str, what: str):
        if not ok:
            env = SETTINGS[key][0]
            raise RuntimeError(f"{key} ({env}) must be {what}, got {cfg[key]!r}")

    need(cfg["MAX_UPLOAD_MB"] > 0, "MAX_UPLOAD_MB", "a positive number of megabytes")
    need(cfg["INFERENCE_WORKERS"] >= 1, "INFERENCE_WORKERS", "at least 1")
    need(cfg["QUEUE_SIZE"] >= 0, "QUEUE_SIZE", "0 or more")
    need(cfg["SYNC_TIMEOUT"] > 0, "SYNC_TIMEOUT", "a positive number of seconds")
    need(cfg["JOB_TIMEOUT"] > 0, "JOB_TIMEOUT", "a positive number of seconds")
    need(cfg["RETRY_AFTER"] >= 1, "RETRY_AFTER", "at least 1 second")
    need(cfg["JOB_TTL_HOURS"] > 0, "JOB_TTL_HOURS", "a positive number of hours")
    need(cfg["MAX_BATCH_ROWS"] >= 1, "MAX_BATCH_ROWS", "at least 1")
    need(not cfg["BATCH_ROOT"] or Path(cfg["BATCH_ROOT"]).is_dir(), "BATCH_ROOT", "an existing folder (or empty: off)")
    need(cfg["BROKER_VISIBILITY_S"] > 0, "BROKER_VISIBILITY_S", "a positive number of seconds")
    need(cfg["JOB_RECLAIM_S"] >= 0, "JOB_RECLAIM_S", "0 (at start-up only) or a positive number of seconds")
    need(cfg["LOAD_MODEL"] in LOAD_MODES, "LOAD_MODEL", f"one of {LOAD_MODES}")
