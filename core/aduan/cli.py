"""The ``aduan`` command.

Operator mistakes (a bad configuration value, a database that cannot be reached, a port in use, a
plugin that is not installed) print one line naming the key or the cause and exit with status 1;
``aduan --debug ...`` (or ``ADUAN_DEBUG=1``) shows the traceback as well. Warnings emitted while the
application is built (development key, incomplete plugin settings) are printed once by the commands
that run the service (``serve``, ``worker``, ``init``, ``config``), never by ``--help``.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sys
import traceback

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from .db import database

#: Exit status of an operator error (configuration, database, port, plugin).
EXIT_OPERATOR = 1


class OperatorError(click.ClickException):
    """A mistake the operator can fix: shown as one line, without a traceback."""

    def show(self, file=None):
        click.echo(f"aduan: error: {self.format_message()}", err=True, file=file)


class _Capture(logging.Handler):
    """Holds the warnings logged while the app is built, to print them once where they matter."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@contextlib.contextmanager
def _captured_warnings():
    root = logging.getLogger()
    handler = _Capture()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


def _create_app(*_args, **_kwargs):
    from .app import create_app

    with _captured_warnings() as records:
        app = create_app()
    app.extensions["aduan_startup_warnings"] = [r.getMessage() for r in records]
    return app


def print_startup_warnings(app) -> None:
    """Print the start-up warnings once (they were held back while the app was built)."""
    seen = set()
    for msg in app.extensions.pop("aduan_startup_warnings", None) or []:
        if msg not in seen:
            seen.add(msg)
            click.echo(f"aduan: warning: {msg}", err=True)


def _debug_wanted(args) -> bool:
    return "--debug" in (args or []) or os.environ.get("ADUAN_DEBUG", "").lower() in ("1", "true", "yes")


def describe_error(exc: BaseException) -> str | None:
    """One line for an error an operator can fix, or ``None`` for a bug (then the type is shown)."""
    import peewee

    from .config import ConfigError, mask_text
    from .plugins import PluginError

    if isinstance(exc, (ConfigError, PluginError)):
        return mask_text(str(exc))
    if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)) or \
            type(exc).__module__.startswith("psycopg"):
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return mask_text(f"cannot use the database (DATABASE_URL): {first}")
    if isinstance(exc, OSError):
        if exc.errno == errno.EADDRINUSE:
            return "the address is already in use: another server (or another aduan) listens on that port; " \
                   "choose another with --port"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return f"permission denied: {exc.filename or exc.strerror}" + \
                (" (ports below 1024 need privileges)" if exc.filename is None else "")
        if exc.errno == errno.ENOENT and exc.filename:
            return f"no such file or directory: {exc.filename}"
        if exc.errno == errno.EADDRNOTAVAIL:
            return "cannot listen on that address: it is not an address of this machine (--host)"
    return None


