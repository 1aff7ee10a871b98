"""Database connection and migrations.

All models bind to :data:`database`, a ``DatabaseProxy`` initialised by ``create_app`` from
``DATABASE_URL``. SQLite is tuned for several processes (WAL, busy timeout, foreign keys, and
write transactions that begin ``IMMEDIATE`` so a read-then-write transaction cannot fail with
"database is locked"). Both engines use a connection pool; each request takes one connection.
"""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from urllib.parse import urlparse

import peewee
from playhouse import db_url
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

database = peewee.DatabaseProxy()

CORE_MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 30000,
    "synchronous": "normal",
}


def utcnow() -> dt.datetime:
    """Naive UTC now: every timestamp in the database is naive UTC."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def make_database(url: str, *, pool_size: int = 10) -> peewee.Database:
    """Build a peewee database from a URL (``sqlite:///path``, ``postgresql://...``)."""
    scheme = urlparse(url).scheme
    if scheme.startswith("sqlite"):
        path = url.split("://", 1)[1].split("?", 1)[0]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
        # Pooled: a request "closes" its connection back to the pool. Really closing the last
        # connection to a WAL database checkpoints the WAL and deletes it (with fsyncs) on every
        # request, which made a filing several times slower (bench/run.py). Pragmas also run
        # once per connection instead of once per request. No cap: one connection per thread.
        return PooledSqliteDatabase(path or ":memory:", pragmas=SQLITE_PRAGMAS, max_connections=None,
                                    stale_timeout=600, lock_type="IMMEDIATE", timeout=30,
                                    check_same_thread=False)
    if scheme in ("postgres", "postgresql"):
        parsed = db_url.parse(url)
        name = parsed.pop("database")
        return PooledPostgresqlDatabase(name, max_connections=pool_size, stale_timeout=300,
                                        timeout=30, autorollback=False, **parsed)
    return db_url.connect(url)


def is_postgres(db=None) -> bool:
    db = db or database.obj
    return isinstance(db, peewee.PostgresqlDatabase)


def sqlite_url(instance_path: str) -> str:
    os.makedirs(instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(instance_path, "aduan.db")


def migrate(migration_dirs: dict[str, str | Path], target: str | None = None) -> list[str]:
    """Apply pending migrations: the core first, then each plugin's, each with its own history.

    ``migration_dirs`` maps a name (``core``, ``lapor``...) to a directory of numbered scripts.
    Returns the names applied, prefixed with their owner.
    """
    applied = []
    db = database.obj
    for owner, directory in migration_dirs.items():
        table = "schema_migration" if owner == "core" else f"{owner}_schema_migration"
        runner = Runner(db, str(directory), table_name=table)
        names = runner.up(target if owner == "core" else None)
        applied.extend(f"{owner}:{n}" for n in names)
    return applied


def migration_status(migration_dirs: dict[str, str | Path]) -> list[tuple[str, str, object]]:
    rows = []
    for owner, directory in migration_dirs.items():
        table = "schema_migration" if owner == "core" else f"{owner}_schema_migration"
        for m in Runner(database.obj, str(directory), table_name=table).status():
            rows.append((owner, m.name, m.applied))
    return rows
