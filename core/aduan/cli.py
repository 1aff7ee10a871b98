"""The ``aduan`` command."""
from __future__ import annotations

import json
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from .db import database


def _create_app(*_args, **_kwargs):
    from .app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False)
def main():
    """aduan: public-complaint platform. Configuration comes from ADUAN_* environment variables.

    Enabled plugins add their own command groups (``aduan lapor ...``)."""


def _connected(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        with database.connection_context():
            return fn(*a, **kw)

    return with_appcontext(wrapper)


def upgrade_database(app=None) -> list[str]:
    """Apply pending migrations, then create missing tables of plugins that ship no migrations.
    Returns what was done (``core:0002_rate_limit``, ``created:<table>``)."""
    from .db import migrate, migration_lock

    app = app or current_app
    st = app.extensions["aduan"]
    applied = migrate(st.migrations)
    with_migrations = set(st.migrations)
    # Plugin models without migration scripts: create their missing tables.
    extra = [m for m in st.models if m.__module__.split(".")[0].replace("aduan_", "") not in with_migrations]
    created = []
    if extra:
        with migration_lock():
            created = [m for m in extra if not m.table_exists()]
            database.create_tables(created, safe=True)
    return applied + [f"created:{m._meta.table_name}" for m in created]


@main.command("init")
@click.option("--regions/--no-regions", default=True, help="Load region codes (REGION_PREFIXES) if none are loaded.")
@_connected
def init_cmd(regions):
    """Create or upgrade the database (and load region codes)."""
    for name in upgrade_database():
        click.echo(f"applied {name}")
    if regions:
        from .regions import load_regions
        from .models import Region

        if not Region.select().exists():
            n = load_regions(current_app.config["REGION_PREFIXES"])
            click.echo(f"loaded {n} region codes")
    click.echo("database ready")


@main.group("db")
def db_group():
    """Database migrations."""


@db_group.command("upgrade")
@_connected
def db_upgrade():
    """Apply pending migrations (core first, then each enabled plugin)."""
    names = upgrade_database()
    for n in names:
        click.echo(f"applied {n}")
    click.echo("up to date" if not names else f"{len(names)} applied")


@db_group.command("status")
@_connected
def db_status():
    """List migrations and whether each is applied."""
    from .db import migration_status

    pending = 0
    for owner, name, applied in migration_status(current_app.extensions["aduan"].migrations):
        click.echo(f"[{'x' if applied else ' '}] {owner}:{name}")
        pending += not applied
    sys.exit(1 if pending else 0)


@main.group("regions")
def regions_group():
    """Kemendagri region codes."""


@regions_group.command("load")
@click.option("--prefix", "prefixes", multiple=True, help="Only codes under these prefixes (e.g. 52).")
@_connected
def regions_load(prefixes):
    """(Re)load region codes from the shipped table."""
    from .regions import load_regions

    n = load_regions(list(prefixes) or current_app.config["REGION_PREFIXES"])
    click.echo(f"loaded {n} region codes")


@main.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has complaints.")
@_connected
def demo_cmd(if_empty):
    """Seed a believable NTB deployment and print the staff tokens (once)."""
    from .demo import seed
    from .models import Complaint

    upgrade_database()
    if if_empty and Complaint.table_exists() and Complaint.select().exists():
        click.echo("demo data already present (instance/aduan.db); tokens were printed when it was created.")
        tokfile = os.path.join(current_app.instance_path, "demo-tokens.txt")
        if os.path.exists(tokfile):
            click.echo(f"they are also in {tokfile}")
        return
    tokens = seed()
    lines = [f"  {role:<12} {user:<22} {tok}" for role, user, tok in tokens]
    click.echo("\nStaff tokens (Authorization: Bearer <token>):\n" + "\n".join(lines) + "\n")
    tokfile = os.path.join(current_app.instance_path, "demo-tokens.txt")
    with open(tokfile, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.chmod(tokfile, 0o600)


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, type=int)
@click.option("--with-worker", is_flag=True, help="Also run the job worker in this process (demo, small sites).")
@with_appcontext
def serve_cmd(host, port, threads, with_worker):
    """Serve the API with waitress (a production WSGI server)."""
    import threading

    from .logs import configure_from_app
    from .serving import serve

    app = current_app._get_current_object()
    configure_from_app(app)
    w = None
    if with_worker:
        from .jobs import Worker

        w = Worker(app)
        t = threading.Thread(target=w.run_forever, name="aduan-worker", daemon=True)
        t.start()
        click.echo("worker running in-process")
    click.echo(f"aduan serving on http://{host}:{port}/api/v1/ (docs: /api/v1/docs)")
    serve(app, host=host, port=port, threads=threads)  # returns after SIGTERM, once requests in flight are done
    if w is not None:
        w.stopping.set()
        t.join(app.config["SHUTDOWN_GRACE_SECONDS"])


@main.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@with_appcontext
def worker_cmd(once):
    """Run outbox jobs and schedules until SIGTERM (several workers may share PostgreSQL)."""
    from .jobs import Worker
    from .logs import configure_from_app

    configure_from_app(current_app)
    w = Worker(current_app._get_current_object())
    if once:
        click.echo(json.dumps(w.run_once()))
    else:
        w.run_forever()


@main.group("user")
def user_group():
    """Staff accounts."""


@user_group.command("create")
@click.argument("username")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "coordinator", "officer", "integration"]), required=True)
@click.option("--agency", "agency_code", help="Agency code (officers).")
@click.option("--email")
@click.option("--token/--no-token", default=True, help="Also issue a token and print it once.")
@_connected
def user_create(username, name, role, agency_code, email, token):
    """Create a staff account."""
    from .auth import create_token
    from .models import Agency, User

    agency = None
    if agency_code:
        agency = Agency.get_or_none(Agency.code == agency_code)
        if agency is None:
            raise click.UsageError(f"no agency with code {agency_code!r}")
    if role == "officer" and agency is None:
        raise click.UsageError("an officer needs --agency")
    if User.get_or_none(User.username == username):
        raise click.UsageError(f"user {username!r} exists")
    with database.atomic():
        u = User.create(username=username, name=name, role=role, agency=agency, email=email)
        if token:
            _, raw = create_token(u, "cli")
    click.echo(f"created {role} {username}")
    if token:
        click.echo(f"token (shown once): {raw}")


