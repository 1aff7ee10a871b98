"""``aduan open311 ...``: manage the questions categories ask (Open311 service attributes)."""
from __future__ import annotations

import json

import click
from aduan.db import database
from flask.cli import AppGroup
from marshmallow import ValidationError

from . import attributes

group = AppGroup("open311", help="Open311 GeoReport v2: category questions (service attributes).")


@group.command("attributes-load")
@click.argument("path", type=click.File("r", encoding="utf-8"))
def attributes_load(path):
    """Replace the attributes of the categories named in a JSON file (see the plugin README)."""
    try:
        document = json.load(path)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{path.name}: not JSON ({exc})") from None
    with database.connection_context():
        try:
            counts = attributes.load(document)
        except ValidationError as exc:
            raise click.ClickException(json.dumps(exc.messages, ensure_ascii=False)) from None
    for code, n in counts.items():
        click.echo(f"{code}: {n}")


@group.command("attributes-dump")
def attributes_dump():
    """Print every category's attributes as JSON (the form attributes-load reads)."""
    with database.connection_context():
        click.echo(json.dumps(attributes.dump(), ensure_ascii=False, indent=2))
