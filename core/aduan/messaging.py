"""The conversation engine every text channel shares (SMS, WhatsApp, Telegram).

A channel plugin supplies transport only: it verifies and parses an inbound webhook (or poll) into an
:class:`Inbound`, describes itself with a :class:`Channel` (its message log, how it sends, its length
limit), and calls :func:`receive`. Everything else is decided here, the same way on every channel:

* **Commands** and their Indonesian/English words (:data:`KEYWORDS`): ``LAPOR``/``REPORT`` (or any free
  text), ``CEK``/``CHECK``, ``BALAS``/``REPLY``, ``STOP``/``BERHENTI``, ``MULAI``/``START``,
  ``BANTUAN``/``HELP``, and on chat channels ``KIRIM``/``SEND`` and ``BATAL``/``CANCEL``. Telegram-style
  ``/cek@bot`` is understood too. Words that also begin sentences (``STOP``, ``INFO``...) are commands
  only when the message holds nothing else.
* **Per-contact state** (:class:`aduan.models.Contact`): on chat channels (``Channel.drafts``) a
  complaint is written over several messages (text, photos, a location, a category picked from a
  list) and filed with ``KIRIM`` or the *Send* button; on SMS every report is filed at once.
* **Matching a contact to a reporter**: the reporter the contact last filed as; on phone channels
  else the most recent :class:`~aduan.models.Reporter` with that E.164 number.
* **Per-contact limits**: ``<PREFIX>_INBOUND_PER_HOUR`` messages processed and
  ``<PREFIX>_REPLIES_PER_HOUR`` automatic replies per contact and hour. The contact's row is locked
  (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite write transactions are serialised) for the whole
  processing of a message, so counts, duplicate checks and state changes of one contact never
  interleave, however many webhooks arrive at once.
* **Blocklist** (:class:`~aduan.models.ContactBlock` and ``<PREFIX>_BLOCKLIST``) and **consent**
  (``STOP``/``MULAI``: :attr:`Contact.opted_out`, which notifications respect).
* **Texts** from the core gettext catalogue in the contact's language, times in the deployment's zone
  with its name, cut to the channel's limits by :meth:`Channel.fit`.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import peewee as pw
import requests
from flask import current_app

from .auth import Actor
from .db import database, utcnow
from .events import JobRequest
from .i18n import _, action_label, format_datetime, ngettext, status_label, use_language
from .jobs import PermanentFailure, RetryLater, enqueue
from .models import Attachment, Category, Complaint, Contact, ContactBlock, Event, Reporter
from .services import (Conflict, InvalidInput, NotFound, clean_text, file_complaint, find_complaint,
                       normalise_phone, normalise_tracking_id, perform)

log = logging.getLogger("aduan.messaging")

KEYWORDS = {
    "LAPOR": ("lapor", "id"), "LAPORAN": ("lapor", "id"), "ADUAN": ("lapor", "id"), "ADU": ("lapor", "id"),
    "REPORT": ("lapor", "en"), "COMPLAINT": ("lapor", "en"),
    "CEK": ("cek", "id"), "CHECK": ("cek", "en"),
    "BALAS": ("balas", "id"), "REPLY": ("balas", "en"),
    "STOP": ("stop", None), "BERHENTI": ("stop", "id"), "UNSUBSCRIBE": ("stop", "en"),
    "MULAI": ("start", "id"), "START": ("start", "en"),
    "BANTUAN": ("help", "id"), "INFO": ("help", "id"), "HELP": ("help", "en"), "MENU": ("help", "id"),
    "KIRIM": ("send", "id"), "SEND": ("send", "en"),
    "BATAL": ("cancel", "id"), "CANCEL": ("cancel", "en"),
}
#: Commands only when the message holds nothing else ("Info jalan rusak..." is a report).
ALONE = {"stop", "start", "help", "send", "cancel"}
#: Commands that only exist where complaints are written over several messages.
DRAFT_COMMANDS = {"send", "cancel"}
MAX_STORED = 12_000
MAX_DRAFT_MEDIA = 5
DRAFT_TTL = dt.timedelta(hours=24)
WINDOW = dt.timedelta(hours=1)
ANSWER_TYPES = ("respond", "resolve", "hold", "reject", "transfer", "verify", "reopen", "comment")


# --- what channels hand over and get back ----------------------------------------------------------

@dataclass
class Media:
    """A photo, document, audio or video announced by a webhook; ``ref`` is the provider's id for it
    (fetched later by the channel's media job, within the core's attachment limits)."""

    ref: str
    kind: str = "document"  # image, document, audio, video
    content_type: str | None = None
    filename: str | None = None
    size: int | None = None


@dataclass
class Inbound:
    """One message from a citizen, as a channel parsed it."""

    provider: str
    provider_message_id: str | None
    sender: str | None
    text: str | None
    media: list[Media] = field(default_factory=list)
    location: tuple[float, float] | None = None
    location_text: str | None = None  # a place name or address sent with the location
    choice: str | None = None  # id of a tapped button / list row ("send", "cancel", "cat:<code>")
    sender_name: str | None = None  # profile name (kept on the reporter when a complaint is filed)
    language: str | None = None  # language the client reports (Telegram's language_code)
    unsupported: bool = False  # a sticker, a contact card...: nothing to file
    received_at: dt.datetime | None = None


@dataclass
class Option:
    id: str
    title: str
    description: str = ""


@dataclass
class Reply:
    """A text to send back, with optional choices (buttons or a list) for channels that show them."""

    text: str
    logged: str | None = None  # what the message log keeps (access codes masked)
    options: list[Option] = field(default_factory=list)
    style: str | None = None  # "buttons" or "list"
    button: str = ""  # label of the button that opens a list

    def payload(self) -> dict[str, Any]:
        return {"options": [o.__dict__ for o in self.options], "style": self.style, "button": self.button}


@dataclass
class Outcome:
    message: Any
    duplicate: bool = False
    reply: Reply | None = None  # None when nothing is sent back (limits, blocked, no gateway)
    reply_message: Any = None
    contact: Contact | None = None


@dataclass
class Parsed:
    command: str
    lang: str | None
    tracking_id: str = ""
    body: str = ""
    explicit: bool = False  # the keyword was written (not free text)


class Channel:
    """What a channel plugin tells the engine about itself. Subclass and override.

    ``name`` is the plugin's name (``contact.channel``, ``complaint.channel``); ``prefix`` its
    configuration prefix, whose ``<PREFIX>_INBOUND_PER_HOUR``, ``<PREFIX>_REPLIES_PER_HOUR``,
    ``<PREFIX>_BLOCKLIST`` (and optionally ``<PREFIX>_TEMPLATES``, ``<PREFIX>_SENDER_NAME``) keys
    the engine reads.
    """

    name = "channel"
    prefix = "CHANNEL"
    label = "SMS"  # how citizens call the channel ("pemberitahuan SMS")
    drafts = False  # complaints are written over several messages and filed with KIRIM
    phone_addresses = True  # addresses are E.164 numbers (match Reporter.phone)
    #: ``log_inbound`` returns ``None`` for a provider message id already logged (``INSERT … ON
    #: CONFLICT DO NOTHING``) instead of raising ``IntegrityError``: the engine then calls it without
    #: a savepoint around it (two statements fewer per message)
    skips_duplicates = False

    # -- addresses -------------------------------------------------------------------------------
    def normalise(self, raw: str | None) -> str | None:
        """The contact address for a raw sender, or ``None`` when it cannot be answered (short codes,
        alphanumeric sender ids)."""
        return normalise_address(raw)

    def fit(self, text: str) -> str:
        """Cut a text to what the channel can carry."""
        return text

    def sender_name(self) -> str | None:
        """A name put in front of texts (SMS: ``NTBCare:``); None for chat channels."""
        return None

    def config(self, key: str, default=None):
        return current_app.config.get(f"{self.prefix}_{key}", default)

    # -- the message log (the plugin's own table) ------------------------------------------------
    def log_inbound(self, msg: Inbound, address: str | None, raw: str | None, body: str):
        """Write the inbound message; raise ``peewee.IntegrityError`` when its provider id was seen
        (or, with :attr:`skips_duplicates`, return ``None``)."""
        raise NotImplementedError

    def finish_inbound(self, rec, status: str, *, command: str | None = None, complaint: Complaint | None = None,
                       error: str | None = None) -> None:
        raise NotImplementedError

    def log_reply(self, rec, reply: Reply, *, inline: bool, status: str, error: str | None):
        """Log a reply (``status`` is ``sent`` for inline answers, ``queued`` or ``suppressed``) and, when
        queued, enqueue its send job in the current transaction. Returns the log row."""
        raise NotImplementedError

    def can_reply(self, rec, inline: bool) -> bool:
        """Whether a reply to ``rec`` can be delivered at all (an outbound gateway exists)."""
        return True

    def media_jobs(self, complaint: Complaint, media: list[dict]) -> list[JobRequest]:
        """Jobs that fetch the media of a filed draft into the complaint's attachments."""
        return []