class AduanGroup(FlaskGroup):
    """``FlaskGroup`` whose errors are one line for operators (see the module docstring)."""

    def list_commands(self, ctx):
        # Flask prints a full traceback when the app cannot be built while listing commands (--help).
        self._load_plugin_commands()
        rv = set(click.Group.list_commands(self, ctx))
        try:
            rv.update(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except Exception as exc:  # noqa: BLE001 - shown as one line; the built-in commands still list
            click.echo(f"aduan: error: {describe_error(exc) or _unexpected(exc)}", err=True)
        return sorted(rv)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is None:
            args = sys.argv[1:]
        debug = _debug_wanted(args)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            if not standalone_mode:
                return rv
            sys.exit(rv if isinstance(rv, int) else 0)
        except click.ClickException as exc:
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            if not standalone_mode:
                raise
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except (KeyboardInterrupt, EOFError):
            sys.exit(130)
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001 - the operator gets one line, the traceback with --debug
            if debug:
                traceback.print_exc()
            line = describe_error(exc)
            if line is None:
                line = _unexpected(exc) + ("" if debug else " (aduan --debug ... shows the traceback)")
            click.echo(f"aduan: error: {line}", err=True)
            sys.exit(EXIT_OPERATOR)


def _unexpected(exc: BaseException) -> str:
    from .config import mask_text

    return mask_text(f"unexpected {type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")


@click.group(cls=AduanGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False)
def main():
    """aduan: public-complaint platform. Configuration comes from ADUAN_* environment variables.

    Enabled plugins add their own command groups (``aduan lapor ...``). ``--debug`` shows the
    traceback of an error."""


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
    print_startup_warnings(current_app)
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


@db_group.command("search-index")
@_connected
def db_search_index():
    """PostgreSQL: create the trigram indexes that serve the lists' text search (q), once pg_trgm
    can be used (migration 0011 already made them when the database role could create it)."""
    from .db import create_search_indexes

    if create_search_indexes():
        click.echo("search indexes ready (pg_trgm)")
    else:
        click.echo("no search index: PostgreSQL with the pg_trgm extension is needed "
                   "(CREATE EXTENSION pg_trgm, as a superuser); q still works, by scanning")
        sys.exit(1)


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
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) unless the database is empty.")
@click.option("--force", is_flag=True, help="Add demo data to a database that already holds data.")
@_connected
def demo_cmd(if_empty, force):
    """Seed a believable NTB deployment and print the staff tokens (once).

    Refuses a database that already holds complaints or staff accounts unless ``--force`` is given
    (``--if-empty`` then does nothing); even forced, it never issues tokens for accounts it did not
    create, so a real ``admin`` gets no new token."""
    from .demo import database_is_empty, seed
    from .files import write_private

    upgrade_database()
    tokfile = os.path.join(current_app.instance_path, "demo-tokens.txt")
    if not database_is_empty():
        if if_empty:
            click.echo("the database already holds data: no demo data added.")
            if os.path.exists(tokfile):
                click.echo(f"the demo tokens printed when it was seeded are in {tokfile}")
            return
        if not force:
            raise OperatorError("the database already holds complaints or staff accounts: refusing to add demo "
                                "data (use --force to add it anyway, or an empty database)")
    tokens = seed()
    if not tokens:
        click.echo("demo data added; every demo account already existed, so no token was issued.")
        return
    lines = [f"  {role:<12} {user:<14} {pw or '-':<18} {tok}" for role, user, tok, pw in tokens]
    head = f"  {'role':<12} {'username':<14} {'password':<18} API token (Authorization: Bearer <token>)"
    click.echo("\nDemo staff accounts (passwords for the portal's sign-in at /portal/sign-in):\n" + head + "\n"
               + "\n".join(lines) + "\n")
    write_private(tokfile, "\n".join(lines) + "\n")
    click.echo(f"(also written to {tokfile}, readable by you only)")


def _refuse_development_key(app) -> None:
    """``serve`` and ``worker`` never run with the published development key unless asked to."""
    from .keys import PUBLISHED_SECRET_KEYS

    if app.config["SECRET_KEY"] not in PUBLISHED_SECRET_KEYS:
        if len(app.config["SECRET_KEY"]) < 32:
            app.extensions.setdefault("aduan_startup_warnings", []).append(
                "SECRET_KEY is shorter than 32 characters; use a long random value "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return
    if not app.config["DEVELOPMENT"]:
        raise OperatorError(
            "SECRET_KEY is a value published with aduan, which anyone can read: set ADUAN_SECRET_KEY to a "
            "long random value (python3 -c 'import secrets; print(secrets.token_urlsafe(48))'), or set "
            "ADUAN_DEVELOPMENT=1 on a machine that holds no real data")
    held = app.extensions.setdefault("aduan_startup_warnings", [])
    held[:] = [m for m in held if not m.startswith("SECRET_KEY is the built-in development value")]
    held.insert(
        0, "development mode (DEVELOPMENT=1) with the built-in SECRET_KEY: for demos only, never real data")


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=None, type=click.IntRange(1, 256), help="Request threads (default: SERVE_THREADS, 8).")
@click.option("--connection-limit", default=None, type=click.IntRange(1, 100000),
              help="Most open client connections (default: SERVE_CONNECTION_LIMIT, 1000).")
