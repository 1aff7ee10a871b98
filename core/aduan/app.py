"""Application factory."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from flask import Flask, g, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from . import __version__
from .config import CoreConfig, load_file, parse_env, validate_section
from .db import database, make_database, sqlite_url
from .plugins import Hooks, build_manager
from .sla import Calendar, calendar_from_config
from .storage import Storage, make_storage

log = logging.getLogger("aduan")


@dataclass
class AduanState:
    """What ``app.extensions["aduan"]`` holds: the plugin manager and the shared services."""

    pm: Any
    hooks: Hooks
    calendar: Calendar
    storage: Storage
    config_schemas: dict[str, Any]
    job_handlers: dict[str, Any] = field(default_factory=dict)
    schedules: list = field(default_factory=list)
    exporters: dict[str, Any] = field(default_factory=dict)
    models: list = field(default_factory=list)
    migrations: dict[str, str] = field(default_factory=dict)


def _raw_config(app: Flask, mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    path = os.environ.get("ADUAN_CONFIG") or os.path.join(app.instance_path, "aduan.cfg")
    if os.path.exists(path):
        raw.update(load_file(path))
    env = parse_env()
    env.pop("CONFIG", None)
    env.pop("INSTANCE_PATH", None)
    raw.update(env)
    raw.update(mapping or {})
    return raw


def create_app(config: Mapping[str, Any] | None = None, *, plugins: Iterable[Any] = ()) -> Flask:
    """Build the aduan application.

    :param config: highest-precedence configuration (tests, embedding).
    :param plugins: plugin objects registered in addition to the names in ``PLUGINS``.
    """
    instance = (config or {}).get("INSTANCE_PATH") or os.environ.get("ADUAN_INSTANCE_PATH") or \
        os.path.join(os.getcwd(), "instance")
    app = Flask("aduan", instance_path=os.path.abspath(instance))
    raw = _raw_config(app, config)
    core = validate_section(CoreConfig(), raw)
    app.config.update({k: v for k, v in raw.items() if k.isupper()})
    app.config.update(core)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = sqlite_url(app.instance_path)
    if app.config["SECRET_KEY"] == CoreConfig().fields["SECRET_KEY"].load_default and not app.config.get("TESTING"):
        log.warning("SECRET_KEY is the built-in development value: set ADUAN_SECRET_KEY to a long random "
                    "value before real use (access codes, NIK encryption and reply tokens depend on it)")

    pm = build_manager(app.config["PLUGINS"], plugins)
    hooks = Hooks(pm)
    schemas = hooks.config_schemas()
    for prefix, schema in schemas.items():
        app.config.update(validate_section(schema(), raw, prefix + "_"))

    database.initialize(make_database(app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"]))
    storage = make_storage(app.config, app.instance_path)
    st = AduanState(pm=pm, hooks=hooks, calendar=calendar_from_config(app.config), storage=storage,
                    config_schemas=schemas)
    app.extensions["aduan"] = st
    with app.app_context():
        st.job_handlers = hooks.jobs()
        st.schedules = hooks.schedules()
        st.exporters = hooks.exporters()
        st.models = hooks.models()
        st.migrations = hooks.migrations()

    app.config.setdefault("API_TITLE", "aduan")
    app.config["API_VERSION"] = __version__
    app.config["OPENAPI_VERSION"] = "3.1.0"
    app.config["OPENAPI_URL_PREFIX"] = "/api/v1"
    app.config["OPENAPI_JSON_PATH"] = "openapi.json"
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", "https://cdn.jsdelivr.net/npm/swagger-ui-dist/")
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    api = Api(app, spec_kwargs={"info": {"description": _API_DESCRIPTION}})
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    api.spec.components.security_scheme("accessCode", {"type": "apiKey", "in": "header", "name": "X-Access-Code"})
    app.extensions["aduan_api"] = api

    from .api import register as register_api

    register_api(app, api)
    from flask_smorest import Blueprint as SmorestBlueprint

    for bp in hooks.blueprints(app):
        if isinstance(bp, SmorestBlueprint):
            api.register_blueprint(bp)
        else:
            app.register_blueprint(bp)

    for cmd in hooks.commands():
        app.cli.add_command(cmd)
    # SQL debug logs would carry query parameters (names, phone numbers): keep peewee quiet.
    logging.getLogger("peewee").setLevel(logging.WARNING)
    from . import health

    health.init_app(app)  # request ids, access log, metrics, /health /ready /metrics, 503 on a down database
    _install_request_hooks(app)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)
    hooks.startup(app)
    return app


_API_DESCRIPTION = (
    "aduan public-complaint platform. Citizens file and follow complaints without an account "
    "(the access code returned at filing unlocks their complaint: header X-Access-Code). Staff and "
    "systems authenticate with `Authorization: Bearer <token>`. Errors are JSON with `message` and, "
    "for bad input, `errors` keyed by field."
)


def _install_request_hooks(app: Flask) -> None:
    from .auth import PUBLIC, actor_for_token

    from .i18n import gettext as _, http_message, negotiate, requested_language

    from .health import NO_DB_ENDPOINTS

    @app.before_request
    def _connect():
        g.aduan_language_requested = requested_language(request)
        g.aduan_language = negotiate(request, app.config["LANGUAGE"])
        if request.endpoint in NO_DB_ENDPOINTS:
            return None
        g.aduan_opened_db = database.connect(reuse_if_open=True)
        g.actor = PUBLIC
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            actor = actor_for_token(header[7:].strip())
            if actor is None:
                return jsonify(code=401, status="Unauthorized", message=_("Invalid or revoked token.")), 401
            g.actor = actor
        else:
            actor = app.extensions["aduan"].hooks.actor_from_request(request)
            if actor is not None:
                g.actor = actor

    @app.after_request
    def _language_header(resp):
        lang = g.get("aduan_language")
        if lang:
            resp.headers.setdefault("Content-Language", lang)
            resp.vary.add("Accept-Language")
        return resp

    @app.teardown_request
    def _close(exc):
        # Close only a connection this request opened (a CLI command or a test may hold its own).
        if g.get("aduan_opened_db") and not database.is_closed():
            database.close()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        body = {"code": exc.code, "status": exc.name, "message": http_message(exc)}
        data = getattr(exc, "data", None) or {}
        if "messages" in data:
            # flask-smorest/webargs: {"json": {"field": ["msg"]}} -> errors keyed by field
            msgs = data["messages"]
            body["errors"] = msgs.get("json") or msgs.get("form") or msgs.get("files") or msgs.get("query") or msgs
            body["message"] = _("Invalid input.")
        elif "errors" in data:
            body["errors"] = data["errors"]
        if "allowed" in data:
            body["allowed_actions"] = data["allowed"]
        resp = jsonify(body)
        resp.status_code = exc.code or 500
        for k, v in (getattr(exc, "headers", None) or {}).items() if isinstance(getattr(exc, "headers", None), dict) else []:
            resp.headers[k] = v
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return jsonify(code=500, status="Internal Server Error",
                       message=_("Internal error; it has been logged.")), 500
