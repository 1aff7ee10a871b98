"""HTTP: the open data API (``/api/v1/plugins/opendata/``) and the public landing page (``/opendata/``).

Files are served from the latest snapshot on disk (``send_file`` streams them), so a download
never loads a table into memory and every file of one release agrees with the others.
"""
from __future__ import annotations

import hashlib
import io
import os

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, send_file, url_for
from flask_smorest import Blueprint as ApiBlueprint

from .catalog import FORMAT_TITLES, Urls, settings
from .formats import MEDIA_TYPES, PARQUET_MISSING
from .models import OpendataSnapshot
from .publish import METADATA_FILES, latest, parquet_note
from .tables import BY_NAME, TABLES

api = ApiBlueprint("opendata", __name__, url_prefix="/api/v1/plugins/opendata",
                   description="Anonymised open data: tables, data package and DCAT catalogue (public).")
pages = Blueprint("opendata_pages", __name__, url_prefix="/opendata", template_folder="templates")

METADATA_TYPES = {"datapackage.json": "application/json", "catalog.ttl": "text/turtle",
                  "catalog.jsonld": "application/ld+json"}
NO_SNAPSHOT = ("no open-data snapshot has been published yet: the worker publishes one on schedule "
               "(opendata.publish), or run `aduan opendata publish` / belum ada data terbuka yang diterbitkan")


_NOT_FOUND = {"description": "No such release or file, or nothing published yet (JSON with a message)."}
_FILE_DOC = {"responses": {
    "200": {"description": "The file, streamed from the release on disk.",
            "content": {t: {} for t in ("text/csv", "application/json", "application/vnd.apache.parquet",
                                        "text/turtle", "application/ld+json")}},
    "404": _NOT_FOUND}}
_JSON_DOC = {"responses": {"200": {"description": "JSON document.", "content": {"application/json": {}}}}}


def _error(code: int, message: str):
    resp = jsonify(code=code, status="Not Found" if code == 404 else "Error", message=message)
    resp.status_code = code
    return resp


def _serve(snap: OpendataSnapshot, filename: str):
    known = {f["name"]: f for f in snap.files}
    if filename not in known and filename not in METADATA_FILES:
        stem, _, ext = filename.rpartition(".")
        if ext == "parquet" and stem in BY_NAME and parquet_note(current_app):
            return _error(404, PARQUET_MISSING)
        return _error(404, f"no file {filename!r} in open-data release {snap.version}")
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
            return _error(404, f"release {snap.version} is not on this server's disk (OPENDATA_SNAPSHOT_DIR)")
        resp = send_file(io.BytesIO(data), mimetype=mimetype, conditional=True, max_age=300,
                         etag=hashlib.sha256(data).hexdigest(), last_modified=snap.created_at)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["X-Opendata-Version"] = snap.version
    if ext in ("csv", "parquet", "json") and filename not in METADATA_FILES:
        resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return resp


def _snapshot_view(snap: OpendataSnapshot, urls: Urls, *, latest: bool = False) -> dict:
    """A release with its file URLs: the stable latest-release URLs for the latest one, else versioned."""
    url = urls.download if latest else (lambda name: urls.versioned(snap.version, name))
    return {
        "version": snap.version,
        "published_at": snap.created_at.isoformat() + "Z",
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
        return _error(404, f"no open-data release {version!r}")
    return _serve(snap, filename)


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
    return render_template("opendata/landing.html", snap=snap, s=s, tables=TABLES, urls=s["urls"],
                           format_titles=FORMAT_TITLES, note=parquet_note(current_app),
                           sizes={f["name"]: f for f in (snap.files if snap else [])})


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
