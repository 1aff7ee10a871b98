"""``aduan sms ...``: poll Gammu by hand, block and unblock numbers."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from aduan.db import database

sms_cli = AppGroup("sms", help="SMS channel: Gammu polling, blocklist.")


@sms_cli.command("poll-gammu")
def poll_gammu():
    """Read new rows of the Gammu SMSD inbox once (the worker does this every SMS_GAMMU_POLL_SECONDS)."""
    from .gammu import poll

    with database.connection_context():
        counts = poll()
    click.echo(f"received {counts['received']}, duplicates {counts['duplicates']}, "
               f"delivery states {counts['status']}")


@sms_cli.command("block")
@click.argument("number")
@click.option("--reason", default="")
def block(number, reason):
    """Block a number (its messages are ignored, nothing is sent to it)."""
    from aduan import messaging

    from .phones import mask, normalise

    key = normalise(number) or number.strip()
    with database.connection_context():
        messaging.block("sms", key, reason)
    click.echo(f"blocked {mask(key)}")


@sms_cli.command("unblock")
@click.argument("number")
def unblock(number):
    """Remove a number from the blocklist."""
    from aduan import messaging

    from .phones import mask, normalise

    key = normalise(number) or number.strip()
    with database.connection_context():
        n = messaging.unblock("sms", key)
    click.echo(f"unblocked {mask(key)}" if n else "not blocked")
