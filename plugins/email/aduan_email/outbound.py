"""Outgoing mail: built from :mod:`aduan.privacy` views, sent over SMTP by outbox jobs.

Every message carries ``Auto-Submitted: auto-replied`` (RFC 3834) so well-behaved auto-responders
stay silent, a stable ``Message-ID`` (derived from the job, so a retried job re-sends the same
message), ``In-Reply-To``/``References`` that keep a complaint in one thread, and a ``Reply-To``
with the complaint's reply token.
"""
from __future__ import annotations

import hashlib
import html
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage as Msg
from email.utils import formataddr, formatdate

from flask import current_app

from aduan import i18n, privacy
from aduan.i18n import gettext as _
from aduan.db import utcnow
from aduan.jobs import PermanentFailure, RetryLater
from aduan.models import Agency, Complaint, Event

from . import common
from .models import EmailMessage, EmailSent

# Texts go through the core's catalogue (``aduan.i18n``): Indonesian by default, English for
# reporters who asked for it; times are written in the deployment's zone with its name (WITA).

# --- building ---------------------------------------------------------------------------------------

def _message_id(job_key: str) -> str:
    digest = hashlib.sha256(current_app.config["SECRET_KEY"].encode() + b"|msgid|" + job_key.encode()).hexdigest()
    return f"aduan.{digest[:32]}@{common.domain()}"


def thread_ids(c: Complaint, exclude: str | None = None) -> list[str]:
    """The complaint's thread: the reporter's first message (when filed by email), then our mail and
    the reporter's replies, oldest first."""
    ours = [(s.created_at, s.message_key) for s in
            EmailSent.select().where((EmailSent.complaint == c.id) & (EmailSent.kind != "agency"))]
    theirs = [(m.created_at, m.message_key) for m in
              EmailMessage.select().where((EmailMessage.complaint == c.id) &
                                          EmailMessage.outcome.in_(["filed", "reply"]))]
    ids = [k for _, k in sorted(ours + theirs) if not k.startswith("sha256:") and k != exclude]
    return ids


_URL = re.compile(r"https?://[^\s<>\"']+")


def _paragraphs_html(blocks: list[str]) -> str:
    out = []
    for b in blocks:
        esc = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', html.escape(b, quote=True))
        out.append("<p>" + esc.replace("\n", "<br>\n") + "</p>")
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>"
            "<body style=\"font-family:sans-serif;line-height:1.5\">" + "\n".join(out) + "</body></html>")


def _line(value: str | None) -> str:
    """A header-safe single line (no CR/LF can reach a header)."""
    return " ".join((value or "").split())


def compose(*, to: str, to_name: str | None, subject: str, blocks: list[str], message_id: str,
            refs: list[str], lang: str, tracking_id: str, reply_to: str | None) -> Msg:
    msg = Msg()
    name = common.cfg("FROM_NAME") or current_app.config["INSTITUTION_NAME"]
    msg["From"] = formataddr((_line(name), common.cfg("FROM_ADDRESS")))
    msg["To"] = formataddr((_line(to_name), _line(to)))
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = _line(f"[ADUAN-{tracking_id}] {subject}")
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = f"<{message_id}>"
    if refs:
        msg["In-Reply-To"] = f"<{refs[-1]}>"
        msg["References"] = " ".join(f"<{r}>" for r in refs[-10:])
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Aduan-Tracking-Id"] = tracking_id
    msg.set_content("\n\n".join(blocks) + "\n")
    msg.add_alternative(_paragraphs_html(blocks), subtype="html")
    msg["Content-Language"] = lang  # after the body: set_content() clears Content-* headers
    return msg


def _footer() -> list[str]:
    return [_("Kind regards,") + "\n" + current_app.config["INSTITUTION_NAME"], _("This email was sent automatically.")]


