"""Configuration: defaults, an optional instance file, ``ADUAN_*`` environment, then the mapping
passed to ``create_app`` (highest precedence).

Every key is declared in a marshmallow schema with a default and a description, so ``aduan
config`` can print them all and start-up can refuse an invalid value with a clear message. A
plugin declares its own keys through ``register_config()``; they live under its prefix
(``LAPOR_BASE_URL``, environment ``ADUAN_LAPOR_BASE_URL``).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from .keys import DEV_SECRET_KEY
from .opsconfig import OpsConfig

#: Keys whose values are never printed, logged or exported. Plugins mark theirs with
#: ``metadata={"secret": True}``.
SECRET_MARK = "secret"


class StrList(fields.List):
    """A list of strings that also accepts ``"a,b,c"`` (handy in environment variables)."""

    def __init__(self, **kwargs):
        super().__init__(fields.String(), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


def describe_key(text: str, **extra) -> dict:
    """Field metadata for a configuration key: ``metadata=describe_key("what it is", secret=True)``.

    Plugins use it in their ``register_config`` schemas so every key carries a description."""
    return {"description": text, **extra}


_d = describe_key


def _fail(message: str):
    raise ValidationError(message)


def _timezone(value: str) -> None:
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        _fail(f"unknown time zone {value!r} (an IANA name such as Asia/Makassar, Asia/Jakarta or Asia/Jayapura)")


def _dates(values: list[str]) -> None:
    import datetime as dt

    for v in values:
        try:
            dt.date.fromisoformat(v)
        except ValueError:
            _fail(f"{v!r} is not a date YYYY-MM-DD")


def _holiday_categories(values: list[str]) -> None:
    import holidays

    allowed = set(holidays.country_holidays("ID").supported_categories)
    bad = [v for v in values if v not in allowed]
    if bad:
        _fail(f"unknown holiday categories {', '.join(map(repr, bad))}; known: {', '.join(sorted(allowed))}")


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour|day)s?\s*$")


def _rate(value: str) -> None:
    m = _RATE.match(value or "")
    if not m or int(m.group(1)) < 1:
        _fail(f"{value!r} is not a rate such as 20/hour (N/second, N/minute, N/hour or N/day, N ≥ 1)")


def _http_url(value: str) -> None:
    p = urlsplit(value or "")
    if p.scheme not in ("http", "https") or not p.netloc:
        _fail("must be an http:// or https:// URL")


def _database_url(value: str | None) -> None:
    if value is None:
        return
    scheme = urlsplit(value).scheme
    if scheme not in ("sqlite", "postgres", "postgresql", "postgresext", "postgresqlext"):
        _fail("must start with sqlite:/// or postgresql:// (only SQLite and PostgreSQL are supported)")


def _fernet_key(value: str | None) -> None:
    if value is None:
        return
    from cryptography.fernet import Fernet

    try:
        Fernet(value)
    except (ValueError, TypeError):
        _fail("must be a Fernet key: 32 url-safe base64-encoded bytes (python -c 'from cryptography.fernet "
              "import Fernet; print(Fernet.generate_key().decode())')")


_REGION = re.compile(r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$")
_MIME = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")


def _region_prefixes(values: list[str]) -> None:
    bad = [v for v in values if not _REGION.match(v)]
    if bad:
        _fail(f"not Kemendagri region codes: {', '.join(map(repr, bad))} (e.g. 52, 52.71, 52.71.01)")


def _mime_types(values: list[str]) -> None:
    bad = [v for v in values if not _MIME.match(v)]
    if bad:
        _fail(f"not MIME types: {', '.join(map(repr, bad))} (e.g. image/jpeg, application/pdf)")


def _fernet_keys(values: list[str]) -> None:
    for v in values:
        _fernet_key(v)


class CoreConfig(OpsConfig):
    SECRET_KEY = fields.String(load_default=DEV_SECRET_KEY, validate=validate.Length(min=1), metadata=_d(
        "The one secret every key is derived from (NIK encryption, access codes, reply tokens, rate-limit "
        "hashes). Set a long random value in production: serve and worker refuse the built-in one.",
        secret=True))
    SECRET_KEYS_OLD = StrList(load_default=list, metadata=_d(
        "Previous SECRET_KEY values, newest first: what they encrypted or signed still decrypts and "
        "verifies (key rotation).", secret=True))
    DEVELOPMENT = fields.Boolean(load_default=False, metadata=_d(
        "Development mode: allows serve and worker to start with the built-in SECRET_KEY (make run sets it)."))
    NIK_KEY = fields.String(load_default=None, allow_none=True, validate=_fernet_key, metadata=_d(
        "Fernet key for encrypting NIK numbers at rest; derived from SECRET_KEY when unset.", secret=True))
    NIK_KEYS_OLD = StrList(load_default=list, validate=_fernet_keys, metadata=_d(
        "Previous NIK_KEY values that still decrypt.", secret=True))
    DATABASE_URL = fields.String(load_default=None, allow_none=True, validate=_database_url, metadata=_d(
        "peewee db_url, e.g. postgresql://user@host/db. Default: SQLite file aduan.db in the instance folder."))
    DATABASE_POOL_SIZE = fields.Integer(load_default=10, validate=validate.Range(min=1), metadata=_d(
        "Maximum pooled connections per process (PostgreSQL)."))
    PLUGINS = StrList(load_default=list, metadata=_d(
        "Names of the plugins to enable (entry points in group aduan.plugins), e.g. lapor,sms,email."))
    TIMEZONE = fields.String(load_default="Asia/Makassar", validate=_timezone, metadata=_d(
        "Deployment time zone used for display and working days (NTB: Asia/Makassar, WITA)."))
    LANGUAGE = fields.String(load_default="id", validate=validate.OneOf(["id", "en"]), metadata=_d(
        "Default language of citizen-facing text: id (Indonesian) or en."))
    BASE_URL = fields.String(load_default="http://127.0.0.1:5000", validate=_http_url, metadata=_d(
        "Public URL of this deployment, used in links sent to citizens."))
    INSTITUTION_NAME = fields.String(load_default="Pemerintah Provinsi Nusa Tenggara Barat", metadata=_d(
        "Name of the government running this deployment, shown to citizens."))
    REGION_PREFIXES = StrList(load_default=list, validate=_region_prefixes, metadata=_d(
        "Region code prefixes loaded into the region table (e.g. 52 for NTB). Empty: all of Indonesia."))
    # SLA clocks
    STATS_MIN_CELL_SIZE = fields.Integer(load_default=5, validate=validate.Range(min=2), metadata=_d(
        "Small-cell threshold of every public count (public /stats, and the open data unless "
        "OPENDATA_MIN_CELL_SIZE is set): a cell counting fewer complaints is withheld."))
    SLA_VERIFY_DAYS = fields.Integer(load_default=3, validate=validate.Range(min=0), metadata=_d(
        "Working days for the coordinator to verify and dispatch a new complaint."))
    SLA_FOLLOWUP_DAYS = fields.Integer(load_default=5, validate=validate.Range(min=0), metadata=_d(
        "Working days for the agency to give its follow-up (tindak lanjut) after dispatch."))
    SLA_AUTOCLOSE_DAYS = fields.Integer(load_default=10, validate=validate.Range(min=1), metadata=_d(
        "Working days after resolution without a reply from the reporter before the complaint closes itself."))
    SLA_RESOLUTION_DAYS = fields.Integer(load_default=60, validate=validate.Range(min=1), metadata=_d(
        "Calendar days from filing within which a complaint must be resolved (Perpres 76/2013)."))
    SLA_URGENCY_HOURS = fields.Dict(keys=fields.String(validate=validate.OneOf(["mendesak", "penting", "biasa"])),
                                    values=fields.Float(validate=validate.Range(min=0)),
                                    load_default=lambda: {"mendesak": 1, "penting": 24, "biasa": 48},
                                    metadata=_d("Hours to a first public answer per urgency tier (NTB Care)."))
    HOLIDAY_CATEGORIES = StrList(load_default=lambda: ["public", "government"], validate=_holiday_categories, metadata=_d(
        "Categories of the holidays package counted as non-working days (government = cuti bersama)."))
    HOLIDAYS_EXTRA = StrList(load_default=list, validate=_dates, metadata=_d(
        "Extra non-working dates (YYYY-MM-DD), e.g. a regional holiday or a new cuti bersama."))
    HOLIDAYS_REMOVED = StrList(load_default=list, validate=_dates, metadata=_d(
        "Dates the holidays package lists that this deployment works on."))
    SLA_SWEEP_SECONDS = fields.Float(load_default=300, validate=validate.Range(min=1), metadata=_d(
        "How often the worker checks deadlines."))
    # HTTP
    MAX_CONTENT_LENGTH = fields.Integer(load_default=12 * 1024 * 1024, validate=validate.Range(min=1024), metadata=_d(
        "Largest request body accepted, in bytes."))
    ATTACHMENT_MAX_BYTES = fields.Integer(load_default=10 * 1024 * 1024, validate=validate.Range(min=1), metadata=_d(
        "Largest attachment accepted, in bytes."))
    ATTACHMENT_MAX_FILES = fields.Integer(load_default=10, validate=validate.Range(min=1), metadata=_d(
        "Most attachments one complaint may hold (every channel and uploader counted together)."))
    ATTACHMENT_MAX_TOTAL_BYTES = fields.Integer(load_default=50 * 1024 * 1024, validate=validate.Range(min=1),
                                                metadata=_d("Most bytes the attachments of one complaint may total."))
    ATTACHMENT_TYPES = StrList(validate=_mime_types, load_default=lambda: [
        "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf", "audio/mpeg",
        "audio/ogg", "video/mp4"], metadata=_d("MIME types accepted for attachments, sniffed from the bytes."))
    ATTACHMENT_DIR = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Where attachments are stored (content-addressed). Default: attachments/ in the instance folder."))
    RATE_LIMIT_FILE = fields.String(load_default="20/hour", validate=_rate, metadata=_d(
        "Public filing limit per client address, as N/second|minute|hour|day."))
    RATE_LIMIT_TRACK = fields.String(load_default="300/hour", validate=_rate, metadata=_d(
        "Limit per client address on access-code checks and lookups of unknown tracking ids."))
    LOOKUP_CACHE_SECONDS = fields.Float(load_default=30, validate=validate.Range(min=0), metadata=_d(
        "How long a web process reuses a category or region it looked up for a filing (0: never). An admin's "
        "change is seen at once by the process that made it, by the others within this many seconds."))
    TRUSTED_PROXIES = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata=_d(
        "Number of reverse proxies in front of the app whose X-Forwarded-For may be trusted."))
    # aduan serve (waitress)
    SERVE_THREADS = fields.Integer(load_default=8, validate=validate.Range(min=1, max=256), metadata=_d(
        "Threads answering requests in each aduan serve process (each holds one database connection while it "
        "works; keep DATABASE_POOL_SIZE at least this on PostgreSQL)."))
    SERVE_CONNECTION_LIMIT = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=100000), metadata=_d(
        "Most client connections one aduan serve process holds open at once; past it, new connections wait in "
        "the listen backlog."))
    SERVE_BACKLOG = fields.Integer(load_default=2048, validate=validate.Range(min=1, max=65535), metadata=_d(
        "Connections the kernel queues for aduan serve before accepting them (capped by net.core.somaxconn)."))
    SERVE_CHANNEL_TIMEOUT = fields.Float(load_default=60, validate=validate.Range(min=1, max=3600), metadata=_d(
        "Seconds an idle or silent client connection is kept open before aduan serve closes it."))
    # Staff sign-in (aduan.passwords)
    LOGIN_MAX_FAILURES = fields.Integer(load_default=5, validate=validate.Range(min=1, max=1000), metadata=_d(
        "Consecutive failed password sign-ins after which a staff account is locked."))
    LOGIN_LOCKOUT_MINUTES = fields.Float(load_default=15, validate=validate.Range(min=0.01, max=7 * 24 * 60),
                                         metadata=_d("How long a locked staff account stays locked, in minutes."))
    LOGIN_FAILURES_PER_ADDRESS = fields.Integer(load_default=30, validate=validate.Range(min=1, max=100000), metadata=_d(
        "Failed password sign-ins accepted from one client address in an hour, whatever the names tried; "
        "successful sign-ins do not count."))
    PASSWORD_MIN_LENGTH = fields.Integer(load_default=10, validate=validate.Range(min=8, max=128), metadata=_d(
        "Shortest staff password accepted."))
    # Worker
    JOB_MAX_ATTEMPTS = fields.Integer(load_default=12, validate=validate.Range(min=1), metadata=_d(
        "Attempts before a failing job is marked dead."))
    JOB_BACKOFF_BASE = fields.Float(load_default=30, validate=validate.Range(min=0), metadata=_d(
        "Seconds before the first retry; doubles on each attempt (with jitter)."))
    JOB_BACKOFF_MAX = fields.Float(load_default=6 * 3600, validate=validate.Range(min=0), metadata=_d(
        "Longest wait between two attempts, in seconds."))
    JOB_LEASE_SECONDS = fields.Float(load_default=300, validate=validate.Range(min=0.1), metadata=_d(
        "How long a claimed job is reserved; a job whose worker died is reclaimed after this."))
    WORKER_POLL_SECONDS = fields.Float(load_default=2, validate=validate.Range(min=0.01), metadata=_d(
        "Idle sleep between two looks at the job table."))
    WORKER_CONCURRENCY = fields.Integer(load_default=8, validate=validate.Range(min=1, max=256), metadata=_d(
        "Jobs one worker process runs at once, in threads (jobs mostly wait on other systems); 1 runs them one "
        "by one. A plugin may bound its own kinds lower (LAPOR_CONCURRENCY)."))


def parse_env(prefix: str = "ADUAN") -> dict[str, Any]:
    """``ADUAN_X=...`` → ``{"X": "..."}``, as text: each schema field converts its own value
    (so ``ADUAN_REGION_PREFIXES=52.10`` stays the code ``52.10``, not the number 52.1). Lists and
    mappings may be given as JSON (``["a","b"]``, ``{"k": 1}``); lists also as ``a,b``."""
    return {key[len(prefix) + 1:]: raw for key, raw in os.environ.items() if key.startswith(prefix + "_")}


def _coerce(field: fields.Field, value: Any) -> Any:
    if isinstance(value, str) and isinstance(field, (fields.Dict, fields.List, fields.Nested)) \
            and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value  # the field reports it as invalid
    return value


def load_file(path: str) -> dict[str, Any]:
    """An instance file is Python (like Flask's ``from_pyfile``): UPPERCASE names are kept."""
    ns: dict[str, Any] = {"__file__": path}
    with open(path, "rb") as fh:
        exec(compile(fh.read(), path, "exec"), ns)  # noqa: S102 - operator-owned config file
    return {k: v for k, v in ns.items() if k.isupper()}


class ConfigError(RuntimeError):
    """Raised at start-up when a configuration value is invalid; names the key, never a secret value."""


def validate_section(schema: Schema, raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Validate the keys of one schema (core or a plugin's) out of the merged raw mapping."""
    by_name = {f.data_key or n: f for n, f in schema.fields.items()}
    data = {k[len(prefix):]: _coerce(by_name[k[len(prefix):]], v) for k, v in raw.items()
            if k.startswith(prefix) and k[len(prefix):] in by_name}
    try:
        loaded = schema.load(data)
    except ValidationError as exc:
        msgs = "; ".join(f"{prefix}{k}: {' '.join(map(str, v if isinstance(v, list) else [v]))}"
                         for k, v in exc.messages.items())
        raise ConfigError(f"invalid configuration: {msgs}") from None
    return {prefix + k: v for k, v in loaded.items()}


#: Key names that hold credentials even when a schema forgot ``secret=True`` (safe by default).
SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|PASSKEY|SECRET|TOKEN|_KEY|KEYS_OLD|CREDENTIALS?|_HEADERS|_BODY|"
                         r"_AUTH|APIKEY|API_KEY|SIGNATURE)$")
#: Query parameters and JSON/form fields whose value is a credential.
_SECRET_PARAM = r"(?:pass(?:word|wd|key)?|pwd|secret|token|access_token|api[-_]?key|apikey|key|auth|sig|signature|" \
                r"credentials?|client_secret)"
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@/\s]*)@")
_QUERY_SECRET = re.compile(r"(?P<name>[?&;]" + _SECRET_PARAM + r"=)(?P<value>[^&#\s]*)", re.I)
MASK = "********"


