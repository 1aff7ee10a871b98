"""``/health`` (alive), ``/ready`` (database, migrations, worker heartbeat, plugin checks) and 503
"database unavailable" on every route while PostgreSQL is stopped (a throwaway cluster of our own)."""
from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import peewee as pw

from aduan import hookimpl
from aduan.db import database
from aduan.jobs import Worker
from aduan.testing import auth

_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)


def test_health_is_alive_without_touching_the_database(make_app, tmp_path):
    app = make_app()
    client = app.test_client()
    r = client.get("/health")
    assert r.status_code == 200 and r.json["status"] == "ok"
    assert r.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/health").json["status"] == "ok"


def test_ready_needs_a_recent_worker_heartbeat(make_app):
    app = make_app()
    client = app.test_client()
    r = client.get("/ready")
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert r.json["status"] == "not ready"
    assert r.json["checks"]["database"] == "ok" and r.json["checks"]["migrations"] == "ok"
    assert r.json["checks"]["worker"] == "belum ada worker yang melapor"  # Indonesian by default
    assert client.get("/ready?lang=en").json["checks"]["worker"] == "no worker has reported"

    from aduan import health
    from aduan.db import utcnow

    with app.app_context(), database.connection_context():
        health.beat("host:1:abc", utcnow())
    r = client.get("/ready")
    assert r.status_code == 200, r.json
    assert r.json == {"status": "ready", "checks": {"database": "ok", "migrations": "ok", "worker": "ok"}}

    app.config["READY_WORKER_MAX_AGE"] = 0.000001  # the heartbeat is now too old
    r = client.get("/ready?lang=en")
    assert r.status_code == 503 and r.json["checks"]["worker"].startswith("no worker seen for")


def test_worker_loop_records_and_removes_its_heartbeat(make_app):
    from aduan.models import WorkerHeartbeat

    app = make_app()
    w = Worker(app)
    t = threading.Thread(target=w.run_forever)
    t.start()
    try:
        deadline = time.monotonic() + 20
        while True:
            with app.app_context(), database.connection_context():
                if WorkerHeartbeat.select().where(WorkerHeartbeat.worker_id == w.id).exists():
                    break
            assert time.monotonic() < deadline, "the worker never recorded a heartbeat"
            time.sleep(0.05)
        assert app.test_client().get("/ready").status_code == 200
    finally:
        w.stopping.set()
        t.join(30)
    with app.app_context(), database.connection_context():
        assert not WorkerHeartbeat.select().where(WorkerHeartbeat.worker_id == w.id).exists()


def test_ready_reports_pending_migrations(make_app):
    app = make_app({"READY_WORKER_MAX_AGE": 0})
    with app.app_context(), database.connection_context():
        history = pw.Table("schema_migration", ["name"]).bind(database)
        history.delete().where(history.name.startswith("0006")).execute()
    r = app.test_client().get("/ready?lang=en")
    assert r.status_code == 503
    assert "core:0006_ops" in r.json["checks"]["migrations"] and "aduan db upgrade" in r.json["checks"]["migrations"]


class Unready:
    name = "unready"

    def __init__(self):
        self.fail = False

    @hookimpl
    def check_readiness(self, app):
        if self.fail == "raise":
            raise RuntimeError("secret detail that must not leak")
        return {"upstream": "no credentials configured" if self.fail else None}


def test_plugin_readiness_checks(make_app):
    plugin = Unready()
    app = make_app({"READY_WORKER_MAX_AGE": 0}, plugins=[plugin])
    client = app.test_client()
    assert client.get("/ready").json["checks"]["unready.upstream"] == "ok"
    plugin.fail = True
    r = client.get("/ready")
    assert r.status_code == 503 and r.json["checks"]["unready.upstream"] == "no credentials configured"
    plugin.fail = "raise"
    r = client.get("/ready")
    assert r.status_code == 503 and r.json["checks"]["unready.check"] == "pemeriksaan gagal (RuntimeError)"
    assert client.get("/ready?lang=en").json["checks"]["unready.check"] == "check failed (RuntimeError)"
    assert "secret detail" not in r.get_data(as_text=True)


throwaway_pg = ops.throwaway_pg


def test_stopped_postgres_gives_503_everywhere_and_recovers(throwaway_pg, tmp_path):
    """A real PostgreSQL, stopped and started again under a running app (in-process client)."""
    from aduan.app import create_app
    from aduan.cli import upgrade_database
    from aduan.testing import seed_basics

    app = create_app({"TESTING": True, "DATABASE_URL": throwaway_pg.url, "INSTANCE_PATH": str(tmp_path / "i"),
                      "SECRET_KEY": "s", "READY_WORKER_MAX_AGE": 0, "RATE_LIMIT_FILE": "1000/hour"})
    try:
        with app.app_context(), database.connection_context():
            upgrade_database(app)
            s = seed_basics()
        client = app.test_client()
        assert client.get("/ready").status_code == 200
        tid = client.post("/api/v1/complaints", json={"body": "Lampu jalan mati"}).json["tracking_id"]

        throwaway_pg.stop()
        r = client.get("/ready")
        assert r.status_code == 503 and r.json["checks"]["database"] == "basis data tidak tersedia"
        assert client.get("/health").status_code == 200  # the process itself is fine
        for method, path, kw in [("get", "/api/v1/complaints", {}),
                                 ("get", f"/api/v1/complaints/{tid}", {}),
                                 ("post", "/api/v1/complaints", {"json": {"body": "Sampah menumpuk"}}),
                                 ("get", "/api/v1/stats", {"headers": auth(s.coordinator)}),
                                 ("get", "/api/v1/me?lang=en", {"headers": auth(s.admin)})]:
            r = getattr(client, method)(path, **kw)
            assert r.status_code == 503, (path, r.status_code, r.get_data(as_text=True))
            assert r.is_json and r.headers["Retry-After"]
            want = "database unavailable" if "lang=en" in path else "basis data tidak tersedia"
            assert r.json["message"] == want, r.json
        assert "aduan_database_up 0.0" in client.get("/metrics").get_data(as_text=True)

        throwaway_pg.start()
        deadline = time.monotonic() + 30
        while client.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, "/ready did not recover after PostgreSQL came back"
            time.sleep(0.2)
        assert client.get(f"/api/v1/complaints/{tid}").status_code == 200
        assert client.post("/api/v1/complaints", json={"body": "Sampah menumpuk"}).status_code == 201
    finally:
        obj = database.obj
        if obj is not None and hasattr(obj, "close_all"):
            obj.close_all()
