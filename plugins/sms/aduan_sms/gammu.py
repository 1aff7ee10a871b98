"""Gammu SMSD: read its ``inbox`` table, write to its ``outbox`` (+ ``outbox_multipart``), follow
``sentitems`` for delivery states. Table layout: the gammu-smsd-tables(7) manual.

The SMSD database is separate from ours (SQLite, MySQL or PostgreSQL, ``SMS_GAMMU_DATABASE_URL``).
Processing is crash-safe: a row is filed through :func:`aduan_sms.inbound.receive` (idempotent on
``("gammu", ID)``) and only then marked ``Processed``; a row seen again is only marked.
"""
from __future__ import annotations

import hashlib
import logging
import random
import threading

import peewee as pw
from flask import current_app
from playhouse import db_url


from . import text as smstext
from .inbound import Inbound, receive
from aduan.db import utcnow

from .models import SmsGammuWait, SmsMessage

log = logging.getLogger("aduan.sms")
_dbs: dict[str, pw.Database] = {}
_lock = threading.Lock()
#: ``bind_ctx`` binds the gammu models for the whole process, not one thread: a worker running jobs in
#: threads (WORKER_CONCURRENCY) must not let one send unbind them under another
_bound = threading.RLock()


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
    udh = pw.TextField(column_name="UDH", null=True)
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


def concat_info(udh: str | None) -> tuple[str, int, int] | None:
    """(reference, total, sequence) of a concatenated SMS part from its UDH (IE 00 or 08), else None."""
    if not udh:
        return None
    try:
        data = bytes.fromhex(udh.strip())
    except ValueError:
        return None
    if not data or data[0] + 1 > len(data):
        return None
    i, end = 1, data[0] + 1
    while i + 1 < end:
        iei, length = data[i], data[i + 1]
        body = data[i + 2:i + 2 + length]
        if iei == 0x00 and length == 3 and len(body) == 3:
            return f"{body[0]:02X}", body[1], body[2]
        if iei == 0x08 and length == 4 and len(body) == 4:
            return f"{body[0]:02X}{body[1]:02X}", body[2], body[3]
        i += 2 + length
    return None


def _group_key(key: tuple, first_row_id) -> str:
    """A stable name for one concatenated message (hashed: it holds the sender's number)."""
    return hashlib.sha256(f"{key[0]}|{key[1]}|{key[2]}|{first_row_id}".encode()).hexdigest()


def _waited_enough(group_key: str, wait: float) -> bool:
    """Whether an incomplete message has waited ``wait`` seconds since it was first seen (kept in
    ``sms_gammu_wait``, so the wait holds across polls, restarts and one-shot runs)."""
    now = utcnow()
    SmsGammuWait.insert(group_key=group_key, first_seen=now).on_conflict_ignore().execute()
    first = SmsGammuWait.select(SmsGammuWait.first_seen).where(SmsGammuWait.group_key == group_key).scalar()
    return first is not None and (now - first).total_seconds() >= wait


def _groups(rows):
    """Yield (parts in order, all rows) for each message; a concatenated SMS is one message."""
    parts: dict[tuple, list] = {}
    order = []
    for row in rows:
        info = concat_info(row.udh)
        if info is None or info[1] <= 1:
            order.append(("single", row.id))
            parts[("single", row.id)] = [row]
            continue
        key = (row.sender, info[0], info[1])
        if key not in parts:
            order.append(key)
            parts[key] = []
        parts[key].append((info[2], row))
    wait = current_app.config["SMS_GAMMU_MULTIPART_WAIT_SECONDS"]
    for key in order:
        if key[0] == "single":
            yield parts[key], parts[key]
            continue
        seqs = sorted(parts[key], key=lambda p: (p[0], p[1].id))
        complete = {s for s, _ in seqs} >= set(range(1, key[2] + 1))
        gkey = _group_key(key, min(row.id for _, row in seqs))
        if not complete and not _waited_enough(gkey, wait):
            continue  # the other parts may still be on their way
        SmsGammuWait.delete().where(SmsGammuWait.group_key == gkey).execute()
        uniq, done = [], set()
        for s_, row in seqs:
            if s_ not in done:
                done.add(s_)
                uniq.append(row)
        yield uniq, [row for _, row in seqs]


def poll(app=None) -> dict[str, int]:
    """Process new inbox rows and apply delivery states from sentitems. Run by the ``sms.gammu`` schedule."""
    counts = {"received": 0, "duplicates": 0, "status": 0}
    gdb = gammu_db()
    with _bound, gdb.bind_ctx(GAMMU_MODELS), gdb.connection_context():
        rows = list(Inbox.select().where(Inbox.processed == False).order_by(Inbox.id).limit(500))  # noqa: E712
        for ordered, group in _groups(rows):
            first = ordered[0]
            if first.sms_class != 127:  # USSD answers are not messages from citizens
                text = "".join(r.text_decoded or "" for r in ordered)
                outcome = receive(Inbound("gammu", str(first.id), first.sender, text), inline=False)
                counts["duplicates" if outcome.duplicate else "received"] += 1
            with gdb.atomic():
                Inbox.update(processed=True).where(Inbox.id.in_([r.id for r in group])).execute()
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
    with _bound, gdb.bind_ctx(GAMMU_MODELS), gdb.connection_context():
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
