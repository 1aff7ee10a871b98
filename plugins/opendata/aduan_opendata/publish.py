"""Building the open data into a folder, and versioned snapshots served to the public.

``build(app, directory)`` writes every table in every configured format, then
``datapackage.json``, ``catalog.ttl`` and ``catalog.jsonld``. ``publish(app)`` builds into a
temporary folder beside the snapshots, renames it to its version (so a reader never sees half a
snapshot), records it in ``opendata_snapshot`` and deletes versions beyond ``OPENDATA_SNAPSHOT_KEEP``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import shutil
from typing import Callable

import peewee as pw
from aduan.db import database, utcnow
from aduan.models import Complaint
from aduan.storage import delete_prefix, shared, store_tree

from . import data
from .catalog import Release, datapackage, write_catalog
from .formats import PARQUET_MISSING, WRITERS, parquet_available
from .models import OpendataSnapshot
from .tables import COMPLAINTS, MONTHLY, REPORT_CARD

log = logging.getLogger("aduan.opendata")
METADATA_FILES = ("datapackage.json", "catalog.ttl", "catalog.jsonld")


def formats(app) -> list[str]:
    """Configured formats that can be written here (parquet only with pyarrow)."""
    out = list(app.config["OPENDATA_FORMATS"])
    if "parquet" in out and not parquet_available():
        out.remove("parquet")
    return out


def parquet_note(app) -> str | None:
    if "parquet" in app.config["OPENDATA_FORMATS"] and not parquet_available():
        return PARQUET_MISSING
    return None


def work_size(app) -> int:
    """Complaint rows the build scans (for a progress bar)."""
    ctx = data.Context(app)
    everyone, with_agency = data.count_all()
    return data.count_records(ctx) + everyone + with_agency


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _temporal(ctx: data.Context):
    lo, hi = Complaint.select(pw.fn.MIN(Complaint.created_at), pw.fn.MAX(Complaint.created_at)).scalar(as_tuple=True)
    if lo is None:
        return None
    return ctx.local_date(lo), ctx.local_date(hi)


def build(app, directory: str, *, version: str | None = None, now: dt.datetime | None = None,
          issued: dt.datetime | None = None, progress: Callable[[int], None] | None = None) -> Release:
    """Write the open data into ``directory``; returns what was written."""
    os.makedirs(directory, exist_ok=True)
    now = now or utcnow()
    ctx = data.Context(app, now)
    progress = progress or data.no_progress
    fmts = formats(app)
    files: list[dict] = []
    with database.connection_context():
        sources = ((COMPLAINTS, data.records(ctx, progress)),
                   (MONTHLY, iter(data.monthly_counts(ctx, progress))),
                   (REPORT_CARD, iter(data.report_card(ctx, progress))))
        for table, rows in sources:
            writers = {f: WRITERS[f](os.path.join(directory, f"{table.name}.{f}"), table) for f in fmts}
            n = 0
            try:
                for row in rows:
                    n += 1
                    for w in writers.values():
                        w.write(row)
            finally:
                for w in writers.values():
                    w.close()
            for f in fmts:
                path = os.path.join(directory, f"{table.name}.{f}")
                files.append({"resource": table.name, "format": f, "name": os.path.basename(path),
                              "bytes": os.path.getsize(path), "sha256": _sha256(path), "rows": n})
        temporal = _temporal(ctx)
    created = now.replace(tzinfo=dt.timezone.utc)
    release = Release(version=version or version_for(now), created=created,
                      issued=(issued or now).replace(tzinfo=dt.timezone.utc), files=files, temporal=temporal,
                      formats=fmts)
    with open(os.path.join(directory, "datapackage.json"), "w", encoding="utf-8") as fh:
        json.dump(datapackage(app, release), fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    write_catalog(app, release, os.path.join(directory, "catalog.ttl"), os.path.join(directory, "catalog.jsonld"))
    return release


def version_for(t: dt.datetime) -> str:
    return t.strftime("%Y%m%dT%H%M%SZ")


def export(app, directory: str, progress=None) -> list[str]:
    """The ``aduan export opendata DIR`` exporter: every file written, metadata last."""
    release = build(app, directory, progress=progress)
    return [os.path.join(directory, f["name"]) for f in release.files] + \
        [os.path.join(directory, n) for n in METADATA_FILES]


def snapshot_dir(app) -> str:
    return app.config.get("OPENDATA_SNAPSHOT_DIR") or os.path.join(app.instance_path, "opendata")


def latest() -> OpendataSnapshot | None:
    return OpendataSnapshot.select().order_by(OpendataSnapshot.created_at.desc(), OpendataSnapshot.id.desc()).first()


def publish(app, *, now: dt.datetime | None = None, progress=None) -> OpendataSnapshot:
    """Build a new snapshot, record it, and prune old ones."""
    now = now or utcnow()
    root = snapshot_dir(app)
    os.makedirs(root, exist_ok=True)
    with database.connection_context():
        first = OpendataSnapshot.select(pw.fn.MIN(OpendataSnapshot.created_at)).scalar()
        version = version_for(now)
        n = 1
        while OpendataSnapshot.select().where(OpendataSnapshot.version == version).exists() or \
                os.path.exists(os.path.join(root, version)):
            n += 1
            version = f"{version_for(now)}-{n}"
    tmp = os.path.join(root, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        release = build(app, tmp, version=version, now=now, issued=first or now, progress=progress)
        final = os.path.join(root, version)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    storage = app.extensions["aduan"].storage
    if shared(storage):  # several web hosts: each serves the release from the shared storage
        store_tree(storage, f"opendata/{version}", final)
    with database.connection_context(), database.atomic():
        snap = OpendataSnapshot.create(version=version, created_at=now, path=final, files=release.files)
    prune(app)
    log.info("opendata: published snapshot %s (%d files)", version, len(release.files))
    return snap


def prune(app) -> list[str]:
    keep = app.config["OPENDATA_SNAPSHOT_KEEP"]
    removed = []
    with database.connection_context():
        old = list(OpendataSnapshot.select().order_by(OpendataSnapshot.created_at.desc(),
                                                      OpendataSnapshot.id.desc()).offset(keep))
        for s in old:
            with database.atomic():
                s.delete_instance()
            shutil.rmtree(s.path, ignore_errors=True)
            if shared(app.extensions["aduan"].storage):
                delete_prefix(app.extensions["aduan"].storage, f"opendata/{s.version}")
            removed.append(s.version)
    return removed