def mask_text(text: str) -> str:
    """Hide passwords embedded in URLs (``postgresql://u:PW@host``) and credential query parameters
    (``?apikey=...``) inside any text; the rest stays readable."""
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: m["name"] + MASK, text)


def mask_value(value: Any) -> Any:
    """:func:`mask_text` applied through strings, lists and mappings (a header mapping's values are
    masked whole when their name looks like a credential)."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    if isinstance(value, Mapping):
        return {k: MASK if re.search(_SECRET_PARAM + "$", str(k), re.I) and v else mask_value(v)
                for k, v in value.items()}
    return value


def is_secret(key: str, field: fields.Field | None = None) -> bool:
    """A key whose whole value is never shown: marked ``secret=True`` or named like a credential."""
    return bool((field is not None and field.metadata.get(SECRET_MARK)) or SECRET_NAME.search(key))


def describe(schema: Schema, values: Mapping[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    """Rows for ``aduan config``: key, value (credentials masked), description.

    A secret key shows ``********`` when set (``None``/empty when not, so an operator still sees
    what is missing); every other value has the passwords of embedded URLs and credential query
    parameters masked (:func:`mask_value`)."""
    rows = []
    for name, f in schema.fields.items():
        key = prefix + name
        secret = is_secret(key, f)
        val = values.get(key)
        if secret:
            val = MASK if val else val
        else:
            val = mask_value(val)
        rows.append({"key": key, "env": "ADUAN_" + key, "value": val,
                     "description": f.metadata.get("description", ""), "secret": secret})
    return rows
