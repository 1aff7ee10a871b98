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

    DESTINATIONS = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[a-z0-9][a-z0-9_-]{0,63}$")),
                               values=fields.Nested(lambda: Destination()), load_default=dict, metadata=_d(
        "Outside Open311 back ends complaints are forwarded to (another regency running aduan, a PDAM, any "
        "GeoReport v2 server), as `{name: {endpoint, api_key, jurisdiction_id, agencies, categories, "
        "service_codes, default_service_code, send_identity, forward_secret, label}}`. A complaint disposed "
        "to one of `agencies` (agency codes), or of one of `categories` (category codes), is forwarded when "
        "it is verified or transferred; staff may also forward any complaint explicitly. `api_key` is "
        "masked in `aduan config` and never logged. See the plugin README, section Forwarding."))
    POLL_SECONDS = fields.Float(load_default=300, validate=validate.Range(min=5), metadata=_d(
        "How often the worker reads the updates of forwarded complaints from each destination."))
    CONNECT_TIMEOUT = fields.Float(load_default=5, validate=validate.Range(min=0.1, max=120), metadata=_d(
        "Seconds to connect to a destination (a failed connect is safe to retry)."))
    READ_TIMEOUT = fields.Float(load_default=30, validate=validate.Range(min=0.1, max=600), metadata=_d(
        "Seconds to wait for a destination's answer (a create without answer is searched before any resend)."))
    @validates("JURISDICTIONS")
    def _ids(self, value, **kwargs):
        for jid in value:
            if jid != jid.strip() or "," in jid:
                raise ValidationError(f"jurisdiction id {jid!r}: no surrounding spaces or commas")


class Destination(Schema):
    """One outside Open311 back end (an entry of ``OPEN311_DESTINATIONS``)."""

    endpoint = fields.Url(required=True, require_tld=False, schemes={"http", "https"}, metadata=_d(
        "The GeoReport v2 base URL, e.g. `https://aduan.mataram.go.id/api/v1/plugins/open311`."))
    api_key = fields.String(required=True, validate=validate.Length(min=1, max=512), metadata=_d(
        "The api_key the destination issued to us (a secret)."))
    jurisdiction_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    label = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200), metadata=_d(
        "The name shown on timelines (default: the destination's name)."))
    agencies = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)
    categories = fields.List(fields.String(validate=validate.Length(min=1, max=64)), load_default=list)
    service_codes = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(min=1, max=128)),
                                load_default=dict, metadata=_d("Our category code → the destination's service_code."))
    default_service_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    send_identity = fields.Boolean(load_default=False, metadata=_d(
        "Send the reporter's name, e-mail and phone (never for an anonymous reporter, never the NIK)."))
    forward_secret = fields.Boolean(load_default=False, metadata=_d(
        "Forward secret (rahasia) complaints too (their content goes to the destination, which must keep it "
        "from its public: aduan does). Off: a secret complaint is never forwarded."))
