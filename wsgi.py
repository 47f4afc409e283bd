"""WSGI entry point: ``gunicorn -c gunicorn.conf.py wsgi:app``.

Importing this module builds the app, so gunicorn must import it in each worker (no
``preload_app``): every worker then loads its own model. Settings: VIDEOCLF_* variables (README).
"""
import logging

from app.web import create_app

# Under gunicorn, the app's log lines go where gunicorn's go, at its level.
_gunicorn = logging.getLogger("gunicorn.error")
if _gunicorn.handlers:
    logging.getLogger("app").handlers = _gunicorn.handlers
    logging.getLogger("app").setLevel(_gunicorn.level)

app = create_app()
