"""HTTP: the open data API (``/api/v1/plugins/opendata/``) and the public landing page (``/opendata/``).

Files are served from the latest snapshot on disk (``send_file`` streams them), so a download
never loads a table into memory and every file of one release agrees with the others.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re

from aduan.i18n import _, _l, current_language, isoformat
from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, send_file, \
    url_for
from flask_smorest import Blueprint as ApiBlueprint

from aduan.api import require

from .catalog import FORMAT_TITLES, Urls, settings
from .formats import MEDIA_TYPES, PARQUET_MISSING, csv_value, json_value
from .models import OpendataPeriod, OpendataSnapshot
from .publish import METADATA_FILES, latest, parquet_note
from .tables import AGGREGATES, BY_NAME, TABLES

api = ApiBlueprint("opendata", __name__, url_prefix="/api/v1/plugins/opendata",
                   description="Anonymised open data: tables, data package and DCAT catalogue (public).")
pages = Blueprint("opendata_pages", __name__, url_prefix="/opendata", template_folder="templates")

METADATA_TYPES = {"datapackage.json": "application/json", "catalog.ttl": "text/turtle",
                  "catalog.jsonld": "application/ld+json"}
NO_SNAPSHOT = _l("No open data has been published yet: the worker publishes on schedule (opendata.publish), "
                 "or run `aduan opendata publish`.")


_NOT_FOUND = {"description": "No such release or file, or nothing published yet (JSON with a message)."}
_FILE_DOC = {"responses": {
    "200": {"description": "The file, streamed from the release on disk.",
            "content": {t: {} for t in ("text/csv", "application/json", "application/vnd.apache.parquet",
                                        "text/turtle", "application/ld+json")}},
    "404": _NOT_FOUND}}
_JSON_DOC = {"responses": {"200": {"description": "JSON document.", "content": {"application/json": {}}}}}


def _error(code: int, message):
    resp = jsonify(code=code, status="Not Found" if code == 404 else "Error", message=str(message))
    resp.status_code = code
    return resp


def _serve(snap: OpendataSnapshot, filename: str):
    known = {f["name"]: f for f in snap.files}
    if filename not in known and filename not in METADATA_FILES:
        stem, _dot, ext = filename.rpartition(".")
        if ext == "parquet" and stem in BY_NAME and parquet_note(current_app):
            return _error(404, _(PARQUET_MISSING))
        return _error(404, _("No file %(file)s in open-data release %(version)s.", file=filename, version=snap.version))
    path = os.path.join(snap.path, filename)
    ext = filename.rpartition(".")[2]
    mimetype = METADATA_TYPES.get(filename) or MEDIA_TYPES[ext]
    if os.path.isfile(path):
        resp = send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=300,
                         last_modified=snap.created_at)
    else:  # published on another host: the shared storage (STORAGE_BACKEND database or s3) has it
        try:
            data = current_app.extensions["aduan"].storage.read_bytes(f"opendata/{snap.version}/{filename}")
        except FileNotFoundError:
            return _error(404, _("Release %(version)s is not on this server's disk (OPENDATA_SNAPSHOT_DIR).",
                                 version=snap.version))
        resp = send_file(io.BytesIO(data), mimetype=mimetype, conditional=True, max_age=300,
                         etag=hashlib.sha256(data).hexdigest(), last_modified=snap.created_at)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["X-Opendata-Version"] = snap.version
    if ext in ("csv", "parquet", "json") and filename not in METADATA_FILES:
        resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return resp


def _snapshot_view(snap: OpendataSnapshot, urls: Urls, *, latest: bool = False) -> dict:
    """A release with its file URLs: the stable latest-release URLs for the latest one, else versioned.
    ``kept`` releases are never pruned: their versioned URLs are the ones to cite."""
    url = urls.download if latest else (lambda name: urls.versioned(snap.version, name))
    return {
        "version": snap.version,
        "published_at": isoformat(snap.created_at),
        "kept": bool(snap.kept),
        "files": [{**f, "url": url(f["name"]), "versioned_url": urls.versioned(snap.version, f["name"])}
                  for f in snap.files],
        "metadata": {n: url(n) for n in METADATA_FILES},
    }


@api.route("/")
@api.doc(**_JSON_DOC)
def index():
    """The latest release: its version, publication date and download URLs, plus past releases."""
    urls = Urls(current_app.config["BASE_URL"])
    snap = latest()
    body = {
        "landing_page": urls.landing,
        "catalog": {"turtle": urls.download("catalog.ttl"), "jsonld": urls.download("catalog.jsonld")},
        "datapackage": urls.download("datapackage.json"),
        "license": settings(current_app)["license"],
        "latest": None,
        "notes": [n for n in [parquet_note(current_app)] if n],
    }
    if snap is not None:
        body["latest"] = _snapshot_view(snap, urls, latest=True)
    return jsonify(body)


@api.route("/publish", methods=["POST"])
@require("admin")
@api.response(202)
@api.doc(security=[{"bearer": []}])
def publish_now():
    """Publish a new release now (admin): queued for the worker as job ``opendata.publish``; presses within
    the same minute queue one job."""
    from aduan import JobRequest
    from aduan.db import database, utcnow
    from aduan.jobs import enqueue

    key = f"opendata.publish:{utcnow():%Y%m%d%H%M}"
    with database.atomic():
        enqueue(JobRequest("opendata.publish", {}, key=key, max_attempts=3))
    return {"queued": True, "key": key, "message": _("The release is being published: it appears here when the "
                                                      "worker has built it.")}


@api.route("/snapshots")
@api.doc(**_JSON_DOC)
def snapshots():
    """Every release kept on this server, newest first."""
    urls = Urls(current_app.config["BASE_URL"])
    rows = OpendataSnapshot.select().order_by(OpendataSnapshot.created_at.desc(), OpendataSnapshot.id.desc())
    return jsonify(snapshots=[_snapshot_view(s, urls) for s in rows])


@api.route("/snapshots/<version>/<filename>")
@api.doc(**_FILE_DOC)
def snapshot_file(version: str, filename: str):
    """A file of one release (stable URL for citation)."""
    snap = OpendataSnapshot.get_or_none(OpendataSnapshot.version == version)
    if snap is None:
        return _error(404, _("No open-data release %(version)s: releases that are not kept are deleted after "
                             "OPENDATA_SNAPSHOT_KEEP newer ones. Cite a kept release (…/snapshots) or a frozen month "
                             "(…/periods/YYYY-MM/<table>.csv): they never change.", version=version))
    return _serve(snap, filename)


_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@api.route("/periods")
@api.doc(**_JSON_DOC)
def periods():
    """The frozen months: each aggregate table of each month has a permanent URL (cite this)."""
    urls = Urls(current_app.config["BASE_URL"])
    rows = (OpendataPeriod.select(OpendataPeriod.period, OpendataPeriod.frozen_at)
            .where(OpendataPeriod.table == "totals").order_by(OpendataPeriod.period))
    return jsonify(periods=[{"month": p.period, "published_at": isoformat(p.frozen_at),
                             "files": {t.name: {f: urls.period(p.period, t.name, f) for f in ("csv", "json")}
                                       for t in AGGREGATES}} for p in rows])


@api.route("/periods/<month>/<filename>")
@api.doc(**_FILE_DOC)
def period_file(month: str, filename: str):
    """One aggregate table of one frozen month (``<table>.csv`` or ``.json``): its content never
    changes once published, so this URL is permanent (cite this)."""
    stem, _dot, ext = filename.rpartition(".")
    if not _PERIOD.match(month) or stem not in {t.name for t in AGGREGATES} or ext not in ("csv", "json"):
        return _error(404, _("No frozen table %(file)s for %(month)s: the tables are %(tables)s, as .csv or .json; "
                             "months are YYYY-MM.", file=filename, month=month,
                             tables=", ".join(t.name for t in AGGREGATES)))
    p = OpendataPeriod.get_or_none((OpendataPeriod.table == stem) & (OpendataPeriod.period == month))
    if p is None:
        return _error(404, _("Month %(month)s is not published (yet): a month is published and frozen "
                             "OPENDATA_FREEZE_DAYS days after it ends.", month=month))
    table = BY_NAME[stem]
    if ext == "json":
        body = json.dumps([{n: json_value(r.get(n)) for n in table.field_names} for r in p.rows],
                          ensure_ascii=False).encode()
    else:
        buf = io.StringIO(newline="")
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(table.field_names)
        w.writerows([csv_value(r.get(n)) for n in table.field_names] for r in p.rows)
        body = buf.getvalue().encode()
    resp = Response(body, mimetype=MEDIA_TYPES[ext])
    resp.set_etag(hashlib.sha256(body).hexdigest())
    resp.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Content-Disposition"] = f'inline; filename="{stem}-{month}.{ext}"'
    return resp.make_conditional(request)


@api.route("/<filename>")
@api.doc(**_FILE_DOC)
def latest_file(filename: str):
    """A file of the latest release: ``<table>.csv|json|parquet``, ``datapackage.json``, ``catalog.ttl``,
    ``catalog.jsonld``."""
    snap = latest()
    if snap is None:
        return _error(404, NO_SNAPSHOT)
    return _serve(snap, filename)


@pages.route("/")
def landing():
    snap = latest()
    s = settings(current_app)
    kept = (OpendataSnapshot.select().where(OpendataSnapshot.kept == True)  # noqa: E712
            .order_by(OpendataSnapshot.created_at.desc()).limit(12))
    months = [p for (p,) in OpendataPeriod.select(OpendataPeriod.period).where(OpendataPeriod.table == "totals")
              .order_by(OpendataPeriod.period.desc()).tuples()]
    return render_template("opendata/landing.html", snap=snap, s=s, tables=TABLES, urls=s["urls"],
                           format_titles=FORMAT_TITLES, note=parquet_note(current_app), kept=list(kept),
                           months=months, lang=current_language(), _=_,
                           freeze_days=current_app.config["OPENDATA_FREEZE_DAYS"])


@pages.route("/catalog")
def catalog_uri():
    """The catalogue's URI dereferences to its Turtle serialisation."""
    return redirect(url_for("opendata.latest_file", filename="catalog.ttl"), 303)


@pages.route("/datasets/<name>")
@pages.route("/datasets/<name>/<fmt>")
def dataset_uri(name: str, fmt: str | None = None):
    """Dataset and distribution URIs dereference to the landing page section."""
    if name not in BY_NAME or (fmt is not None and fmt not in MEDIA_TYPES):
        abort(404)
    return redirect(url_for("opendata_pages.landing") + "#" + name, 303)