# --- parsing ----------------------------------------------------------------------------------------

def parse(text: str) -> Parsed:
    """Case- and punctuation-tolerant: ``lapor: ...``, ``Cek #ABCD2345``, ``balas abcd-2345 ...``,
    ``/cek@AduanBot ABCD2345``."""
    m = re.match(r"^[\W_]*([A-Za-z]+)(?:@\w+)?\b[\s\W_]*(.*)$", text, re.S)
    if m:
        word, rest = m.group(1).upper(), m.group(2).strip()
        hit = KEYWORDS.get(word)
        if hit:
            cmd, lang = hit
            if text.lstrip().startswith("/"):  # a bot command (/start, /cek): says nothing of the language
                lang = None
            if cmd in ALONE and re.sub(r"[\W_]", "", rest):
                return Parsed("lapor", None, body=text)
            if cmd == "cek":
                tid = normalise_tracking_id(rest)
                if len(tid) > 8:  # "CEK ABCD2345 tolong dibantu": the id is the first word
                    tid = normalise_tracking_id(re.split(r"[\s#:;,.]+", rest, maxsplit=1)[0])
                return Parsed(cmd, lang, tracking_id=tid, explicit=True)
            if cmd == "balas":
                parts = re.split(r"[\s#:;,.]+", rest, maxsplit=1)
                body = parts[1].strip() if len(parts) > 1 else ""
                tid = normalise_tracking_id(parts[0]) if parts and parts[0] else ""
                return Parsed(cmd, lang, tracking_id=tid, body=body, explicit=True)
            if cmd == "lapor":
                return Parsed(cmd, lang, body=rest, explicit=True)
            return Parsed(cmd, lang, explicit=True)
    return Parsed("lapor", None, body=text)


