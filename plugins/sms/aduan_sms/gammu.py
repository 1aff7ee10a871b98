"""Gammu SMSD: read its ``inbox`` table, write to its ``outbox`` (+ ``outbox_multipart``), follow
``sentitems`` for delivery states. Table layout: the gammu-smsd-tables(7) manual.

The SMSD database is separate from ours (SQLite, MySQL or PostgreSQL, ``SMS_GAMMU_DATABASE_URL``).
Processing is crash-safe: a row is filed through :func:`aduan_sms.inbound.receive` (idempotent on
``("gammu", ID)``) and only then marked ``Processed``; a row seen again is only marked.
"""
from __future__ import annotations

import logging
import random
import threading

import peewee as pw
from flask import current_app
from playhouse import db_url

from aduan.db import database, utcnow

from . import text as smstext
from .inbound import Inbound, receive
from .models import SmsMessage

log = logging.getLogger("aduan.sms")
_dbs: dict[str, pw.Database] = {}
_lock = threading.Lock()


class GammuBool(pw.Field):
    """``Processed``/``MultiPart``: enum('false','true') in MySQL, text in SQLite, boolean in PostgreSQL."""

    field_type = "TEXT"

    def _pg(self):
        return isinstance(self.model._meta.database, pw.PostgresqlDatabase)

    def db_value(self, value):
        if value is None:
            return None
        return bool(value) if self._pg() else ("true" if value else "false")

    def python_value(self, value):
        if isinstance(value, str):
            return value.lower() in ("true", "1", "t")
        return bool(value) if value is not None else None


class _Base(pw.Model):
    class Meta:
        database = None
        legacy_table_names = False


class Inbox(_Base):
    id = pw.AutoField(column_name="ID")
    text_decoded = pw.TextField(column_name="TextDecoded")
    sender = pw.CharField(column_name="SenderNumber")
    received = pw.DateTimeField(column_name="ReceivingDateTime")
    sms_class = pw.IntegerField(column_name="Class")
    processed = GammuBool(column_name="Processed")

    class Meta:
        table_name = "inbox"


class Outbox(_Base):
    id = pw.AutoField(column_name="ID")
    destination = pw.CharField(column_name="DestinationNumber")
    text_decoded = pw.TextField(column_name="TextDecoded")
    coding = pw.CharField(column_name="Coding")
    udh = pw.TextField(column_name="UDH", null=True)
    multipart = GammuBool(column_name="MultiPart")
    creator = pw.TextField(column_name="CreatorID")
    sender_id = pw.CharField(column_name="SenderID", null=True)
    delivery_report = pw.CharField(column_name="DeliveryReport")

    class Meta:
        table_name = "outbox"


class OutboxMultipart(_Base):
    id = pw.IntegerField(column_name="ID")
    seq = pw.IntegerField(column_name="SequencePosition")
    text_decoded = pw.TextField(column_name="TextDecoded", null=True)
    coding = pw.CharField(column_name="Coding")
    udh = pw.TextField(column_name="UDH", null=True)

    class Meta:
        table_name = "outbox_multipart"
        primary_key = pw.CompositeKey("id", "seq")


class SentItems(_Base):
    id = pw.IntegerField(column_name="ID")
    seq = pw.IntegerField(column_name="SequencePosition")
    status = pw.CharField(column_name="Status")
    creator = pw.TextField(column_name="CreatorID")

    class Meta:
        table_name = "sentitems"
        primary_key = pw.CompositeKey("id", "seq")


GAMMU_MODELS = [Inbox, Outbox, OutboxMultipart, SentItems]


def gammu_db() -> pw.Database:
    url = current_app.config.get("SMS_GAMMU_DATABASE_URL")
    if not url:
        raise RuntimeError("SMS_GAMMU_DATABASE_URL is not set")
    with _lock:
        db = _dbs.get(url)
        if db is None:
            if url.startswith("sqlite"):
                path = url.split("://", 1)[1]
                path = path[1:] if path.startswith("/") else path
                db = pw.SqliteDatabase(path, pragmas={"busy_timeout": 30000}, check_same_thread=False)
            else:
                db = db_url.connect(url)
            _dbs[url] = db
    return db


def creator_id(msg_id: int) -> str:
    return f"aduan-sms:{msg_id}"


def poll(app=None) -> dict[str, int]:
    """Process new inbox rows and apply delivery states from sentitems. Run by the ``sms.gammu`` schedule."""
    counts = {"received": 0, "duplicates": 0, "status": 0}
    gdb = gammu_db()
    with gdb.bind_ctx(GAMMU_MODELS), gdb.connection_context():
        rows = list(Inbox.select().where(Inbox.processed == False).order_by(Inbox.id).limit(200))  # noqa: E712
        for row in rows:
            if row.sms_class == 127:  # USSD answers are not messages from citizens
                outcome = None
            else:
                outcome = receive(Inbound("gammu", str(row.id), row.sender, row.text_decoded), inline=False)
                counts["duplicates" if outcome.duplicate else "received"] += 1
            with gdb.atomic():
                Inbox.update(processed=True).where(Inbox.id == row.id).execute()
        pending = list(SmsMessage.select().where((SmsMessage.direction == "out") & (SmsMessage.provider == "gammu") &
                                                 SmsMessage.status.in_(["queued", "sent"]) &
                                                 SmsMessage.provider_message_id.is_null(False)).limit(500))
        if pending:
            from .outbound import update_status

            by_id = {int(m.provider_message_id): m for m in pending if str(m.provider_message_id).isdigit()}
            if by_id:
                for item in SentItems.select().where(SentItems.id.in_(list(by_id)) & (SentItems.seq == 1)):
                    m = by_id[item.id]
                    if item.creator == creator_id(m.id) and update_status("gammu", str(item.id), item.status):
                        counts["status"] += 1
    return counts


def _existing(msg: SmsMessage) -> int | None:
    creator = creator_id(msg.id)
    for model in (Outbox, SentItems):
        row = model.select(model.id).where(model.creator == creator).first()
        if row is not None:
            return row.id
    return None


def send(msg: SmsMessage, text: str) -> tuple[str, str]:
    """Write the text to Gammu's outbox (long texts as a concatenated SMS with UDH parts)."""
    gdb = gammu_db()
    cfg = current_app.config
    parts = smstext.split(text) or [""]
    coding = "Default_No_Compression" if smstext.is_gsm7(text) else "Unicode_No_Compression"
    with gdb.bind_ctx(GAMMU_MODELS), gdb.connection_context():
        with gdb.atomic():
            found = _existing(msg)  # written before a crash: do not send twice
            if found is not None:
                return str(found), "queued"
            ref = random.randint(0, 255)
            udh = (lambda i: f"050003{ref:02X}{len(parts):02X}{i:02X}") if len(parts) > 1 else (lambda i: None)
            row = Outbox.create(destination=msg.phone, text_decoded=parts[0], coding=coding, udh=udh(1),
                                multipart=len(parts) > 1, creator=creator_id(msg.id),
                                sender_id=cfg.get("SMS_GAMMU_PHONE_ID") or None, delivery_report="yes")
            for i, part in enumerate(parts[1:], start=2):
                OutboxMultipart.insert(id=row.id, seq=i, text_decoded=part, coding=coding, udh=udh(i)).execute()
    return str(row.id), "queued"
