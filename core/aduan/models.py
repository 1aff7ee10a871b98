"""The core tables. Plugins add their own (prefixed with the plugin name) via ``register_models``.

Rules: timestamps are naive UTC; complaints are changed only by :mod:`aduan.services`; personal
data lives on :class:`Reporter` (one place to protect), never copied onto other rows.
"""
from __future__ import annotations

import json

import peewee as pw

from .db import database, utcnow

STATUSES = ("received", "dispatched", "in_progress", "on_hold", "resolved", "closed", "rejected", "archived")
OPEN_STATUSES = ("received", "dispatched", "in_progress", "on_hold")
KINDS = ("pengaduan", "aspirasi", "permintaan_informasi")
URGENCIES = ("mendesak", "penting", "biasa")
ROLES = ("admin", "coordinator", "officer", "integration")
VISIBILITIES = ("public", "internal")
JOB_STATUSES = ("pending", "running", "done", "dead")


class JSONField(pw.TextField):
    """JSON stored as text: portable across SQLite and PostgreSQL."""

    def db_value(self, value):
        return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    def python_value(self, value):
        return None if value is None else json.loads(value)


class BaseModel(pw.Model):
    class Meta:
        database = database
        legacy_table_names = False


class Agency(BaseModel):
    """A government agency (OPD / SKPD) that answers complaints; may have a parent agency."""

    code = pw.CharField(max_length=64, unique=True)
    name = pw.CharField(max_length=255)
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    email = pw.CharField(max_length=255, null=True)
    phone = pw.CharField(max_length=32, null=True)
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)


class Category(BaseModel):
    """A complaint category; ``default_agency`` receives its complaints unless the coordinator decides otherwise."""

    code = pw.CharField(max_length=64, unique=True)
    name = pw.CharField(max_length=255)
    name_en = pw.CharField(max_length=255, null=True)
    description = pw.TextField(null=True)
    keywords = pw.TextField(null=True)  # comma-separated synonyms, used by channels and Open311
    parent = pw.ForeignKeyField("self", null=True, backref="children", on_delete="SET NULL")
    default_agency = pw.ForeignKeyField(Agency, null=True, backref="categories", on_delete="SET NULL")
    default_urgency = pw.CharField(max_length=16, default="biasa")
    sla_followup_days = pw.IntegerField(null=True)  # overrides SLA_FOLLOWUP_DAYS
    active = pw.BooleanField(default=True)


class Region(BaseModel):
    """Kemendagri kode wilayah: ``52`` province, ``52.71`` regency/city, ``52.71.01`` kecamatan, then desa."""

    code = pw.CharField(max_length=16, primary_key=True)
    name = pw.CharField(max_length=255, index=True)
    level = pw.SmallIntegerField(index=True)
    parent_code = pw.CharField(max_length=16, null=True, index=True)


class Reporter(BaseModel):
    """The person who filed a complaint. The only table holding a citizen's personal data."""

    name = pw.CharField(max_length=255, null=True)
    phone = pw.CharField(max_length=20, null=True, index=True)  # E.164
    phone_raw = pw.CharField(max_length=64, null=True)
    email = pw.CharField(max_length=255, null=True, index=True)
    nik_encrypted = pw.TextField(null=True)
    nik_masked = pw.CharField(max_length=16, null=True)
    language = pw.CharField(max_length=2, default="id")
    created_at = pw.DateTimeField(default=utcnow)


class User(BaseModel):
    """A staff account. Officers belong to exactly one agency."""

    username = pw.CharField(max_length=64, unique=True)
    name = pw.CharField(max_length=255)
    email = pw.CharField(max_length=255, null=True)
    role = pw.CharField(max_length=16)
    agency = pw.ForeignKeyField(Agency, null=True, backref="users", on_delete="RESTRICT")
    active = pw.BooleanField(default=True)
    created_at = pw.DateTimeField(default=utcnow)
    # Signing in with a password (aduan.passwords; migration 0013). No hash: no password sign-in.
    password_hash = pw.CharField(max_length=255, null=True)  # argon2id, PHC string
    password_temporary = pw.BooleanField(default=False)  # must be changed at the next sign-in
    password_changed_at = pw.DateTimeField(null=True)
    failed_logins = pw.IntegerField(default=0)  # consecutive failed sign-ins (reset by a success)
    locked_until = pw.DateTimeField(null=True)
    session_epoch = pw.IntegerField(default=0)  # bumped by a password change: older sessions end


