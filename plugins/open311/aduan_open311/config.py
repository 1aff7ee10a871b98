"""Configuration keys of the open311 plugin (``OPEN311_*``, environment ``ADUAN_OPEN311_*``)."""
from __future__ import annotations

from aduan.config import describe_key as _d
from marshmallow import Schema, ValidationError, fields, validate, validates

SERVICE_TYPES = ("realtime", "batch", "blackbox")


class Open311Config(Schema):
    JURISDICTIONS = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)),
                                values=fields.String(validate=validate.Regexp(r"^\d{2}(\.\d{2})*$")),
                                load_default=dict, metadata=_d(
        "Jurisdictions served, as `{jurisdiction_id: region code prefix}` (e.g. "
        '`{"lombokbarat.go.id": "52.01", "mataram.go.id": "52.71"}`). Empty: one jurisdiction, every '
        "complaint, and `jurisdiction_id` is accepted with any value. One entry: `jurisdiction_id` is "
        "optional but must match when given. Several: `jurisdiction_id` is required on every call and "
        "requests are limited to the complaints whose region lies under its prefix."))
    CONTACT = fields.String(load_default="", metadata=_d(
        "Discovery `contact`: who to reach about the Open311 endpoint (e-mail, phone, address)."))
    KEY_SERVICE = fields.String(load_default="", metadata=_d(
        "Discovery `key_service`: where a developer asks for an `api_key`."))
    ENVIRONMENT = fields.String(load_default="production", validate=validate.OneOf(["production", "test"]),
                                metadata=_d("Discovery endpoint `type`: production or test."))
    SERVICE_TYPE = fields.String(load_default="realtime", validate=validate.OneOf(SERVICE_TYPES), metadata=_d(
        "The `type` of every service: realtime (a request gets its id at once, which aduan does), batch "
        "or blackbox."))
    MAX_PAGE_SIZE = fields.Integer(load_default=1000, validate=validate.Range(min=1, max=10000), metadata=_d(
        "Largest `page_size` accepted on GET requests; also the default (the spec's first 1000)."))
    MAX_DAYS = fields.Integer(load_default=90, validate=validate.Range(min=1, max=3660), metadata=_d(
        "Largest span between `start_date` and `end_date`, and the default window (the spec's 90 days)."))

    @validates("JURISDICTIONS")
    def _ids(self, value, **kwargs):
        for jid in value:
            if jid != jid.strip() or "," in jid:
                raise ValidationError(f"jurisdiction id {jid!r}: no surrounding spaces or commas")
