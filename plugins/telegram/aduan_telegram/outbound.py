"""Bot API calls and the outbox jobs of the Telegram channel.

* ``telegram.send`` ``{"message_id", "sealed", "options", "style"}``: a reply, with an inline keyboard
  when it offers choices (categories, *Send*, *Cancel*);
* ``telegram.notify`` ``{"event_id"}``: tell the reporter's chat about a public timeline event;
* ``telegram.media`` ``{"complaint_id", "file_id"}``: ``getFile`` and download into the complaint's
  attachments (the core's size and type limits apply).

Flood control is the Bot API's: a 429 carries ``parameters.retry_after`` and the job waits exactly
that long; a 403 (the citizen blocked the bot) stops notifications to that chat instead of retrying;
other 4xx are permanent; network errors and 5xx are retried with the core's back-off.
"""
from __future__ import annotations

import logging

import requests
from flask import current_app

from aduan import messaging, ratelimit
from aduan.db import database, utcnow
from aduan.jobs import PermanentFailure, RetryLater
from aduan.models import Event

from .channel import CHANNEL, SEAL
from .models import TelegramMessage

log = logging.getLogger("aduan.telegram")
TIMEOUT = 15


def api_url(method: str) -> str:
    cfg = current_app.config
    token = cfg.get("TELEGRAM_BOT_TOKEN")
    if not token:
        raise PermanentFailure("TELEGRAM_BOT_TOKEN is not set")
    return f"{cfg['TELEGRAM_API_URL'].rstrip('/')}/bot{token}/{method}"


class BlockedByUser(PermanentFailure):
    """The citizen blocked the bot (HTTP 403)."""


def call(method: str, payload: dict) -> dict:
    """Call a Bot API method; returns its ``result``."""
    try:
        resp = requests.post(api_url(method), json=payload, timeout=TIMEOUT)
    except requests.RequestException as exc:
        raise RetryLater(f"Bot API unreachable: {type(exc).__name__}") from None
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code == 200 and body.get("ok"):
        return body.get("result")
    desc = str(body.get("description") or "")[:120]
    if resp.status_code == 429:
        retry = (body.get("parameters") or {}).get("retry_after")
        raise RetryLater(f"Bot API flood control: {desc}", delay=float(retry) if isinstance(retry, (int, float)) else None)
    if resp.status_code >= 500:
        raise RetryLater(f"Bot API answered HTTP {resp.status_code}")
    if resp.status_code == 403:
        raise BlockedByUser(f"Bot API refused {method}: HTTP 403 {desc}")
    raise PermanentFailure(f"Bot API refused {method}: HTTP {resp.status_code} {desc}")


def keyboard(options: list[dict], style: str | None) -> dict | None:
    if not options:
        return None
    rows, row = [], []
    for o in options:
        btn = {"text": o["title"], "callback_data": o["id"][:64]}
        if o["id"].startswith("cat:"):
            rows.append([btn])  # categories one per row, Send / Cancel side by side
        else:
            row.append(btn)
    if row:
        rows.append(row)
    return {"inline_keyboard": rows}


def deliver(msg: TelegramMessage, text: str, options: list[dict] | None = None, style: str | None = None) -> None:
    if msg.status in ("sent", "delivered", "suppressed"):
        return
    if messaging.is_blocked(CHANNEL, msg.chat_id):
        TelegramMessage.update(status="suppressed", error="chat is blocked", updated_at=utcnow()).where(
            TelegramMessage.id == msg.id).execute()
        return
    cfg = current_app.config
    allowed, reset = ratelimit.hit("telegram.send", "bot", f"{cfg['TELEGRAM_SEND_PER_SECOND']}/second",
                                   cfg["SECRET_KEY"])
    if not allowed:  # shared by every worker: the bot's broadcast limit
        raise RetryLater("Bot API send rate reached", delay=max(reset, 1))
    payload = {"chat_id": int(msg.chat_id), "text": text, "link_preview_options": {"is_disabled": True}}
    kb = keyboard(options or [], style)
    if kb:
        payload["reply_markup"] = kb
    try:
        result = call("sendMessage", payload)
    except PermanentFailure as exc:
        with database.atomic():
            TelegramMessage.update(status="failed", error=str(exc)[:255], updated_at=utcnow()).where(
                TelegramMessage.id == msg.id).execute()
            if isinstance(exc, BlockedByUser):  # they blocked the bot: that is a STOP
                messaging.set_opted_out("telegram", msg.chat_id, True)
        raise
    mid = str((result or {}).get("message_id") or "") or None
    TelegramMessage.update(status="sent", provider_message_id=mid, error=None, updated_at=utcnow()).where(
        TelegramMessage.id == msg.id).execute()


def job_send(app, payload, job) -> None:
    msg = TelegramMessage.get_or_none(TelegramMessage.id == payload.get("message_id"))
    if msg is None:
        raise PermanentFailure("message not found")
    text = messaging.unseal(payload["sealed"], SEAL) if payload.get("sealed") else msg.body
    deliver(msg, text, payload.get("options"), payload.get("style"))


def job_notify(app, payload, job) -> None:
    event = Event.get_or_none(Event.id == payload.get("event_id"))
    if event is None or event.visibility != "public":
        return
    complaint = event.complaint
    for contact in messaging.notify_contacts("telegram", complaint)[:1]:
        key = f"notify:{event.id}:{contact.id}"
        msg = TelegramMessage.get_or_none(TelegramMessage.dedupe_key == key)
        if msg is None:
            lang = messaging.contact_language(contact, complaint.reporter)
            text = messaging.notification_text(CHANNEL, event, complaint, lang)
            now = utcnow()
            msg = TelegramMessage.create(direction="out", chat_id=contact.address, body=text, command="notify",
                                         status="queued", complaint=complaint, event_id=event.id, dedupe_key=key,
                                         created_at=now, updated_at=now)
        deliver(msg, msg.body)


def job_media(app, payload, job) -> None:
    cfg = current_app.config
    info = call("getFile", {"file_id": payload["file_id"]}) or {}
    size = info.get("file_size")
    if isinstance(size, int) and size > cfg["ATTACHMENT_MAX_BYTES"]:
        raise PermanentFailure(f"file is larger than {cfg['ATTACHMENT_MAX_BYTES']} bytes")
    path = info.get("file_path")
    if not isinstance(path, str) or not path:
        raise PermanentFailure("getFile returned no file_path")
    url = f"{cfg['TELEGRAM_API_URL'].rstrip('/')}/file/bot{cfg['TELEGRAM_BOT_TOKEN']}/{path.lstrip('/')}"
    data = messaging.fetch_media(url, what="Bot API")
    name = payload.get("filename") or path.rsplit("/", 1)[-1]
    messaging.attach_media(payload["complaint_id"], data, name, source="telegram")
