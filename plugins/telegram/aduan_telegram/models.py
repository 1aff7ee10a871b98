"""The Telegram plugin's table: the message log (contacts, consent and limits are the core's
``contact`` rows on channel ``telegram``). Chat ids are contact data: never logged."""
from __future__ import annotations

import peewee as pw

from aduan.db import utcnow
from aduan.models import BaseModel, Complaint

# in: received, processed, ignored, blocked, rate_limited, error
# out: queued, sent, failed, suppressed


class TelegramMessage(BaseModel):
    """One update in or one message out. Inbound rows are unique on the ``update_id`` (Telegram
    delivers an update again until we answer 200), outbound rows carry the sent ``message_id``."""

    direction = pw.CharField(max_length=3)
    provider = pw.CharField(max_length=16, default="telegram")
    provider_message_id = pw.CharField(max_length=64, null=True)
    chat_id = pw.CharField(max_length=32, null=True, index=True)
    body = pw.TextField(default="")
    command = pw.CharField(max_length=16, null=True)
    status = pw.CharField(max_length=16)
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="telegram_messages", on_delete="SET NULL")
    event_id = pw.IntegerField(null=True)
    in_reply_to = pw.ForeignKeyField("self", null=True, backref="replies", on_delete="SET NULL")
    dedupe_key = pw.CharField(max_length=128, null=True, unique=True)
    error = pw.CharField(max_length=255, null=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "telegram_message"
        indexes = ((("direction", "provider_message_id"), True),)


MODELS = [TelegramMessage]
