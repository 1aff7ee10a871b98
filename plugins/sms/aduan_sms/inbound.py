"""The conversation: one pipeline for every gateway.

Each adapter turns its request (or Gammu inbox row) into an :class:`Inbound` and calls
:func:`receive`, which, in one transaction, logs the message (unique on provider and provider
message id, so a retried webhook is recognised), applies the abuse rules, runs the command through
:mod:`aduan.services`, and plans the reply: inline (TwiML, SMSSync, generic JSON answer) or as an
outbox job ``sms.send`` for gateways that need a separate request.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

import peewee as pw
from flask import current_app

from aduan import JobRequest
from aduan.auth import Actor
from aduan.db import database, utcnow
from aduan.i18n import status_label
from aduan.jobs import enqueue
from aduan.models import Complaint, Event, Reporter
from aduan.services import (Conflict, InvalidInput, NotFound, clean_text, file_complaint, find_complaint,
                            normalise_tracking_id, perform)

from . import text as smstext
from .models import SmsMessage, SmsOptOut
from .phones import is_blocked, mask, normalise

log = logging.getLogger("aduan.sms")

KEYWORDS = {
    "LAPOR": ("lapor", "id"), "LAPORAN": ("lapor", "id"), "ADUAN": ("lapor", "id"), "ADU": ("lapor", "id"),
    "REPORT": ("lapor", "en"), "COMPLAINT": ("lapor", "en"),
    "CEK": ("cek", "id"), "CHECK": ("cek", "en"),
    "BALAS": ("balas", "id"), "REPLY": ("balas", "en"),
    "STOP": ("stop", None), "BERHENTI": ("stop", "id"), "UNSUBSCRIBE": ("stop", "en"),
    "MULAI": ("start", "id"), "START": ("start", "en"),
    "BANTUAN": ("help", "id"), "INFO": ("help", "id"), "HELP": ("help", "en"), "MENU": ("help", "id"),
}
# These only count as commands when the message holds nothing else ("Info jalan rusak..." is a report).
ALONE = {"stop", "start", "help"}
INLINE_PROVIDERS = ("twilio", "smssync", "generic")
SENDING_PROVIDERS = ("twilio", "android", "gammu", "http")
MAX_STORED = 12_000
ANSWER_TYPES = ("respond", "resolve", "hold", "reject", "transfer", "verify", "reopen", "comment")


@dataclass
class Inbound:
    provider: str
    provider_message_id: str | None
    sender: str | None
    text: str | None
    received_at: dt.datetime | None = None


@dataclass
class Outcome:
    message: SmsMessage | None
    duplicate: bool = False
    reply: str | None = None  # the text to send back (inline adapters); may hold the access code
    reply_message: SmsMessage | None = None


@dataclass
class Parsed:
    command: str
    lang: str | None
    tracking_id: str = ""
    body: str = ""


def parse(text: str) -> Parsed:
    """Case- and punctuation-tolerant: ``lapor: ...``, ``Cek #ABCD2345``, ``balas abcd-2345 ...``."""
    m = re.match(r"^[\W_]*([A-Za-z]+)\b[\s\W_]*(.*)$", text, re.S)
    if m:
        word, rest = m.group(1).upper(), m.group(2).strip()
        hit = KEYWORDS.get(word)
        if hit:
            cmd, lang = hit
            if cmd in ALONE and re.sub(r"[\W_]", "", rest):
                return Parsed("lapor", None, body=text)
            if cmd == "cek":
                tid = normalise_tracking_id(rest)
                if len(tid) > 8:  # "CEK ABCD2345 tolong dibantu": the id is the first word
                    tid = normalise_tracking_id(re.split(r"[\s#:;,.]+", rest, maxsplit=1)[0])
                return Parsed(cmd, lang, tracking_id=tid)
            if cmd == "balas":
                parts = re.split(r"[\s#:;,.]+", rest, maxsplit=1)
                body = parts[1].strip() if len(parts) > 1 else ""
                tid = normalise_tracking_id(parts[0]) if parts and parts[0] else ""
                if len(tid) > 8 and not body:  # "BALAS ABCD2345isi..." is unreadable; keep it whole
                    body = ""
                return Parsed(cmd, lang, tracking_id=tid, body=body)
            if cmd == "lapor":
                return Parsed(cmd, lang, body=rest)
            return Parsed(cmd, lang)
    return Parsed("lapor", None, body=text)


