"""One inbound message, from any source (IMAP, Mailgun, SendGrid, raw POST), handled once.

Order: a message already seen (by Message-ID) changes nothing; a bounce marks the address failing;
mail we must never answer (auto-replies, lists, daemons) is recorded and dropped; a reply is
threaded onto its complaint (reply token, then In-Reply-To/References of mail we sent, then the
subject tag when the sender is the reporter); anything else files a new complaint.
"""
from __future__ import annotations

import datetime as dt
import io
import logging
import re
from dataclasses import dataclass, field

import peewee as pw
from flask import current_app

from aduan import JobRequest
from aduan.auth import Actor, system
from aduan.db import database, utcnow
from aduan.i18n import N_, configured_language, gettext_in, note, render_note
from aduan.jobs import enqueue
from aduan.models import Complaint
from aduan.services import MAX_BODY, Conflict, InvalidInput, NotFound, clean_text, file_complaint, perform
from aduan.services import add_attachment

from . import common
from .loops import no_answer_reason
from .models import EmailMessage, EmailSent
from .parse import InboundMail, message_key, parse_message
from .text import strip_reply, strip_signature

log = logging.getLogger("aduan.email")
_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|balas|bls|trs|teruskan)\s*(\[\d+\])?\s*:\s*)+", re.I)


@dataclass
class Result:
    outcome: str  # filed, reply, ignored, bounce, duplicate, rejected (error: see imap.py)
    tracking_id: str | None = None
    reason: str = ""
    skipped: list = field(default_factory=list)


class _Duplicate(Exception):
    pass


def handle_raw(raw: bytes, source: str, *, envelope_to=None, envelope_from=None) -> Result:
    if len(raw) > common.cfg("MAX_BYTES"):
        return _record_only(message_key(None, raw), source, "rejected", "too-large")
    return handle(parse_message(raw, envelope_to=envelope_to, envelope_from=envelope_from), source)


def _record_only(key: str, source: str, outcome: str, reason: str, complaint_id=None) -> Result:
    try:
        with database.atomic():
            if EmailMessage.select().where(EmailMessage.message_key == key).exists():
                return Result("duplicate")
            EmailMessage.create(message_key=key, complaint=complaint_id, outcome=outcome, reason=reason, source=source)
    except pw.IntegrityError:
        return Result("duplicate")
    return Result(outcome, reason=reason)


def handle(mail: InboundMail, source: str) -> Result:
    if EmailMessage.select().where(EmailMessage.message_key == mail.key).exists():
        return Result("duplicate")
    try:
        with database.atomic():
            result = _handle(mail, source)
            EmailMessage.create(message_key=mail.key, complaint=_cid(result.tracking_id), outcome=result.outcome,
                                reason=result.reason[:64], source=source, skipped=result.skipped or None,
                                sender_hash=common.address_hash(mail.from_addr) if mail.from_addr else None)
    except _Duplicate:
        return Result("duplicate")
    except pw.IntegrityError:
        # another worker or webhook recorded the same message meanwhile; anything else is a real error
        if EmailMessage.select().where(EmailMessage.message_key == mail.key).exists():
            return Result("duplicate")
        raise
    log.info("email %s from %s: %s %s", result.outcome, source, result.reason, result.tracking_id or "")
    return result


def _cid(tracking_id):
    if not tracking_id:
        return None
    c = Complaint.get_or_none(Complaint.tracking_id == tracking_id)
    return c.id if c else None


def _handle(mail: InboundMail, source: str) -> Result:
    if mail.is_bounce:
        return _bounce(mail)
    reason = no_answer_reason(mail, common.own_addresses())
    if reason:
        return Result("ignored", reason=reason)
    if common.is_failing(mail.from_addr):  # they wrote to us: the address works again
        common.set_failing(mail.from_addr, False, "received mail")
    complaint, how = find_thread(mail)
    if how == "agency":
        return Result("ignored", reason="agency-reply")
    if complaint is not None:
        return _reply(mail, complaint, how)
    return _file(mail)


# --- threading ------------------------------------------------------------------------------------

def find_thread(mail: InboundMail) -> tuple[Complaint | None, str]:
    tid = common.tracking_id_from_recipients(mail.recipients)
    if tid:
        c = Complaint.get_or_none(Complaint.tracking_id == tid)
        if c is not None:
            return c, "token"
    ids = list(reversed(mail.in_reply_to)) + list(reversed(mail.references))
    if ids:
        keys = [message_key(i, b"") for i in ids]
        sent = {s.message_key: s for s in EmailSent.select().where(EmailSent.message_key.in_(keys))}
        for k in keys:
            if k in sent:
                s = sent[k]
                if s.kind == "agency":
                    return None, "agency"
                if s.complaint_id:
                    return Complaint.get_by_id(s.complaint_id), "in-reply-to"
    m = common.SUBJECT_TAG.search(mail.subject or "")
    if m and not _sender_failed_authentication(mail):
        c = Complaint.get_or_none(Complaint.tracking_id == m.group(1).upper())
        if c is not None and c.reporter_id and c.reporter.email and \
                c.reporter.email.strip().lower() == mail.from_addr:
            return c, "subject"
    return None, ""


def _sender_failed_authentication(mail: InboundMail) -> bool:
    """True when our receiving server recorded that the From address failed DMARC (RFC 8601): the
    topmost Authentication-Results header is the one our own MTA added."""
    try:
        results = mail.headers.get_all("Authentication-Results") or []
    except Exception:  # noqa: BLE001
        return False
    return bool(results) and re.search(r"\bdmarc\s*=\s*fail\b", str(results[0]), re.I) is not None


