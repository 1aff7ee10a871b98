"""The plugin's configuration (``LAPOR_*``, environment ``ADUAN_LAPOR_*``).

Everything the SP4N-LAPOR! contract leaves unknown (paths, field names, code values, status names)
is a setting with the spec's value as default, so a regency can correct it without a code change.
"""
from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema
from aduan.config import describe_key as _d

PRODUCTION_URL = "https://api-splp.layanan.go.id/lapor/3.0.0"
SANDBOX_URL = "https://api-splp.layanan.go.id/sandbox-konsolidasi/1.0"

GUID_RE = re.compile(r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$")

DEFAULT_PATHS = {
    "institutions": "/masters/institutions/external?page_size=1000",
    "templates": "/masters/templates?page_size=1000",
    "upload": "/complaints/complaint/file",
    "create": "/complaints/complaint",
    "forward": "/complaints/process/{complaint_id}/reject",
    "status": "/complaints/{complaint_id}/complaint",
    "followups": "/complaints/{complaint_id}/followups",
    "followup_add": "/complaints/followup/add",
}

#: LAPOR! status names → the local status they correspond to (matched case-insensitively).
DEFAULT_STATUS_MAP = {
    "Belum Terverifikasi": "received",
    "Terverifikasi": "dispatched",
    "Sudah Terverifikasi": "dispatched",
    "Dalam Proses": "in_progress",
    "Selesai": "resolved",
    "Diarsipkan": "closed",
    "Ditolak": "rejected",
}




def _path(key: str, text: str):
    return fields.String(load_default=DEFAULT_PATHS[key], validate=validate.Length(min=1), metadata=_d(
        f"{text} Path relative to LAPOR_BASE_URL (spec default shown); correct it here when the official "
        f"documentation says otherwise."))


class LaporConfig(Schema):
    BASE_URL = fields.String(load_default=SANDBOX_URL, validate=validate.URL(require_tld=False, schemes={"http", "https"}),
                             metadata=_d(f"SP4N-LAPOR! API base URL. Production: {PRODUCTION_URL}; sandbox: "
                                         f"{SANDBOX_URL}; the simulator: http://127.0.0.1:PORT."))
    AUTH_HEADER = fields.String(load_default="auth", validate=validate.OneOf(["auth", "Authorization"]), metadata=_d(
        "Name of the header carrying 'Bearer <token>': 'auth' in production, 'Authorization' in development."))
    BEARER_TOKEN = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Bearer token issued to this integrator (set it in the environment: ADUAN_LAPOR_BEARER_TOKEN).", secret=True))
    TOKEN_GUID = fields.String(load_default=None, allow_none=True, metadata=_d(
        "The 'token' header GUID, with or without braces (ADUAN_LAPOR_TOKEN_GUID).", secret=True))
    INSTITUTION_ID = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1), metadata=_d(
        "Our own institution id in LAPOR! (complaints are created addressed to it, then forwarded)."))
    USER_ID = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1), metadata=_d(
        "LAPOR! user id of the integrator account. Set: complaints are filed under it (is_new_user_slider=false) "
        "and follow-ups are posted as it. Unset: each complaint creates a reporter user (is_new_user_slider=true)."))
    # default code values (unknown tables: configure them from the official code lists)
    CHANNEL = fields.Integer(load_default=None, allow_none=True, metadata=_d(
        "E4 'channel' code; omitted when unset."))
    CLASSIFICATION_ID = fields.Integer(load_default=None, allow_none=True, metadata=_d(
        "E4 'classification_id' code; omitted when unset."))
    CATEGORY_ID = fields.Integer(load_default=None, allow_none=True, metadata=_d(
        "Default E4 'category_id' for categories without a mapping; omitted when unset."))
    LOCATION_ID = fields.Integer(load_default=None, allow_none=True, metadata=_d(
        "Default E4 'location_id' for complaints whose region has no entry in the location table; omitted "
        "when unset."))
    LOCATION_TABLE = fields.String(load_default=None, allow_none=True, metadata=_d(
        "CSV file mapping Kemendagri region codes to LAPOR! location ids (columns kode,nama,location_id; the "
        "longest matching code prefix wins). Unset: the NTB example shipped with the plugin "
        "(aduan_lapor/data/lapor_locations_ntb.csv)."))
    LOCATION_MAP = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict, metadata=_d(
        "Region code → LAPOR! location id, over the table, e.g. {\"52.71\": 5271}."))
    FORWARD_FALLBACK = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1), metadata=_d(
        "LAPOR! institution a complaint is forwarded to when its agency has no mapping (default: our own, "
        "LAPOR_INSTITUTION_ID); a visible note asks for the mapping."))
    NOT_CREATED_STATUSES = fields.List(fields.Integer(validate=validate.Range(min=500, max=599)),
                                       load_default=lambda: [502, 503, 504], metadata=_d(
        "HTTP 5xx answers that mean a request was certainly not processed (so a create is retried "
        "automatically instead of waiting for an operator). Connection refused always counts; timeouts "
        "after sending never do."))
    NOT_CREATED_GATEWAY_ONLY = fields.Boolean(load_default=True, metadata=_d(
        "Count a LAPOR_NOT_CREATED_STATUSES answer as not processed only when its body is not LAPOR!'s own "
        "(empty, or not JSON: the gateway's page). A JSON error body from LAPOR! stays 'outcome unknown'."))
    POST_STEPS = fields.List(fields.String(validate=validate.OneOf(
        ["respond", "resolve", "comment", "start", "hold", "resume", "reject", "reply", "reopen"])),
        load_default=lambda: ["respond", "resolve", "comment", "start", "hold", "resume", "reject", "reply", "reopen"],
        metadata=_d("Our public timeline steps posted to LAPOR! as follow-ups (E8). Transfers go by E5 with "
                    "their text; verify, close, rate and archive have no place there."))
    TAGS = fields.String(load_default="#aduan", metadata=_d("E4 'tags_raw'."))
    FOLLOWUP_TEMPLATE_CODE = fields.String(load_default="followup", metadata=_d(
        "E8 'template_code' for our follow-ups (the code table is unknown)."))
    DISPOSITION_TEMPLATE_CODE = fields.String(load_default="disposition", metadata=_d(
        "E7 'template_code' that marks a disposition entry (imported as an internal note)."))
    # endpoints
    PATH_INSTITUTIONS = _path("institutions", "E1 institution directory.")
    PATH_TEMPLATES = _path("templates", "E2 templates.")
    PATH_UPLOAD = _path("upload", "E3 attachment upload.")
    PATH_CREATE = _path("create", "E4 create complaint.")
    PATH_FORWARD = _path("forward", "E5 forward (bukan wewenang); {complaint_id} is replaced.")
    PATH_STATUS = _path("status", "E6 status and log; {complaint_id} is replaced.")
    PATH_FOLLOWUPS = _path("followups", "E7 follow-ups (paginated with ?page=N); {complaint_id} is replaced.")
    PATH_FOLLOWUP_ADD = _path("followup_add", "E8 add a follow-up.")
    # wire field names
    FIELD_NAMES = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict, metadata=_d(
        "Renames of outgoing fields, e.g. {\"nameUser\": \"name_user\"} (E4, E5, E8 bodies)."))
    EXTRA_FIELDS = fields.Dict(keys=fields.String(), load_default=dict, metadata=_d(
        "Constant fields added to every E4 create body, e.g. {\"source\": \"ntbcare\"}."))
    CREATED_ID_PATHS = fields.List(fields.String(), load_default=lambda: ["complaint_id", "results.complaint.id",
                                                                            "results.complaint_id", "results.id"],
                                   metadata=_d("Where the E4 response carries the new complaint id (dotted paths, first "
                                               "found wins)."))
    STATUS_MAP = fields.Dict(keys=fields.String(), values=fields.String(
        validate=validate.OneOf(["received", "dispatched", "in_progress", "resolved", "closed", "rejected", "ignore"])),
        load_default=lambda: dict(DEFAULT_STATUS_MAP), metadata=_d(
            "LAPOR! status name → local status (received, dispatched, in_progress, resolved, closed, rejected, "
            "ignore). Unknown names are kept raw and not applied."))
    FINAL_STATUSES = fields.List(fields.String(), load_default=lambda: ["Selesai", "Diarsipkan", "Ditolak"], metadata=_d(
        "LAPOR! status names after which polling stops once the local complaint is finished too."))
    APPLY_STATUS = fields.Boolean(load_default=True, metadata=_d(
        "Apply LAPOR! status changes to the local workflow (verify, start, resolve, close, reject)."))
    # behaviour
    PUSH_ON = fields.String(load_default="verify", validate=validate.OneOf(["verify", "file"]), metadata=_d(
        "When a complaint is sent to LAPOR!: 'verify' (when the coordinator dispatches it) or 'file' (on receipt)."))
    SEND_IDENTITY = fields.Boolean(load_default=True, metadata=_d(
        "May the reporter's name, phone and email be sent at all? Even when true, they are sent only for "
        "complaints that are not anonymous or whose reporter consented (share_identity). NIK is never sent."))
    POLL_SECONDS = fields.Float(load_default=60, validate=validate.Range(min=0.001), metadata=_d(
        "How often the worker looks for complaints due for a status poll."))
    POLL_BATCH = fields.Integer(load_default=100, validate=validate.Range(min=1), metadata=_d(
        "Most complaints polled per round."))
    POLL_MIN_INTERVAL = fields.Float(load_default=3600, validate=validate.Range(min=0), metadata=_d(
        "Seconds between two polls of a complaint that just changed."))
    POLL_MAX_INTERVAL = fields.Float(load_default=86400, validate=validate.Range(min=0), metadata=_d(
        "Longest wait between two polls of a quiet complaint (the interval doubles while nothing changes)."))
    POLL_ERROR_INTERVAL = fields.Float(load_default=600, validate=validate.Range(min=0), metadata=_d(
        "Seconds before polling again after an error."))
    MAX_PAGES = fields.Integer(load_default=100, validate=validate.Range(min=1), metadata=_d(
        "Most E7 follow-up pages read per poll (a guard against a looping next_page_url)."))
    INSTITUTION_SYNC_SECONDS = fields.Float(load_default=86400, validate=validate.Range(min=1), metadata=_d(
        "How often the institution directory (E1) is reloaded."))
    CONNECT_TIMEOUT = fields.Float(load_default=5, validate=validate.Range(min=0.01), metadata=_d(
        "Seconds to establish a connection."))
    READ_TIMEOUT = fields.Float(load_default=30, validate=validate.Range(min=0.01), metadata=_d(
        "Seconds to wait for a response. A create that times out is marked uncertain, never resent blindly."))
    CONCURRENCY = fields.Integer(load_default=8, validate=validate.Range(min=1, max=256), metadata=_d(
        "SP4N-LAPOR! jobs (pushes, follow-ups) one worker process runs at once (also bounded by "
        "WORKER_CONCURRENCY)."))
    RATE_LIMIT = fields.Float(load_default=40, validate=validate.Range(min=0), metadata=_d(
        "Most requests per second one worker process sends to SP4N-LAPOR! (0: no limit). The spec does not "
        "publish LAPOR!'s limit: a 429 answer also pauses every request of the process for its Retry-After."))
    RATE_BURST = fields.Integer(load_default=5, validate=validate.Range(min=1), metadata=_d(
        "Requests that may go at once before LAPOR_RATE_LIMIT spaces them."))
    KEEPALIVE_IDLE = fields.Float(load_default=4, validate=validate.Range(min=0), metadata=_d(
        "Seconds a connection to SP4N-LAPOR! may sit idle and still be reused (kept below the server's keep-alive "
        "timeout, so a create is never sent on a connection the server is closing; 0: a new connection each "
        "request)."))
    REMOTE_TIMEZONE = fields.String(load_default="Asia/Jakarta", metadata=_d(
        "Time zone of LAPOR! timestamps (created_at 'd-m-Y H:i:s')."))

    @validates("TOKEN_GUID")
    def _guid(self, value, **kwargs):
        if value and not GUID_RE.match(value.strip()):
            raise ValidationError("must be a GUID like {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}")

    @validates("LOCATION_TABLE")
    def _location_table(self, value, **kwargs):
        if not value:
            return
        import csv

        try:
            with open(value, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                if not {"kode", "location_id"} <= set(reader.fieldnames or ()):
                    raise ValidationError("a CSV with the columns kode,nama,location_id")
                for n, row in enumerate(reader, start=2):
                    if (row.get("location_id") or "").strip() and not row["location_id"].strip().isdigit():
                        raise ValidationError(f"line {n}: location_id must be a whole number")
        except OSError as exc:
            raise ValidationError(f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
        except UnicodeDecodeError:
            raise ValidationError("not UTF-8 text") from None

    @validates("REMOTE_TIMEZONE")
    def _tz(self, value, **kwargs):
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception:  # noqa: BLE001
            raise ValidationError("unknown time zone") from None

    @validates_schema
    def _paths(self, data, **kwargs):
        errors = {}
        for key in ("PATH_FORWARD", "PATH_STATUS", "PATH_FOLLOWUPS"):
            if key in data and "{complaint_id}" not in data[key]:
                errors[key] = ["must contain {complaint_id}"]
        for key in [k for k in data if k.startswith("PATH_")]:
            if "://" in data[key]:
                errors[key] = ["a path relative to LAPOR_BASE_URL, not a URL"]
        if data.get("POLL_MAX_INTERVAL", 1) < data.get("POLL_MIN_INTERVAL", 0):
            errors["POLL_MAX_INTERVAL"] = ["must be at least LAPOR_POLL_MIN_INTERVAL"]
        if errors:
            raise ValidationError(errors)


def missing_credentials(cfg) -> list[str]:
    """Environment variables that must be set before anything is sent (names only, never values)."""
    need = {"LAPOR_BEARER_TOKEN": "ADUAN_LAPOR_BEARER_TOKEN", "LAPOR_TOKEN_GUID": "ADUAN_LAPOR_TOKEN_GUID",
            "LAPOR_INSTITUTION_ID": "ADUAN_LAPOR_INSTITUTION_ID"}
    return [env for key, env in need.items() if not cfg.get(key)]


def normalise_guid(value: str) -> str:
    v = value.strip().strip("{}")
    return "{" + v + "}"