class Token(BaseModel):
    """An API token. Only its SHA-256 is stored; ``prefix`` identifies it in listings."""

    user = pw.ForeignKeyField(User, backref="tokens", on_delete="CASCADE")
    name = pw.CharField(max_length=128, default="")
    token_hash = pw.CharField(max_length=64, unique=True)
    prefix = pw.CharField(max_length=12)
    created_at = pw.DateTimeField(default=utcnow)
    last_used_at = pw.DateTimeField(null=True)
    expires_at = pw.DateTimeField(null=True)
    revoked = pw.BooleanField(default=False)
    scopes = JSONField(null=True)  # integration tokens: granted scopes (see aduan.auth); others: unused


class Complaint(BaseModel):
    """A complaint, aspiration or information request. ``status`` caches the timeline's last state."""

    tracking_id = pw.CharField(max_length=16, unique=True)
    access_code_hash = pw.CharField(max_length=128)
    kind = pw.CharField(max_length=32, default="pengaduan")
    title = pw.CharField(max_length=255)
    body = pw.TextField()
    category = pw.ForeignKeyField(Category, null=True, backref="complaints", on_delete="SET NULL")
    # indexed with created_at (Meta.indexes): an agency's list, newest first, straight from the index
    agency = pw.ForeignKeyField(Agency, null=True, backref="complaints", on_delete="SET NULL", index=False)
    urgency = pw.CharField(max_length=16, default="biasa")
    anonymous = pw.BooleanField(default=False)
    secret = pw.BooleanField(default=False)
    share_identity = pw.BooleanField(default=False)  # consent to send identity to SP4N-LAPOR!
    reporter = pw.ForeignKeyField(Reporter, null=True, backref="complaints", on_delete="SET NULL")
    lat = pw.DoubleField(null=True)
    lng = pw.DoubleField(null=True)
    address = pw.CharField(max_length=500, null=True)
    region = pw.ForeignKeyField(Region, null=True, backref="complaints", on_delete="SET NULL")
    channel = pw.CharField(max_length=32, default="web", index=True)
    status = pw.CharField(max_length=16, default="received", index=True)
    incident_date = pw.DateField(null=True)
    created_at = pw.DateTimeField(default=utcnow)  # indexed with id (Meta.indexes): the lists' order
    updated_at = pw.DateTimeField(default=utcnow, index=True)
    verified_at = pw.DateTimeField(null=True)
    first_response_at = pw.DateTimeField(null=True)
    resolved_at = pw.DateTimeField(null=True)
    closed_at = pw.DateTimeField(null=True)
    due_first_response = pw.DateTimeField(null=True)
    due_verify = pw.DateTimeField(null=True)
    due_followup = pw.DateTimeField(null=True)
    due_resolution = pw.DateTimeField(null=True)
    due_close = pw.DateTimeField(null=True)
    breached = pw.CharField(max_length=128, default="")  # comma list of SLA stages already recorded
    rating = pw.SmallIntegerField(null=True)
    rating_comment = pw.TextField(null=True)
    language = pw.CharField(max_length=8, null=True)  # the reporter's language at filing (id, en)

    class Meta:
        # Lists are ordered newest first by (created_at, id) (migration 0011; PostgreSQL also has
        # trigram indexes on title and body for the ``q`` search when pg_trgm is available).
        indexes = ((("created_at", "id"), False), (("agency", "created_at", "id"), False))


class Event(BaseModel):
    """One entry of a complaint's timeline. Appended, never edited."""

    complaint = pw.ForeignKeyField(Complaint, backref="events", on_delete="CASCADE")
    type = pw.CharField(max_length=32)
    actor = pw.ForeignKeyField(User, null=True, backref="events", on_delete="SET NULL")
    actor_role = pw.CharField(max_length=16)  # reporter, coordinator, officer, admin, integration, system
    from_status = pw.CharField(max_length=16, null=True)
    to_status = pw.CharField(max_length=16, null=True)
    from_agency = pw.ForeignKeyField(Agency, null=True, on_delete="SET NULL", backref="+")
    to_agency = pw.ForeignKeyField(Agency, null=True, on_delete="SET NULL", backref="+")
    text = pw.TextField(default="")
    visibility = pw.CharField(max_length=16, default="public")
    source = pw.CharField(max_length=32, default="core")  # which channel or plugin wrote it
    external_id = pw.CharField(max_length=128, null=True)  # the id of this entry in another system
    data = JSONField(null=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("complaint", "source", "external_id"), True),)