# --- actions --------------------------------------------------------------------------------------

def _clip(text: str) -> str:
    text = clean_text(text)
    return text if len(text) <= MAX_BODY else text[:MAX_BODY - 1] + "…"


def _title(subject: str) -> str:
    t = common.SUBJECT_TAG.sub("", _PREFIX.sub("", subject or ""))
    t = clean_text(_PREFIX.sub("", t), multiline=False)
    return t[:255]


def _reply(mail: InboundMail, c: Complaint, how: str) -> Result:
    text = _clip(strip_reply(mail.text))
    if not text and not mail.attachments:
        return Result("ignored", c.tracking_id, reason="empty-reply")
    actor = Actor(role="reporter", complaint_id=c.id)
    try:
        n = None if text else note(N_("(attachments only)"))
        ev = perform(c, "reply", actor, text=text or render_note(n, configured_language()), source="email",
                     external_id=mail.key, data={"note": n} if n else None)
    except Conflict:
        # closed, rejected or archived: the reporter's words still reach us, as a new complaint
        return _file(mail, follows=c)
    if ev is None:
        raise _Duplicate()
    skipped = _attach(mail, c, actor)
    return Result("reply", c.tracking_id, reason=how, skipped=skipped)


def _over_limit(mail: InboundMail) -> bool:
    since = utcnow() - dt.timedelta(hours=24)
    n = (EmailMessage.select().where((EmailMessage.sender_hash == common.address_hash(mail.from_addr)) &
                                     (EmailMessage.outcome == "filed") & (EmailMessage.created_at > since)).count())
    return n >= common.cfg("MAX_NEW_PER_SENDER")


def _file(mail: InboundMail, follows: Complaint | None = None) -> Result:
    if _over_limit(mail):
        return Result("ignored", reason="sender-limit")
    body = _clip(strip_signature(mail.text) if follows is None else strip_reply(mail.text))
    title = _title(mail.subject)
    if follows is not None:
        body = _clip(gettext_in(configured_language(), "Follow-up to report %(tid)s:", tid=follows.tracking_id)
                     + f"\n\n{body}")
    if not body:
        body = title or gettext_in(configured_language(), "(no text)")
    lang = "en" if mail.language == "en" else current_app.config["LANGUAGE"]
    data = {"title": title or None, "body": body,
            "reporter": {"name": clean_text(mail.from_name, multiline=False)[:255] or None, "email": mail.from_addr,
                         "language": lang}}
    try:
        c, code = file_complaint(data, actor=Actor(role="reporter"), channel="email", source="email",
                                 external_id=mail.key)
    except InvalidInput as exc:
        return Result("rejected", reason="invalid: " + ",".join(sorted(exc.errors))[:50])
    skipped = _attach(mail, c, Actor(role="reporter", complaint_id=c.id))
    # no acknowledgement to a forged sender (backscatter): the complaint is filed all the same
    if current_app.config["EMAIL_NOTIFY_REPORTERS"] and current_app.config["EMAIL_SMTP_HOST"] and \
            not _sender_failed_authentication(mail):
        enqueue(JobRequest("email.notify", {"complaint_id": c.id, "kind": "ack", "code": common.seal(code),
                                            "in_reply_to": mail.message_id},
                           key=f"email.ack:{c.id}", complaint_id=c.id),
                default_max_attempts=current_app.config["JOB_MAX_ATTEMPTS"])
    return Result("filed", c.tracking_id, reason="follow-up" if follows is not None else "new", skipped=skipped)


def _attach(mail: InboundMail, c: Complaint, actor: Actor) -> list[dict]:
    skipped = []
    for part in mail.attachments:
        try:
            add_attachment(c, actor, io.BytesIO(part.data), part.filename, source="email")
        except (InvalidInput, Conflict, NotFound) as exc:
            reason = "; ".join(str(m) for ms in getattr(exc, "errors", {"file": [str(exc)]}).values()
                               for m in (ms if isinstance(ms, list) else [ms]))
            skipped.append({"filename": clean_text(part.filename, multiline=False)[:120], "reason": reason[:200]})
    if skipped:
        n = note(N_("Email attachments not stored:\n%(files)s"),
                 files="\n".join(f"- {s['filename']}: {s['reason']}" for s in skipped))
        try:
            perform(c, "comment", system("email"), text=render_note(n, configured_language()), visibility="internal",
                    source="email", data={"note": n})
        except (Conflict, InvalidInput):
            pass
    return skipped


def _bounce(mail: InboundMail) -> Result:
    failed = set(mail.failed_recipients)
    complaint = None
    if mail.bounced_ids:
        keys = [message_key(i, b"") for i in mail.bounced_ids]
        s = EmailSent.select().where(EmailSent.message_key.in_(keys)).first()
        if s is not None and s.complaint_id:
            complaint = Complaint.get_or_none(Complaint.id == s.complaint_id)
            if s.kind != "agency" and not failed and complaint and complaint.reporter_id and complaint.reporter.email:
                failed.add(complaint.reporter.email.strip().lower())
    for addr in failed:
        common.set_failing(addr, True, "bounce")
    if complaint is not None and failed:
        try:
            n = note(N_("Email bounced: the address is marked failing and gets no more mail."))
            perform(complaint, "comment", system("email"), visibility="internal", source="email",
                    text=render_note(n, configured_language()), data={"note": n})
        except (Conflict, InvalidInput):
            pass
    return Result("bounce", complaint.tracking_id if complaint else None, reason=f"{len(failed)} failing")