def normalise_address(raw: str | None) -> str | None:
    """E.164 for a number a citizen can be reached at; ``None`` for short codes and alphanumeric ids."""
    if not raw:
        return None
    raw = str(raw).strip()
    if re.search(r"[A-Za-z]", raw):
        return None  # alphanumeric sender id ("TELKOMSEL", "INFO")
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 8:
        return None  # short code (1708, 3636...)
    return normalise_phone(raw)


def mask(address: str | None) -> str:
    """+62812****7890: enough to tell contacts apart in a log, not to reach them."""
    if not address:
        return "-"
    s = str(address)
    if len(s) <= 8:
        return s[:2] + "****"
    return s[:6] + "****" + s[-4:]


# --- contacts, consent, blocklist ------------------------------------------------------------------

def lock_contact(channel: str, address: str, *, phone: bool = False) -> Contact:
    """The contact row, created if new and locked until the current transaction ends.

    Everything the engine decides for one contact (limits, duplicates, drafts) happens under this
    lock, so concurrent webhooks of one contact are processed one after the other.

    One statement: ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` creates the row or touches the
    existing one, which on PostgreSQL locks it like ``SELECT … FOR UPDATE`` would (SQLite's write
    transactions are serialised anyway). The returned contact carries ``blocked_``: whether
    :class:`ContactBlock` lists its address (so :func:`is_blocked` needs no query of its own), and
    with ``phone`` (an E.164 address) ``phone_reporter_``: the id of the most recent
    :class:`Reporter` with that number, or ``None`` (so :func:`reporter_for` reads no reporter for a
    number never seen).
    """
    now = utcnow()
    stamp = Contact.created_at.db_value(now)
    rows = database.execute_sql(_lock_sql(database.param, phone),
                                (channel, address, False, stamp, stamp, channel, address)
                                + ((address,) if phone else ())).fetchall()
    row = rows[0]
    contact = Contact(__no_default__=1)
    contact.__data__ = {f.name: f.python_value(v) for f, v in zip(Contact._meta.sorted_fields, row)}
    contact.blocked_ = bool(row[_CONTACT_WIDTH])
    if phone:
        contact.phone_reporter_ = row[_CONTACT_WIDTH + 1]
    return contact


_CONTACT_WIDTH = len(Contact._meta.sorted_fields)


@functools.lru_cache(maxsize=8)
def _lock_sql(p: str, phone: bool) -> str:
    """The text of :func:`lock_contact`'s statement, built once per parameter style."""
    t = Contact._meta
    cols = ", ".join(f'"{f.column_name}"' for f in t.sorted_fields)
    sql = (f'INSERT INTO "{t.table_name}" ("channel", "address", "opted_out", "inbound_count", "reply_count", '
           f'"created_at", "updated_at") VALUES ({p}, {p}, {p}, 0, 0, {p}, {p}) '
           f'ON CONFLICT ("channel", "address") DO UPDATE SET "channel" = excluded."channel" '
           f'RETURNING {cols}, EXISTS (SELECT 1 FROM "{ContactBlock._meta.table_name}" '
           f'WHERE "channel" = {p} AND "address" = {p}) AS "blocked_"')
    if phone:
        sql += (f', (SELECT "id" FROM "{Reporter._meta.table_name}" WHERE "phone" = {p} '
                f'ORDER BY "id" DESC LIMIT 1) AS "phone_reporter_"')
    return sql


def get_contact(channel: str, address: str | None) -> Contact | None:
    if not address:
        return None
    return Contact.get_or_none((Contact.channel == channel) & (Contact.address == address))


def opted_out(channel: str, address: str | None) -> bool:
    """True when this contact sent STOP (and not MULAI since)."""
    c = get_contact(channel, address)
    return bool(c and c.opted_out)


def set_opted_out(channel: str, address: str, value: bool) -> None:
    now = utcnow()
    Contact.insert(channel=channel, address=address, opted_out=value, created_at=now, updated_at=now).on_conflict(
        conflict_target=[Contact.channel, Contact.address],
        update={Contact.opted_out: value, Contact.updated_at: now}).execute()


def block_key(address: str | None, raw: str | None) -> str:
    return address or (raw or "").strip()[:64]


