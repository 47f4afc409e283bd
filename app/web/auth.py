"""Optional access control: a bearer token for the API, a separate token login for the dashboard.

Both are off when their token is not configured (the server binds to 127.0.0.1 by default).
Tokens are compared in constant time. The dashboard login keeps a flag in Flask's signed
session cookie; its form is CSRF-protected like every form of the app.
"""
from __future__ import annotations

import hmac

from flask import current_app, request, session

from app.web.errors import Unauthorized

SESSION_KEY = "dashboard"


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def require_api_token() -> None:
    """``before_request`` hook of API blueprints: 401 unless ``Authorization: Bearer <API_TOKEN>``."""
    expected = current_app.config["API_TOKEN"]
    if not expected:
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token_matches(given.strip(), expected):
        raise Unauthorized("This API needs a bearer token: send the header 'Authorization: Bearer <token>'.",
                           headers={"WWW-Authenticate": 'Bearer realm="videoclf"'})


def dashboard_open() -> bool:
    """True when no dashboard token is configured or this session has logged in."""
    return not current_app.config["DASHBOARD_TOKEN"] or session.get(SESSION_KEY) is True


def log_in_dashboard(token: str | None) -> bool:
    """Mark the session as logged in if ``token`` is the dashboard token."""
    if token_matches(token, current_app.config["DASHBOARD_TOKEN"]):
        session.clear()  # a fresh session at a privilege change
        session[SESSION_KEY] = True
        return True
    return False


def log_out_dashboard() -> None:
    session.pop(SESSION_KEY, None)