@main.group("token")
def token_group():
    """API tokens."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="cli")
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE",
              help="Integration accounts: grant a scope (repeat), e.g. complaints:read, channel:sms, agency:PUPR.")
@_connected
def token_create(username, name, scopes):
    """Issue a token for a user; it is printed once. An integration token can do only what its
    --scope options grant (see the README)."""
    from .auth import ScopeError, create_token
    from .models import User

    u = User.get_or_none(User.username == username)
    if u is None:
        raise click.UsageError(f"no user {username!r}")
    try:
        with database.atomic():
            _, raw = create_token(u, name, scopes=scopes)
    except ScopeError as exc:
        raise click.UsageError("; ".join(exc.errors)) from None
    click.echo(raw)


@token_group.command("revoke")
@click.argument("prefix")
@_connected
def token_revoke(prefix):
    """Revoke tokens by their displayed prefix."""
    from .models import Token

    n = Token.update(revoked=True).where(Token.prefix == prefix).execute()
    click.echo(f"revoked {n}")


@main.command("plugins")
@with_appcontext
def plugins_cmd():
    """Installed and enabled plugins with their hooks."""
    for row in current_app.extensions["aduan"].hooks.describe():
        state = "enabled " if row["enabled"] else "disabled"
        click.echo(f"{row['name']:<10} {state} {row['version'] or '-':<8} {', '.join(row['hooks'])}")


@main.command("config")
@click.option("--json", "as_json", is_flag=True)
@with_appcontext
def config_cmd(as_json):
    """Every configuration key with its value (secrets masked) and description."""
    from .config import CoreConfig, describe

    rows = describe(CoreConfig(), current_app.config)
    for prefix, schema in current_app.extensions["aduan"].config_schemas.items():
        rows += describe(schema(), current_app.config, prefix + "_")
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str, ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r['key']} = {r['value']!r}\n    {r['description']} (env {r['env']})")


@main.group("jobs")
def jobs_group():
    """The outbox."""


@jobs_group.command("list")
@click.option("--status", type=click.Choice(["pending", "running", "done", "dead"]))
@click.option("--limit", default=50)
@_connected
def jobs_list(status, limit):
    """List jobs (dead ones first)."""
    from .models import Job

    q = Job.select()
    if status:
        q = q.where(Job.status == status)
    for j in q.order_by(Job.status != "dead", Job.id.desc()).limit(limit):
        click.echo(f"{j.id:>6} {j.status:<8} {j.kind:<24} attempts={j.attempts}/{j.max_attempts} "
                   f"run_at={j.run_at:%Y-%m-%d %H:%M:%S} {(j.last_error or '')[:80]}")


@jobs_group.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True)
@_connected
def jobs_retry(job_ids, all_dead):
    """Run dead jobs again."""
    from .jobs import retry
    from .models import Job

    ids = list(job_ids)
    if all_dead:
        ids += [j.id for j in Job.select(Job.id).where(Job.status == "dead")]
    n = sum(retry(i) for i in ids)
    click.echo(f"{n} job(s) queued again")


@main.group("sla")
def sla_group():
    """Deadlines."""


@sla_group.command("sweep")
@_connected
def sla_sweep_cmd():
    """Record missed deadlines and auto-close resolved complaints now."""
    from .services import sla_sweep

    click.echo(json.dumps(sla_sweep()))


@main.command("export")
@click.argument("name")
@click.argument("directory", type=click.Path(file_okay=False))
@_connected
def export_cmd(name, directory):
    """Run an exporter registered by a plugin (``register_exporters``)."""
    exporters = current_app.extensions["aduan"].exporters
    if name not in exporters:
        raise click.UsageError(f"no exporter {name!r}; available: {', '.join(sorted(exporters)) or 'none'}")
    os.makedirs(directory, exist_ok=True)
    for path in exporters[name](current_app._get_current_object(), directory):
        click.echo(path)


@main.command("openapi")
@with_appcontext
def openapi_cmd():
    """Print the OpenAPI document (what `make openapi` writes to openapi/openapi.json)."""
    click.echo(openapi_json(current_app))


def openapi_json(app) -> str:
    spec = app.extensions["aduan_api"].spec.to_dict()
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False)


from .opscli import register as _register_ops_commands  # noqa: E402 - backup, restore, storage

_register_ops_commands(main)