def is_blocked(ch: Channel, address: str | None, raw: str | None = None, *, contact: Contact | None = None) -> bool:
    """Whether the sender is on the channel's blocklist (configuration) or in :class:`ContactBlock`.
    ``contact``: the row :func:`lock_contact` returned for ``address``, which already says the latter."""
    key = block_key(address, raw)
    if not key:
        return False
    listed = {ch.normalise(x) or x.strip() for x in ch.config("BLOCKLIST") or []}
    if key in listed:
        return True
    known = getattr(contact, "blocked_", None) if contact is not None and contact.address == key else None
    if known is not None:
        return known
    return ContactBlock.select().where((ContactBlock.channel == ch.name) & (ContactBlock.address == key)).exists()


def block(channel: str, key: str, reason: str = "") -> ContactBlock:
    ContactBlock.insert(channel=channel, address=key, reason=reason, created_at=utcnow()).on_conflict_ignore().execute()
    return ContactBlock.get((ContactBlock.channel == channel) & (ContactBlock.address == key))


def unblock(channel: str, key: str) -> bool:
    return ContactBlock.delete().where((ContactBlock.channel == channel) & (ContactBlock.address == key)).execute() > 0


def blocked(channel: str) -> list[ContactBlock]:
    return list(ContactBlock.select().where(ContactBlock.channel == channel).order_by(ContactBlock.id))


def _admit(contact: Contact, kind: str, limit: int, now: dt.datetime) -> bool:
    """Count one more ``kind`` (inbound, reply) in the contact's hourly window; False when full."""
    start, count = getattr(contact, f"{kind}_window"), getattr(contact, f"{kind}_count")
    if start is None or now - start >= WINDOW:  # (a clock behind `start`, another process's: same window)
        start, count = now, 0
    ok = count < limit
    setattr(contact, f"{kind}_window", start)
    setattr(contact, f"{kind}_count", count + 1 if ok else count)
    return ok


def reporter_for(ch: Channel, contact: Contact | None) -> Reporter | None:
    """The reporter this contact files as: the one it last filed as, else (phone channels) the most
    recent reporter with its number."""
    if contact is None:
        return None
    # plain SQL: these run for every message, and building them with peewee cost more than the query
    t = Reporter._meta
    select = f'SELECT {", ".join(chr(34) + f.column_name + chr(34) for f in t.sorted_fields)} FROM "{t.table_name}" '
    if contact.reporter_id:
        rows = list(Reporter.raw(select + f'WHERE "id" = {database.param}', contact.reporter_id))
        if rows:
            return rows[0]
    if ch.phone_addresses:
        if hasattr(contact, "phone_reporter_"):  # lock_contact looked the number up already
            if contact.phone_reporter_ is None:
                return None
            rows = list(Reporter.raw(select + f'WHERE "id" = {database.param}', contact.phone_reporter_))
        else:
            rows = list(Reporter.raw(select + f'WHERE "phone" = {database.param} ORDER BY "id" DESC LIMIT 1',
                                     contact.address))
        return rows[0] if rows else None
    return None


def save_contact(contact: Contact) -> None:
    """Write the fields of ``contact`` changed since it was read, and only those (never overwrite
    what others changed), as one plain ``UPDATE`` (it runs for every message)."""
    fields = [f for f in contact.dirty_fields if f.name != "id"]
    if not fields:
        return
    t = Contact._meta
    p = database.param
    sets = ", ".join(f'"{f.column_name}" = {p}' for f in fields)
    database.execute_sql(f'UPDATE "{t.table_name}" SET {sets} WHERE "id" = {p}',
                         [f.db_value(contact.__data__.get(f.name)) for f in fields] + [contact.id])
    contact._dirty.clear()


def is_owner(ch: Channel, complaint: Complaint, contact: Contact | None) -> bool:
    if contact is None or complaint.reporter_id is None:
        return False
    if contact.reporter_id and contact.reporter_id == complaint.reporter_id:
        return True
    return ch.phone_addresses and complaint.reporter.phone == contact.address


def notify_contacts(channel: str, complaint: Complaint, *, phone_channel: bool = False) -> list[Contact]:
    """The contacts of ``channel`` that should hear about a complaint: linked to its reporter (or, on a
    phone channel, at the reporter's number), not opted out."""
    rep = complaint.reporter if complaint.reporter_id else None
    if rep is None:
        return []
    cond = Contact.reporter == rep.id
    if phone_channel and rep.phone:
        cond = cond | (Contact.address == rep.phone)
    return list(Contact.select().where((Contact.channel == channel) & cond & (Contact.opted_out == False))  # noqa: E712
                .order_by(Contact.last_inbound_at.desc(nulls="LAST"), Contact.id.desc()))


# --- texts ------------------------------------------------------------------------------------------

