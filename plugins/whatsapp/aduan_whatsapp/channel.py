"""WhatsApp on the core conversation engine: the channel description and the message log."""
from __future__ import annotations

import re

from flask import current_app

from aduan import JobRequest, messaging
from aduan.db import utcnow
from aduan.jobs import enqueue

from .models import WhatsappMessage

SEAL = "aduan-whatsapp"
BSUID = re.compile(r"^[A-Z]{2}\.[0-9A-Za-z]{1,64}$")  # business-scoped user id of a username user


class WhatsappChannel(messaging.Channel):
    name = "whatsapp"
    prefix = "WHATSAPP"
    label = "WhatsApp"
    drafts = True
    phone_addresses = True

    def normalise(self, raw):
        raw = (raw or "").strip()
        if BSUID.match(raw):
            return raw[:64]
        digits = re.sub(r"\D", "", raw)
        return messaging.normalise_address("+" + digits) if digits else None

    def fit(self, text: str) -> str:
        n = current_app.config.get("WHATSAPP_MAX_LENGTH", 4096)
        return text if len(text) <= n else text[: n - 3].rstrip() + "..."

    def log_inbound(self, msg, address, raw, body):
        now = utcnow()
        kind = "location" if msg.location else (msg.media[0].kind if msg.media else
                                                ("interactive" if msg.choice else "text"))
        return WhatsappMessage.create(direction="in", provider_message_id=str(msg.provider_message_id)[:128],
                                      address=address, kind=kind, body=body, status="received", created_at=now,
                                      updated_at=now)

    def finish_inbound(self, rec, status, *, command=None, complaint=None, error=None):
        rec.status, rec.command, rec.error = status, command, error
        if complaint is not None:
            rec.complaint = complaint
        rec.updated_at = utcnow()
        rec.save()

    def can_reply(self, rec, inline):
        cfg = current_app.config
        return bool(cfg.get("WHATSAPP_ACCESS_TOKEN") and cfg.get("WHATSAPP_PHONE_NUMBER_ID"))

    def log_reply(self, rec, reply, *, inline, status, error):
        now = utcnow()
        out = WhatsappMessage.create(direction="out", address=rec.address, kind="interactive" if reply.options else "text",
                                     body=reply.logged or reply.text, command="reply", status=status,
                                     complaint=rec.complaint, in_reply_to=rec, error=error, created_at=now,
                                     updated_at=now)
        if status == "queued":
            enqueue(JobRequest("whatsapp.send", {"message_id": out.id, "sealed": messaging.seal(reply.text, SEAL),
                                                 **reply.payload()},
                               key=f"whatsapp.send:{out.id}", complaint_id=rec.complaint_id))
        return out

    def media_jobs(self, complaint, media):
        return [JobRequest("whatsapp.media", {"complaint_id": complaint.id, "media_id": m["ref"],
                                              "filename": m.get("filename") or "", "kind": m.get("kind")},
                           key=f"whatsapp.media:{complaint.id}:{m['ref']}"[:255], complaint_id=complaint.id)
                for m in media]


CHANNEL = WhatsappChannel()
