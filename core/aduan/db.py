"""Database connection and migrations.

All models bind to :data:`database`, a ``DatabaseProxy`` initialised by ``create_app`` from
``DATABASE_URL``. SQLite is tuned for several processes (WAL, busy timeout, foreign keys, and
write transactions that begin ``IMMEDIATE`` so a read-then-write transaction cannot fail with
"database is locked"). Both engines use a connection pool; each request takes one connection.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from pathlib import Path
from urllib.parse import urlparse

import peewee
from playhouse import db_url
from playhouse.migrations import Runner
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

from .files import private_dir, private_file

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


class PooledPostgres(PooledPostgresqlDatabase):
    """peewee's pool, without a ``SELECT 1`` round trip (under the pool's lock) at every checkout.

    peewee asks the server whether each connection it hands out is still alive. Under load that
    round trip, taken while every other thread waits for the pool lock, limited filings to about
    half of what the server could do (bench/HISTORY.md). A connection that went back to the pool
    less than ``RECHECK_SECONDS`` ago and is idle by the driver's own (local) status is handed out
    as it is; one that waited longer is checked as before, so a server restart or a connection cut
    while idle is still noticed before a request uses it.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._returned_at: dict = {}

    def _close(self, conn, close_conn=False):
        self._returned_at[self.conn_key(conn)] = time.monotonic()
        return super()._close(conn, close_conn=close_conn)

    def _is_closed(self, conn):
        if conn.closed:
            return True
        back = self._returned_at.pop(self.conn_key(conn), None)
        if (back is not None and time.monotonic() - back < self.RECHECK_SECONDS
                and self._adapter.txn_status(conn) == self._adapter.txn_idle):
            return False
        return super()._is_closed(conn)


def make_database(url: str, *, pool_size: int = 10) -> peewee.Database:
    """Build a peewee database from a URL (``sqlite:///path``, ``postgresql://...``)."""
    scheme = urlparse(url).scheme
    if scheme.startswith("sqlite"):
        path = url.split("://", 1)[1].split("?", 1)[0]
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
        if path and path != ":memory:" and not path.startswith("file:"):
            # Owner-only before SQLite opens it: SQLite gives -wal and -shm the database file's mode.
            private_file(path)
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
        # An unreachable server (host down, packets dropped) must fail fast with 503, not hang requests.
        parsed.setdefault("connect_timeout", 5)
        return PooledPostgres(name, max_connections=pool_size, stale_timeout=300,
                                        timeout=30, autorollback=False, **parsed)
    return db_url.connect(url)


def is_postgres(db=None) -> bool:
    db = db or database.obj
    return isinstance(db, peewee.PostgresqlDatabase)


def sqlite_url(instance_path: str) -> str:
    private_dir(instance_path)
    return "sqlite:///" + os.path.join(instance_path, "aduan.db")


#: PostgreSQL advisory lock key held while migrating (any constant; the same in every process).
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"aduan:migrate").digest()[:8], "big", signed=True)


