"""The WhatsApp plugin's table: the message log (contacts, consent and limits are the core's
``contact`` rows on channel ``whatsapp``). Numbers are contact data: never logged unmasked."""
from __future__ import annotations

import peewee as pw

from aduan.db import utcnow
from aduan.models import BaseModel, Complaint

# in: received, processed, ignored, blocked, rate_limited, error
# out: queued, sent, delivered, read, failed, suppressed
RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 3}


class WhatsappMessage(BaseModel):
    """One message in or out. ``(direction, provider_message_id)`` (the ``wamid``) is unique, so a
    webhook delivered again, or twice at once, files once."""

    direction = pw.CharField(max_length=3)
    provider = pw.CharField(max_length=16, default="cloud")
    provider_message_id = pw.CharField(max_length=128, null=True)
    address = pw.CharField(max_length=64, null=True, index=True)  # E.164, or the BSUID of a username user
    kind = pw.CharField(max_length=16, default="text")  # text, interactive, template, image, location...
    body = pw.TextField(default="")
    command = pw.CharField(max_length=16, null=True)
    status = pw.CharField(max_length=16)
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="whatsapp_messages", on_delete="SET NULL")
    event_id = pw.IntegerField(null=True)
    in_reply_to = pw.ForeignKeyField("self", null=True, backref="replies", on_delete="SET NULL")
    dedupe_key = pw.CharField(max_length=128, null=True, unique=True)
    error = pw.CharField(max_length=255, null=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "whatsapp_message"
        indexes = ((("direction", "provider_message_id"), True),)


MODELS = [WhatsappMessage]
