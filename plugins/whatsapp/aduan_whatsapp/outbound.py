"""Cloud API calls and the outbox jobs of the WhatsApp channel.

* ``whatsapp.send`` ``{"message_id", "sealed", "options", "style", "button"}``: a reply (inside the
  customer-service window by construction: the citizen just wrote), as plain text or with reply
  buttons / a list when it offers choices;
* ``whatsapp.notify`` ``{"event_id"}``: a notification: free text inside the 24-hour window since the
  citizen's last message, the approved template (``WHATSAPP_TEMPLATE_NAME``, in the reporter's
  language) outside it, or when the Cloud API answers the re-engagement error 131047;
* ``whatsapp.media`` ``{"complaint_id", "media_id"}``: the media URL from the Graph API, then the
  bytes (bearer token) into the complaint's attachments within the core's limits.

Errors are classified, not retried blindly: throttling (HTTP 429, codes 4, 80007, 130429, 131048,
131056) and 5xx are retried with back-off; 131047 switches to the template; other 4xx (invalid
recipient, unapproved template, expired token) mark the message failed and the job dead.
"""
from __future__ import annotations

import datetime as dt
import logging

import requests
from flask import current_app

from aduan import JobRequest, messaging
from aduan.db import database, utcnow
from aduan.i18n import action_label, status_label, use_language
from aduan.jobs import PermanentFailure, RetryLater, enqueue
from aduan.models import Event

from .channel import BSUID, CHANNEL, SEAL
from .models import RANK, WhatsappMessage

log = logging.getLogger("aduan.whatsapp")
TIMEOUT = 15
WINDOW = dt.timedelta(hours=24)
THROTTLED = {4, 80007, 130429, 131048, 131056}
REENGAGEMENT = 131047


class GraphError(PermanentFailure):
    def __init__(self, message: str, code: int | None):
        super().__init__(message)
        self.code = code


def graph_url(path: str) -> str:
    cfg = current_app.config
    return f"{cfg['WHATSAPP_GRAPH_URL'].rstrip('/')}/{cfg['WHATSAPP_API_VERSION']}/{path.lstrip('/')}"


def _headers() -> dict:
    token = current_app.config.get("WHATSAPP_ACCESS_TOKEN")
    if not token:
        raise PermanentFailure("WHATSAPP_ACCESS_TOKEN is not set")
    return {"Authorization": f"Bearer {token}"}


def graph(method: str, path: str, **kwargs) -> dict:
    try:
        resp = requests.request(method, graph_url(path), headers=_headers(), timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise RetryLater(f"Graph API unreachable: {type(exc).__name__}") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code in (200, 201):
        return body
    err = body.get("error") if isinstance(body.get("error"), dict) else {}
    code = err.get("code") if isinstance(err.get("code"), int) else None
    desc = f"HTTP {resp.status_code} code {code}: {str(err.get('message') or '')[:100]}"
    if resp.status_code == 429 or code in THROTTLED:
        raise RetryLater(f"Graph API throttled: {desc}")
    if resp.status_code >= 500:
        raise RetryLater(f"Graph API answered {desc}")
    raise GraphError(f"Graph API refused: {desc}", code)


def recipient(address: str) -> dict:
    if BSUID.match(address):
        return {"recipient": address}
    return {"to": address.lstrip("+")}


def send(address: str, kind: str, content: dict) -> str | None:
    """POST /{phone-number-id}/messages; returns the wamid."""
    cfg = current_app.config
    if not cfg.get("WHATSAPP_PHONE_NUMBER_ID"):
        raise PermanentFailure("WHATSAPP_PHONE_NUMBER_ID is not set")
    payload = {"messaging_product": "whatsapp", "recipient_type": "individual", **recipient(address),
               "type": kind, kind: content}
    body = graph("POST", f"{cfg['WHATSAPP_PHONE_NUMBER_ID']}/messages", json=payload)
    msgs = body.get("messages") if isinstance(body.get("messages"), list) else []
    return str(msgs[0].get("id")) if msgs and isinstance(msgs[0], dict) and msgs[0].get("id") else None


def interactive(text: str, options: list[dict], style: str | None, button: str) -> tuple[str, dict]:
    """Reply buttons (at most 3) or a list (at most 10 rows); plain text commands keep working."""
    text = text if len(text) <= 1024 else text[:1021] + "..."
    if style == "list" or len(options) > 3:
        rows = [{"id": o["id"][:200], "title": o["title"][:24], **({"description": o["description"][:72]}
                                                                    if o.get("description") else {})}
                for o in options[:10]]
        return "interactive", {"type": "list", "body": {"text": text},
                               "action": {"button": (button or "Menu")[:20], "sections": [{"rows": rows}]}}
    return "interactive", {"type": "button", "body": {"text": text}, "action": {"buttons": [
        {"type": "reply", "reply": {"id": o["id"][:256], "title": o["title"][:20]}} for o in options[:3]]}}


def _mark(msg: WhatsappMessage, **fields) -> None:
    WhatsappMessage.update(updated_at=utcnow(), **fields).where(WhatsappMessage.id == msg.id).execute()


def _deliver(msg: WhatsappMessage, kind: str, content: dict) -> None:
    if messaging.is_blocked(CHANNEL, msg.address):
        _mark(msg, status="suppressed", error="number is blocked")
        return
    try:
        wamid = send(msg.address, kind, content)
    except PermanentFailure as exc:
        _mark(msg, status="failed", error=str(exc)[:255])
        raise
    with database.atomic():
        _mark(msg, status="sent", provider_message_id=wamid, kind=kind if kind != "interactive" else "interactive",
              error=None)


def job_send(app, payload, job) -> None:
    msg = WhatsappMessage.get_or_none(WhatsappMessage.id == payload.get("message_id"))
    if msg is None:
        raise PermanentFailure("message not found")
    if msg.status not in ("queued", "failed"):
        return
    text = messaging.unseal(payload["sealed"], SEAL) if payload.get("sealed") else msg.body
    if payload.get("options"):
        kind, content = interactive(text, payload["options"], payload.get("style"), payload.get("button") or "")
    else:
        kind, content = "text", {"preview_url": False, "body": text}
    _deliver(msg, kind, content)


def template_content(event: Event, complaint, lang: str) -> dict:
    cfg = current_app.config
    langs = cfg.get("WHATSAPP_TEMPLATE_LANGUAGES") or {}
    with use_language(lang):
        params = [complaint.tracking_id, action_label(event.type, lang), status_label(complaint.status, lang)]
    return {"name": cfg["WHATSAPP_TEMPLATE_NAME"], "language": {"code": langs.get(lang) or lang},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]}


