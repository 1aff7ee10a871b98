"""Building the open data into a folder, and versioned releases served to the public.

``build(app, directory)`` freezes every newly closed month (:func:`freeze`), then writes every
table in every configured format, whole and per year (``<table>.<fmt>`` and
``<table>-<YYYY>.<fmt>``), the ``regions`` reference table, ``datapackage.json``, ``catalog.ttl``
and ``catalog.jsonld``. ``publish(app)`` builds into a temporary folder beside the releases,
renames it to its version (so a reader never sees half a release), records it in
``opendata_snapshot`` and prunes releases beyond ``OPENDATA_SNAPSHOT_KEEP`` except the kept ones
(the first release, and the first of each month): their version URLs are citable for good.
"""
from __future__ import annotations

import csv
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
from .formats import PARQUET_MISSING, WRITERS, parquet_available, typed_row
from .models import OpendataIssued, OpendataPeriod, OpendataSnapshot
from .tables import AGGREGATES, COMPLAINTS, REGIONS, Table

log = logging.getLogger("aduan.opendata")
METADATA_FILES = ("datapackage.json", "catalog.ttl", "catalog.jsonld")
REFERENCE = os.path.join(os.path.dirname(__file__), "reference", "regions.csv")


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


def regions_reference(app) -> list[dict]:
    """The regions table (Kemendagri and BPS codes, population with year and source)."""
    path = app.config.get("OPENDATA_REGIONS_FILE") or REFERENCE
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for f in ("level", "population", "population_year"):
            r[f] = int(r[f]) if r.get(f) else None
    return rows


def work_size(app) -> int:
    """Complaint rows the build reads (for a progress bar)."""
    return Complaint.select().count()


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --- freezing closed months ----------------------------------------------------------------------

def freeze(app, ctx: data.Context) -> list[str]:
    """Compute and store the aggregate rows of every closed month not frozen yet; returns the months."""
    done = {p for (p,) in OpendataPeriod.select(OpendataPeriod.period).where(OpendataPeriod.table == "totals")
            .tuples()}
    population = {r["code"]: r for r in regions_reference(app)}
    frozen = []
    for month in ctx.closed_months():
        if month in done:
            continue
        tables = data.month_tables(ctx, month, population=population)
        with database.atomic():
            for name, rows in tables.items():
                OpendataPeriod.insert(table=name, period=month, frozen_at=ctx.now, rows=rows) \
                    .on_conflict_ignore().execute()
        frozen.append(month)
    return frozen


def period_rows(table: str, *, year: str | None = None):
    q = OpendataPeriod.select(OpendataPeriod.period, OpendataPeriod.rows).where(OpendataPeriod.table == table)
    if year:
        q = q.where(OpendataPeriod.period.startswith(f"{year}-"))
    for period, rows in q.order_by(OpendataPeriod.period).tuples().iterator():
        yield from json.loads(rows) if isinstance(rows, str) else rows


def period_years() -> list[str]:
    return sorted({p[:4] for (p,) in OpendataPeriod.select(OpendataPeriod.period).distinct().tuples()})


# --- writing -------------------------------------------------------------------------------------

def _write(table: Table, directory: str, stem: str, fmts: list[str], rows, hxl: bool) -> list[dict]:
    writers = {f: WRITERS[f](os.path.join(directory, f"{stem}.{f}"), table, hxl=hxl) for f in fmts}
    n = 0
    try:
        for row in rows:
            n += 1
            for w in writers.values():
                w.write(row)
    finally:
        for w in writers.values():
            w.close()
    return [_file(directory, table, f, f"{stem}.{f}", n) for f in fmts]


def _file(directory, table, fmt, name, rows, year=None) -> dict:
    path = os.path.join(directory, name)
    out = {"resource": table.name, "format": fmt, "name": name, "bytes": os.path.getsize(path),
           "sha256": _sha256(path), "rows": rows}
    if year:
        out["year"] = year
    return out


def write_records(app, ctx: data.Context, directory: str, fmts: list[str], hxl: bool) -> list[dict]:
    """The record table, whole and per year: CSV in one streamed query whose lines the database
    writes (:func:`data.write_records_csv_split`); JSON and Parquet from streamed rows, per year."""
    files = []
    tags = COMPLAINTS.hxl if hxl else None
    if "csv" in fmts:
        written = data.write_records_csv_split(ctx, directory, hxl=tags)
        files += [dict(f, resource=COMPLAINTS.name, format="csv") for f in written]
        years = [f["year"] for f in written[1:]]
    else:
        years = data.record_years(ctx)
    other = [f for f in fmts if f != "csv"]
    if other:
        for year in years:
            rows = (typed_row(COMPLAINTS, dict(zip(data.RECORD_FIELDS, r))) for r in data.record_rows(ctx, year=year))
            files += [dict(f, year=year) for f in _write(COMPLAINTS, directory, f"complaints-{year}", other, rows, hxl)]

        def everything():
            for r in data.record_rows(ctx):
                yield typed_row(COMPLAINTS, dict(zip(data.RECORD_FIELDS, r)))
        files += _write(COMPLAINTS, directory, "complaints", other, everything(), hxl)
    return files


