"""Telegram on the core conversation engine: the channel description and the message log."""
from __future__ import annotations

import re

from flask import current_app

from aduan import JobRequest, messaging
from aduan.db import utcnow
from aduan.jobs import enqueue

from .models import TelegramMessage

SEAL = "aduan-telegram"


class TelegramChannel(messaging.Channel):
    name = "telegram"
    prefix = "TELEGRAM"
    label = "Telegram"
    drafts = True
    phone_addresses = False

    def normalise(self, raw):
        raw = (raw or "").strip()
        return raw if re.fullmatch(r"-?\d{1,20}", raw) else None

    def fit(self, text: str) -> str:
        n = current_app.config.get("TELEGRAM_MAX_LENGTH", 4096)
        return text if len(text) <= n else text[: n - 3].rstrip() + "..."

    def log_inbound(self, msg, address, raw, body):
        now = utcnow()
        return TelegramMessage.create(direction="in", provider_message_id=str(msg.provider_message_id)[:64],
                                      chat_id=address or raw, body=body, status="received", created_at=now,
                                      updated_at=now)

    def finish_inbound(self, rec, status, *, command=None, complaint=None, error=None):
        rec.status, rec.command, rec.error = status, command, error
        if complaint is not None:
            rec.complaint = complaint
        rec.updated_at = utcnow()
        rec.save()

    def can_reply(self, rec, inline):
        return bool(current_app.config.get("TELEGRAM_BOT_TOKEN"))

    def log_reply(self, rec, reply, *, inline, status, error):
        now = utcnow()
        out = TelegramMessage.create(direction="out", chat_id=rec.chat_id, body=reply.logged or reply.text,
                                     command="reply", status=status, complaint=rec.complaint, in_reply_to=rec,
                                     error=error, created_at=now, updated_at=now)
        if status == "queued":
            enqueue(JobRequest("telegram.send", {"message_id": out.id, "sealed": messaging.seal(reply.text, SEAL),
                                                 **reply.payload()},
                               key=f"telegram.send:{out.id}", complaint_id=rec.complaint_id))
        return out

    def media_jobs(self, complaint, media):
        return [JobRequest("telegram.media", {"complaint_id": complaint.id, "file_id": m["ref"],
                                              "filename": m.get("filename") or "", "kind": m.get("kind")},
                           key=f"telegram.media:{complaint.id}:{m['ref']}"[:255], complaint_id=complaint.id)
                for m in media]


CHANNEL = TelegramChannel()