def reporter_message(c: Complaint, kind: str, *, event: Event | None, code: str | None, job_key: str,
                     in_reply_to: str | None) -> Msg:
    """The reporter's acknowledgement or update, in the reporter's language (recorded at filing)."""
    rep = c.reporter
    with i18n.use_language(i18n.complaint_language(c)) as lang:
        view = privacy.complaint_view(c, "reporter")
        tid = c.tracking_id
        blocks = [_("Dear %(name)s,", name=rep.name) if rep.name else _("Dear reporter,")]
        if kind == "ack":
            subject = _("Your report has been received")
            blocks.append(_("Thank you. We have received your report with tracking id %(tid)s on %(when)s.",
                            tid=tid, when=i18n.format_datetime(c.created_at)))
            if code:
                blocks.append(_("Access code: %(code)s", code=code) + "\n" +
                              _("Keep this code: it is sent only once and you need it to see your report in full."))
            if c.due_verify and c.status == "received":
                blocks.append(_("We will verify it by %(when)s.", when=i18n.format_datetime(c.due_verify)))
        else:
            action = i18n.action_label(event.type) if event else i18n.status_label(c.status)
            subject = action
            blocks.append(_("There is news about your report %(tid)s: %(action)s.", tid=tid, action=action))
            ev = privacy.event_view(event, c, "reporter") if event is not None else None
            if event is not None:
                blocks.append(_("Time: %(when)s", when=i18n.format_datetime(event.created_at)))
            if ev and ev.get("agency"):
                blocks.append(_("Agency: %(name)s", name=ev["agency"]))
            if ev and ev.get("text"):
                blocks.append(ev["text"])
            if c.status == "resolved" and c.due_close:
                blocks.append(_("If the answer does not settle your report, reply or reopen it by %(when)s.",
                                when=i18n.format_datetime(c.due_close)))
        status = i18n.status_label(view["status"])
        blocks.append(_("Title: %(title)s", title=view["title"] or "-") + "\n" + _("Status: %(status)s", status=status))
        blocks.append(_("Follow your report: %(url)s", url=common.track_url(tid)))
        blocks.append(_("Reply to this email to add information or photos to your report."))
        blocks += _footer()
    mid = _message_id(job_key)
    refs = thread_ids(c, exclude=mid)
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    return compose(to=rep.email, to_name=rep.name, subject=subject, blocks=blocks, message_id=mid, refs=refs,
                   lang=lang, tracking_id=tid, reply_to=common.reply_address(tid))


def agency_message(c: Complaint, agency: Agency, job_key: str) -> Msg:
    """What an agency's inbox receives: the officer audience's view (no identity of anonymous
    reporters, through :func:`aduan.privacy.complaint_view`), in the deployment's language."""
    with i18n.use_language(i18n.configured_language()) as lang:
        view = privacy.complaint_view(c, "officer")
        tid = c.tracking_id
        blocks = [_("Report %(tid)s has been assigned to %(agency)s. Please follow it up.", tid=tid,
                    agency=agency.name)]
        secret = bool(view.get("secret"))  # rahasia: content stays in the application, not in a shared inbox
        lines = [_("Title: %(title)s", title=_("Confidential report") if secret else view["title"] or "-")]
        if view.get("category"):
            lines.append(_("Category: %(name)s", name=view["category"]["name"]))
        lines.append(_("Urgency: %(urgency)s", urgency=i18n.urgency_label(view["urgency"])))
        lines.append(_("Status: %(status)s", status=i18n.status_label(view["status"])))
        lines.append(_("Filed: %(when)s", when=i18n.format_datetime(c.created_at)))
        if c.due_followup:
            lines.append(_("Follow up by: %(when)s", when=i18n.format_datetime(c.due_followup)))
        rep = view.get("reporter")
        if rep:
            who = " ".join(x for x in (rep.get("name"), f"<{rep['email']}>" if rep.get("email") else None,
                                       rep.get("phone")) if x)
            lines.append(_("Reporter: %(who)s", who=who or "-"))
        else:
            lines.append(_("Reporter: %(who)s", who=_("Anonymous (identity withheld)")))
        blocks.append("\n".join(lines))
        if view.get("body") and not secret:
            blocks.append(_("Report:") + "\n" + view["body"])
        blocks.append(_("Do not reply to this email; answer the report in the application: %(url)s",
                        url=common.track_url(tid)))
        blocks += _footer()
        subject = _("New report for %(agency)s", agency=agency.name)
    to = [a.strip() for a in agency.email.replace(";", ",").split(",") if a.strip()]
    msg = compose(to=to[0], to_name=agency.name, subject=subject,
                  blocks=blocks, message_id=_message_id(job_key), refs=[], lang=lang, tracking_id=tid, reply_to=None)
    if len(to) > 1:
        del msg["To"]
        msg["To"] = ", ".join(to)
    return msg


