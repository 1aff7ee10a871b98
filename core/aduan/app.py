"""Application factory."""
from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from apispec import BasePlugin
from flask import Blueprint, Flask, abort, g, jsonify, request
from flask_smorest import Api
from werkzeug.exceptions import HTTPException, InternalServerError

from . import __version__
from .config import CoreConfig, load_file, parse_env, validate_section
from .db import database, make_database, sqlite_url
from .i18n import _
from .edge import INT_MAX, INT_MIN, AduanRequest, BoundedIntConverter, check_request
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
    lookup_cache: dict = field(default_factory=dict)  # aduan.services: categories and regions by id/code


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
    app.request_class = AduanRequest
    # Before any route exists: every <int:…> segment, core and plugins, fits an integer column.
    app.url_map.converters["int"] = BoundedIntConverter
    raw = _raw_config(app, config)
    core = validate_section(CoreConfig(), raw)
    app.config.update({k: v for k, v in raw.items() if k.isupper()})
    app.config.update(core)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = sqlite_url(app.instance_path)
    from .keys import DEV_SECRET_KEY

    if app.config["SECRET_KEY"] == DEV_SECRET_KEY and not app.config.get("TESTING"):
        # `aduan serve` and `aduan worker` refuse this key unless DEVELOPMENT is set (cli.py).
        log.warning("SECRET_KEY is the built-in development value: set ADUAN_SECRET_KEY to a long random "
                    "value before real use (access codes, NIK encryption and reply tokens depend on it)")

    pm = build_manager(app.config["PLUGINS"], plugins)
    hooks = Hooks(pm)
    schemas = hooks.config_schemas()
    for prefix, schema in schemas.items():
        app.config.update(validate_section(schema(), raw, prefix + "_"))

    database.initialize(make_database(app.config["DATABASE_URL"], pool_size=app.config["DATABASE_POOL_SIZE"]))
    storage = make_storage(app.config, app.instance_path)
    _warn_open_files(app, getattr(storage, "root", None))
    if app.config["ATTACHMENT_MAX_BYTES"] > app.config["MAX_CONTENT_LENGTH"]:
        log.warning("ATTACHMENT_MAX_BYTES (%s) is larger than MAX_CONTENT_LENGTH (%s): uploads are refused above "
                    "the latter", app.config["ATTACHMENT_MAX_BYTES"], app.config["MAX_CONTENT_LENGTH"])
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
    # Swagger UI is served from the package (aduan/static/swagger-ui): no outside network needed.
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", SWAGGER_UI_ASSETS + "/")
    app.register_blueprint(Blueprint("swagger_ui", __name__, static_folder="static/swagger-ui",
                                     static_url_path=SWAGGER_UI_ASSETS))
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    api = AduanApi(app, spec_kwargs={"info": {"description": _API_DESCRIPTION},
                                     "extra_plugins": [MarkdownDocs()]})
    api.ma_plugin.converter.add_attribute_function(_integer_bounds)
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


#: Where the vendored Swagger UI (swagger-ui-dist, see aduan/static/swagger-ui/VERSION) is served.
SWAGGER_UI_ASSETS = "/api/v1/docs/assets"


def _error_schema():
    from .api.schemas import Error

    return Error


class AduanApi(Api):
    """flask-smorest's Api documenting aduan's error body (:class:`aduan.api.schemas.Error`)."""

    def __init__(self, *args, **kwargs):
        self.ERROR_SCHEMA = _error_schema()
        super().__init__(*args, **kwargs)


def _integer_bounds(self, field, **kwargs):
    """apispec attribute function: an integer without explicit bounds is documented with the
    database integer's (aduan.edge.INT_MIN..INT_MAX), as the request edge enforces them."""
    import marshmallow as ma

    if not isinstance(field, ma.fields.Integer):
        return {}
    ret = {}
    ranges = [v for v in field.validators if isinstance(v, ma.validate.Range)]
    if not any(r.min is not None for r in ranges):
        ret["minimum"] = INT_MIN
    if not any(r.max is not None for r in ranges):
        ret["maximum"] = INT_MAX
    return ret


def markdown_text(text: str) -> str:
    """Docstring text for the docs UI: reStructuredText ````code```` becomes Markdown ```code```."""
    return _RST_LITERAL.sub(r"`\1`", text)


def plain_text(text: str) -> str:
    """A summary line (shown unformatted by Swagger UI): no backticks at all."""
    return _RST_LITERAL.sub(r"\1", text).replace("`", "")


_RST_LITERAL = re.compile(r"``([^`]+)``")


class MarkdownDocs(BasePlugin):
    """apispec plugin: operation summaries and descriptions written as Python docstrings (RST
    literals) render cleanly in Swagger UI (Markdown descriptions, plain summaries)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for op in (operations or {}).values():
            if not isinstance(op, dict):
                continue
            if isinstance(op.get("summary"), str):
                op["summary"] = plain_text(op["summary"])
            if isinstance(op.get("description"), str):
                op["description"] = markdown_text(op["description"])


def _warn_open_files(app: Flask, attachments: str) -> None:
    """Folders and files made before aduan created them owner-only (release 0.1, a loose umask)."""
    from .files import too_open

    paths = [app.instance_path] + ([attachments] if attachments else [])
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        db = url.split("://", 1)[1].split("?", 1)[0][1:]
        paths += [db, db + "-wal", db + "-shm"]
    for line in too_open(paths):
        log.warning(line)


_API_DESCRIPTION = (
    "aduan public-complaint platform. Citizens file and follow complaints without an account "
    "(the access code returned at filing unlocks their complaint: header X-Access-Code). Staff and "
    "systems authenticate with `Authorization: Bearer <token>`. Errors are JSON with `message` and, "
    "for bad input, `errors` keyed by field."
)


def _security_map(app: Flask) -> dict[tuple[str, str], list]:
    """(URL rule, METHOD) → the operation's documented ``security`` (from the OpenAPI document)."""
    cached = app.extensions.get("aduan_security")
    if cached is not None:
        return cached
    from flask_smorest.spec.plugins import FlaskPlugin

    paths = app.extensions["aduan_api"].spec.to_dict().get("paths", {})
    found: dict[tuple[str, str], list] = {}
    for rule in app.url_map.iter_rules():
        ops = paths.get(FlaskPlugin.flaskpath2openapi(rule.rule)) or {}
        for method, op in ops.items():
            if isinstance(op, dict) and "security" in op:
                found[(rule.rule, method.upper())] = op["security"]
    app.extensions["aduan_security"] = found
    return found