def job_notify(app, payload, job) -> None:
    event = Event.get_or_none(Event.id == payload.get("event_id"))
    if event is None or event.visibility != "public":
        return
    complaint = event.complaint
    contacts = messaging.notify_contacts("whatsapp", complaint, phone_channel=True)
    if not contacts:
        return
    contact = contacts[0]
    lang = messaging.contact_language(contact, complaint.reporter)
    force_template = bool(payload.get("template"))
    key = f"notify:{event.id}:{'t' if force_template else 'x'}"
    msg = WhatsappMessage.get_or_none(WhatsappMessage.dedupe_key == key)
    open_window = contact.last_inbound_at is not None and utcnow() - contact.last_inbound_at < WINDOW
    use_template = force_template or not open_window
    if msg is None:
        text = messaging.notification_text(CHANNEL, event, complaint, lang)
        now = utcnow()
        msg = WhatsappMessage.create(direction="out", address=contact.address, kind="template" if use_template else "text",
                                     body=text, command="notify", status="queued", complaint=complaint,
                                     event_id=event.id, dedupe_key=key, created_at=now, updated_at=now)
    if msg.status not in ("queued",):
        return
    if msg.kind == "template":
        _deliver(msg, "template", template_content(event, complaint, lang))
        return
    try:
        _deliver(msg, "text", {"preview_url": False, "body": msg.body})
    except GraphError as exc:
        if exc.code != REENGAGEMENT:
            raise
        # The window closed (our clock and Meta's disagree): the approved template, never a retry.
        _template_instead(event.id, complaint.id)


def _template_instead(event_id: int, complaint_id: int | None) -> None:
    enqueue(JobRequest("whatsapp.notify", {"event_id": event_id, "template": True},
                       key=f"whatsapp.notify:{event_id}:template", complaint_id=complaint_id))


def apply_status(st: dict) -> bool:
    """A status webhook (sent, delivered, read, failed): move our log forward; a notification refused
    with the re-engagement error is sent again as the template."""
    wamid, state = st.get("id"), st.get("status")
    if not isinstance(wamid, str) or state not in RANK:
        return False
    msg = WhatsappMessage.get_or_none((WhatsappMessage.direction == "out") &
                                      (WhatsappMessage.provider_message_id == wamid[:128]))
    if msg is None:
        return False
    errors = st.get("errors") if isinstance(st.get("errors"), list) else []
    err = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = err.get("code") if isinstance(err.get("code"), int) else None
    with database.atomic():
        if RANK.get(state, 0) > RANK.get(msg.status, 0) or (msg.status == "queued"):
            error = f"code {code}: {str(err.get('title') or '')[:100]}" if state == "failed" else None
            _mark(msg, status=state, error=error)
            if state == "failed" and code == REENGAGEMENT and msg.command == "notify" and msg.kind == "text" \
                    and msg.event_id:
                _template_instead(msg.event_id, msg.complaint_id)
    return True


def job_media(app, payload, job) -> None:
    cfg = current_app.config
    info = graph("GET", str(payload["media_id"]))
    size = info.get("file_size")
    if isinstance(size, int) and size > cfg["ATTACHMENT_MAX_BYTES"]:
        raise PermanentFailure(f"file is larger than {cfg['ATTACHMENT_MAX_BYTES']} bytes")
    url = info.get("url")
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise PermanentFailure("the Graph API returned no media URL")
    data = messaging.fetch_media(url, what="WhatsApp media", headers=_headers())
    ext = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf", "audio/ogg": ".ogg",
           "video/mp4": ".mp4"}.get(str(info.get("mime_type")), "")
    name = payload.get("filename") or payload.get("kind") or "media"
    messaging.attach_media(payload["complaint_id"], data, name if "." in name else name + ext, source="whatsapp")
