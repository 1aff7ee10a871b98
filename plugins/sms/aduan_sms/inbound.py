"""SMS on the core conversation engine (:mod:`aduan.messaging`).

Each gateway adapter turns its request (or Gammu inbox row) into an :class:`Inbound` and calls
:func:`receive`; the engine logs it here (``sms_message``, unique on provider and provider message
id, so a retried webhook is recognised), applies the per-number limits, consent and blocklist under
the contact's lock, runs the command, and the reply goes back inline (TwiML, SMSSync, generic JSON
answer) or as an outbox job ``sms.send`` for gateways that need a separate request.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import current_app

from aduan import JobRequest, messaging
from aduan.db import database, utcnow
from aduan.jobs import enqueue
from aduan.messaging import Inbound as _CoreInbound
from aduan.messaging import Parsed, parse  # noqa: F401  (re-exported: the SMS grammar is the core's)

from . import text as smstext
from .models import SmsMessage

INLINE_PROVIDERS = ("twilio", "smssync", "generic")
SENDING_PROVIDERS = ("twilio", "android", "gammu", "http")
SEAL = "aduan-sms"


def Inbound(provider, provider_message_id, sender, text, received_at=None) -> _CoreInbound:  # noqa: N802
    """An incoming SMS (kept with the arguments the adapters always used)."""
    return _CoreInbound(provider=provider, provider_message_id=provider_message_id, sender=sender, text=text,
                        received_at=received_at)


@dataclass
class Outcome:
    message: SmsMessage | None
    duplicate: bool = False
    reply: str | None = None  # the text to send back (inline adapters); may hold the access code
    reply_message: SmsMessage | None = None


def reply_provider(provider: str) -> str | None:
    """Which adapter carries a reply to a message that came in through ``provider``."""
    if provider in ("android", "gammu"):
        return provider
    out = current_app.config.get("SMS_OUTBOUND", "none")
    return out if out != "none" else None


class SmsChannel(messaging.Channel):
    name = "sms"
    prefix = "SMS"
    label = "SMS"
    drafts = False
    phone_addresses = True

    def fit(self, text: str) -> str:
        return smstext.fit(text, current_app.config.get("SMS_MAX_SEGMENTS", 3))

    def sender_name(self) -> str | None:
        return current_app.config.get("SMS_SENDER_NAME") or "ADUAN"

    skips_duplicates = True  # log_inbound: INSERT … ON CONFLICT DO NOTHING, no savepoint

    # The three writes of every message are plain SQL (the insert's text is cached per database
    # kind): peewee building statements was about 40% of a message's time, the filing's included.

    def log_inbound(self, msg, address, raw, body):
        now = utcnow()
        pid = str(msg.provider_message_id)[:128] if msg.provider_message_id not in (None, "") else None
        values = {"direction": "in", "provider": msg.provider, "provider_message_id": pid, "phone": address,
                  "phone_raw": raw, "body": body, "status": "received", "segments": smstext.segments(body),
                  "encoding": smstext.encoding(body) if body else None, "created_at": now, "updated_at": now}
        row = database.execute_sql(_insert_sql(tuple(values), "ON CONFLICT DO NOTHING "), _params(values)).fetchone()
        if row is None:  # (direction, provider, provider_message_id) was logged before: a retried webhook
            return None
        return _instance(row[0], values)

    def finish_inbound(self, rec, status, *, command=None, complaint=None, error=None):
        rec.status, rec.command, rec.error = status, command, error
        if complaint is not None:
            rec.complaint = complaint
        rec.updated_at = utcnow()
        names = ("status", "command", "error", "complaint", "updated_at")
        t = SmsMessage._meta
        p = database.param
        sets = ", ".join(f'"{t.fields[n].column_name}" = {p}' for n in names)
        database.execute_sql(f'UPDATE "{t.table_name}" SET {sets} WHERE "id" = {p}',
                             _params({n: getattr(rec, "complaint_id" if n == "complaint" else n) for n in names})
                             + [rec.id])

    def can_reply(self, rec, inline):
        return inline or reply_provider(rec.provider) is not None

    def log_reply(self, rec, reply, *, inline, status, error):
        now = utcnow()
        provider = rec.provider if inline else (reply_provider(rec.provider) or rec.provider)
        values = {"direction": "out", "provider": provider, "phone": rec.phone, "phone_raw": rec.phone_raw,
                  "body": reply.logged or reply.text, "command": "reply", "status": status,
                  "complaint": rec.complaint_id, "in_reply_to": rec.id, "segments": smstext.segments(reply.text),
                  "encoding": smstext.encoding(reply.text), "error": error, "created_at": now, "updated_at": now}
        row = database.execute_sql(_insert_sql(tuple(values)), _params(values)).fetchone()
        out = _instance(row[0], values)
        if status == "queued":
            enqueue(JobRequest("sms.send", {"message_id": out.id, "sealed": messaging.seal(reply.text, SEAL)},
                               key=f"sms.send:{out.id}", complaint_id=rec.complaint_id),
                    default_max_attempts=current_app.config["JOB_MAX_ATTEMPTS"])
        return out


CHANNEL = SmsChannel()


@functools.lru_cache(maxsize=32)
def _insert_sql_for(param: str, names: tuple[str, ...], conflict: str) -> str:
    t = SmsMessage._meta
    cols = ", ".join(f'"{t.fields[n].column_name}"' for n in names)
    return (f'INSERT INTO "{t.table_name}" ({cols}) VALUES ({", ".join([param] * len(names))}) '
            f'{conflict}RETURNING "id"')


def _insert_sql(names: tuple[str, ...], conflict: str = "") -> str:
    return _insert_sql_for(database.param, names, conflict)


def _params(values: dict) -> list:
    """Values as the driver takes them (what peewee's field would write)."""
    fields = SmsMessage._meta.fields
    return [fields[n].db_value(v) for n, v in values.items()]


def _instance(pk: int, values: dict) -> SmsMessage:
    """The row just written, as a model instance (no re-read)."""
    rec = SmsMessage(__no_default__=1)
    rec.__data__ = {**{f.name: None for f in SmsMessage._meta.sorted_fields}, **values, "id": pk}
    return rec


def receive(msg: _CoreInbound, *, inline: bool) -> Outcome:
    """Process one incoming SMS exactly once. ``inline``: the reply goes back in the HTTP answer."""
    out = messaging.receive(CHANNEL, msg, inline=inline)
    return Outcome(out.message, duplicate=out.duplicate, reply=out.reply.text if out.reply else None,
                   reply_message=out.reply_message)