def _authenticate_first(app: Flask) -> None:
    """Authenticate (401) and authorise by role (403) before any argument is validated (422).

    An operation documented for bearer tokens only answers 401 to a request without one; one that
    also accepts ``X-Access-Code`` answers 401 when neither is given; a view guarded by
    :func:`aduan.api.require` answers 403 to a wrong role. The view's own checks still run after.
    """
    rule = request.url_rule
    if rule is None or request.method == "OPTIONS":
        return
    a = g.actor
    view = app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), request.method.lower(), None)
    roles = getattr(method, "_aduan_roles", None)
    unauthenticated = a.role in ("public", "reporter")
    if roles is not None:
        if unauthenticated:
            abort(401, _("Authentication required: Authorization: Bearer <token>"))
        if roles and a.role not in roles:
            abort(403, _("This needs one of the roles: %(roles)s", roles=", ".join(roles)))
        return
    security = _security_map(app).get((rule.rule, request.method))
    if not security or not unauthenticated or {} in security:
        return
    if any("accessCode" in s for s in security) and request.headers.get("X-Access-Code"):
        return
    if any("accessCode" in s for s in security):
        abort(401, _("A token or the complaint's access code is required."))
    abort(401, _("Authentication required: Authorization: Bearer <token>"))


def _plain(value: Any) -> Any:
    """Lazy strings (and anything else) made JSON-ready: errors carry only str, lists and dicts."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def error_fields(messages: Any) -> dict[str, Any]:
    """webargs messages ``{location: {field: [msg]}}`` → ``{field: [msg]}``, merged over locations;
    a location whose whole content is wrong (``{"json": ["Not valid JSON."]}``) keeps its name."""
    if not isinstance(messages, dict):
        return {"_request": _plain(messages if isinstance(messages, list) else [messages])}
    out: dict[str, Any] = {}
    for location, value in messages.items():
        if isinstance(value, dict):
            for k, v in value.items():
                out[str(k)] = _plain(v if isinstance(v, (list, dict)) else [v])
        else:
            out[str(location)] = _plain(value if isinstance(value, list) else [value])
    return out


def _install_request_hooks(app: Flask) -> None:
    from .auth import PUBLIC, actor_for_token

    from .i18n import DEFAULT_LANGUAGE, gettext as _, http_message, normalize, requested_language

    from .health import NO_DB_ENDPOINTS

    @app.before_request
    def _connect():
        # negotiate() without parsing ?lang= and Accept-Language a second time
        g.aduan_language_requested = requested_language(request)
        g.aduan_language = g.aduan_language_requested or normalize(app.config["LANGUAGE"]) or DEFAULT_LANGUAGE
        # The edge first: nothing with a NUL, a too-deep JSON body, … reaches auth or a view.
        check_request(request)
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
        _authenticate_first(app)

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
        # A plugin serving pages for people (e.g. a portal under /portal/) renders its own error
        # pages, also for URLs no route matched: app.extensions["aduan_error_pages"] maps a path
        # prefix to a function of the exception returning a response.
        for prefix, page in app.extensions.get("aduan_error_pages", {}).items():
            if request.path.startswith(prefix):
                return page(exc)
        # The body follows the documented error schema (aduan.api.schemas.Error) exactly.
        body = {"code": exc.code, "status": exc.name, "message": http_message(exc)}
        data = getattr(exc, "data", None) or {}
        if "messages" in data:
            # flask-smorest/webargs: {"json": {"field": ["msg"]}} -> errors keyed by field
            body["errors"] = error_fields(data["messages"])
            body["message"] = str(data.get("message") or _("Invalid input."))
        elif "errors" in data:
            body["errors"] = error_fields({"_": data["errors"]}) if isinstance(data["errors"], dict) \
                else error_fields(data["errors"])
            if data.get("message"):
                body["message"] = str(data["message"])
        if "allowed" in data:
            body["allowed_actions"] = [str(x) for x in data["allowed"]]
        resp = jsonify(body)
        resp.status_code = exc.code or 500
        for k, v in (getattr(exc, "headers", None) or {}).items() if isinstance(getattr(exc, "headers", None), dict) else []:
            resp.headers[k] = v
        return resp

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        message = _("Internal error; it has been logged.")
        # pages for people stay pages (a citizen's phone showed the JSON below), unless that fails too
        for prefix, page in app.extensions.get("aduan_error_pages", {}).items():
            if request.path.startswith(prefix):
                try:
                    return page(InternalServerError(description=message))
                except Exception:  # noqa: BLE001 - the plain answer below
                    log.exception("the error page failed too on %s %s", request.method, request.path)
        return jsonify(code=500, status="Internal Server Error", message=message), 500
