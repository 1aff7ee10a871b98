"""``aduan email ...``"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from aduan.db import database

group = AppGroup("email", help="Email channel: poll the mailbox, import a message.")


@group.command("poll")
def poll_cmd():
    """Poll the IMAP mailbox once (what the worker's email.poll schedule does)."""
    from .imap import ImapError, poll

    with database.connection_context():
        try:
            counts = poll()
        except ImapError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing new")


@group.command("import")
@click.argument("source", type=click.File("rb"), default="-")
def import_cmd(source):
    """Handle one RFC 5322 message from a file or standard input (e.g. an MTA pipe)."""
    from .inbound import handle_raw

    raw = source.read()
    with database.connection_context():
        result = handle_raw(raw, "raw")
    click.echo(f"{result.outcome} {result.tracking_id or ''}".strip())
    if result.outcome == "rejected":
        sys.exit(1)
