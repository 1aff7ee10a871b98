"""``aduan opendata ...``: export to a folder, publish a snapshot, list snapshots."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from aduan.db import database

from . import publish as pub

group = AppGroup("opendata", help="Anonymised open data: export, publish snapshots.")


def _with_bar(label, fn):
    app = current_app._get_current_object()
    with database.connection_context():
        total = pub.work_size(app)
    with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
        result = fn(app, bar.update)
        bar.update(max(total, 1) - bar.pos)
    return result


@group.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
def export_cmd(directory):
    """Write every table (CSV, JSON, Parquet), datapackage.json and the DCAT catalogue into DIRECTORY."""
    note = pub.parquet_note(current_app)
    if note:
        click.echo(note, err=True)
    files = _with_bar("opendata", lambda app, p: pub.export(app, directory, progress=p))
    for f in files:
        click.echo(f)


@group.command("publish")
def publish_cmd():
    """Publish a new versioned snapshot now (the worker does this on schedule)."""
    note = pub.parquet_note(current_app)
    if note:
        click.echo(note, err=True)
    snap = _with_bar("opendata", lambda app, p: pub.publish(app, progress=p))
    click.echo(f"published {snap.version} in {snap.path}")


@group.command("snapshots")
def snapshots_cmd():
    """List the published snapshots, newest first."""
    from .models import OpendataSnapshot

    with database.connection_context():
        for s in OpendataSnapshot.select().order_by(OpendataSnapshot.created_at.desc()):
            rows = {f["resource"]: f["rows"] for f in s.files}
            click.echo(f"{s.version}  {s.created_at:%Y-%m-%d %H:%M:%S}Z  " +
                       "  ".join(f"{k}={v}" for k, v in rows.items()))
