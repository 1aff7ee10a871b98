"""pytest fixtures for aduan and plugin authors.

Enable with ``pytest_plugins = ["aduan.testing"]`` in a ``conftest.py``. Every test gets a fresh
database: a temporary SQLite file, or, when ``ADUAN_TEST_DATABASE_URL`` points at PostgreSQL, a
freshly emptied schema of that database (tests run one at a time against it).

Fixtures:

* ``make_app(config=None, plugins=())``: build an app on the test database (migrated);
* ``app`` / ``client``: one built with no plugins;
* ``seed``: agencies, a category, regions and staff tokens (:class:`Seed`; its integration token
  holds :data:`aduan.auth.LEGACY_SCOPES`);
* ``auth(token)``: the ``Authorization`` header for a token;
* ``recording_queries()``: a context manager listing the ``(sql, params)`` of every statement run
  inside it (query counts are tests; timings are not);
* ``waitress_in_thread(app)``: the app served by waitress in a thread, for clients that need a
  real socket.

Test apps use ``JOB_BACKOFF_BASE=0``: a failed job is due again at once, and
``Worker(app).run_once()`` runs each job at most once per pass, so a test of retries calls
``run_once()`` once per attempt it expects.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

TEST_DB_ENV = "ADUAN_TEST_DATABASE_URL"


def database_url_for_tests(tmp_path) -> str:
    url = os.environ.get(TEST_DB_ENV)
    if not url:
        return "sqlite:///" + str(tmp_path / "aduan-test.db")
    return url


def reset_database(url: str) -> None:
    """Empty a PostgreSQL test database (drop and recreate the public schema)."""
    if url.startswith("sqlite"):
        return
    from .db import make_database

    db = make_database(url, pool_size=1)
    db.connect()
    db.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
    db.execute_sql("CREATE SCHEMA public")
    db.close()
    if hasattr(db, "close_all"):
        db.close_all()


@dataclass
class Seed:
    agency_a: object
    agency_b: object
    category: object
    admin: str
    coordinator: str
    officer_a: str
    officer_b: str
    integration: str


def seed_basics() -> Seed:
    from .auth import LEGACY_SCOPES, create_token
    from .models import Agency, Category, User
    from .regions import load_regions

    load_regions(["52.71"])
    a = Agency.create(code="PUPR", name="Dinas PUPR")
    b = Agency.create(code="DIKES", name="Dinas Kesehatan")
    cat = Category.create(code="jalan", name="Jalan", default_agency=a, keywords="jalan rusak,lubang")
    toks = {}
    for username, role, agency in (("admin", "admin", None), ("koord", "coordinator", None),
                                   ("off_a", "officer", a), ("off_b", "officer", b), ("integ", "integration", None)):
        u = User.create(username=username, name=username.title(), role=role, agency=agency)
        scopes = LEGACY_SCOPES if role == "integration" else None  # what pre-0003 integration tokens hold
        toks[username] = create_token(u, "test", scopes=scopes)[1]
    return Seed(a, b, cat, toks["admin"], toks["koord"], toks["off_a"], toks["off_b"], toks["integ"])


def build_test_app(tmp_path, config=None, plugins=()):
    from .app import create_app
    from .cli import upgrade_database
    from .db import database

    url = database_url_for_tests(tmp_path)
    cfg = {"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path / "instance"),
           "SECRET_KEY": "test-secret", "RATE_LIMIT_FILE": "100000/hour", "RATE_LIMIT_TRACK": "100000/hour",
           "JOB_BACKOFF_BASE": 0, "WORKER_POLL_SECONDS": 0.05}
    cfg.update(config or {})
    app = create_app(cfg, plugins=plugins)
    with app.app_context(), database.connection_context():
        upgrade_database(app)
    return app


@pytest.fixture
def make_app(tmp_path):
    """Factory: ``make_app(config=None, plugins=())`` → a migrated app on a fresh test database."""
    from .db import database

    reset_database(database_url_for_tests(tmp_path))
    built = []

    def factory(config=None, plugins=()):
        app = build_test_app(tmp_path, config, plugins)
        built.append(app)
        return app

    yield factory
    obj = database.obj
    if obj is not None:
        if not obj.is_closed():
            obj.close()
        if hasattr(obj, "close_all"):
            obj.close_all()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def seed(app):
    from .db import database

    with app.app_context(), database.connection_context():
        return seed_basics()


@pytest.fixture
def db(app):
    """The app's context with a connection open, for tests that use models directly."""
    from .db import database

    with app.app_context(), database.connection_context():
        yield database


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def recording_queries():
    """Record every statement the database runs inside the block (every peewee query goes through
    ``execute_sql``): yields a list of ``(sql, params)`` that grows as they run."""
    from .db import database

    db = database.obj
    seen: list[tuple[str, object]] = []
    original = db.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        seen.append((sql, params))
        return original(sql, params, *args, **kwargs)

    db.execute_sql = execute_sql
    try:
        yield seen
    finally:
        del db.execute_sql


@contextmanager
def waitress_in_thread(wsgi_app, *, host: str = "127.0.0.1", port: int = 0, threads: int = 4):
    """Serve ``wsgi_app`` with waitress (the production server) in a thread: yields the server
    (``server.effective_port``). On exit the server is closed from its own loop, so the loop never
    waits in ``select()`` on descriptors another thread closed ("Bad file descriptor" in the
    server's thread), and its task threads stop."""
    import threading

    from waitress.server import create_server

    server = create_server(wsgi_app, host=host, port=port, threads=threads)
    thread = threading.Thread(target=server.run, name="waitress-test", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        def stop():
            server.close()  # the listening socket and the trigger
            for channel in list(server._map.values()):
                channel.close()  # open connections: the map empties and the loop returns
        server.trigger.pull_trigger(stop)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown()
