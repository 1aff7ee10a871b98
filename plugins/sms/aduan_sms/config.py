"""Configuration keys of the SMS plugin (``SMS_*``, environment ``ADUAN_SMS_*``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from aduan.config import StrList
from aduan.config import describe_key as _d

NOTIFY_DEFAULT = ["verify", "transfer", "respond", "hold", "resume", "resolve", "close", "reject", "reopen",
                  "comment"]
OUTBOUND = ["none", "twilio", "android", "gammu", "http"]




class SmsConfig(Schema):
    OUTBOUND = fields.String(load_default="none", validate=validate.OneOf(OUTBOUND), metadata=_d(
        "Gateway used for notifications and for replies that cannot go back inline: "
        "none, twilio, android, gammu or http."))
    PUBLIC_URL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Public base URL of this deployment as the gateways call it (behind a proxy), used to verify "
        "Twilio signatures. Default: BASE_URL."))
    PUBLIC_NUMBER = fields.String(load_default=None, allow_none=True, metadata=_d(
        "The number citizens text their complaints to, as shown on the portal's home page (e.g. "
        "0811 3900 100). Default: SMS_TWILIO_FROM when set; none: the SMS channel is not advertised."))
    SENDER_NAME = fields.String(load_default="ADUAN", metadata=_d(
        "Short name put in front of texts sent to citizens, e.g. NTBCare."))
    MAX_SEGMENTS = fields.Integer(load_default=3, validate=validate.Range(min=1, max=10), metadata=_d(
        "Longest text sent, in SMS segments (GSM-7: 160/153 characters, UCS-2: 70/67); longer texts are cut."))
    INBOUND_PER_HOUR = fields.Integer(load_default=20, validate=validate.Range(min=1), metadata=_d(
        "Messages accepted from one number per hour; more are logged and ignored."))
    REPLIES_PER_HOUR = fields.Integer(load_default=10, validate=validate.Range(min=0), metadata=_d(
        "Automatic replies sent to one number per hour (stops reply storms between two gateways)."))
    BLOCKLIST = StrList(load_default=list, metadata=_d(
        "Numbers whose messages are ignored (any format; table sms_block and `aduan sms block` add more)."))
    NOTIFY_EVENTS = StrList(load_default=lambda: list(NOTIFY_DEFAULT), metadata=_d(
        "Public timeline events that send the reporter an SMS."))
    NOTIFY_ALL_PHONES = fields.Boolean(load_default=True, metadata=_d(
        "Also notify reporters who filed elsewhere (web, email) and gave a phone number; "
        "false: only complaints that came by SMS."))
    TEMPLATES = fields.Dict(keys=fields.String(validate=validate.OneOf(["id", "en"])),
                            values=fields.Dict(keys=fields.String(), values=fields.String()),
                            load_default=dict, metadata=_d(
        "Overrides of the reply and notification texts: {\"id\": {\"filed\": \"...\"}, \"en\": {...}}."))
    # Twilio
    TWILIO_ACCOUNT_SID = fields.String(load_default=None, allow_none=True, metadata=_d("Twilio account SID."))
    TWILIO_AUTH_TOKEN = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Twilio auth token: verifies X-Twilio-Signature and authenticates the REST API.", secret=True))
    TWILIO_FROM = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Twilio number (E.164) that sends notifications."))
    TWILIO_MESSAGING_SERVICE_SID = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Twilio messaging service used instead of TWILIO_FROM when set."))
    TWILIO_API_URL = fields.String(load_default="https://api.twilio.com", metadata=_d(
        "Twilio REST API base URL."))
    # SMS Gateway for Android
    ANDROID_SIGNING_KEY = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Webhook signing key of SMS Gateway for Android (Settings → Webhooks → Signing Key).", secret=True))
    ANDROID_SEND_URL = fields.String(load_default="https://api.sms-gate.app/3rdparty/v1/messages", metadata=_d(
        "Message endpoint: cloud https://api.sms-gate.app/3rdparty/v1/messages, local mode "
        "http://<phone>:8080/message."))
    ANDROID_USERNAME = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Basic-auth user shown in the app's Home tab."))
    ANDROID_PASSWORD = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Basic-auth password shown in the app's Home tab.", secret=True))
    MAX_SKEW_SECONDS = fields.Integer(load_default=300, validate=validate.Range(min=1), metadata=_d(
        "Largest difference between a signed webhook's X-Timestamp and our clock (replay protection)."))
    # SMSSync
    SMSSYNC_SECRET = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Secret key configured in the SMSSync app; requests without it are refused.", secret=True))
    # generic webhook and HTTP gateway
    GENERIC_SECRET = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Shared secret of the generic webhook: X-Aduan-Signature = hex HMAC-SHA256(secret, "
        "X-Aduan-Timestamp + '.' + body).", secret=True))
    HTTP_URL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Generic HTTP gateway endpoint for outbound texts (e.g. Zenziva)."))
    HTTP_METHOD = fields.String(load_default="POST", validate=validate.OneOf(["GET", "POST"]), metadata=_d(
        "HTTP method of the generic gateway; GET puts the rendered body in the query string."))
    HTTP_CONTENT_TYPE = fields.String(load_default="application/json", validate=validate.OneOf(
        ["application/json", "application/x-www-form-urlencoded"]), metadata=_d(
        "Body format; placeholders are escaped for it."))
    HTTP_BODY = fields.String(load_default='{"to": {to}, "text": {text}, "id": {id}}', metadata=_d(
        "Body template with {to}, {text}, {id} placeholders (escaped for the content type; JSON values "
        "come quoted). Zenziva: userkey=KEY&passkey=PASS&to={to}&message={text}."))
    HTTP_HEADERS = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict, metadata=_d(
        "Extra request headers of the generic gateway (e.g. an API key).", secret=True))
    HTTP_NUMBER_FORMAT = fields.String(load_default="e164", validate=validate.OneOf(["e164", "national", "digits"]),
                                       metadata=_d("Recipient format: +628…, 08… or 628…."))
    HTTP_ID_FIELD = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Dotted path of the gateway's message id in its JSON answer (e.g. messageId)."))
    # Gammu SMSD
    GAMMU_DATABASE_URL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Database of Gammu SMSD (sqlite:///path, mysql://user:pw@host/smsd, postgresql://...). Set to enable "
        "polling its inbox and writing replies to its outbox.", secret=True))
    GAMMU_POLL_SECONDS = fields.Float(load_default=10, validate=validate.Range(min=1), metadata=_d(
        "How often the worker reads new inbox rows and delivery states."))
    GAMMU_MULTIPART_WAIT_SECONDS = fields.Float(load_default=120, validate=validate.Range(min=0), metadata=_d(
        "How long to wait for missing parts of a concatenated SMS before filing the parts that arrived."))
    GAMMU_PHONE_ID = fields.String(load_default=None, allow_none=True, metadata=_d(
        "SenderID (PhoneID) of the SMSD instance that should send our texts; empty: any."))
