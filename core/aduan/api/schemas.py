"""Request and response schemas (marshmallow 4). Inputs reject unknown fields.

Every datetime goes through :class:`LocalDateTime` (served with the deployment's offset); field
messages are translated centrally (:mod:`aduan.i18n.validation`), messages written here are lazy
(``_l``).
"""
from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, fields, validate, validates, validates_schema, ValidationError

from ..auth import PERMISSIONS
from ..i18n import _l, deployment_zone, gettext as _, isoformat
from ..models import KINDS, ROLES, STATUSES, URGENCIES
from ..workflow import ACTIONS


_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


class LocalDateTime(fields.DateTime):
    """A datetime in the deployment's zone with its offset: ``2026-12-07T01:58:00+08:00``.

    Serialises stored naive-UTC datetimes (or ISO strings, aware or naive UTC, as the privacy views
    hand them) in the deployment's zone; loads an aware value as is and a naive one as the
    deployment's local time, and returns naive UTC (how times are stored).
    """

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        if isinstance(value, str):
            if _WITH_OFFSET.match(value):
                return value  # already in the deployment's zone (aduan.i18n.isoformat, as privacy views give it)
            try:
                value = dt.datetime.fromisoformat(value)
            except ValueError:
                return value
        return isoformat(value)

    def _deserialize(self, value, attr, data, **kwargs):
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=deployment_zone())
        return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _time(**kwargs) -> LocalDateTime:
    kwargs.setdefault("metadata", {}).setdefault(
        "description", "In the deployment's time zone, with its offset (e.g. +08:00 for WITA)")
    return LocalDateTime(**kwargs)


class ReporterIn(Schema):
    name = fields.String(validate=validate.Length(max=255), metadata={"description": "Reporter's name"})
    phone = fields.String(validate=validate.Length(max=64), metadata={"description": "Any Indonesian form: 0812…, +62812…"})
    email = fields.Email(validate=validate.Length(max=255))
    nik = fields.String(validate=validate.Regexp(r"^[0-9]{16}$", error=_l("NIK must be 16 digits.")),
                        metadata={"description": "National id number; stored encrypted, shown masked, never exported"})
    language = fields.String(validate=validate.OneOf(["id", "en"]), metadata={
        "description": "The reporter's language for notifications and their own view (id, en); "
                       "default: the request's (?lang=, Accept-Language), else the deployment's"})


class ComplaintIn(Schema):
    kind = fields.String(validate=validate.OneOf(KINDS), load_default="pengaduan")
    title = fields.String(validate=validate.Length(max=255))
    body = fields.String(required=True, validate=validate.Length(min=1, max=10_000))
    category_id = fields.Integer(allow_none=True)
    category = fields.String(allow_none=True, metadata={"description": "Category code (alternative to category_id)"})
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    anonymous = fields.Boolean(load_default=False, metadata={"description": "Hide the reporter's identity from agencies and the public (anonim)"})
    secret = fields.Boolean(load_default=False, metadata={"description": "Keep the content from the public (rahasia)"})
    share_identity = fields.Boolean(load_default=False, metadata={"description": "Consent to send identity to SP4N-LAPOR!"})
    reporter = fields.Nested(ReporterIn)
    lat = fields.Float(validate=validate.Range(-90, 90), allow_none=True)
    lng = fields.Float(validate=validate.Range(-180, 180), allow_none=True)
    address = fields.String(validate=validate.Length(max=500), allow_none=True)
    region_code = fields.String(validate=validate.Length(max=16), allow_none=True)
    incident_date = fields.Date(allow_none=True, validate=validate.Range(
        min=dt.date(1900, 1, 1), error=_l("Must be a date from 1900 onwards.")),
        metadata={"description": "When it happened (not in the future)"})
    channel = fields.String(validate=validate.Length(max=32),
                            metadata={"description": "Staff and integrations only: the channel it came through"})
    language = fields.String(validate=validate.OneOf(["id", "en"]), metadata={
        "description": "The reporter's language when no reporter contact is given (see reporter.language)"})

    @validates("incident_date")
    def _not_in_the_future(self, value, **kwargs):
        # A day of slack: the reporter's "today" may already be tomorrow in UTC+9 (WIT).
        if value is not None and value > dt.date.today() + dt.timedelta(days=1):
            raise ValidationError(_l("Cannot be in the future."))


