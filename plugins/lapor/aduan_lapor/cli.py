"""``aduan lapor ...``: directory, mappings, imports, sync state, uncertain creates, the simulator."""
from __future__ import annotations

import functools
import json

import click
from flask import current_app
from flask.cli import AppGroup

from aduan import services
from aduan.db import database

lapor_group = AppGroup("lapor", help="SP4N-LAPOR! synchronisation.")


def _connected(fn):
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        with database.connection_context():
            return fn(*a, **kw)

    return wrapper


def _out(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def _fail(exc) -> None:
    raise click.ClickException(str(exc))


@lapor_group.group("institutions")
def institutions():
    """The LAPOR! institution directory (E1)."""


@institutions.command("sync")
@_connected
def institutions_sync():
    """Reload the directory from LAPOR! now."""
    from .client import LaporError
    from .sync import sync_institutions

    try:
        r = sync_institutions()
    except LaporError as exc:
        _fail(exc)
    click.echo(f"{r['institutions']} institutions loaded, {r['inactive']} marked inactive")


@institutions.command("list")
@click.option("--q", "query", help="Part of the name.")
@_connected
def institutions_list(query):
    """List institutions (id, name)."""
    from .models import LaporInstitution

    q = LaporInstitution.select().where(LaporInstitution.active == True)  # noqa: E712
    if query:
        q = q.where(LaporInstitution.name.contains(query))
    for i in q.order_by(LaporInstitution.name):
        click.echo(f"{i.id:>8}  {i.name}")


@lapor_group.command("templates")
@_connected
def templates_cmd():
    """List LAPOR!'s follow-up templates (E2): pick LAPOR_FOLLOWUP_TEMPLATE_CODE from their codes."""
    from .client import LaporError
    from .sync import templates

    try:
        rows = templates()
    except LaporError as exc:
        _fail(exc)
    for t in rows:
        click.echo(f"{str(t['code']):<20} {str(t['content'] or '')[:100]}")


@lapor_group.group("map")
def map_group():
    """Map our agencies and categories to LAPOR! ids."""


@map_group.command("agency")
@click.argument("agency_code")
@click.argument("institution_id", required=False, type=int)
@click.option("--remove", is_flag=True)
@_connected
def map_agency(agency_code, institution_id, remove):
    """Map AGENCY_CODE to a LAPOR! INSTITUTION_ID (or --remove)."""
    from aduan.models import Agency

    from .api import set_mapping
    from .models import LaporInstitution

    a = Agency.get_or_none(Agency.code == agency_code)
    if a is None:
        raise click.UsageError(f"no agency with code {agency_code!r}")
    if not remove and institution_id is None:
        raise click.UsageError("give an INSTITUTION_ID or --remove")
    if not remove and LaporInstitution.get_or_none(LaporInstitution.id == institution_id) is None:
        raise click.UsageError(f"unknown LAPOR! institution {institution_id}: run `aduan lapor institutions sync` first")
    set_mapping("agency", a.id, None if remove else institution_id)
    click.echo(f"{a.code} → {'(none)' if remove else institution_id}")


@map_group.command("category")
@click.argument("category_code")
@click.argument("lapor_category_id", required=False, type=int)
@click.option("--remove", is_flag=True)
@_connected
def map_category(category_code, lapor_category_id, remove):
    """Map CATEGORY_CODE to a LAPOR! category_id (or --remove)."""
    from aduan.models import Category

    from .api import set_mapping

    c = Category.get_or_none(Category.code == category_code)
    if c is None:
        raise click.UsageError(f"no category with code {category_code!r}")
    if not remove and lapor_category_id is None:
        raise click.UsageError("give a LAPOR_CATEGORY_ID or --remove")
    set_mapping("category", c.id, None if remove else lapor_category_id)
    click.echo(f"{c.code} → {'(none)' if remove else lapor_category_id}")


@map_group.command("list")
@_connected
def map_list():
    """Show every mapping."""
    from .api import _mappings

    _out(_mappings())


@lapor_group.command("import")
@click.argument("lapor_id")
@_connected
def import_cmd(lapor_id):
    """Create a local complaint from LAPOR! complaint LAPOR_ID (disposed to us), with its history."""
    from .client import LaporError
    from .sync import ImportRefused, import_complaint

    try:
        c = import_complaint(lapor_id)
    except (ImportRefused, LaporError) as exc:
        _fail(exc)
    click.echo(f"imported LAPOR! {lapor_id} as {c.tracking_id} (status {c.status})")


@lapor_group.command("status")
@click.argument("tracking_id", required=False)
@_connected
def status_cmd(tracking_id):
    """Sync state of one complaint, or a summary of all."""
    from .config import missing_credentials
    from .models import LaporTicket
    from .sync import stuck, ticket_view

    if tracking_id:
        try:
            c = services.find_complaint(tracking_id)
        except services.NotFound as exc:
            _fail(exc)
        view = ticket_view(LaporTicket.get_or_none(LaporTicket.complaint == c.id), c)
        if view is None:
            _fail(f"{c.tracking_id} is not synchronised with SP4N-LAPOR!")
        _out(view)
        return
    missing = missing_credentials(current_app.config)
    click.echo(f"base URL: {current_app.config['LAPOR_BASE_URL']}")
    click.echo("credentials: " + ("set" if not missing else "MISSING " + ", ".join(missing)))
    counts = {}
    for (state,) in LaporTicket.select(LaporTicket.state).tuples():
        counts[state] = counts.get(state, 0) + 1
    click.echo("tickets: " + (", ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "none"))
    click.echo("stuck: " + ", ".join(f"{k}={len(v)}" for k, v in stuck().items()))


@lapor_group.command("stuck")
@_connected
def stuck_cmd():
    """Everything waiting for an operator (uncertain creates first)."""
    from .sync import stuck

    s = stuck()
    for t in s["tickets"]:
        click.echo(f"{t['tracking_id']:<10} {t['state']:<9} lapor={t['lapor_id'] or '-':<8} "
                   f"forward={t.get('forward_state', '-'):<8} {(t.get('last_error') or t.get('poll_error') or '')[:100]}")
        if t.get("attention"):
            click.echo(f"{'':<10} {t['attention']}")
    for r in s["replies"]:
        click.echo(f"{r['tracking_id']:<10} reply {r['id']} (event {r['event_id']}) {r['state']:<9} "
                   f"{(r['last_error'] or '')[:100]}")
    for j in s["dead_jobs"]:
        click.echo(f"job {j['id']:<6} {j['kind']:<12} {j['tracking_id'] or '-':<10} {(j['last_error'] or '')[:100]}")
    if not any(s.values()):
        click.echo("nothing stuck")


@lapor_group.command("link")
@click.argument("tracking_id")
@click.argument("lapor_id")
@click.option("--force", is_flag=True, help="Do not check in LAPOR! that LAPOR_ID carries our tracking id.")
@_connected
def link_cmd(tracking_id, lapor_id, force):
    """An uncertain create exists in LAPOR! as LAPOR_ID: record it and carry on."""
    from .client import LaporError
    from .sync import link

    try:
        t = link(services.find_complaint(tracking_id), lapor_id, force=force)
    except (services.ServiceError, LaporError) as exc:
        _fail(exc)
    click.echo(f"{tracking_id} linked to LAPOR! {t.lapor_id}")


@lapor_group.command("resend")
@click.argument("tracking_id")
@click.option("--yes", is_flag=True, help="I checked LAPOR!: the complaint is not there.")
@_connected
def resend_cmd(tracking_id, yes):
    """Send an uncertain or failed create again (check LAPOR! first: this may make a duplicate)."""
    from .sync import resend

    if not yes:
        click.confirm("Resending may create a duplicate in LAPOR!. Did you check it is not there?", abort=True)
    try:
        resend(services.find_complaint(tracking_id))
    except services.ServiceError as exc:
        _fail(exc)
    click.echo(f"{tracking_id} queued to be sent again")


@lapor_group.command("reply")
@click.argument("reply_id", type=int)
@click.argument("action", type=click.Choice(["resend", "dismiss"]))
@_connected
def reply_cmd(reply_id, action):
    """Settle an uncertain or failed follow-up post (ids in `aduan lapor stuck`)."""
    from .sync import resolve_reply

    try:
        r = resolve_reply(reply_id, action)
    except services.ServiceError as exc:
        _fail(exc)
    click.echo(f"reply {r.id}: {r.state}")


@lapor_group.command("poll")
@click.argument("tracking_id", required=False)
@_connected
def poll_cmd(tracking_id):
    """Poll one complaint now, or every complaint that is due."""
    from .client import LaporClient, LaporError
    from .models import LaporTicket
    from .sync import poll_due, poll_one

    if not tracking_id:
        _out(poll_due(current_app._get_current_object()))
        return
    try:
        c = services.find_complaint(tracking_id)
        api = LaporClient(current_app.config)
    except (services.ServiceError, LaporError) as exc:
        _fail(exc)
    t = LaporTicket.get_or_none(LaporTicket.complaint == c.id)
    if t is None or not t.lapor_id:
        _fail(f"{c.tracking_id} has no LAPOR! id yet")
    r = poll_one(t, api)
    if r is None:
        _fail(LaporTicket.get_by_id(t.id).poll_error)
    _out(r)


@lapor_group.command("simulate")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8765, type=int)
@click.option("--error-rate", default=0.0, type=float, help="Share of calls that fail (0–1).")
@click.option("--latency", "latency_ms", default=0.0, type=click.FloatRange(min=0),
              help="Milliseconds every answer takes (a slow national service); answers wait concurrently.")
@click.option("--jitter", "jitter_ms", default=0.0, type=click.FloatRange(min=0),
              help="Up to this many milliseconds more or less than --latency, at random.")
def simulate_cmd(host, port, error_rate, latency_ms, jitter_ms):
    """Run the SP4N-LAPOR! simulator (E1–E8) with this deployment's credentials, for demos."""
    from .config import normalise_guid
    from .simulator import DEFAULT_GUID, DEFAULT_TOKEN, serve

    cfg = current_app.config
    token = cfg.get("LAPOR_BEARER_TOKEN") or DEFAULT_TOKEN
    guid = normalise_guid(cfg.get("LAPOR_TOKEN_GUID") or DEFAULT_GUID)
    serve(host, port, token, guid, cfg["LAPOR_AUTH_HEADER"], error_rate, echo=click.echo, latency_ms=latency_ms,
          jitter_ms=jitter_ms)