def _texts(key: str, v: dict) -> str:
    """Every text the conversation sends, in the current language (msgids are English)."""
    if key == "filed":
        return _("Report received. Tracking no. %(tid)s, access code %(code)s (keep it secret). "
                 "Status: CHECK %(tid)s. Add info: REPLY %(tid)s <text>.", **v)
    if key == "status":
        return _("Report %(tid)s: %(status)s.", **v)
    if key == "answer":
        return _("Latest answer (%(time)s): %(text)s", **v)
    if key == "not_found":
        return _("Report %(tid)s not found. Please check the tracking number.", **v)
    if key == "replied":
        return _("We received your reply for report %(tid)s.", **v)
    if key == "not_yours":
        return _("Replies are accepted only from the number that filed report %(tid)s.", **v)
    if key == "not_yours_chat":
        return _("Replies are accepted only from the account that filed report %(tid)s.", **v)
    if key == "closed":
        return _("Report %(tid)s is %(status)s and cannot take replies. Send REPORT <text> for a new one.", **v)
    if key == "stopped":
        return _("You will not receive %(channel)s notifications any more. Send START to turn them back on.", **v)
    if key == "started":
        return _("%(channel)s notifications are on again.", **v)
    if key == "help":
        return _("Send REPORT <your complaint> to file, CHECK <tracking no> for the status, "
                 "REPLY <tracking no> <text> to add information, STOP to stop notifications.", **v)
    if key == "usage_cek":
        return _("Format: CHECK <tracking no>.", **v)
    if key == "usage_balas":
        return _("Format: REPLY <tracking no> <text>.", **v)
    if key == "invalid":
        return _("Your message could not be processed: %(error)s", **v)
    if key == "notify":
        return _("Report %(tid)s: %(action)s (%(time)s). %(text)sStatus: %(status)s. Reply: REPLY %(tid)s <text>",
                 **v)
    if key == "draft_started":
        return _("Tell us what happened, and send a photo and your location if you can. "
                 "Then send SEND to file the report, or CANCEL.", **v)
    if key == "draft_saved":
        return _("Saved in your report: %(parts)s. Pick a category if you like, then send SEND to file it "
                 "or CANCEL to drop it.", **v)
    if key == "draft_empty":
        return _("Your report has no text yet: describe the problem first.", **v)
    if key == "no_draft":
        return _("There is no report being written. Send REPORT <your complaint>.", **v)
    if key == "cancelled":
        return _("Your unfinished report was dropped.", **v)
    if key == "draft_full":
        return _("A report takes at most %(num)s files; this one was not added.", **v)
    if key == "unsupported":
        return _("This kind of message cannot be used in a report. Send text, a photo, a document or a "
                 "location.", **v)
    raise KeyError(key)


def render(ch: Channel, key: str, lang: str | None = None, **values) -> str:
    """Text ``key`` in ``lang`` for ``ch`` (an override in ``<PREFIX>_TEMPLATES`` wins; its
    placeholders are ``{name}``), with the channel's sender name, cut to the channel's limits."""
    with use_language(lang) as lang:
        sender = ch.sender_name()
        override = ((ch.config("TEMPLATES") or {}).get(lang) or {}).get(key)
        text = None
        if override:
            try:
                text = override.format(sender=sender or "", **values)
            except (KeyError, IndexError, ValueError):  # a broken override: the built-in text
                text = None
        if text is None:
            text = _texts(key, values)
            if sender:
                text = f"{sender}: {text}"
    return ch.fit(text)


def _labels(lang: str) -> dict[str, str]:
    with use_language(lang):
        return {"send": _("Send"), "cancel": _("Cancel"), "category": _("Category"),
                "pick": _("Pick a category")}


def _latest_answer(c: Complaint) -> Event | None:
    return (Event.select().where((Event.complaint == c) & (Event.visibility == "public") &
                                 (Event.type.in_(ANSWER_TYPES)) & (Event.text != "") &
                                 (Event.actor_role != "reporter"))
            .order_by(Event.created_at.desc(), Event.id.desc()).first())


def notification_text(ch: Channel, event: Event, complaint: Complaint, lang: str | None) -> str:
    """The notification of a public timeline event, in ``lang``, within the channel's limits."""
    body = " ".join((event.text or "").split())
    with use_language(lang) as lang:
        return render(ch, "notify", lang, tid=complaint.tracking_id, action=action_label(event.type, lang),
                      status=status_label(complaint.status, lang), text=(body + " ") if body else "",
                      time=format_datetime(event.created_at, lang, weekday=False))


def contact_language(contact: Contact | None, reporter: Reporter | None = None) -> str:
    for lang in (contact.language if contact else None, reporter.language if reporter else None):
        if lang in ("id", "en"):
            return lang
    return current_app.config.get("LANGUAGE", "id")


# --- the pipeline -----------------------------------------------------------------------------------