def _reporter_for(phone: str | None) -> Reporter | None:
    if not phone:
        return None
    return Reporter.select().where(Reporter.phone == phone).order_by(Reporter.id.desc()).first()


def _owner(c: Complaint, phone: str | None) -> bool:
    return bool(phone) and c.reporter_id is not None and c.reporter.phone == phone


def _latest_answer(c: Complaint) -> str:
    ev = (Event.select().where((Event.complaint == c) & (Event.visibility == "public") &
                               (Event.type.in_(ANSWER_TYPES)) & (Event.text != "") &
                               (Event.actor_role != "reporter"))
          .order_by(Event.created_at.desc(), Event.id.desc()).first())
    return " ".join(ev.text.split()) if ev else ""


def _count_since(q, hours=1) -> int:
    return q.where(SmsMessage.created_at >= utcnow() - dt.timedelta(hours=hours)).count()


def reply_provider(provider: str) -> str | None:
    """Which adapter carries a reply to a message that came in through ``provider``."""
    if provider in ("android", "gammu"):
        return provider
    out = current_app.config.get("SMS_OUTBOUND", "none")
    return out if out != "none" else None


def receive(msg: Inbound, *, inline: bool) -> Outcome:
    """Process one incoming SMS exactly once. ``inline``: the reply goes back in the HTTP answer."""
    cfg = current_app.config
    raw = clean_text(msg.sender, multiline=False)[:64] or None
    phone = normalise(raw)
    body = clean_text(msg.text)[:MAX_STORED]  # the core refuses more than 10,000 characters anyway
    now = utcnow()
    pid = (str(msg.provider_message_id)[:128] if msg.provider_message_id not in (None, "") else None)
    with database.atomic():
        try:
            with database.atomic():
                rec = SmsMessage.create(direction="in", provider=msg.provider, provider_message_id=pid, phone=phone,
                                        phone_raw=raw, body=body, status="received", segments=smstext.segments(body),
                                        encoding=smstext.encoding(body) if body else None,
                                        created_at=now, updated_at=now)
        except pw.IntegrityError:
            log.info("sms: duplicate %s message %s ignored", msg.provider, pid)
            return Outcome(None, duplicate=True)

        def done(status, command=None, complaint=None, error=None):
            rec.status, rec.command, rec.error = status, command, error
            if complaint is not None:
                rec.complaint = complaint
            rec.updated_at = utcnow()
            rec.save()

        if is_blocked(phone, raw):
            done("blocked")
            return Outcome(rec)
        if phone is None:  # short code or alphanumeric sender: operator promos, other gateways
            done("ignored", error="sender is not a phone number")
            return Outcome(rec)
        earlier = SmsMessage.select().where((SmsMessage.direction == "in") & (SmsMessage.phone == phone) &
                                            (SmsMessage.id != rec.id) &
                                            SmsMessage.status.not_in(["rate_limited", "blocked"]))
        if _count_since(earlier) >= cfg["SMS_INBOUND_PER_HOUR"]:
            done("rate_limited")
            log.warning("sms: rate limit reached for %s", mask(phone))
            return Outcome(rec)

        parsed = parse(body)
        reporter = _reporter_for(phone)
        lang = parsed.lang or (reporter.language if reporter and reporter.language in ("id", "en") else None) \
            or cfg.get("LANGUAGE", "id")
        reply, logged, complaint, status = _run(parsed, rec, phone, raw, reporter, lang)
        done(status, parsed.command if parsed.command else None, complaint)
        out = plan_reply(rec, reply, logged or reply, inline=inline) if reply else None
        return Outcome(rec, reply=reply if out is not None and out.status != "suppressed" else None,
                       reply_message=out)


def _errors_text(errors: dict) -> str:
    parts = []
    for field, msgs in errors.items():
        if isinstance(msgs, dict):
            msgs = [m for v in msgs.values() for m in (v if isinstance(v, list) else [v])]
        parts.append(f"{'teks' if field in ('body', 'text') else field}: "
                     f"{', '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}")
    return "; ".join(parts)