class Attachment(BaseModel):
    """A file on a complaint. Bytes live in storage by SHA-256; the type is sniffed, never trusted."""

    complaint = pw.ForeignKeyField(Complaint, backref="attachments", on_delete="CASCADE")
    event = pw.ForeignKeyField(Event, null=True, backref="attachments", on_delete="SET NULL")
    sha256 = pw.CharField(max_length=64, index=True)
    size = pw.IntegerField()
    content_type = pw.CharField(max_length=128)
    filename = pw.CharField(max_length=255)
    visibility = pw.CharField(max_length=16, default="public")
    uploaded_by = pw.CharField(max_length=16)  # actor role
    created_at = pw.DateTimeField(default=utcnow)


class Job(BaseModel):
    """Transactional outbox entry: work for the worker, written in the same transaction as its cause."""

    kind = pw.CharField(max_length=64, index=True)
    key = pw.CharField(max_length=255, unique=True)
    payload = JSONField(default=dict)
    status = pw.CharField(max_length=16, default="pending")
    attempts = pw.IntegerField(default=0)
    max_attempts = pw.IntegerField(default=12)
    run_at = pw.DateTimeField(default=utcnow)
    locked_by = pw.CharField(max_length=128, null=True)
    locked_until = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="jobs", on_delete="SET NULL")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)
    finished_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = ((("status", "run_at"), False),)


class ScheduleState(BaseModel):
    """When each schedule runs next, and which worker holds it."""

    name = pw.CharField(max_length=128, primary_key=True)
    next_run_at = pw.DateTimeField(default=utcnow)
    locked_by = pw.CharField(max_length=128, null=True)
    locked_until = pw.DateTimeField(null=True)
    last_run_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)


class RateLimit(BaseModel):
    """Fixed-window request counters (shared by all web processes). ``key`` holds no raw address."""

    key = pw.CharField(max_length=128)
    window = pw.BigIntegerField()
    count = pw.IntegerField(default=0)

    class Meta:
        primary_key = pw.CompositeKey("key", "window")


class Contact(BaseModel):
    """A citizen on one text channel (an SMS/WhatsApp number, a Telegram chat), shared by every channel
    plugin through :mod:`aduan.messaging`: consent (STOP/MULAI), the per-contact hourly counters, the
    complaint being written over several messages, and the reporter it was matched to. Its row is
    locked while one message of the contact is processed, so limits hold under concurrent webhooks."""

    channel = pw.CharField(max_length=16)
    address = pw.CharField(max_length=64)  # E.164 for phone channels, the chat id for Telegram
    reporter = pw.ForeignKeyField(Reporter, null=True, backref="contacts", on_delete="SET NULL")
    language = pw.CharField(max_length=2, null=True)
    opted_out = pw.BooleanField(default=False)
    state = JSONField(null=True)  # e.g. {"draft": {...}}: a complaint being written
    state_updated_at = pw.DateTimeField(null=True)
    inbound_window = pw.DateTimeField(null=True)  # start of the current hourly window
    inbound_count = pw.IntegerField(default=0)
    reply_window = pw.DateTimeField(null=True)
    reply_count = pw.IntegerField(default=0)
    last_inbound_at = pw.DateTimeField(null=True)  # WhatsApp's 24-hour customer-service window
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("channel", "address"), True),)


class ContactBlock(BaseModel):
    """A blocked address on one channel: its messages are logged and ignored, nothing is sent to it."""

    channel = pw.CharField(max_length=16)
    address = pw.CharField(max_length=64)  # E.164, a chat id, or a raw sender id (short codes)
    reason = pw.CharField(max_length=255, default="")
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("channel", "address"), True),)


class WorkerHeartbeat(BaseModel):
    """The last sign of life of each running worker (``/ready`` wants a recent one)."""

    worker_id = pw.CharField(max_length=128, primary_key=True)
    hostname = pw.CharField(max_length=255)
    pid = pw.IntegerField()
    started_at = pw.DateTimeField(default=utcnow)
    seen_at = pw.DateTimeField(default=utcnow, index=True)


class StoredFile(BaseModel):
    """A file kept by the ``database`` storage backend (``STORAGE_BACKEND=database``)."""

    key = pw.CharField(max_length=512, primary_key=True)
    data = pw.BlobField()
    size = pw.BigIntegerField()
    sha256 = pw.CharField(max_length=64)
    created_at = pw.DateTimeField(default=utcnow)


CORE_MODELS = [Agency, Category, Region, Reporter, User, Token, Complaint, Event, Attachment, Job,
               ScheduleState, RateLimit, Contact, ContactBlock, WorkerHeartbeat, StoredFile]
