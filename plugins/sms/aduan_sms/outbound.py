"""Outbound texts: the gateway adapters and the outbox job handlers.

Jobs (run by ``aduan worker``, retried with back-off by the core):

* ``sms.send`` ``{"message_id", "text"}``: deliver a logged reply;
* ``sms.notify`` ``{"event_id"}``: tell the reporter about a public timeline event.

Adapters raise :class:`aduan.jobs.RetryLater` for temporary failures (network, 429, 5xx) and
:class:`aduan.jobs.PermanentFailure` when retrying cannot help (bad credentials, invalid number).
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Callable
from urllib.parse import quote_plus

import peewee as pw
import phonenumbers
import requests
from cryptography.fernet import InvalidToken, MultiFernet
from flask import current_app

from aduan import keys
from aduan.db import database, utcnow
from aduan.i18n import action_label, status_label
from aduan.jobs import PermanentFailure, RetryLater
from aduan.models import Complaint, Event

from . import text as smstext
from .models import SmsMessage
from .phones import is_blocked, mask, opted_out

log = logging.getLogger("aduan.sms")
TIMEOUT = 15
RANK = {"queued": 0, "sent": 1, "delivered": 2, "failed": 2}


def public_url(path: str) -> str:
    cfg = current_app.config
    return (cfg.get("SMS_PUBLIC_URL") or cfg["BASE_URL"]).rstrip("/") + path


def _http_failure(resp: requests.Response, what: str):
    code = resp.status_code
    if code == 429 or code >= 500:
        return RetryLater(f"{what} answered HTTP {code}")
    return PermanentFailure(f"{what} refused the message: HTTP {code}")


def _post(what: str, *args, **kwargs) -> requests.Response:
    try:
        return requests.request(*args, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise RetryLater(f"{what} unreachable: {type(exc).__name__}") from None


# --- adapters: send(msg, text) -> (provider_message_id, status) -----------------------------------

def send_twilio(msg: SmsMessage, text: str) -> tuple[str | None, str]:
    cfg = current_app.config
    sid, token = cfg.get("SMS_TWILIO_ACCOUNT_SID"), cfg.get("SMS_TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise PermanentFailure("SMS_TWILIO_ACCOUNT_SID and SMS_TWILIO_AUTH_TOKEN are required")
    form = {"To": msg.phone, "Body": text, "StatusCallback": public_url("/hooks/sms/twilio/status")}
    if cfg.get("SMS_TWILIO_MESSAGING_SERVICE_SID"):
        form["MessagingServiceSid"] = cfg["SMS_TWILIO_MESSAGING_SERVICE_SID"]
    elif cfg.get("SMS_TWILIO_FROM"):
        form["From"] = cfg["SMS_TWILIO_FROM"]
    else:
        raise PermanentFailure("SMS_TWILIO_FROM or SMS_TWILIO_MESSAGING_SERVICE_SID is required")
    url = f"{cfg['SMS_TWILIO_API_URL'].rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
    resp = _post("Twilio", "POST", url, data=form, auth=(sid, token))
    if resp.status_code not in (200, 201):
        raise _http_failure(resp, "Twilio")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    status = body.get("status") or "queued"
    return body.get("sid"), ("failed" if status in ("failed", "undelivered") else "sent")


def send_android(msg: SmsMessage, text: str) -> tuple[str | None, str]:
    cfg = current_app.config
    our_id = f"aduan-{msg.id}"  # the gateway deduplicates on it and reports delivery under it
    auth = (cfg["SMS_ANDROID_USERNAME"], cfg.get("SMS_ANDROID_PASSWORD") or "") \
        if cfg.get("SMS_ANDROID_USERNAME") else None
    resp = _post("SMS gateway", "POST", cfg["SMS_ANDROID_SEND_URL"], auth=auth,
                 json={"id": our_id, "textMessage": {"text": text}, "phoneNumbers": [msg.phone],
                       "withDeliveryReport": True})
    if resp.status_code not in (200, 201, 202):
        raise _http_failure(resp, "SMS gateway")
    try:
        body = resp.json()
    except ValueError:
        body = {}
    return (body.get("id") or our_id), ("failed" if str(body.get("state", "")).lower() == "failed" else "sent")


def _format_number(phone: str, fmt: str) -> str:
    if fmt == "e164":
        return phone
    if fmt == "digits":
        return phone.lstrip("+")
    num = phonenumbers.parse(phone, None)
    return "0" + str(num.national_number) if num.country_code == 62 else phone


def render_http_body(template: str, content_type: str, values: dict[str, str]) -> str:
    """Fill {to}, {text}, {id}, escaping each value for the body format (JSON values come quoted)."""
    if content_type == "application/json":
        esc = {k: json.dumps(v, ensure_ascii=False) for k, v in values.items()}
    else:
        esc = {k: quote_plus(v) for k, v in values.items()}
    out = template
    for k, v in esc.items():
        out = out.replace("{" + k + "}", v)
    return out


def send_http(msg: SmsMessage, text: str) -> tuple[str | None, str]:
    cfg = current_app.config
    url = cfg.get("SMS_HTTP_URL")
    if not url:
        raise PermanentFailure("SMS_HTTP_URL is required for the http gateway")
    ctype = cfg["SMS_HTTP_CONTENT_TYPE"]
    body = render_http_body(cfg["SMS_HTTP_BODY"], ctype, {
        "to": _format_number(msg.phone, cfg["SMS_HTTP_NUMBER_FORMAT"]), "text": text, "id": f"aduan-{msg.id}"})
    headers = dict(cfg.get("SMS_HTTP_HEADERS") or {})
    if cfg["SMS_HTTP_METHOD"] == "GET":
        sep = "&" if "?" in url else "?"
        resp = _post("HTTP gateway", "GET", url + sep + body, headers=headers)
    else:
        headers.setdefault("Content-Type", ctype + ("; charset=utf-8" if ctype == "application/json" else ""))
        resp = _post("HTTP gateway", "POST", url, data=body.encode("utf-8"), headers=headers)
    if not 200 <= resp.status_code < 300:
        raise _http_failure(resp, "HTTP gateway")
    pid = None
    if cfg.get("SMS_HTTP_ID_FIELD"):
        try:
            cur = resp.json()
            for part in cfg["SMS_HTTP_ID_FIELD"].split("."):
                cur = cur[int(part)] if isinstance(cur, list) else cur[part]
            pid = str(cur)
        except (ValueError, KeyError, IndexError, TypeError):
            pid = None
    return pid or f"aduan-{msg.id}", "sent"


def send_gammu(msg: SmsMessage, text: str) -> tuple[str | None, str]:
    from . import gammu

    return gammu.send(msg, text)


ADAPTERS: dict[str, Callable[[SmsMessage, str], tuple[str | None, str]]] = {
    "twilio": send_twilio, "android": send_android, "http": send_http, "gammu": send_gammu,
}


def deliver(msg: SmsMessage, text: str) -> None:
    """Send a logged outbound message once; safe to call again after a crash."""
    if msg.status in ("sent", "delivered", "suppressed"):
        return
    if is_blocked(msg.phone, msg.phone_raw):
        SmsMessage.update(status="suppressed", error="number is blocked", updated_at=utcnow()).where(
            SmsMessage.id == msg.id).execute()
        return
    adapter = ADAPTERS.get(msg.provider)
    if adapter is None:
        raise PermanentFailure(f"no sending adapter for provider {msg.provider!r}")
    try:
        pid, status = adapter(msg, text)
    except PermanentFailure as exc:
        SmsMessage.update(status="failed", error=str(exc)[:255], updated_at=utcnow()).where(
            SmsMessage.id == msg.id).execute()
        raise
    try:
        with database.atomic():
            SmsMessage.update(status=status, provider_message_id=pid, error=None, updated_at=utcnow()).where(
                SmsMessage.id == msg.id).execute()
    except pw.IntegrityError:  # the gateway reused an id: keep the message, lose only its delivery reports
        with database.atomic():
            SmsMessage.update(status=status, error="gateway reused a message id", updated_at=utcnow()).where(
                SmsMessage.id == msg.id).execute()
    log.info("sms: %s message %s to %s via %s", msg.command, msg.id, mask(msg.phone), msg.provider)


def _legacy_key(secret: str) -> bytes:
    # Releases up to 0.1: texts queued then still decrypt after the upgrade.
    return hashlib.sha256(("aduan-sms|" + secret).encode()).digest()


def _fernet() -> MultiFernet:
    return keys.fernet("sms-text", legacy=_legacy_key)


def seal(text: str) -> str:
    """Replies can hold an access code: the job table keeps them encrypted, not readable."""
    return _fernet().encrypt(text.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise PermanentFailure("the queued text cannot be decrypted (SECRET_KEY changed?)") from None


def job_send(app, payload, job) -> None:
    msg = SmsMessage.get_or_none(SmsMessage.id == payload.get("message_id"))
    if msg is None:
        raise PermanentFailure("message not found")
    deliver(msg, unseal(payload["sealed"]) if payload.get("sealed") else msg.body)


def notification_text(event: Event, complaint: Complaint, lang: str) -> str:
    body = " ".join((event.text or "").split())
    return smstext.render("notify", lang, tid=complaint.tracking_id, action=action_label(event.type, lang),
                          status=status_label(complaint.status, lang), text=(body + " ") if body else "")


def _notify_provider(phone: str) -> str | None:
    out = current_app.config.get("SMS_OUTBOUND", "none")
    if out != "none":
        return out
    last = (SmsMessage.select(SmsMessage.provider)
            .where((SmsMessage.direction == "in") & (SmsMessage.phone == phone) &
                   SmsMessage.provider.in_(["android", "gammu"]))
            .order_by(SmsMessage.id.desc()).first())
    return last.provider if last else None


def job_notify(app, payload, job) -> None:
    event = Event.get_or_none(Event.id == payload.get("event_id"))
    if event is None or event.visibility != "public":
        return  # deleted complaint or an event made internal: nothing may be sent
    complaint = event.complaint
    reporter = complaint.reporter
    phone = reporter.phone if reporter else None
    key = f"notify:{event.id}"
    msg = SmsMessage.get_or_none(SmsMessage.dedupe_key == key)
    if msg is None:
        if not phone or opted_out(phone):
            return
        provider = _notify_provider(phone)
        if provider is None:
            return
        lang = reporter.language if reporter.language in ("id", "en") else current_app.config.get("LANGUAGE", "id")
        text = notification_text(event, complaint, lang)
        now = utcnow()
        msg = SmsMessage.create(direction="out", provider=provider, phone=phone, phone_raw=reporter.phone_raw,
                                body=text, command="notify", status="queued", complaint=complaint,
                                event_id=event.id, segments=smstext.segments(text),
                                encoding=smstext.encoding(text), dedupe_key=key, created_at=now, updated_at=now)
    deliver(msg, msg.body)


STATUS_MAP = {
    # twilio
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued", "sent": "sent",
    "delivered": "delivered", "undelivered": "failed", "failed": "failed", "canceled": "failed",
    # android (sms:sent, sms:delivered, sms:failed) and generic
    "sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed",
    # gammu sentitems
    "SendingOK": "sent", "SendingOKNoReport": "sent", "DeliveryOK": "delivered", "DeliveryPending": "sent",
    "DeliveryUnknown": "sent", "SendingError": "failed", "DeliveryFailed": "failed", "Error": "failed",
}


def update_status(provider: str, provider_message_id: str, state: str, error: str | None = None) -> bool:
    """Apply a delivery report; states only move forward (queued → sent → delivered/failed)."""
    new = STATUS_MAP.get(state) or STATUS_MAP.get(str(state).lower())
    if new is None:
        return False
    msg = SmsMessage.get_or_none((SmsMessage.direction == "out") & (SmsMessage.provider == provider) &
                                 (SmsMessage.provider_message_id == str(provider_message_id)[:128]))
    if msg is None:
        return False
    if RANK.get(new, 0) <= RANK.get(msg.status, 0) and msg.status != "queued":
        return True
    SmsMessage.update(status=new, error=(error or None) and str(error)[:255], updated_at=utcnow()).where(
        SmsMessage.id == msg.id).execute()
    return True