@click.option("--backlog", default=None, type=click.IntRange(1, 65535),
              help="Listen backlog (default: SERVE_BACKLOG, 2048).")
@click.option("--channel-timeout", default=None, type=click.FloatRange(1, 3600),
              help="Seconds before an idle connection is closed (default: SERVE_CHANNEL_TIMEOUT, 60).")
@click.option("--with-worker", is_flag=True, help="Also run the job worker in this process (demo, small sites).")
@with_appcontext
def serve_cmd(host, port, threads, connection_limit, backlog, channel_timeout, with_worker):
    """Serve the API with waitress (a production WSGI server).

    Threads, connection limit, backlog and channel timeout come from SERVE_* (``aduan config``);
    an option given here wins."""
    import threading

    from .logs import configure_from_app
    from .serving import GracefulServer, adjustments

    app = current_app._get_current_object()
    _refuse_development_key(app)
    configure_from_app(app)
    print_startup_warnings(app)
    with database.connection_context():  # fail now, in one line, if the database cannot be reached
        pass
    # Binds now, so a port in use is a one-line error before anything else starts.
    adj = adjustments(app.config, threads=threads, connection_limit=connection_limit, backlog=backlog,
                      channel_timeout=channel_timeout)
    srv = GracefulServer(app, host=host, port=port, threads=adj.pop("threads"),
                         grace=app.config["SHUTDOWN_GRACE_SECONDS"], **adj)
    srv.install_signal_handlers()
    w = None
    if with_worker:
        from .jobs import Worker

        w = Worker(app)
        t = threading.Thread(target=w.run_forever, name="aduan-worker", daemon=True)
        t.start()
        click.echo("worker running in-process")
    click.echo(f"aduan serving on http://{host}:{port}/api/v1/ (docs: /api/v1/docs)")
    srv.run()  # returns after SIGTERM, once requests in flight are done
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

    app = current_app._get_current_object()
    _refuse_development_key(app)
    configure_from_app(app)
    print_startup_warnings(app)
    with database.connection_context():  # fail now, in one line, if the database cannot be reached
        pass
    w = Worker(app)
    if once:
        click.echo(json.dumps(w.run_once()))
        w.close()
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


@user_group.command("password")
@click.argument("username")
@click.option("--temporary", is_flag=True,
              help="Set a random temporary password, print it once; it must be changed at the first sign-in.")
@_connected
def user_password(username, temporary):
    """Set a staff account's password for signing in to the web pages (asked twice, not echoed).
    It unlocks the account and ends its web sessions."""
    from .models import User
    from .i18n import use_language
    from .passwords import PasswordError, set_password, temporary_password

    u = User.get_or_none(User.username == username)
    if u is None:
        raise click.UsageError(f"no user {username!r}")
    password = temporary_password() if temporary else click.prompt(
        "New password", hide_input=True, confirmation_prompt="Repeat the password")
    try:
        with use_language("en"):  # operator output stays in English
            set_password(u, password, temporary=temporary)
    except PasswordError as exc:
        raise click.UsageError("; ".join(str(e) for e in exc.errors)) from None
    if temporary:
        click.echo(f"temporary password for {username} (shown once, to be changed at the first sign-in): {password}")
    else:
        click.echo(f"password set for {username}")


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