# --- sending ----------------------------------------------------------------------------------------

def _tls_context() -> ssl.SSLContext:
    ca = common.cfg("SMTP_CA_FILE") or None
    return ssl.create_default_context(cafile=ca)


def smtp_send(msg: Msg, recipients: list[str]) -> None:
    """Hand one message to the SMTP server. Raises :class:`RetryLater` for temporary trouble and
    :class:`PermanentFailure` for a permanent refusal; messages never name an address."""
    host = common.cfg("SMTP_HOST")
    if not host:
        raise RetryLater("EMAIL_SMTP_HOST is not set", delay=600)
    port, sec, timeout = common.cfg("SMTP_PORT"), common.cfg("SMTP_SECURITY"), common.cfg("SMTP_TIMEOUT")
    try:
        if sec == "ssl":
            conn = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
        else:
            conn = smtplib.SMTP(host, port, timeout=timeout)
        with conn:
            if sec == "starttls":
                conn.starttls(context=_tls_context())
            if common.cfg("SMTP_USERNAME"):
                conn.login(common.cfg("SMTP_USERNAME"), common.cfg("SMTP_PASSWORD"))
            refused = conn.send_message(msg, from_addr=common.cfg("FROM_ADDRESS"), to_addrs=recipients)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(500 <= c < 600 for c in codes):
            for addr in exc.recipients:
                common.set_failing(addr, True, f"smtp {codes[0]}")
            raise PermanentFailure(f"recipient refused by the SMTP server ({codes[0]}); address marked failing") \
                from None
        raise RetryLater(f"recipient temporarily refused ({codes[0] if codes else '?'})") from None
    except smtplib.SMTPAuthenticationError as exc:
        raise RetryLater(f"SMTP authentication failed ({exc.smtp_code})") from None
    except smtplib.SMTPResponseException as exc:
        raise RetryLater(f"SMTP error {exc.smtp_code}") from None
    except (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError) as exc:
        raise RetryLater(f"SMTP connection failed: {type(exc).__name__}") from None
    if refused:  # some recipients (of several) refused: the others got it
        for addr, (code, _) in refused.items():
            if 500 <= code < 600:
                common.set_failing(addr, True, f"smtp {code}")


def _remember(message_id: str, complaint_id: int, job, kind: str) -> None:
    EmailSent.insert(message_key=message_id, complaint=complaint_id, job_id=getattr(job, "id", None), kind=kind,
                     created_at=utcnow()).on_conflict_ignore().execute()


def job_notify(app, payload, job) -> None:
    """``email.notify``: tell the reporter (acknowledgement or an update)."""
    c = Complaint.get_or_none(Complaint.id == payload.get("complaint_id"))
    if c is None or c.reporter_id is None or not c.reporter.email:
        return
    addr = c.reporter.email.strip()
    if "@" not in addr:
        return  # not an address anyone can deliver to
    if common.is_failing(addr):
        return  # a failing address gets no more mail (bounced earlier)
    event = None
    if payload.get("event_id"):
        event = Event.get_or_none(Event.id == payload["event_id"])
        if event is None or event.visibility != "public":
            return
    msg = reporter_message(c, payload.get("kind", "update"), event=event, code=common.unseal(payload.get("code")),
                           job_key=job.key, in_reply_to=payload.get("in_reply_to"))
    mid = msg["Message-ID"].strip("<>")
    _remember(mid, c.id, job, payload.get("kind", "update"))
    smtp_send(msg, [addr])


def job_agency(app, payload, job) -> None:
    """``email.agency``: tell an agency's inbox that a complaint was disposed to it."""
    c = Complaint.get_or_none(Complaint.id == payload.get("complaint_id"))
    agency = Agency.get_or_none(Agency.id == payload.get("agency_id"))
    if c is None or agency is None or not agency.email or not agency.active:
        return
    rcpts = [a.strip() for a in agency.email.replace(";", ",").split(",") if a.strip()]
    rcpts = [a for a in rcpts if not common.is_failing(a)]
    if not rcpts:
        return
    msg = agency_message(c, agency, job.key)
    _remember(msg["Message-ID"].strip("<>"), c.id, job, "agency")
    smtp_send(msg, rcpts)