def build(app, directory: str, *, version: str | None = None, now: dt.datetime | None = None,
          progress: Callable[[int], None] | None = None) -> Release:
    """Write the open data into ``directory``; returns what was written."""
    os.makedirs(directory, exist_ok=True)
    now = now or utcnow()
    ctx = data.Context(app, now)
    fmts = formats(app)
    hxl = app.config["OPENDATA_HXL"]
    files: list[dict] = []
    with database.connection_context():
        data.ensure_public_ids(ctx)
        freeze(app, ctx)
        files += write_records(app, ctx, directory, fmts, hxl)
        if progress:
            progress(work_size(app))
        years = period_years()
        for table in AGGREGATES:
            files += _write(table, directory, table.name, fmts, period_rows(table.name), hxl)
            for year in years:
                files += [dict(f, year=year) for f in
                          _write(table, directory, f"{table.name}-{year}", fmts, period_rows(table.name, year=year),
                                 hxl)]
        files += _write(REGIONS, directory, REGIONS.name, fmts, regions_reference(app), hxl)
        issued = _issued(files, now)
        temporal = _temporal(ctx)
    created = now.replace(tzinfo=dt.timezone.utc)
    release = Release(version=version or version_for(now), created=created,
                      issued=min(issued.values()), files=files, temporal=temporal, formats=fmts,
                      issued_by_table=issued)
    with open(os.path.join(directory, "datapackage.json"), "w", encoding="utf-8") as fh:
        json.dump(datapackage(app, release), fh, ensure_ascii=False, indent=2)
        fh.write("\n")
    write_catalog(app, release, os.path.join(directory, "catalog.ttl"), os.path.join(directory, "catalog.jsonld"))
    return release


def _issued(files: list[dict], now: dt.datetime) -> dict[str, dt.datetime]:
    """First publication of each table written (``dct:issued``), recorded the first time it is written."""
    out = {}
    for name in sorted({f["resource"] for f in files}):
        OpendataIssued.insert(table=name, issued=now).on_conflict_ignore().execute()
        out[name] = OpendataIssued.get_by_id(name).issued.replace(tzinfo=dt.timezone.utc)
    return out


def _temporal(ctx: data.Context):
    lo, hi = Complaint.select(pw.fn.MIN(Complaint.created_at), pw.fn.MAX(Complaint.created_at)).scalar(as_tuple=True)
    if lo is None:
        return None
    return ctx.local_date(lo), ctx.local_date(hi)


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
    """Build a new release, record it, and prune old ones."""
    now = now or utcnow()
    root = snapshot_dir(app)
    os.makedirs(root, exist_ok=True)
    with database.connection_context():
        version = version_for(now)
        n = 1
        while OpendataSnapshot.select().where(OpendataSnapshot.version == version).exists() or \
                os.path.exists(os.path.join(root, version)):
            n += 1
            version = f"{version_for(now)}-{n}"
    tmp = os.path.join(root, f".tmp-{version}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        release = build(app, tmp, version=version, now=now, progress=progress)
        final = os.path.join(root, version)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    storage = app.extensions["aduan"].storage
    if shared(storage):  # several web hosts: each serves the release from the shared storage
        store_tree(storage, f"opendata/{version}", final)
    with database.connection_context(), database.atomic():
        month_start = dt.datetime(now.year, now.month, 1)
        kept = not OpendataSnapshot.select().where(OpendataSnapshot.created_at >= month_start).exists()
        snap = OpendataSnapshot.create(version=version, created_at=now, path=final, files=release.files, kept=kept)
    prune(app)
    log.info("opendata: published release %s (%d files)", version, len(release.files))
    return snap


def prune(app) -> list[str]:
    """Delete releases beyond ``OPENDATA_SNAPSHOT_KEEP``, newest kept, never a ``kept`` one."""
    keep = app.config["OPENDATA_SNAPSHOT_KEEP"]
    removed = []
    with database.connection_context():
        old = list(OpendataSnapshot.select().where(OpendataSnapshot.kept == False)  # noqa: E712
                   .order_by(OpendataSnapshot.created_at.desc(), OpendataSnapshot.id.desc()).offset(keep))
        for s in old:
            with database.atomic():
                s.delete_instance()
            shutil.rmtree(s.path, ignore_errors=True)
            if shared(app.extensions["aduan"].storage):
                delete_prefix(app.extensions["aduan"].storage, f"opendata/{s.version}")
            removed.append(s.version)
    return removed
