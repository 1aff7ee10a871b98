"""Calling the core's (and plugins') API routes from a portal page, as the signed-in staff member.

The administration pages and the plugin panels change nothing themselves: each form becomes one
request to the API route that owns the change (``POST /api/v1/agencies``, ``PUT
/api/v1/plugins/lapor/mappings/…``), run through the whole application (request edge, role checks,
marshmallow validation, the route's transaction), so the portal can never write what the API would
refuse. The request is built in the server (never sent over the network) and carries the staff
member as the actor in a WSGI environ key, which no HTTP client can set; field messages come back
in the reader's language.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, g, request
from werkzeug.test import EnvironBuilder, run_wsgi_app

#: WSGI environ key carrying the :class:`aduan.auth.Actor` of an internal call (see ``actor_from_request``)
ACTOR_KEY = "aduan_portal.internal_actor"


@dataclass
class ApiResult:
    status: int
    body: Any = None
    errors: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def internal_actor(req) -> Any:
    """The actor of an internal call (``None`` for every request from outside)."""
    return req.environ.get(ACTOR_KEY)


def call(actor, method: str, path: str, body: Any = None, query: dict | None = None) -> ApiResult:
    """Run ``method path`` through the application as ``actor``; the JSON answer and its field messages."""
    import json

    from aduan.i18n import current_language

    if not path.startswith("/api/v1/"):
        raise ValueError(f"not an API path: {path!r}")
    app = current_app._get_current_object()
    builder = EnvironBuilder(path=path, method=method.upper(), query_string=query,
                             json=body if body is not None and method.upper() != "GET" else None,
                             headers={"Accept": "application/json", "Accept-Language": current_language()},
                             environ_base={"REMOTE_ADDR": request.remote_addr or "127.0.0.1"})
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ[ACTOR_KEY] = actor
    with app.app_context():  # a fresh ``g`` for the inner request; the outer page's stays as it is
        app_iter, status, _headers = run_wsgi_app(app.wsgi_app, environ, buffered=True)
        data = b"".join(app_iter)
        if hasattr(app_iter, "close"):
            app_iter.close()
    code = int(status.split()[0])
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    result = ApiResult(code, parsed)
    if not result.ok and isinstance(parsed, dict):
        result.message = str(parsed.get("message") or "")
        errors = parsed.get("errors") or {}
        if isinstance(errors, dict):
            result.errors = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()}
    g.setdefault("aduan_portal_calls", []).append((method.upper(), path, code))
    return result
