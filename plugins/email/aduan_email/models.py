"""The email plugin's tables (``email_*``).

No addresses are stored here: a failing address is known by its HMAC (keyed with SECRET_KEY), so the
only copy of a reporter's address stays on the core's ``reporter`` row.
"""
from __future__ import annotations

import peewee as pw

from aduan.db import utcnow
from aduan.models import BaseModel, Complaint, JSONField


class EmailMessage(BaseModel):
    """Every inbound message we handled, by Message-ID: a second delivery of the same message is a no-op."""

    message_key = pw.CharField(max_length=128, unique=True)  # normalised Message-ID (or sha256:... when long/missing)
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="+", on_delete="SET NULL")
    outcome = pw.CharField(max_length=16)  # filed, reply, ignored, bounce, rejected
    reason = pw.CharField(max_length=64, default="")
    source = pw.CharField(max_length=16)  # imap, mailgun, sendgrid, raw
    skipped = JSONField(null=True)  # attachments not stored: [{"filename", "reason"}]
    created_at = pw.DateTimeField(default=utcnow)
    sender_hash = pw.CharField(max_length=64, null=True)  # keyed hash of the From address (never the address)

    class Meta:
        indexes = ((("sender_hash", "created_at"), False),)


class EmailSent(BaseModel):
    """Message-IDs of mail we sent, so that replies (In-Reply-To / References) find their complaint."""

    message_key = pw.CharField(max_length=128, unique=True)
    complaint = pw.ForeignKeyField(Complaint, null=True, backref="+", on_delete="CASCADE")
    job_id = pw.IntegerField(null=True)
    kind = pw.CharField(max_length=16)  # ack, update, agency
    created_at = pw.DateTimeField(default=utcnow, index=True)


class EmailAddress(BaseModel):
    """Delivery state of an address, known only by its keyed hash."""

    address_hash = pw.CharField(max_length=64, unique=True)
    failing = pw.BooleanField(default=False)
    reason = pw.CharField(max_length=64, default="")
    failed_at = pw.DateTimeField(null=True)
    updated_at = pw.DateTimeField(default=utcnow)


class EmailImapState(BaseModel):
    """Where polling resumes: a mailbox's UIDVALIDITY and the last UID handled."""

    mailbox = pw.CharField(max_length=255, unique=True)
    uidvalidity = pw.BigIntegerField(default=0)
    last_uid = pw.BigIntegerField(default=0)
    updated_at = pw.DateTimeField(default=utcnow)


class EmailNonce(BaseModel):
    """Webhook tokens already seen (Mailgun's token), refused when replayed."""

    provider = pw.CharField(max_length=16)
    token = pw.CharField(max_length=128)
    seen_at = pw.DateTimeField(default=utcnow, index=True)

    class Meta:
        indexes = ((("provider", "token"), True),)


MODELS = [EmailMessage, EmailSent, EmailAddress, EmailImapState, EmailNonce]