class NamedRef(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class RegionRef(Schema):
    code = fields.String()
    name = fields.String()


class ReporterOut(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    nik = fields.String(allow_none=True, metadata={"description": "masked"})


class Due(Schema):
    first_response = _time(allow_none=True)
    verify = _time(allow_none=True)
    followup = _time(allow_none=True)
    resolution = _time(allow_none=True)
    close = _time(allow_none=True)


class EventOut(Schema):
    id = fields.Integer()
    type = fields.String()
    actor_role = fields.String()
    actor = fields.String(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    text = fields.String()
    visibility = fields.String()
    source = fields.String()
    data = fields.Dict(allow_none=True)
    created_at = _time()


class AttachmentOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    visibility = fields.String()
    created_at = _time()


_DAY_ONLY = ("In the deployment's time zone, with its offset (e.g. +08:00 for WITA). In the public view of a "
             "secret (rahasia) complaint only the day is given, as its local midnight (status and dates only).")


class ComplaintOut(Schema):
    tracking_id = fields.String()
    kind = fields.String()
    status = fields.String()
    status_label = fields.String()
    urgency = fields.String()
    channel = fields.String()
    anonymous = fields.Boolean()
    secret = fields.Boolean()
    share_identity = fields.Boolean()
    title = fields.String(allow_none=True)
    body = fields.String(allow_none=True)
    category = fields.Nested(NamedRef, allow_none=True)
    agency = fields.Nested(NamedRef, allow_none=True)
    region = fields.Nested(RegionRef, allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lng = fields.Float(allow_none=True)
    incident_date = fields.String(allow_none=True)
    created_at = _time(metadata={"description": _DAY_ONLY})
    updated_at = _time(metadata={"description": _DAY_ONLY})
    verified_at = _time(allow_none=True)
    first_response_at = _time(allow_none=True)
    resolved_at = _time(allow_none=True, metadata={"description": _DAY_ONLY})
    closed_at = _time(allow_none=True, metadata={"description": _DAY_ONLY})
    due = fields.Nested(Due)
    breached = fields.List(fields.String())
    overdue = fields.List(fields.String())
    rating = fields.Integer(allow_none=True)
    rating_comment = fields.String(allow_none=True)
    language = fields.String(metadata={"description": "Staff and reporter views: the reporter's language (id, en), "
                                                      "in which notifications are written; answer in it"})
    reporter = fields.Nested(ReporterOut, allow_none=True)
    allowed_actions = fields.List(fields.String())
    timeline = fields.List(fields.Nested(EventOut))
    attachments = fields.List(fields.Nested(AttachmentOut))
    extra = fields.Dict()


class FiledOut(Schema):
    tracking_id = fields.String()
    access_code = fields.String(metadata={"description": "Shown once: keep it to follow and answer the complaint"})
    status = fields.String()
    track_url = fields.String()


class ComplaintPage(Schema):
    items = fields.List(fields.Nested(ComplaintOut))
    next_cursor = fields.String(allow_none=True)


class ComplaintFilter(Schema):
    status = fields.List(fields.String(validate=validate.OneOf(STATUSES)))
    agency_id = fields.Integer()
    category_id = fields.Integer()
    region = fields.String(metadata={"description": "Region code prefix, e.g. 52.71"})
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    channel = fields.String()
    kind = fields.String(validate=validate.OneOf(KINDS))
    overdue = fields.Boolean()
    created_from = fields.Date()
    created_to = fields.Date()
    q = fields.String(validate=validate.Length(min=2, max=100), metadata={"description": "Text search in title and body"})
    cursor = fields.String()
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))


class ActionIn(Schema):
    text = fields.String(validate=validate.Length(max=10_000), load_default="")
    agency_id = fields.Integer()
    category_id = fields.Integer()
    urgency = fields.String(validate=validate.OneOf(URGENCIES))
    visibility = fields.String(validate=validate.OneOf(["public", "internal"]))
    rating = fields.Integer(validate=validate.Range(1, 5))


class ActionPath(Schema):
    action = fields.String(validate=validate.OneOf(list(ACTIONS)))


class UploadIn(Schema):
    visibility = fields.String(validate=validate.OneOf(["public", "internal"]), load_default="public")


class AgencyIn(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    parent_id = fields.Integer(allow_none=True)
    email = fields.Email(allow_none=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=32))
    active = fields.Boolean(load_default=True)


class AgencyPatch(AgencyIn):
    code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = fields.String(validate=validate.Length(1, 255))
    active = fields.Boolean()


class AgencyOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    active = fields.Boolean()


class CategoryIn(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    name_en = fields.String(allow_none=True, validate=validate.Length(max=255))
    description = fields.String(allow_none=True)
    keywords = fields.String(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    default_agency_id = fields.Integer(allow_none=True)
    default_urgency = fields.String(validate=validate.OneOf(URGENCIES), load_default="biasa")
    sla_followup_days = fields.Integer(allow_none=True, validate=validate.Range(0, 365))
    active = fields.Boolean(load_default=True)


class CategoryPatch(CategoryIn):
    code = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    name = fields.String(validate=validate.Length(1, 255))
    default_urgency = fields.String(validate=validate.OneOf(URGENCIES))
    active = fields.Boolean()


class CategoryOut(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    name_en = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    keywords = fields.String(allow_none=True)
    parent_id = fields.Integer(allow_none=True)
    default_agency_id = fields.Integer(allow_none=True)
    default_urgency = fields.String()
    sla_followup_days = fields.Integer(allow_none=True)
    active = fields.Boolean()


class RegionOut(Schema):
    code = fields.String()
    name = fields.String()
    level = fields.Integer()
    parent_code = fields.String(allow_none=True)


class RegionQuery(Schema):
    q = fields.String(validate=validate.Length(min=2, max=100))
    parent = fields.String(validate=validate.Length(max=16))
    level = fields.Integer(validate=validate.Range(1, 4))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class UserIn(Schema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_.-]{2,64}$"))
    name = fields.String(required=True, validate=validate.Length(1, 255))
    email = fields.Email(allow_none=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    agency_id = fields.Integer(allow_none=True)

    @validates_schema
    def _officer_agency(self, data, **kwargs):
        if data.get("role") == "officer" and not data.get("agency_id"):
            raise ValidationError(_("An officer belongs to an agency."), "agency_id")


class UserPatch(Schema):
    name = fields.String(validate=validate.Length(1, 255))
    email = fields.Email(allow_none=True)
    role = fields.String(validate=validate.OneOf(ROLES))
    agency_id = fields.Integer(allow_none=True)
    active = fields.Boolean()


class UserOut(Schema):
    id = fields.Integer()
    username = fields.String()
    name = fields.String()
    email = fields.String(allow_none=True)
    role = fields.String()
    agency_id = fields.Integer(allow_none=True)
    active = fields.Boolean()
    scopes = fields.List(fields.String(), metadata={"description": "GET /me with an integration token: its scopes"})


class TokenIn(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=128))
    expires_days = fields.Integer(validate=validate.Range(1, 3650), allow_none=True)
    scopes = fields.List(fields.String(validate=validate.Length(1, 80)), validate=validate.Length(max=50),
                         load_default=list, metadata={"description": (
                             "Integration accounts only: what the token may do (least privilege: nothing "
                             "beyond the public without scopes). Permissions: " + ", ".join(PERMISSIONS)
                             + "; reach limits: channel:<name>, agency:<code>.")})


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = _time()
    last_used_at = _time(allow_none=True)
    expires_at = _time(allow_none=True)
    revoked = fields.Boolean()
    scopes = fields.List(fields.String(), metadata={"description": "Granted scopes (integration tokens)"})
    token = fields.String(metadata={"description": "The secret, present only in the creation response"})


class JobOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    key = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    max_attempts = fields.Integer()
    run_at = _time()
    last_error = fields.String(allow_none=True)
    tracking_id = fields.String(allow_none=True)
    created_at = _time()
    finished_at = _time(allow_none=True)


class JobQuery(Schema):
    status = fields.String(validate=validate.OneOf(["pending", "running", "done", "dead"]))
    kind = fields.String()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class PluginOut(Schema):
    name = fields.String()
    enabled = fields.Boolean()
    version = fields.String(allow_none=True)
    hooks = fields.List(fields.String())


class StatsQuery(Schema):
    created_from = fields.Date()
    created_to = fields.Date()


class StatsOut(Schema):
    total = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer(allow_none=True),
                            metadata={"description": "null: withheld in the public view (small cell)"})
    by_agency = fields.List(fields.Dict())
    overdue = fields.Integer(allow_none=True)
    suppressed_below = fields.Integer(metadata={
        "description": "public view only: cells counting fewer complaints than this are withheld (null)"})
    median_hours_to_first_response = fields.Float(allow_none=True)
    median_days_to_resolution = fields.Float(allow_none=True)
    average_rating = fields.Float(allow_none=True)


class Error(Schema):
    """Every error answer (4xx and 5xx) of the API, core and plugins alike."""

    code = fields.Integer(required=True, metadata={"description": "HTTP status code"})
    status = fields.String(required=True, metadata={"description": "HTTP status name"})
    message = fields.String(metadata={"description": "What went wrong, in the request's language"})
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "Bad input: messages keyed by field (or by location such as `json`, `query`, "
                       "`path` when the whole part is wrong). Each value is a list of messages, or for "
                       "a nested object an object of the same shape."})
    allowed_actions = fields.List(fields.String(), metadata={
        "description": "409 on a workflow action: the actions allowed in the complaint's current status"})
    kind = fields.String(metadata={
        "description": "Failure of an outside system (a plugin's 502/503): its category, e.g. `timeout`"})
    tracking_id = fields.String(metadata={
        "description": "The complaint the error is about, when one exists (e.g. already imported)"})
