"""``aduan backup`` / ``aduan restore``: the database and the stored files in one archive.

The archive is a gzip'd tar, the same whatever the engine (so a SQLite deployment can move to
PostgreSQL by a backup and a restore):

* ``manifest.json``: format, release, time, engine, the migrations applied, each table's row count
  and each member's SHA-256;
* ``tables/<table>.jsonl``: every row of every core and enabled-plugin table, one JSON object a
  line, by field name (times, dates, bytes and JSON values tagged so they come back as they were);
* ``files/<key>``: every file in storage (attachments by SHA-256, published files by path).

**Consistent**: all tables are read in one transaction (PostgreSQL ``REPEATABLE READ READ ONLY``; a
SQLite read transaction in WAL mode), so they are one moment's state while the site keeps running.
Files are content-addressed and never rewritten, so those the snapshot refers to are copied after it;
a file the snapshot needs and storage lacks stops the backup.

**Restore** applies the migrations to the target (which must be empty, or ``--replace`` empties the
tables being restored), refuses a backup made with another set of migrations, writes the files,
then inserts every row in one transaction and moves PostgreSQL's id sequences past the restored ids.
Rate-limit windows, worker heartbeats and the ``stored_file`` table itself (its files travel as
``files/``) are not part of a backup.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import os
import tarfile
import tempfile
import time
from decimal import Decimal
from typing import Any, Callable, Iterable

import peewee as pw

from .db import database, is_postgres

FORMAT = "aduan-backup/1"
SKIP_TABLES = {"rate_limit", "worker_heartbeat", "stored_file"}
BATCH = 100


class BackupError(RuntimeError):
    """The backup cannot be made or restored; the message says why and what to do."""


# --- values ------------------------------------------------------------------------------------

def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, (bytes, memoryview, bytearray)):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (dict, list)):
        return {"$json": value}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, v), = value.items()
        if tag == "$dt":
            return dt.datetime.fromisoformat(v)
        if tag == "$date":
            return dt.date.fromisoformat(v)
        if tag == "$b64":
            return base64.b64decode(v)
        if tag == "$dec":
            return Decimal(v)
        if tag == "$json":
            return v
    return value


# --- what is backed up -------------------------------------------------------------------------

def backed_up_models(app) -> list[type[pw.Model]]:
    """Core and enabled-plugin models, parents before children."""
    from .models import CORE_MODELS

    seen, models = set(), []
    for m in [*CORE_MODELS, *app.extensions["aduan"].models]:
        if m not in seen and m._meta.table_name not in SKIP_TABLES and not isinstance(m._meta.primary_key, pw.CompositeKey):
            seen.add(m)
            models.append(m)
    return pw.sort_models(models)


def applied_migrations(app) -> dict[str, list[str]]:
    from .db import migration_status

    out: dict[str, list[str]] = {}
    for owner, name, applied in migration_status(app.extensions["aduan"].migrations):
        if applied:
            out.setdefault(owner, []).append(name)
    return out


def _self_fields(model) -> list[pw.ForeignKeyField]:
    return [f for f in model._meta.sorted_fields if isinstance(f, pw.ForeignKeyField) and f.rel_model is model]


def _add(tar: tarfile.TarFile, name: str, fh, size: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, fh)


@database.connection_context()
def _snapshot(app, spool_dir: str) -> tuple[dict, list[tuple[str, str, int, str]]]:
    """Read every table in one transaction into spool files; returns (manifest part, members)."""
    from .models import Attachment

    members, tables = [], {}
    ctx = database.atomic(lock_type="DEFERRED") if isinstance(database.obj, pw.SqliteDatabase) else database.atomic()
    with ctx:
        if is_postgres():
            database.execute_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        migrations = applied_migrations(app)
        existing = set(database.get_tables())
        for model in backed_up_models(app):
            table = model._meta.table_name
            if table not in existing:
                continue
            path = os.path.join(spool_dir, table + ".jsonl")
            h, n = hashlib.sha256(), 0
            with open(path, "wb") as out:
                order = model._meta.primary_key
                for row in model.select().order_by(order).dicts().iterator():
                    line = (json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False,
                                       sort_keys=True) + "\n").encode()
                    h.update(line)
                    out.write(line)
                    n += 1
            tables[table] = {"rows": n, "sha256": h.hexdigest()}
            members.append((f"tables/{table}.jsonl", path, os.path.getsize(path), h.hexdigest()))
        needed = {r.sha256 for r in Attachment.select(Attachment.sha256).distinct()}
    return {"migrations": migrations, "tables": tables, "needed_files": sorted(needed)}, members


def backup(app, path: str, *, progress: Callable[[str], None] | None = None) -> dict:
    """Write a backup archive to ``path`` (atomically: a partial archive never has the final name)."""
    from . import __version__

    storage = app.extensions["aduan"].storage
    with app.app_context(), tempfile.TemporaryDirectory(prefix="aduan-backup-") as spool:
        part, members = _snapshot(app, spool)
        files = {}
        keys = set(storage.keys()) | set(part["needed_files"])
        tmp = path + ".part"
        with tarfile.open(tmp, "w:gz") as tar:
            for name, src, size, _sha in members:
                with open(src, "rb") as fh:
                    _add(tar, name, fh, size)
                if progress:
                    progress(name)
            for key in sorted(keys):
                try:
                    data = storage.read_bytes(key)
                except FileNotFoundError:
                    if key in part["needed_files"]:
                        raise BackupError(f"attachment file {key} is missing from storage "
                                          f"({storage.describe()}); nothing written") from None
                    continue
                files[key] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                _add(tar, f"files/{key}", io.BytesIO(data), len(data))
            manifest = {"format": FORMAT, "aduan": __version__,
                        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(),
                        "engine": "postgresql" if is_postgres() else "sqlite",
                        "migrations": part["migrations"], "tables": part["tables"], "files": files}
            raw = json.dumps(manifest, indent=1, sort_keys=True).encode()
            _add(tar, "manifest.json", io.BytesIO(raw), len(raw))
        os.replace(tmp, path)
    return manifest


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        manifest = json.load(tar.extractfile("manifest.json"))
    except KeyError:
        raise BackupError("not an aduan backup: manifest.json is missing") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unsupported backup format {manifest.get('format')!r} (this release reads {FORMAT})")
    return manifest


def _rows(tar: tarfile.TarFile, table: str, expected_sha: str) -> Iterable[dict]:
    raw = tar.extractfile(f"tables/{table}.jsonl").read()
    if hashlib.sha256(raw).hexdigest() != expected_sha:
        raise BackupError(f"tables/{table}.jsonl is damaged (checksum differs)")
    for line in raw.decode().splitlines():
        yield {k: _decode(v) for k, v in json.loads(line).items()}


def restore(app, path: str, *, replace: bool = False, progress: Callable[[str], None] | None = None) -> dict:
    """Restore an archive into this deployment's database and storage. Returns the counts restored."""
    from .cli import upgrade_database

    storage = app.extensions["aduan"].storage
    with app.app_context(), tarfile.open(path, "r:gz") as tar, database.connection_context():
        manifest = read_manifest(tar)
        upgrade_database(app)
        here = applied_migrations(app)
        if here != manifest["migrations"]:
            theirs = {f"{o}:{n}" for o, ns in manifest["migrations"].items() for n in ns}
            ours = {f"{o}:{n}" for o, ns in here.items() for n in ns}
            raise BackupError("the backup was made with other migrations than this deployment has "
                              f"(only in the backup: {sorted(theirs - ours) or 'none'}; only here: "
                              f"{sorted(ours - theirs) or 'none'}): restore with the release and plugins "
                              "that made it, then upgrade")
        models = [m for m in backed_up_models(app) if m._meta.table_name in manifest["tables"]]
        missing = set(manifest["tables"]) - {m._meta.table_name for m in models}
        if missing:
            raise BackupError(f"tables in the backup that this deployment does not have: {sorted(missing)} "
                              "(enable the same plugins)")
        busy = [m._meta.table_name for m in models if m.select().exists()]
        if busy and not replace:
            raise BackupError(f"the database is not empty ({', '.join(busy)}); restore into an empty database, "
                              "or pass --replace to delete those rows first")
        # files first: once the rows are committed, every file they name is there
        for key, meta in manifest["files"].items():
            data = tar.extractfile(f"files/{key}").read()
            if hashlib.sha256(data).hexdigest() != meta["sha256"]:
                raise BackupError(f"files/{key} is damaged (checksum differs)")
            if not storage.exists(key):
                storage.write(key, io.BytesIO(data))
        counts = {}
        with database.atomic():
            for model in reversed(models):
                if replace:
                    model.delete().execute()
            for model in models:
                table = model._meta.table_name
                selfref = _self_fields(model)
                later = []
                batch = []
                for row in _rows(tar, table, manifest["tables"][table]["sha256"]):
                    for f in selfref:
                        if row.get(f.name) is not None:
                            later.append((row[model._meta.primary_key.name], f.name, row[f.name]))
                            row[f.name] = None
                    batch.append(row)
                    if len(batch) >= BATCH:
                        model.insert_many(batch).execute()
                        batch = []
                if batch:
                    model.insert_many(batch).execute()
                for pk, field, value in later:
                    model.update({field: value}).where(model._meta.primary_key == pk).execute()
                counts[table] = manifest["tables"][table]["rows"]
                if progress:
                    progress(table)
            if is_postgres():
                for model in models:
                    pk = model._meta.primary_key
                    if isinstance(pk, pw.AutoField):
                        t, c = model._meta.table_name, pk.column_name
                        database.execute_sql(
                            f"SELECT setval(pg_get_serial_sequence('\"{t}\"', '{c}'), "
                            f"COALESCE((SELECT MAX(\"{c}\") FROM \"{t}\"), 1), "
                            f"(SELECT MAX(\"{c}\") FROM \"{t}\") IS NOT NULL)")
    return {"tables": counts, "files": len(manifest["files"])}
