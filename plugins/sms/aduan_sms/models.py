"""The SMS plugin's table: the message log (opt-outs and the blocklist are the core's ``contact`` and
``contact_block`` on channel ``sms``, see :mod:`aduan.messaging`).

Phone numbers here are the citizen's contact channel: shown to staff only through the plugin's API,
which applies :func:`aduan.privacy.shows_identity`; never logged unmasked.
"""
from __future__ import annotations

import peewee as pw

from aduan.db import utcnow
from aduan.models import BaseModel, Complaint

DIRECTIONS = ("in", "out")
# in: received, processed, ignored, blocked, rate_limited, error
# out: queued, sent, delivered, failed, suppressed
STATUSES = ("received", "processed", "ignored", "blocked", "rate_limited", "error",
            "queued", "sent", "delivered", "failed", "suppressed")


class SmsMessage(BaseModel):
    """One SMS in or out, whatever the gateway. ``(direction, provider, provider_message_id)`` is unique, so a
    webhook delivered again is recognised and never processed twice."""

    direction = pw.CharField(max_length=3)
    provider = pw.CharField(max_length=16)
    provider_message_id = pw.CharField(max_length=128, null=True)
    phone = pw.CharField(max_length=20, null=True, index=True)  # E.164, None for short codes/alphanumeric
    phone_raw = pw.CharField(max_length=64, null=True)
    body = pw.TextField(default="")
    command = pw.CharField(max_length=16, null=True)  # in: lapor, cek, balas, stop, ...; out: reply, notify
    status = pw.CharField(max_length=16)
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="sms_messages", on_delete="SET NULL")
    event_id = pw.IntegerField(null=True)
    in_reply_to = pw.ForeignKeyField("self", null=True, backref="replies", on_delete="SET NULL")
    segments = pw.IntegerField(default=0)
    encoding = pw.CharField(max_length=8, null=True)
    dedupe_key = pw.CharField(max_length=128, null=True, unique=True)
    error = pw.CharField(max_length=255, null=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sms_message"
        indexes = ((("direction", "provider", "provider_message_id"), True),)


class SmsGammuWait(BaseModel):
    """When this deployment first saw an incomplete concatenated Gammu SMS (persisted, so the wait for
    its missing parts survives restarts and one-shot ``aduan sms poll-gammu`` runs)."""

    group_key = pw.CharField(max_length=255, unique=True)
    first_seen = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "sms_gammu_wait"


MODELS = [SmsMessage, SmsGammuWait]