def receive(ch: Channel, msg: Inbound, *, inline: bool) -> Outcome:
    """Process one incoming message exactly once. ``inline``: the reply goes back in the HTTP answer
    (its log row is marked sent); otherwise the channel queues a send job."""
    raw = clean_text(msg.sender, multiline=False)[:64] or None
    address = ch.normalise(raw)
    body = clean_text(msg.text)[:MAX_STORED]  # the core refuses more than 10,000 characters anyway
    with database.atomic():
        contact = lock_contact(ch.name, address, phone=ch.phone_addresses) if address else None
        now = utcnow()  # read under the lock: the windows of one contact only move forward
        if ch.skips_duplicates:
            rec = ch.log_inbound(msg, address, raw, body)
        else:
            try:
                with database.atomic():  # a savepoint: the IntegrityError must not end the transaction
                    rec = ch.log_inbound(msg, address, raw, body)
            except pw.IntegrityError:
                rec = None
        if rec is None:
            log.info("%s: duplicate %s message ignored", ch.name, msg.provider)
            return Outcome(None, duplicate=True, contact=contact)

        if is_blocked(ch, address, raw, contact=contact):
            ch.finish_inbound(rec, "blocked")
            return Outcome(rec, contact=contact)
        if contact is None:  # short code or alphanumeric sender: operator promos, other robots
            ch.finish_inbound(rec, "ignored", error="sender cannot be answered")
            return Outcome(rec)
        if not _admit(contact, "inbound", ch.config("INBOUND_PER_HOUR", 20), now):
            save_contact(contact)  # only what changed: never overwrite what others changed
            ch.finish_inbound(rec, "rate_limited")
            log.warning("%s: inbound limit reached for %s", ch.name, mask(address))
            return Outcome(rec, contact=contact)
        contact.last_inbound_at = now
        parsed = parse(body) if body else Parsed("lapor", None)
        if msg.choice:
            parsed = _choice(msg.choice, parsed)
        if parsed.lang:
            contact.language = parsed.lang
        elif msg.language and not contact.language:
            contact.language = "en" if str(msg.language).lower().startswith("en") else (
                "id" if str(msg.language).lower().startswith(("id", "in")) else None)
        reporter = reporter_for(ch, contact)
        lang = contact_language(contact, reporter)
        with use_language(lang):
            reply, complaint, status, error = _Conversation(ch, contact, rec, msg, parsed, reporter, lang, raw,
                                                            now).run()
        ch.finish_inbound(rec, status, command=parsed.command, complaint=complaint, error=error)
        out = None
        if reply is not None:
            rstatus, rerror = ("sent" if inline else "queued"), None
            if not ch.can_reply(rec, inline):
                rstatus, rerror = "suppressed", "no outbound gateway configured"
            elif not _admit(contact, "reply", ch.config("REPLIES_PER_HOUR", 10), now):
                rstatus, rerror = "suppressed", "reply limit per hour reached"
            out = ch.log_reply(rec, reply, inline=inline, status=rstatus, error=rerror)
            if rstatus == "suppressed":
                reply = None
        contact.updated_at = now
        save_contact(contact)  # only what changed: never overwrite what others changed
        return Outcome(rec, reply=reply, reply_message=out, contact=contact)


def _choice(choice: str, parsed: Parsed) -> Parsed:
    if choice in ("send", "cancel", "help", "stop", "start"):
        return Parsed(choice, None, explicit=True)
    if choice.startswith("cat:"):
        return Parsed("category", None, body=choice[4:], explicit=True)
    return parsed


def _errors_text(errors: dict) -> str:
    parts = []
    for name, msgs in errors.items():
        if isinstance(msgs, dict):
            msgs = [m for v in msgs.values() for m in (v if isinstance(v, list) else [v])]
        label = _("text") if name in ("body", "text") else name
        parts.append(f"{label}: {', '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}")
    return "; ".join(parts)