def _run(p: Parsed, rec: SmsMessage, phone: str, raw: str, reporter: Reporter | None, lang: str):
    """Run one command; returns (reply text, text to log, complaint, message status)."""
    R = smstext.render
    if p.command == "help":
        return R("help", lang), None, None, "processed"
    if p.command == "stop":
        SmsOptOut.insert(phone=phone, created_at=utcnow()).on_conflict_ignore().execute()
        return R("stopped", lang), None, None, "processed"
    if p.command == "start":
        SmsOptOut.delete().where(SmsOptOut.phone == phone).execute()
        return R("started", lang), None, None, "processed"
    if p.command == "lapor":
        if not p.body:
            return R("help", lang), None, None, "processed"
        data = {"body": p.body}
        if reporter is None:
            data["reporter"] = {"phone": raw, "language": lang}
        try:
            c, code = file_complaint(data, actor=Actor(role="reporter"), channel="sms", reporter=reporter,
                                     source="sms", external_id=f"{rec.provider}:{rec.provider_message_id or rec.id}"[:128])
        except InvalidInput as exc:
            return R("invalid", lang, error=_errors_text(exc.errors)), None, None, "error"
        reply = R("filed", lang, tid=c.tracking_id, code=code)
        return reply, reply.replace(code, "*" * len(code)), c, "processed"
    if not p.tracking_id:
        return R("usage_cek" if p.command == "cek" else "usage_balas", lang), None, None, "processed"
    try:
        c = find_complaint(p.tracking_id)
    except NotFound:
        return R("not_found", lang, tid=p.tracking_id[:16]), None, None, "processed"
    label = status_label(c.status, lang)
    if p.command == "cek":
        if _owner(c, phone):
            answer = _latest_answer(c)
            extra = smstext.template("answer", lang).format(text=answer) if answer else ""
            return R("status", lang, tid=c.tracking_id, status=label, answer=extra), None, c, "processed"
        return R("status_public", lang, tid=c.tracking_id, status=label), None, None, "processed"
    # balas
    if not _owner(c, phone):
        return R("not_yours", lang, tid=c.tracking_id), None, None, "processed"
    if not p.body:
        return R("usage_balas", lang), None, c, "processed"
    try:
        perform(c, "reply", Actor(role="reporter", complaint_id=c.id), text=p.body, source="sms",
                external_id=f"{rec.provider}:{rec.provider_message_id or rec.id}"[:128])
    except Conflict:
        return R("closed", lang, tid=c.tracking_id, status=label.lower()), None, c, "processed"
    except InvalidInput as exc:
        return R("invalid", lang, error=_errors_text(exc.errors)), None, c, "error"
    return R("replied", lang, tid=c.tracking_id), None, c, "processed"


def plan_reply(rec: SmsMessage, reply: str, logged: str, *, inline: bool) -> SmsMessage:
    """Log the reply and either mark it sent inline or queue it for the gateway (``sms.send``)."""
    cfg = current_app.config
    now = utcnow()
    provider = rec.provider if inline else reply_provider(rec.provider)
    sent_recently = SmsMessage.select().where((SmsMessage.direction == "out") & (SmsMessage.command == "reply") &
                                              (SmsMessage.phone == rec.phone) &
                                              (SmsMessage.status != "suppressed"))
    status, error = ("sent" if inline else "queued"), None
    if _count_since(sent_recently) >= cfg["SMS_REPLIES_PER_HOUR"]:
        status, error = "suppressed", "reply limit per hour reached"
    elif provider is None:
        status, error = "suppressed", "no outbound gateway configured"
    out = SmsMessage.create(direction="out", provider=provider or rec.provider, phone=rec.phone,
                            phone_raw=rec.phone_raw, body=logged, command="reply", status=status,
                            complaint=rec.complaint, in_reply_to=rec, segments=smstext.segments(reply),
                            encoding=smstext.encoding(reply), error=error, created_at=now, updated_at=now)
    if status == "queued":
        from .outbound import seal

        enqueue(JobRequest("sms.send", {"message_id": out.id, "sealed": seal(reply)}, key=f"sms.send:{out.id}",
                           complaint_id=rec.complaint_id),
                default_max_attempts=cfg["JOB_MAX_ATTEMPTS"])
    return out
