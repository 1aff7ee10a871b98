"""Operations endpoints and per-request plumbing: ``/health``, ``/ready``, ``/metrics``, request ids,
the access log, and 503 "database unavailable" instead of a 500 when the database cannot be reached.

* ``GET /health``: the process is alive and answering (touches nothing else). For liveness probes.
* ``GET /ready``: this process can serve real traffic: the database answers, every migration of the
  core and of each enabled plugin is applied, a worker reported within ``READY_WORKER_MAX_AGE``
  seconds, and each plugin's own checks (hook ``check_readiness``) pass. 200 or 503, with each
  check's result. For load balancers and orchestrators.
* ``GET /metrics``: Prometheus (:mod:`aduan.metrics`).

These three need no database connection from the request machinery (``/health`` and ``/metrics``
answer while the database is down). Worker heartbeats are written by :func:`beat`.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time

import peewee as pw
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request

from .db import database, utcnow
from .i18n import _
from .logs import new_request_id, request_id_var

log = logging.getLogger("aduan")
access_log = logging.getLogger("aduan.access")

bp = Blueprint("core_ops", __name__)

#: Endpoints that must not open a database connection before the view runs.
NO_DB_ENDPOINTS = {"core_ops.health", "core_ops.ready", "core_ops.metrics", "admin.Health"}


def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/health")
def health():
    from . import __version__

    return _no_store(jsonify(status="ok", version=__version__))


def readiness(app: Flask) -> tuple[bool, dict[str, str]]:
    """Run every check; returns (ready, {check: "ok" or reason})."""
    from .db import migration_status
    from .models import WorkerHeartbeat

    checks: dict[str, str] = {}
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1")
            checks["database"] = "ok"
            st = app.extensions["aduan"]
            tables = set(database.get_tables())
            pending = []
            for owner in st.migrations:
                table = "schema_migration" if owner == "core" else f"{owner}_schema_migration"
                if table not in tables:
                    pending.append(f"{owner}:*")
            if not pending:
                pending = [f"{owner}:{name}" for owner, name, applied in migration_status(st.migrations) if not applied]
            owners = set(st.migrations)
            pending += [f"table:{m._meta.table_name}" for m in st.models
                        if m.__module__.split(".")[0].replace("aduan_", "") not in owners
                        and m._meta.table_name not in tables]
            checks["migrations"] = "ok" if not pending else _("pending: %(names)s (run aduan db upgrade)",
                                                             names=", ".join(pending[:10]))
            max_age = app.config["READY_WORKER_MAX_AGE"]
            if max_age:
                if "worker_heartbeat" not in tables:
                    checks["worker"] = _("no worker has reported")
                else:
                    last = WorkerHeartbeat.select(pw.fn.MAX(WorkerHeartbeat.seen_at)).scalar()
                    if isinstance(last, str):
                        last = dt.datetime.fromisoformat(last)
                    if last is None:
                        checks["worker"] = _("no worker has reported")
                    else:
                        age = (utcnow() - last).total_seconds()
                        checks["worker"] = "ok" if age <= max_age else _(
                            "no worker seen for %(n)d seconds", n=int(age))
            if checks["migrations"] == "ok":
                for name, reason in st.hooks.readiness(app).items():
                    checks[name] = "ok" if not reason else str(reason)
    except (pw.OperationalError, pw.InterfaceError) as exc:
        log.warning("ready: database unavailable (%s)", type(exc).__name__)
        discard_broken_connection()
        checks["database"] = _("database unavailable")
    ready = all(v == "ok" for v in checks.values())
    return ready, checks


@bp.get("/ready")
def ready():
    ok, checks = readiness(current_app)
    resp = jsonify(status="ready" if ok else "not ready", checks=checks)
    resp.status_code = 200 if ok else 503
    if not ok:
        resp.headers["Retry-After"] = "5"
    return _no_store(resp)


@bp.get("/metrics")
def metrics():
    from . import metrics as m

    app = current_app._get_current_object()
    if not m.allowed(app, request):
        resp = jsonify(code=403, status="Forbidden",
                       message=_("metrics need Authorization: Bearer <METRICS_TOKEN> or an address in METRICS_ALLOW"))
        resp.status_code = 403
        return resp
    body, ctype = m.render(app, request.headers.get("Accept"))
    return _no_store(Response(body, content_type=ctype))


def discard_broken_connection() -> None:
    """After a connection error, drop this thread's connection instead of returning it to the pool
    (a pooled connection to a restarted server would fail the next request too)."""
    try:
        if not database.is_closed():
            closer = getattr(database.obj, "manual_close", None)
            (closer or database.close)()
    except Exception:  # noqa: BLE001 - best effort: the connection is broken anyway
        pass


def database_unavailable(exc: Exception):
    """503 for a database that cannot be reached (down, restarting, refusing connections, locked)."""
    log.warning("database unavailable on %s %s: %s", request.method, _route(), type(exc).__name__)
    discard_broken_connection()
    resp = jsonify(code=503, status="Service Unavailable", message=str(_("database unavailable")))
    resp.status_code = 503
    resp.headers["Retry-After"] = "5"
    return resp


def _route() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def init_app(app: Flask) -> None:
    """Register the endpoints, request ids, the access log, request metrics and the 503 handler.
    Called by ``create_app`` before the request hooks that open a database connection."""
    from .metrics import observe_request

    app.register_blueprint(bp)
    app.register_error_handler(pw.OperationalError, database_unavailable)
    app.register_error_handler(pw.InterfaceError, database_unavailable)

    @app.before_request
    def _start():
        g.aduan_started = time.perf_counter()
        g.aduan_request_id = new_request_id(request.headers.get("X-Request-ID"))
        g.aduan_request_token = request_id_var.set(g.aduan_request_id)

    @app.after_request
    def _finish(resp):
        rid = g.get("aduan_request_id")
        if rid:
            resp.headers["X-Request-ID"] = rid
        started = g.get("aduan_started")
        if started is None:
            return resp
        took = time.perf_counter() - started
        route = _route()
        observe_request(request.method, route, resp.status_code, took)
        if app.config.get("ACCESS_LOG", True):
            actor = g.get("actor")
            access_log.info("%s %s %s %.1fms", request.method, route, resp.status_code, took * 1000,
                            extra={"method": request.method, "route": route, "status": resp.status_code,
                                   "duration_ms": round(took * 1000, 1),
                                   "role": getattr(actor, "role", None) or "public"})
        return resp

    @app.teardown_request
    def _forget(exc):
        token = g.pop("aduan_request_token", None)
        if token is not None:
            try:
                request_id_var.reset(token)
            except ValueError:  # set in another context (streamed response): just clear it
                request_id_var.set(None)


# --- worker heartbeats ---------------------------------------------------------------------------

def beat(worker_id: str, started_at: dt.datetime) -> None:
    """Record that a worker is alive (insert or update its row)."""
    from .models import WorkerHeartbeat

    now = utcnow()
    with database.atomic():
        WorkerHeartbeat.insert(worker_id=worker_id, hostname=socket.gethostname()[:255], pid=os.getpid(),
                               started_at=started_at, seen_at=now).on_conflict(
            conflict_target=[WorkerHeartbeat.worker_id], update={WorkerHeartbeat.seen_at: now}).execute()


def forget_worker(worker_id: str) -> None:
    """A worker that stops cleanly removes its row (and rows of workers silent for a day)."""
    from .models import WorkerHeartbeat

    with database.atomic():
        WorkerHeartbeat.delete().where((WorkerHeartbeat.worker_id == worker_id) |
                                       (WorkerHeartbeat.seen_at < utcnow() - dt.timedelta(days=1))).execute()
