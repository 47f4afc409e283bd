"""Optional access control: a bearer token for the API, a separate token login for the dashboard.

Both are off when their token is not configured (the server binds to 127.0.0.1 by default).
With the API token set, everything that classifies, explains or shows results needs it: API
clients send it as a bearer header; the upload page (which classifies through its own routes)
asks for it once at ``/login`` and keeps a flag in Flask's signed session cookie; the dashboard
then needs that login too unless it has its own token. Tokens are compared in constant time;
the login forms are CSRF-protected like every form of the app.
"""
from __future__ import annotations

import hmac

from flask import current_app, request, session

from app.web.errors import Unauthorized

SESSION_KEY = "dashboard"
PAGE_KEY = "page"


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def safe_target(target: str, default: str) -> str:
    """``target`` when it is a path on this server (a login's ``next``), else ``default``."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def _bearer_ok(expected: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token_matches(given.strip(), expected)


def require_api_token() -> None:
    """``before_request`` hook of API blueprints: 401 unless ``Authorization: Bearer <API_TOKEN>``."""
    expected = current_app.config["API_TOKEN"]
    if not expected:
        return
    if not _bearer_ok(expected):
        raise Unauthorized("This API needs a bearer token: send the header 'Authorization: Bearer <token>'.",
                           headers={"WWW-Authenticate": 'Bearer realm="videoclf"'})


def page_open() -> bool:
    """True when no API token is configured, this session logged in with it, or the request carries it."""
    expected = current_app.config["API_TOKEN"]
    return not expected or session.get(PAGE_KEY) is True or _bearer_ok(expected)


def log_in_page(token: str | None) -> bool:
    """Mark the session as logged in to the upload page if ``token`` is the API token."""
    if token_matches(token, current_app.config["API_TOKEN"]):
        dashboard = session.get(SESSION_KEY)
        session.clear()  # a fresh session at a privilege change
        session[PAGE_KEY] = True
        if dashboard:
            session[SESSION_KEY] = True
        return True
    return False


def dashboard_open() -> bool:
    """True when this session may see the dashboard: its own token's login when it has one, else the page's."""
    if current_app.config["DASHBOARD_TOKEN"]:
        return session.get(SESSION_KEY) is True
    return page_open()


def log_in_dashboard(token: str | None) -> bool:
    """Mark the session as logged in if ``token`` is the dashboard token."""
    if token_matches(token, current_app.config["DASHBOARD_TOKEN"]):
        page = session.get(PAGE_KEY)
        session.clear()  # a fresh session at a privilege change
        session[SESSION_KEY] = True
        if page:
            session[PAGE_KEY] = True
        return True
    return False


def log_out() -> None:
    session.pop(SESSION_KEY, None)
    session.pop(PAGE_KEY, None)