class _Conversation:
    """One message of one contact, under the contact's lock. ``run`` returns
    (reply or None, complaint or None, inbound status, error)."""

    def __init__(self, ch, contact, rec, msg, parsed, reporter, lang, raw, now):
        self.ch, self.contact, self.rec, self.msg, self.p = ch, contact, rec, msg, parsed
        self.reporter, self.lang, self.raw, self.now = reporter, lang, raw, now

    def say(self, key, **values) -> Reply:
        return Reply(render(self.ch, key, self.lang, **values))

    @property
    def ext_id(self) -> str:
        return f"{self.rec.provider}:{self.rec.provider_message_id or self.rec.id}"[:128]

    # -- drafts --------------------------------------------------------------------------------
    def draft(self) -> dict | None:
        st = self.contact.state or {}
        d = st.get("draft")
        if d is not None and self.contact.state_updated_at and self.now - self.contact.state_updated_at > DRAFT_TTL:
            return None  # abandoned a day ago: start afresh
        return d

    def save_draft(self, d: dict | None) -> None:
        st = dict(self.contact.state or {})
        if d is None:
            st.pop("draft", None)
        else:
            st["draft"] = d
        self.contact.state = st or None
        self.contact.state_updated_at = self.now

    def draft_reply(self, d: dict, key: str = "draft_saved") -> Reply:
        parts = []
        if d.get("body"):
            parts.append(_("text"))
        if d.get("media"):
            parts.append(ngettext("%(num)d file", "%(num)d files", len(d["media"])))
        if d.get("lat") is not None:
            parts.append(_("location"))
        if d.get("category"):
            cat = Category.get_or_none(Category.code == d["category"])
            if cat is not None:
                parts.append(_("category %(name)s", name=(cat.name_en if self.lang == "en" and cat.name_en else cat.name)))
        r = self.say(key, parts=", ".join(parts) or "-")
        labels = _labels(self.lang)
        cats = [] if d.get("category") else list(
            Category.select().where(Category.active == True).order_by(Category.name).limit(8))  # noqa: E712
        if cats:
            r.style, r.button = "list", labels["category"]
            r.options = [Option(f"cat:{c.code}", ((c.name_en if self.lang == "en" and c.name_en else c.name))[:24])
                         for c in cats]
            r.options += [Option("send", labels["send"]), Option("cancel", labels["cancel"])]
        else:
            r.style = "buttons"
            r.options = [Option("send", labels["send"]), Option("cancel", labels["cancel"])]
        return r

    def add_to_draft(self, text: str = "") -> Reply:
        d = self.draft()
        new = d is None
        d = dict(d or {"body": "", "media": [], "lat": None, "lng": None, "category": None, "address": None})
        if text:
            d["body"] = (d["body"] + "\n" + text).strip() if d.get("body") else text
        full = False
        for m in self.msg.media:
            if len(d["media"]) >= MAX_DRAFT_MEDIA:
                full = True
                break
            d["media"].append({"ref": m.ref, "kind": m.kind, "content_type": m.content_type,
                               "filename": m.filename, "size": m.size, "message": self.ext_id})
        if self.msg.location is not None:
            d["lat"], d["lng"] = self.msg.location
            if self.msg.location_text:
                d["address"] = clean_text(self.msg.location_text, multiline=False)[:500]
        self.save_draft(d)
        if full:
            return self.say("draft_full", num=MAX_DRAFT_MEDIA)
        if new and not d["body"] and not d["media"] and d["lat"] is None:
            return self.draft_reply(d, "draft_started")
        return self.draft_reply(d)

    def file(self, data: dict, media: list[dict] | None = None) -> tuple[Reply, Complaint | None, str, str | None]:
        data.setdefault("language", self.lang)  # the complaint records the language the citizen wrote in
        if self.reporter is None:
            rep = {"language": self.lang}
            if self.ch.phone_addresses and self.contact.address.startswith("+"):
                rep["phone"] = self.raw or self.contact.address  # the core keeps the raw form beside E.164
            if self.msg.sender_name:
                rep["name"] = clean_text(self.msg.sender_name, multiline=False)[:255]
            data["reporter"] = rep
        try:
            c, code = file_complaint(data, actor=Actor(role="reporter"), channel=self.ch.name, reporter=self.reporter,
                                     source=self.ch.name, external_id=self.ext_id)
        except InvalidInput as exc:
            return self.say("invalid", error=_errors_text(exc.errors)), None, "error", None
        if c.reporter_id:
            self.contact.reporter = c.reporter_id
        for req in self.ch.media_jobs(c, media or []):
            enqueue(req)
        reply = self.say("filed", tid=c.tracking_id, code=code)
        reply.logged = reply.text.replace(code, "*" * len(code))
        return reply, c, "processed", None

    # -- commands ------------------------------------------------------------------------------
    def run(self):
        p, ch, contact = self.p, self.ch, self.contact
        say = self.say
        label = ch.label
        if p.command in DRAFT_COMMANDS and not ch.drafts:
            p = self.p = Parsed("lapor", None, body=self.rec_body())
        if self.msg.unsupported and not (self.msg.media or self.msg.location) and not p.body:
            return say("unsupported"), None, "ignored", None
        if p.command == "help":
            return say("help"), None, "processed", None
        if p.command == "stop":
            contact.opted_out = True
            return say("stopped", channel=label), None, "processed", None
        if p.command == "start":
            was_out, contact.opted_out = contact.opted_out, False
            if not was_out and ch.drafts:  # Telegram's /start opens a chat: say what can be done
                return say("help"), None, "processed", None
            return say("started", channel=label), None, "processed", None
        if p.command == "cancel":
            if self.draft() is None:
                return say("no_draft"), None, "processed", None
            self.save_draft(None)
            return say("cancelled"), None, "processed", None
        if p.command == "category":
            if self.draft() is None:
                return say("no_draft"), None, "processed", None
            d = dict(self.draft())
            if Category.get_or_none((Category.code == p.body) & (Category.active == True)) is not None:  # noqa: E712
                d["category"] = p.body
            self.save_draft(d)
            return self.draft_reply(d), None, "processed", None
        if p.command == "send":
            d = self.draft()
            if d is None:
                return say("no_draft"), None, "processed", None
            if not d.get("body"):
                return say("draft_empty"), None, "processed", None
            data = {"body": d["body"]}
            if d.get("category"):
                data["category"] = d["category"]
            if d.get("lat") is not None:
                data["lat"], data["lng"] = d["lat"], d["lng"]
            if d.get("address"):
                data["address"] = d["address"]
            reply, c, status, err = self.file(data, d.get("media"))
            if c is not None:
                self.save_draft(None)
            return reply, c, status, err
        if p.command == "lapor":
            if ch.drafts:
                if p.explicit and not p.body and not self.msg.media and self.msg.location is None \
                        and self.draft() is not None:
                    return self.draft_reply(self.draft()), None, "processed", None
                return self.add_to_draft(p.body), None, "processed", None
            if not p.body:
                return say("help"), None, "processed", None
            return self.file({"body": p.body})
        if not p.tracking_id:
            return say("usage_cek" if p.command == "cek" else "usage_balas"), None, "processed", None
        try:
            c = find_complaint(p.tracking_id)
        except NotFound:
            return say("not_found", tid=p.tracking_id[:16]), None, "processed", None
        status = status_label(c.status, self.lang)
        if p.command == "cek":
            if is_owner(ch, c, contact):
                text = say("status", tid=c.tracking_id, status=status).text
                ev = _latest_answer(c)
                if ev is not None:
                    text = ch.fit(text + " " + _texts("answer", {
                        "time": format_datetime(ev.created_at, self.lang, weekday=False),
                        "text": " ".join(ev.text.split())}))
                return Reply(text), c, "processed", None
            return say("status", tid=c.tracking_id, status=status), None, "processed", None
        # balas
        if not is_owner(ch, c, contact):
            return say("not_yours" if ch.phone_addresses else "not_yours_chat", tid=c.tracking_id), None, \
                "processed", None
        if not p.body:
            return say("usage_balas"), c, "processed", None
        try:
            perform(c, "reply", Actor(role="reporter", complaint_id=c.id), text=p.body, source=ch.name,
                    external_id=self.ext_id)
        except Conflict:
            return say("closed", tid=c.tracking_id, status=status.lower()), c, "processed", None
        except InvalidInput as exc:
            return say("invalid", error=_errors_text(exc.errors)), c, "error", None
        for req in ch.media_jobs(c, [{"ref": m.ref, "kind": m.kind, "content_type": m.content_type,
                                      "filename": m.filename, "size": m.size, "message": self.ext_id}
                                     for m in self.msg.media]):
            enqueue(req)
        return say("replied", tid=c.tracking_id), c, "processed", None

    def rec_body(self) -> str:
        return clean_text(self.msg.text)[:MAX_STORED]