@contextlib.contextmanager
def migration_lock(db=None):
    """Hold a lock that every process upgrading this database takes first.

    Web processes and workers often start together and each runs ``aduan db upgrade``: without
    the lock both read "0001 pending" and the second fails creating a table that now exists.
    PostgreSQL: a session advisory lock. SQLite: ``flock`` on a file next to the database (a
    transaction cannot wrap migrations there: ``PRAGMA foreign_keys`` is ignored inside one).
    """
    db = db or database.obj
    if is_postgres(db):
        db.execute_sql("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            yield
        finally:
            db.execute_sql("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        return
    path = getattr(db, "database", None)
    if isinstance(db, peewee.SqliteDatabase) and path and path != ":memory:" and not path.startswith("file:"):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: one process at a time, please
            yield
            return
        private_file(path + ".migrate-lock")
        with open(path + ".migrate-lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    yield


def migrate(migration_dirs: dict[str, str | Path], target: str | None = None) -> list[str]:
    """Apply pending migrations: the core first, then each plugin's, each with its own history.

    ``migration_dirs`` maps a name (``core``, ``lapor``...) to a directory of numbered scripts.
    Returns the names applied, prefixed with their owner. Safe to run from several processes at
    once (:func:`migration_lock`): one applies, the others wait and find nothing left to do.
    """
    applied = []
    db = database.obj
    with migration_lock(db):
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


def create_search_indexes(db=None) -> bool:
    """PostgreSQL: the ``pg_trgm`` trigram GIN indexes on ``complaint.title`` and ``complaint.body``
    that serve the lists' ``q`` search (migration 0011 makes them when it can; ``aduan db
    search-index`` after an administrator installed the extension). Returns whether they exist;
    SQLite: False (``q`` scans, which is fast enough at a regency's size)."""
    db = db or database.obj
    if not is_postgres(db):
        return False
    try:
        with db.atomic():  # a savepoint: a refusal must not abort a caller's transaction
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except peewee.DatabaseError:
        pass
    if not db.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone():
        return False
    for col in ("title", "body"):
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "complaint_{col}_trgm" ON "complaint" '
                       f'USING gin ("{col}" gin_trgm_ops)')
    return True


_INSERT_SQL: dict = {}


def _returning_ok(db) -> bool:
    import sqlite3

    return is_postgres(db) or sqlite3.sqlite_version_info >= (3, 35, 0)


def create_row(model, *, unless_taken: str | None = None, **values):
    """``model.create(**values)`` with the INSERT's SQL text built by peewee once per model, column
    set and engine, then reused: building the statement was about 40% of a filing (bench/HISTORY.md).
    Same result as ``create``: defaults applied, the new primary key set, the instance returned.

    ``unless_taken``: the name of a unique column; when its value is already taken, nothing is
    written and ``None`` is returned (``ON CONFLICT (column) DO NOTHING``: no savepoint needed to
    try another value, and the transaction stays usable)."""
    inst = model(**values)
    meta = model._meta
    pk = meta.primary_key
    data = inst.__data__
    fields = [f for f in meta.sorted_fields if f.name in data and not (f is pk and data[f.name] is None)]
    db = database.obj
    pg = is_postgres(db)
    if unless_taken and not _returning_ok(db):  # pragma: no cover - SQLite older than 3.35
        try:
            with db.atomic():
                return create_row(model, **values)
        except peewee.IntegrityError:
            return None
    key = (model, tuple(f.name for f in fields), pg, unless_taken)
    sql = _INSERT_SQL.get(key)
    if sql is None:
        q = model.insert({f: data[f.name] for f in fields})
        if pg or unless_taken:
            q = q.returning(pk)
        sql = db.get_sql_context().sql(q).query()[0]
        if unless_taken:  # values are parameters: the only " RETURNING " is peewee's
            col = meta.fields[unless_taken].column_name
            sql = sql.replace(" RETURNING ", f' ON CONFLICT ("{col}") DO NOTHING RETURNING ', 1)
        _INSERT_SQL[key] = sql
    params = [f.db_value(data[f.name]) for f in fields]
    cursor = db.execute_sql(sql, params)
    if unless_taken:
        row = cursor.fetchone()
        if row is None:
            return None
        inst._pk = row[0]
    elif data.get(pk.name) is None:
        inst._pk = cursor.fetchone()[0] if pg else cursor.lastrowid
    inst._dirty.clear()
    return inst


_PROJECTIONS: dict = {}


def _joined(q, model, related):
    for name, rel in related.items():
        fk = model._meta.fields[name]
        q = q.join(rel, peewee.JOIN.LEFT_OUTER, on=(fk == fk.rel_field)).switch(model)
    return q


def select_related(model, related: dict[str, type]) -> peewee.ModelSelect:
    """``SELECT model.*, <each related model>.* FROM model LEFT OUTER JOIN …`` on ``model``'s foreign
    keys named in ``related`` (``{"agency": Agency, …}``). Filter and order it like any query, then
    read it with :func:`fetch_related`.

    The column list (some 80 columns for a complaint and its four related rows) is compiled by
    peewee once per engine and reused as SQL text: the first call checks that the reused text gives
    exactly the statement peewee builds, and keeps building it field by field if not."""
    key = (model, tuple(related.items()), is_postgres())
    projection = _PROJECTIONS.get(key)
    if projection is None:
        fields = list(model._meta.sorted_fields)
        for rel in related.values():
            fields += rel._meta.sorted_fields
        full = _joined(model.select(*fields), model, related)
        sql = full.sql()[0]
        text = sql[len("SELECT "):sql.index(" FROM ")]
        same = _joined(model.select(peewee.SQL(text)), model, related).sql()[0] == sql
        projection = _PROJECTIONS[key] = (text if same else False, fields)
    text, fields = projection
    if text:
        return _joined(model.select(peewee.SQL(text)), model, related)
    return _joined(model.select(*fields), model, related)


#: Field classes whose ``python_value`` leaves psycopg2's value as it is (a str, int, bool, float,
#: date or naive datetime): on PostgreSQL their values are taken without the call. Exact classes
#: only: a subclass may convert (an encrypted or JSON field).
_NATIVE_ON_POSTGRES = {peewee.CharField, peewee.TextField, peewee.IntegerField, peewee.BigIntegerField,
                       peewee.SmallIntegerField, peewee.AutoField, peewee.BigAutoField, peewee.BooleanField,
                       peewee.FloatField, peewee.DoubleField, peewee.DateTimeField, peewee.DateField}
_CONVERTERS: dict = {}


def _converters(fields, pg: bool) -> list:
    """``[(name, python_value or None), …]`` for ``fields`` on this engine (None: the driver's value is kept)."""
    key = (tuple(fields), pg)
    conv = _CONVERTERS.get(key)
    if conv is None:
        def native(f):
            while isinstance(f, peewee.ForeignKeyField):
                f = f.rel_field
            return pg and type(f) in _NATIVE_ON_POSTGRES
        conv = _CONVERTERS[key] = [(f.name, None if native(f) else f.python_value) for f in fields]
    return conv


def _instance(model, fields, row, start: int, conv: list | None = None):
    data = {}
    for i, (name, py) in enumerate(conv or _converters(fields, is_postgres()), start):
        v = row[i]
        data[name] = v if v is None or py is None else py(v)
    inst = model.__new__(model)  # what Model.__init__(__no_default__=True) sets, without a setattr per field
    inst.__data__, inst._dirty, inst.__rel__ = data, set(), {}
    return inst


def fetch_related(query: peewee.ModelSelect, model, related: dict[str, type]) -> list:
    """The rows of a :func:`select_related` query as ``model`` instances, each related instance in
    place (``complaint.agency`` reads no more rows; a missing one is ``None``). Same instances as
    iterating the query, built without peewee's per-column ``setattr`` and join analysis: that was
    most of a staff list page's time in Python (bench/HISTORY.md)."""
    sql, params = query.sql()
    cursor = database.execute_sql(sql, params)
    pg = is_postgres()
    root_fields = model._meta.sorted_fields
    root_conv = _converters(root_fields, pg)
    spec, at = [], len(root_fields)
    for name, rel in related.items():
        rf = rel._meta.sorted_fields
        spec.append((name, rel, rf, at + rf.index(rel._meta.primary_key), _converters(rf, pg)))
        at += len(rf)
    out = []
    for row in cursor.fetchall():
        inst = _instance(model, root_fields, row, 0, root_conv)
        start = len(root_fields)
        for name, rel, rf, pk_at, conv in spec:
            if row[pk_at] is None:
                inst.__rel__[name] = None  # no such row: known absent, no lazy query
            else:
                inst.__rel__[name] = _instance(rel, rf, row, start, conv)
            start += len(rf)
        out.append(inst)
    return out


def _as_is(value):
    return value


def among(field, values) -> peewee.Expression:
    """``field IN (values)`` with the whole list as one bound parameter: ``= ANY(%s)`` (an array) on
    PostgreSQL, ``IN (SELECT value FROM json_each(?))`` on SQLite. Same rows as ``field.in_(values)``
    and the same index use, without peewee turning each of a page's ids into a parameter of its own
    (what most of a list page's plugin queries cost in Python). For integer and text values."""
    values = [field.db_value(v) for v in values]
    if is_postgres():  # the list as it is (no converter: psycopg2 sends a Python list as an array)
        return peewee.Expression(field, "=", peewee.fn.ANY(peewee.Value(values, converter=_as_is, unpack=False)))
    return peewee.Expression(field, "IN", peewee.SQL("(SELECT value FROM json_each(?))", [json.dumps(values)]))


# Reads and updates of one row by equality, their SQL text built once per shape (like create_row's
# INSERT): peewee spent more time building these statements than the database spent running them
# (bench/HISTORY.md, LAPOR! backlog).
_ROW_SQL: dict = {}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _select_sql(model, by: tuple[str, ...], related: tuple[str, ...], for_update: bool, pg: bool, param: str):
    key = ("select", model, by, related, for_update, pg, param)
    hit = _ROW_SQL.get(key)
    if hit is None:
        meta = model._meta
        cols = [f"t0.{_quote(f.column_name)}" for f in meta.sorted_fields]
        joins, plan = [], [(None, meta.sorted_fields)]
        for i, name in enumerate(related, 1):
            fk = meta.fields[name]
            rel = fk.rel_model._meta
            cols += [f"t{i}.{_quote(f.column_name)}" for f in rel.sorted_fields]
            joins.append(f" LEFT OUTER JOIN {_quote(rel.table_name)} AS t{i} ON (t{i}.{_quote(fk.rel_field.column_name)}"
                         f" = t0.{_quote(fk.column_name)})")
            plan.append((fk, rel.sorted_fields))
        where = " AND ".join(f"t0.{_quote(meta.fields[b].column_name)} = {param}" for b in by)
        sql = (f"SELECT {', '.join(cols)} FROM {_quote(meta.table_name)} AS t0{''.join(joins)} WHERE {where} LIMIT 1"
               + (" FOR UPDATE OF t0" if for_update and pg else ""))
        hit = _ROW_SQL[key] = (sql, plan)
    return hit


def select_row(model, *, related: tuple[str, ...] = (), for_update: bool = False, **where):
    """``model.get_or_none(field == value, ...)`` for equalities on ``model``'s own fields, with the
    rows of the foreign keys named in ``related`` read by the same statement (``LEFT OUTER JOIN``) and
    set on the instance, so ``row.category`` costs no query. ``for_update``: the row is locked for the
    transaction (PostgreSQL ``FOR UPDATE``; SQLite's write transactions hold the database already).
    The SQL text is built once per shape. ``None`` when no row matches; a ``None`` value matches nothing."""
    if any(v is None for v in where.values()):
        return None
    db = database.obj
    by = tuple(sorted(where))
    sql, plan = _select_sql(model, by, tuple(related), for_update, is_postgres(db), db.param)
    meta = model._meta
    params = [meta.fields[b].db_value(where[b]) for b in by]
    row = db.execute_sql(sql, params).fetchone()
    if row is None:
        return None
    i = 0
    inst = None
    for fk, fields in plan:
        if fk is None:
            inst = _instance(model, fields, row, i)
        else:
            rel = _instance(fk.rel_model, fields, row, i)
            if rel.__data__.get(fk.rel_model._meta.primary_key.name) is not None:
                inst.__rel__[fk.name] = rel  # else no related row (a null foreign key): left to the accessor
        i += len(fields)
    return inst


def select_rows(model, **where) -> list:
    """``list(model.select().where(field == value, ...).order_by(model.id))`` (equalities on ``model``'s own
    fields), the SQL text built once per shape."""
    db = database.obj
    meta = model._meta
    by = tuple(sorted(where))
    key = ("select_rows", model, by, db.param)
    sql = _ROW_SQL.get(key)
    if sql is None:
        cols = ", ".join(_quote(f.column_name) for f in meta.sorted_fields)
        conds = " AND ".join(f"{_quote(meta.fields[b].column_name)} = {db.param}" for b in by)
        sql = _ROW_SQL[key] = (f"SELECT {cols} FROM {_quote(meta.table_name)} WHERE {conds} "
                               f"ORDER BY {_quote(meta.primary_key.column_name)}")
    fields = meta.sorted_fields
    return [_instance(model, fields, row, 0)
            for row in db.execute_sql(sql, [meta.fields[b].db_value(where[b]) for b in by]).fetchall()]


def update_rows(model, where: dict, *, add: dict | None = None, **values) -> int:
    """``model.update(**values).where(field == value, ...).execute()`` for equalities on ``model``'s own
    fields (a ``None`` in ``where`` is ``IS NULL``); ``add``: fields incremented (``"attempts": 1`` is
    ``attempts = attempts + 1``). The SQL text is built once per shape; returns the rows changed."""
    db = database.obj
    meta = model._meta
    add = add or {}
    names, added, by = tuple(sorted(values)), tuple(sorted(add)), tuple(sorted(where))
    nulls = tuple(b for b in by if where[b] is None)
    key = ("update", model, names, added, by, nulls, db.param)
    sql = _ROW_SQL.get(key)
    if sql is None:
        p = db.param
        col = lambda n: _quote(meta.fields[n].column_name)  # noqa: E731
        sets = [f"{col(n)} = {p}" for n in names] + [f"{col(n)} = {col(n)} + {p}" for n in added]
        conds = [f"{col(b)} IS NULL" if b in nulls else f"{col(b)} = {p}" for b in by]
        sql = _ROW_SQL[key] = f"UPDATE {_quote(meta.table_name)} SET {', '.join(sets)} WHERE {' AND '.join(conds)}"
    params = ([meta.fields[n].db_value(values[n]) for n in names] + [add[n] for n in added]
              + [meta.fields[b].db_value(where[b]) for b in by if b not in nulls])
    return db.execute_sql(sql, params).rowcount
