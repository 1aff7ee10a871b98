"""``aduan open311 forward|forwards|forward-link|forward-resend|follow``: forwarding from the command line."""
from __future__ import annotations

import json

import click
from aduan import services
from aduan.auth import system
from aduan.db import database

from . import federation
from .cli import group
from .models import FORWARD_STATES, Open311Forward


def _get(forward_id: int) -> Open311Forward:
    f = Open311Forward.get_or_none(Open311Forward.id == forward_id)
    if f is None:
        raise click.ClickException(f"no forward {forward_id}")
    return f


@group.command("destinations")
def destinations_cmd():
    """List the configured destinations (api_key masked)."""
    for name, d in sorted(federation.destinations().items()):
        click.echo(f"{name}: {d['endpoint']} jurisdiction={d.get('jurisdiction_id') or '-'} "
                   f"agencies={','.join(d.get('agencies') or []) or '-'} "
                   f"categories={','.join(d.get('categories') or []) or '-'} api_key=********")


@group.command("forward")
@click.argument("tracking_id")
@click.argument("destination")
def forward_cmd(tracking_id, destination):
    """Forward a complaint to DESTINATION now (the worker sends it)."""
    with database.connection_context():
        try:
            c = services.find_complaint(tracking_id)
        except services.NotFound:
            raise click.ClickException(f"no complaint {tracking_id}") from None
        try:
            federation.forward_now(c, destination, system("cli"))
        except KeyError:
            raise click.ClickException(f"no destination {destination!r} in OPEN311_DESTINATIONS") from None
        except services.ServiceError as exc:
            raise click.ClickException(str(exc)) from None
        f = federation.forward_row(c, destination)
        click.echo(json.dumps(federation.forward_view(f)))


@group.command("forwards")
@click.option("--state", type=click.Choice(FORWARD_STATES))
def forwards_cmd(state):
    """List forwarded complaints (``--state uncertain``: those waiting for an operator)."""
    with database.connection_context():
        q = Open311Forward.select()
        if state:
            q = q.where(Open311Forward.state == state)
        for f in q.order_by(Open311Forward.id):
            v = federation.forward_view(f)
            click.echo(f"{v['id']}\t{v['tracking_id']}\t{v['destination']}\t{v['state']}\t{v['remote_id'] or '-'}\t"
                       f"{v['remote_status'] or '-'}\t{v['last_error'] or ''}")


@group.command("forward-link")
@click.argument("forward_id", type=int)
@click.argument("remote_id")
def forward_link_cmd(forward_id, remote_id):
    """The destination has the complaint under REMOTE_ID (settles an uncertain forward)."""
    with database.connection_context():
        try:
            f = federation.link(_get(forward_id), remote_id)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(json.dumps(federation.forward_view(f)))


@group.command("forward-resend")
@click.argument("forward_id", type=int)
def forward_resend_cmd(forward_id):
    """The destination does not have it: send it again (an uncertain or failed forward)."""
    with database.connection_context():
        try:
            f = federation.resend(_get(forward_id), system("cli"))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(json.dumps(federation.forward_view(f)))


@group.command("follow")
def follow_cmd():
    """Read the destinations' updates now (what the schedule open311.poll does)."""
    from flask import current_app

    with database.connection_context():
        click.echo(json.dumps(federation.poll(current_app)))