# --- media and sealed texts -------------------------------------------------------------------------

def fetch_media(url: str, *, what: str, headers: dict | None = None, timeout: float = 30) -> bytes:
    """Download a media file for an attachment, stopping at the core's ``ATTACHMENT_MAX_BYTES``.

    Raises :class:`RetryLater` on network errors, 429 and 5xx, :class:`PermanentFailure` on other
    4xx and on files beyond the limit (retrying cannot help).
    """
    limit = current_app.config["ATTACHMENT_MAX_BYTES"]
    try:
        resp = requests.get(url, headers=headers or {}, timeout=timeout, stream=True)
    except requests.RequestException as exc:
        raise RetryLater(f"{what} unreachable: {type(exc).__name__}") from None
    with resp:
        if resp.status_code == 429 or resp.status_code >= 500:
            raise RetryLater(f"{what} answered HTTP {resp.status_code}")
        if resp.status_code != 200:
            raise PermanentFailure(f"{what} refused the download: HTTP {resp.status_code}")
        buf = io.BytesIO()
        try:
            for chunk in resp.iter_content(64 * 1024):
                buf.write(chunk)
                if buf.tell() > limit:
                    raise PermanentFailure(f"file is larger than {limit} bytes")
        except requests.RequestException as exc:
            raise RetryLater(f"{what} download interrupted: {type(exc).__name__}") from None
    return buf.getvalue()


def attach_media(complaint_id: int, data: bytes, filename: str, *, source: str) -> Attachment | None:
    """Attach downloaded bytes to a complaint as the reporter (the core's size and type limits apply;
    a refused file raises :class:`PermanentFailure`). The same bytes are attached once."""
    from .services import add_attachment

    c = Complaint.get_or_none(Complaint.id == complaint_id)
    if c is None:
        return None
    sha = hashlib.sha256(data).hexdigest()
    found = Attachment.get_or_none((Attachment.complaint == c) & (Attachment.sha256 == sha))
    if found is not None:
        return found
    try:
        return add_attachment(c, Actor(role="reporter", complaint_id=c.id), io.BytesIO(data), filename, source=source)
    except (InvalidInput, Conflict) as exc:
        raise PermanentFailure(f"attachment refused: {exc}") from None


def _fernet(purpose: str):
    """Encrypts with the key derived for ``<purpose>-text`` (:mod:`aduan.keys`, rotation included);
    texts queued by release 0.1 (``sha256(purpose + "|" + SECRET_KEY)``) still decrypt."""
    from . import keys

    def legacy(secret: str) -> bytes:
        return hashlib.sha256((purpose + "|" + secret).encode()).digest()

    return keys.fernet(f"{purpose}-text", legacy=legacy)


def seal(text: str, purpose: str) -> str:
    """Replies can hold an access code: the job table keeps them encrypted."""
    return _fernet(purpose).encrypt(text.encode()).decode()


def unseal(token: str, purpose: str) -> str:
    from cryptography.fernet import InvalidToken

    try:
        return _fernet(purpose).decrypt(token.encode()).decode()
    except InvalidToken:
        raise PermanentFailure("the queued text cannot be decrypted (SECRET_KEY changed?)") from None