@token_group.command("list")
@click.option("--user", "username", help="Only this user's tokens.")
@click.option("--all", "show_all", is_flag=True, help="Also revoked and expired tokens.")
@_connected
def token_list(username, show_all):
    """List tokens: prefix, user, role, name, created, last used, expiry, state (never the token)."""
    from .models import Token, User

    now = _utcnow()
    q = Token.select(Token, User).join(User).order_by(User.username, Token.created_at)
    if username:
        q = q.where(User.username == username)
    click.echo(f"{'PREFIX':<12} {'USER':<20} {'ROLE':<12} {'NAME':<16} {'CREATED':<16} {'LAST USED':<16} "
               f"{'EXPIRES':<16} STATE")
    for t in q:
        state = "revoked" if t.revoked else "expired" if t.expires_at and t.expires_at < now else \
            "inactive user" if not t.user.active else "active"
        if state != "active" and not show_all:
            continue
        click.echo(f"{t.prefix:<12} {t.user.username:<20} {t.user.role:<12} {t.name[:16]:<16} {_when(t.created_at):<16} "
                   f"{_when(t.last_used_at):<16} {_when(t.expires_at):<16} {state}")


def _utcnow():
    from .db import utcnow

    return utcnow()


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


@token_group.command("revoke")
@click.argument("token_or_prefix")
@_connected
def token_revoke(token_or_prefix):
    """Revoke a token: give the whole token, or the prefix shown by ``aduan token list``."""
    from .auth import hash_token
    from .models import Token

    value = token_or_prefix.strip()
    if not value:
        raise click.UsageError("give a token or its prefix")
    rows = list(Token.select().where(Token.token_hash == hash_token(value)))
    if not rows:
        rows = list(Token.select().where(Token.prefix == value))
    if not rows:
        raise OperatorError(f"no token matches {value[:10]!r}")
    if len(rows) > 1:
        raise OperatorError(f"{len(rows)} tokens share the prefix {value!r}: give the whole token")
    n = Token.update(revoked=True).where(Token.id == rows[0].id).execute()
    click.echo(f"revoked {n} token ({rows[0].prefix}, user {rows[0].user.username})")


@main.group("directory")
def directory_group():
    """Agencies and categories."""


@directory_group.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change, write nothing.")
@_connected
def directory_load(path, dry_run):
    """Create or update agencies and categories from a CSV or YAML file (matched by code).

    The whole file is checked first; an error in any row is reported with its row and field and
    nothing is written. Loading the same file again changes nothing. Example for NTB:
    deploy/directory/ntb.yaml."""
    from .directory import DirectoryError, load

    try:
        report = load(path, dry_run=dry_run)
    except DirectoryError as exc:
        for line in exc.errors:
            click.echo(f"{path}: {line}", err=True)
        raise OperatorError(f"{len(exc.errors)} error(s) in {path}; nothing was loaded") from None
    click.echo(("would load: " if dry_run else "loaded: ") + report.summary())


@main.group("keys")
def keys_group():
    """Key rotation (SECRET_KEY, SECRET_KEYS_OLD, NIK_KEY)."""


@keys_group.command("rotate")
@_connected
def keys_rotate():
    """Re-encrypt every stored NIK with the current key (after SECRET_KEY or NIK_KEY changed).

    Afterwards the old key is no longer needed for NIK; keep it in SECRET_KEYS_OLD while access codes
    and email reply addresses handed out under it should keep working."""
    from cryptography.fernet import InvalidToken

    from .models import Reporter
    from .services import _fernet

    f = _fernet()
    done = failed = 0
    for r in Reporter.select(Reporter.id, Reporter.nik_encrypted).where(Reporter.nik_encrypted.is_null(False)):
        try:
            new = f.rotate(r.nik_encrypted.encode()).decode()
        except InvalidToken:
            failed += 1
            continue
        with database.atomic():
            Reporter.update(nik_encrypted=new).where(Reporter.id == r.id).execute()
        done += 1
    click.echo(f"re-encrypted {done} NIK number(s) with the current key")
    if failed:
        raise OperatorError(f"{failed} NIK number(s) could not be decrypted with any key in use "
                            "(add the key they were made with to SECRET_KEYS_OLD or NIK_KEYS_OLD)")


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

    print_startup_warnings(current_app)
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
