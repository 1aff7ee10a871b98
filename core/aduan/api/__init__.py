"""REST API (flask-smorest), mounted under ``/api/v1``."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, g, jsonify, request

from ..auth import Actor
from ..i18n import gettext as _
from ..services import Conflict, InvalidInput, ServiceError
from .parser import install as _install_parser

_install_parser()  # field messages of every flask-smorest route in the reader's language


def actor() -> Actor:
    return g.actor


def check_role(*roles: str) -> Actor:
    """The request's actor, or 401 without credentials and 403 with none of ``roles`` (any staff
    role when none is given): :func:`require` inside a view, for routes that decide late."""
    a = g.actor
    if a.role in ("public", "reporter"):
        abort(401, _("Authentication required: Authorization: Bearer <token>"))
    if roles and a.role not in roles:
        abort(403, _("This needs one of the roles: %(roles)s", roles=", ".join(roles)))
    return a


def require(*roles: str):
    """Decorator: 401 without credentials, 403 with the wrong role (:func:`check_role`)."""

    def deco(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            check_role(*roles)
            return fn(*args, **kwargs)

        wrapper._aduan_roles = roles  # for the OpenAPI security note
        return wrapper

    return deco


def client_address() -> str:
    return request.remote_addr or "unknown"


def rate_limit(name: str, config_key: str) -> None:
    """429 with Retry-After when the client exceeded the configured limit."""
    from .. import ratelimit

    spec = current_app.config[config_key]
    allowed, reset = ratelimit.hit(name, client_address(), spec, current_app.config["SECRET_KEY"])
    if not allowed:
        resp = jsonify(code=429, status="Too Many Requests", message=_("Rate limit %(limit)s exceeded; try again later.", limit=spec))
        resp.status_code = 429
        resp.headers["Retry-After"] = str(reset)
        abort(resp)


from ..listing import filter_created  # noqa: E402,F401 - where plugins found it before aduan.listing


def register(app, api) -> None:
    from . import admin, complaints, directory

    for bp in (complaints.blp, directory.blp, admin.blp):
        api.register_blueprint(bp)

    from ..app import error_fields
    from ..i18n import _

    @app.errorhandler(ServiceError)
    def _service_error(exc: ServiceError):
        # Same shape as every other error (aduan.api.schemas.Error); lazy texts become str.
        body = {"code": exc.status, "status": {404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity"}.get(
            exc.status, "Bad Request"), "message": str(exc.args[0]) if exc.args else str(exc)}
        if isinstance(exc, InvalidInput):
            body["message"] = str(_("Invalid input."))
            body["errors"] = error_fields({"_": exc.errors})
        if isinstance(exc, Conflict):
            body["allowed_actions"] = [str(x) for x in exc.allowed]
        resp = jsonify(body)
        resp.status_code = exc.status
        return resp
