"""Configuration keys of the WhatsApp plugin (``WHATSAPP_*``, environment ``ADUAN_WHATSAPP_*``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from aduan.config import StrList
from aduan.config import describe_key as _d

NOTIFY_DEFAULT = ["verify", "transfer", "respond", "hold", "resume", "resolve", "close", "reject", "reopen",
                  "comment"]


class WhatsappConfig(Schema):
    ACCESS_TOKEN = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Cloud API access token (a system user's permanent token). Without it nothing is sent.", secret=True))
    APP_SECRET = fields.String(load_default=None, allow_none=True, metadata=_d(
        "App secret: verifies X-Hub-Signature-256 on every webhook POST. Without it the webhook is off.",
        secret=True))
    VERIFY_TOKEN = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Verify token entered in the app dashboard; answers the hub.challenge subscription check.", secret=True))
    PHONE_NUMBER_ID = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Business phone number id that sends (WhatsApp Manager → API setup)."))
    GRAPH_URL = fields.String(load_default="https://graph.facebook.com", metadata=_d(
        "Graph API base URL (a stand-in in tests)."))
    API_VERSION = fields.String(load_default="v21.0", validate=validate.Regexp(r"^v\d+\.\d+$"), metadata=_d(
        "Graph API version, e.g. v21.0."))
    TEMPLATE_NAME = fields.String(load_default="aduan_status_update", metadata=_d(
        "Approved template for notifications outside the 24-hour customer-service window; its body takes "
        "three parameters: tracking id, what happened, status."))
    TEMPLATE_LANGUAGES = fields.Dict(keys=fields.String(validate=validate.OneOf(["id", "en"])),
                                     values=fields.String(), load_default=lambda: {"id": "id", "en": "en_US"},
                                     metadata=_d("Template language code per reporter language."))
    INBOUND_PER_HOUR = fields.Integer(load_default=20, validate=validate.Range(min=1), metadata=_d(
        "Messages processed per WhatsApp user per hour; more are logged and ignored."))
    REPLIES_PER_HOUR = fields.Integer(load_default=10, validate=validate.Range(min=0), metadata=_d(
        "Automatic replies per WhatsApp user per hour."))
    PUBLIC_NUMBER = fields.String(load_default=None, allow_none=True, metadata=_d(
        "The WhatsApp number citizens write to, as shown on the portal's home page (e.g. +62 811 3900 100); "
        "none: the channel is not advertised."))
    BLOCKLIST = StrList(load_default=list, metadata=_d("Numbers (any format) whose messages are ignored."))
    NOTIFY_EVENTS = StrList(load_default=lambda: list(NOTIFY_DEFAULT), metadata=_d(
        "Public timeline events that message the reporter on WhatsApp."))
    MAX_LENGTH = fields.Integer(load_default=4096, validate=validate.Range(min=100, max=4096), metadata=_d(
        "Longest text sent (the Cloud API takes 4096 characters; interactive bodies 1024)."))
