"""Push, forward, poll, reply and import: the synchronisation with SP4N-LAPOR!.

Rules kept here:

* complaints and timeline events change only through :mod:`aduan.services` (source ``lapor``);
* what is sent is built from :func:`aduan.privacy.external_payload` (identity only as consented,
  never NIK) and public attachments only;
* the ticket row (``lapor_ticket``) is written in short transactions *before* and *after* each
  outside call; a create is claimed (``queued`` → ``sending``) by a conditional update so it is
  sent at most once per claim, and a create whose outcome is unknown becomes ``uncertain`` and
  waits for an operator (link to an existing LAPOR! id, or force a resend).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

import peewee as pw
from flask import current_app

from aduan import privacy, services
from aduan.auth import system
from aduan.db import database, utcnow
from aduan.events import JobRequest
from aduan.jobs import PermanentFailure, RetryLater, enqueue
from aduan.models import Attachment, Complaint, Event, Job

from .client import (BadResponse, LaporClient, LaporError, NotConfigured, NotSent, Rejected,
                     decode_json_string, dig)
from .models import (CREATED, FAILED, FWD_DONE, FWD_FAILED, FWD_NONE, FWD_PENDING, FWD_SENDING, QUEUED, SENDING,
                     UNCERTAIN, LaporInstitution, LaporMapping, LaporReply, LaporTicket)

log = logging.getLogger("aduan_lapor")
ACTOR = system("lapor")
FINISHED_LOCAL = ("resolved", "closed", "rejected", "archived")


def cfg():
    return current_app.config


def client() -> LaporClient:
    try:
        return LaporClient(cfg())
    except NotConfigured as exc:
        raise RetryLater(str(exc), delay=300) from None


class ImportRefused(Exception):
    """An import that cannot be done (already imported, not disposed to us); ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 422, tracking_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.tracking_id = tracking_id


# --- small helpers ---------------------------------------------------------------------------

def _update(ticket_id: int, **fields) -> int:
    fields["updated_at"] = utcnow()
    with database.atomic():
        return LaporTicket.update(**fields).where(LaporTicket.id == ticket_id).execute()


def _claim(ticket_id: int, expected: str, new: str, **fields) -> bool:
    fields.update(state=new, updated_at=utcnow())
    with database.atomic():
        n = LaporTicket.update(**fields).where((LaporTicket.id == ticket_id) & (LaporTicket.state == expected)).execute()
    return n == 1


def ticket_for(complaint: Complaint) -> LaporTicket:
    t = LaporTicket.get_or_none(LaporTicket.complaint == complaint.id)
    if t is not None:
        return t
    try:
        with database.atomic():
            now = utcnow()
            return LaporTicket.create(complaint=complaint.id, created_at=now, updated_at=now)
    except pw.IntegrityError:
        return LaporTicket.get(LaporTicket.complaint == complaint.id)


def note(complaint_id: int, text: str, key: str, data: dict | None = None) -> None:
    """An internal timeline entry about the sync (once per ``key``)."""
    try:
        # perform() locks and re-reads the row itself: a bare reference saves a query
        services.perform(Complaint(id=complaint_id), "comment", ACTOR, text=text, visibility="internal",
                         source="lapor", external_id=key[:128], data=data)
    except (services.ServiceError, Complaint.DoesNotExist) as exc:
        log.info("lapor: note on complaint %s not recorded: %s", complaint_id, type(exc).__name__)


def mapped(kind: str, local_id: int | None) -> int | None:
    if local_id is None:
        return None
    m = LaporMapping.get_or_none((LaporMapping.kind == kind) & (LaporMapping.local_id == local_id))
    return m.lapor_id if m else None


def agency_for_institution(inst) -> int | None:
    try:
        inst = int(inst)
    except (TypeError, ValueError):
        return None
    m = (LaporMapping.select().where((LaporMapping.kind == "agency") & (LaporMapping.lapor_id == inst))
         .order_by(LaporMapping.local_id).first())
    return m.local_id if m else None


def institution_name(inst) -> str:
    try:
        row = LaporInstitution.get_or_none(LaporInstitution.id == int(inst))
    except (TypeError, ValueError):
        row = None
    return row.name if row else f"instansi {inst}"


def _err(ticket_id: int, exc: Exception, **fields) -> None:
    _update(ticket_id, last_error=str(exc)[:2000], last_error_at=utcnow(), **fields)


def _hash(text: str) -> str:
    return hashlib.sha256(" ".join(services.clean_text(text).split()).encode()).hexdigest()


# --- building what is sent -----------------------------------------------------------------

def identity_sent(c: Complaint) -> bool:
    return bool(cfg()["LAPOR_SEND_IDENTITY"]) and privacy.shows_identity(c, "external")


def create_body(c: Complaint, attachment_ids: list) -> dict[str, Any]:
    """The E4 body. Built from the ``external`` view only: identity as consented, never NIK."""
    conf = cfg()
    view = privacy.external_payload(c)
    rep = view.get("reporter") if conf["LAPOR_SEND_IDENTITY"] else None
    parts = [view.get("body") or ""]
    if view.get("address"):
        parts.append(f"Lokasi: {view['address']}")
    if view.get("lat") is not None and view.get("lng") is not None:
        parts.append(f"Koordinat: {view['lat']:.6f}, {view['lng']:.6f}")
    if rep:
        who = [v for v in (rep.get("name"), rep.get("phone"), rep.get("email")) if v]
        if who:
            parts.append("Pelapor: " + " / ".join(who))
    parts.append(f"Kode aduan {conf.get('INSTITUTION_NAME') or ''}: {c.tracking_id}".replace("  ", " "))
    date = c.incident_date or (c.created_at.date() if c.created_at else None)
    body: dict[str, Any] = {
        "title": (view.get("title") or "")[:255] or "Pengaduan",
        "content": "\n\n".join(p for p in parts if p),
        "channel": conf["LAPOR_CHANNEL"],
        "classification_id": conf["LAPOR_CLASSIFICATION_ID"],
        "category_id": mapped("category", c.category_id) or conf["LAPOR_CATEGORY_ID"],
        "location_id": conf["LAPOR_LOCATION_ID"],
        "disposition_id": conf["LAPOR_INSTITUTION_ID"],
        "date_of_incident": date.isoformat() if date else None,
        "info_disposition": "",
        "tags_raw": conf["LAPOR_TAGS"],
        "is_anonymous": bool(c.anonymous),
        "is_secret": bool(c.secret),
        "is_priority": c.urgency == "mendesak",
        "attachments": json.dumps(list(attachment_ids)),
    }
    if conf["LAPOR_USER_ID"]:
        body.update(is_new_user_slider=False, user_id=conf["LAPOR_USER_ID"])
    else:
        body.update(is_new_user_slider=True, nameUser=(rep or {}).get("name") or "Anonim",
                    emailUser=(rep or {}).get("email") or "", phoneUser=(rep or {}).get("phone") or "")
    body.update(conf["LAPOR_EXTRA_FIELDS"] or {})
    return {k: v for k, v in body.items() if v is not None}


def attachment_files(c: Complaint) -> list[tuple[str, bytes, str]]:
    storage = current_app.extensions["aduan"].storage
    out = []
    for att in c.attachments.order_by(Attachment.id):
        if privacy.attachment_visible(att, c, "external"):
            with storage.open(att.sha256) as fh:
                out.append((att.filename, fh.read(), att.content_type))
    return out


def forward_target(c: Complaint) -> int | None:
    """The institution the complaint belongs with, when it is not ours."""
    inst = mapped("agency", c.agency_id)
    if inst and inst != cfg()["LAPOR_INSTITUTION_ID"]:
        return inst
    return None


# --- push (E3, E4, E5) ------------------------------------------------------------------------

def push(app, payload: dict, job) -> None:
    """Job ``lapor.push``: upload attachments, create, forward; each step recorded and resumed alone."""
    c = Complaint.get_or_none(Complaint.id == payload.get("complaint_id"))
    if c is None:
        return
    t = ticket_for(c)
    if t.state == SENDING:
        lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
        if t.updated_at > utcnow() - lease:
            raise RetryLater("another worker is sending this complaint", delay=cfg()["JOB_LEASE_SECONDS"])
        _claim(t.id, SENDING, UNCERTAIN)
        msg = ("an earlier create was interrupted while in flight: outcome unknown; not resent automatically "
               "(link it to the LAPOR! id or force a resend)")
        _err(t.id, Exception(msg))
        note(c.id, "SP4N-LAPOR!: pengiriman terputus, hasil tidak diketahui; perlu diperiksa operator.",
             f"uncertain:{t.id}:{t.attempts}")
        raise PermanentFailure(msg)
    if t.state in (UNCERTAIN, FAILED):
        return  # an operator decides (link or resend); nothing to do automatically
    api = client()
    created = forwarded = None
    try:
        if t.state == QUEUED:
            created = _create(api, c, t)
            t = LaporTicket.get_by_id(t.id)
        if t.state == CREATED:
            forwarded = _forward(api, c, t)
    finally:  # one timeline note for what this run achieved, even when a later step failed
        parts = []
        if created:
            parts.append(f"Terkirim ke SP4N-LAPOR! dengan nomor {created}.")
        if forwarded:
            parts.append(f"Diteruskan di SP4N-LAPOR! ke {forwarded[1]} (bukan wewenang).")
        if parts:
            key = f"created:{created}" if created else f"forwarded:{t.lapor_id}:{forwarded[0]}:{job.id}"
            note(c.id, " ".join(parts), key, data={"lapor_id": created or t.lapor_id,
                                                   "forwarded_to": forwarded[0] if forwarded else None})


def _create(api: LaporClient, c: Complaint, t: LaporTicket) -> str | None:
    """Upload (once) and create; returns the new LAPOR! id, ``None`` when another worker holds it."""
    ids = t.attachment_ids
    if ids is None:
        files = attachment_files(c)
        ids = []
        if files:
            try:
                ids = api.upload(files)
            except Rejected as exc:
                _err(t.id, exc, state=FAILED)
                note(c.id, f"SP4N-LAPOR! menolak lampiran: {exc}", f"failed:upload:{t.id}:{t.attempts}")
                raise PermanentFailure(str(exc)) from None
            except LaporError as exc:  # an orphan upload is harmless: retry
                _err(t.id, exc)
                raise RetryLater(str(exc), delay=exc.retry_after) from None
            _update(t.id, attachment_ids=ids)  # uploaded once, even if the create is retried
    body = create_body(c, ids)
    if not _claim(t.id, QUEUED, SENDING, attempts=LaporTicket.attempts + 1, attachment_ids=ids):
        return None  # another worker holds it
    try:
        lapor_id = api.create(body)
    except NotSent as exc:
        _claim(t.id, SENDING, QUEUED, last_error=str(exc), last_error_at=utcnow())
        raise RetryLater(str(exc), delay=exc.retry_after) from None
    except Rejected as exc:
        with database.atomic():
            _claim(t.id, SENDING, FAILED, last_error=str(exc), last_error_at=utcnow())
            note(c.id, f"SP4N-LAPOR! menolak pengaduan: {exc}", f"failed:create:{t.id}:{t.attempts + 1}")
        raise PermanentFailure(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - sent or maybe sent: never resend blindly
        msg = str(exc) if isinstance(exc, LaporError) else f"{type(exc).__name__} while creating (outcome unknown)"
        if "outcome unknown" not in msg:
            msg += " (outcome unknown)"
        msg += "; not resent automatically: link it to the LAPOR! id or force a resend"
        with database.atomic():
            _claim(t.id, SENDING, UNCERTAIN, last_error=msg, last_error_at=utcnow())
            note(c.id, f"SP4N-LAPOR!: hasil pengiriman tidak diketahui ({msg}).",
                 f"uncertain:{t.id}:{t.attempts + 1}")
        raise PermanentFailure(msg) from None
    now = utcnow()
    try:
        with database.atomic():
            LaporTicket.update(state=CREATED, lapor_id=lapor_id, last_error=None, next_poll_at=now,
                               poll_interval=cfg()["LAPOR_POLL_MIN_INTERVAL"], updated_at=now).where(
                LaporTicket.id == t.id).execute()
    except pw.IntegrityError:
        # LAPOR! returned an id another ticket already holds: record it, do not lose the answer
        _claim(t.id, SENDING, UNCERTAIN)
        _err(t.id, Exception(f"E4 returned id {lapor_id}, already linked to another complaint"))
        raise PermanentFailure(f"E4 returned id {lapor_id}, already linked to another complaint") from None
    return lapor_id


def _forward(api: LaporClient, c: Complaint, t: LaporTicket) -> tuple[int, str] | None:
    """E5 when the complaint's agency maps to another institution; returns (id, name) when forwarded now."""
    target = forward_target(c)
    current = t.forwarded_to or cfg()["LAPOR_INSTITUTION_ID"]
    if target is None or target == current:
        return None
    lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
    with database.atomic():
        n = (LaporTicket.update(forward_state=FWD_SENDING, forward_target=target, updated_at=utcnow())
             .where((LaporTicket.id == t.id) & ((LaporTicket.forward_state != FWD_SENDING) |
                                                (LaporTicket.updated_at < utcnow() - lease))).execute())
    if n != 1:
        raise RetryLater("another worker is forwarding this complaint", delay=60)
    agency = c.agency.name if c.agency_id else ""
    text = (f"Bukan wewenang {current_app.config.get('INSTITUTION_NAME') or 'kami'}: diteruskan ke "
            f"{institution_name(target)}" + (f" ({agency})" if agency else "") + f". Kode aduan {c.tracking_id}.")
    try:
        api.forward(t.lapor_id, target, text)
    except Rejected as exc:
        _err(t.id, exc, forward_state=FWD_FAILED)
        note(c.id, f"SP4N-LAPOR! menolak penerusan ke {institution_name(target)}: {exc}",
             f"forward-failed:{t.lapor_id}:{target}")
        raise PermanentFailure(str(exc)) from None
    except LaporError as exc:  # forwarding again is harmless: retried with back-off
        _err(t.id, exc, forward_state=FWD_PENDING)
        raise RetryLater(str(exc), delay=exc.retry_after) from None
    _update(t.id, forward_state=FWD_DONE, forwarded_to=target, last_error=None)
    return target, institution_name(target)


# --- poll (E6, E7) -------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render_log(entry: dict) -> str:
    """Fill ``{{institution_from}}``, ``{{institution_to}}``, ``{{status_old}}``, ``{{status_new}}``."""
    d = decode_json_string(entry.get("data")) or {}
    values = {
        "institution_from": entry.get("institution_from_name") or dig(entry, "institution_from.name") or "",
        "institution_to": entry.get("institution_to_name") or dig(entry, "institution_to.name") or "",
        "status_old": dig(d, "status_old.name") or "",
        "status_new": dig(d, "status_new.name") or "",
    }
    return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), str(entry.get("content") or ""))


def _entry_key(prefix: str, entry: dict) -> str:
    if entry.get("id") not in (None, ""):
        return f"{prefix}:{entry['id']}"
    ident = {k: entry.get(k) for k in ("created_at", "content", "template_code", "institution_from_name",
                                       "institution_to_name", "data")}
    return f"{prefix}:h{hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:32]}"


def remote_time(value) -> dt.datetime | None:
    """``d-m-Y H:i:s`` in LAPOR_REMOTE_TIMEZONE → naive UTC (``None`` when unreadable or in the future)."""
    if not isinstance(value, str):
        return None
    for fmt in ("%d-%m-%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            local = dt.datetime.strptime(value.strip()[:19], fmt)
            break
        except ValueError:
            continue
    else:
        return None
    utc = local.replace(tzinfo=ZoneInfo(cfg()["LAPOR_REMOTE_TIMEZONE"])).astimezone(dt.timezone.utc).replace(tzinfo=None)
    return utc if utc <= utcnow() else None


def _perform(c: Complaint, action: str, key: str, **kw) -> bool:
    try:
        ev = services.perform(Complaint(id=c.id), action, ACTOR, source="lapor", external_id=key[:128], **kw)
    except (services.Conflict, services.InvalidInput, services.NotFound) as exc:
        log.info("lapor: %s on complaint %s not applied: %s", action, c.id, type(exc).__name__)
        return False
    return ev is not None


def import_log(c: Complaint, t: LaporTicket, entry: dict) -> bool:
    text = render_log(entry)
    if not text.strip():
        return False
    key = _entry_key(f"log:{t.lapor_id}", entry)
    if Event.select().where((Event.complaint == c.id) & (Event.source == "lapor") & (Event.external_id == key)).exists():
        return False
    when = remote_time(entry.get("created_at"))
    return _perform(c, "comment", key, text=f"SP4N-LAPOR!: {text}"[:10_000], visibility="internal",
                    data={"lapor_log": entry, "remote_created_at": entry.get("created_at"),
                          "remote_created_utc": _iso(when)}, occurred_at=when)


def import_followup(c: Complaint, t: LaporTicket, entry: dict) -> bool:
    key = _entry_key(f"fu:{t.lapor_id}", entry)
    if Event.select().where((Event.complaint == c.id) & (Event.source == "lapor") & (Event.external_id == key)).exists():
        return False
    if LaporReply.select().where((LaporReply.ticket == t.id) & (LaporReply.matched_key == key)).exists():
        return False
    content = services.clean_text(str(entry.get("content") or ""))
    # one of our own replies coming back: link it, do not echo it into the timeline
    if content:
        mine = (LaporReply.select().where((LaporReply.ticket == t.id) & (LaporReply.content_hash == _hash(content)) &
                                          LaporReply.matched_key.is_null()).order_by(LaporReply.id).first())
        if mine is not None:
            with database.atomic():
                LaporReply.update(matched_key=key, state=CREATED, last_error=None, updated_at=utcnow()).where(
                    LaporReply.id == mine.id).execute()
            return False
    atts = [{"file_name": a.get("file_name"), "url": a.get("path")} for a in (entry.get("attachments") or [])
            if isinstance(a, dict)]
    who = entry.get("institution_from_name") or "SP4N-LAPOR!"
    text = content or services.clean_text(str(entry.get("template_content") or "")) or "(lampiran)"
    if atts:
        text += "\n\nLampiran: " + ", ".join(str(a["file_name"] or a["url"]) for a in atts)
    text = f"{text}\n\n— {who} (SP4N-LAPOR!)"[:10_000]
    # the timeline entry carries LAPOR!'s own time (occurred_at); the complaint's clocks run from now
    when = remote_time(entry.get("created_at"))
    data = {"lapor_followup": entry, "attachments": atts, "remote_created_at": entry.get("created_at"),
            "remote_created_utc": _iso(when)}
    c = Complaint.get_by_id(c.id)
    if entry.get("template_code") == cfg()["LAPOR_DISPOSITION_TEMPLATE_CODE"]:
        return _perform(c, "comment", key, text=text, visibility="internal", data=data, occurred_at=when)
    if c.status in ("dispatched", "in_progress"):
        return _perform(c, "respond", key, text=text, data=data, occurred_at=when)
    return _perform(c, "comment", key, text=text, visibility="public", data=data, occurred_at=when)


def local_target(status_name: str | None) -> str | None:
    if not status_name:
        return None
    for name, target in (cfg()["LAPOR_STATUS_MAP"] or {}).items():
        if name.strip().lower() == status_name.strip().lower():
            return None if target == "ignore" else target
    return None


def apply_status(c: Complaint, t: LaporTicket, data: dict) -> bool:
    """Bring the local workflow to LAPOR!'s status, through the workflow's own actions."""
    target = local_target(data.get("status_name"))
    if not target or not cfg()["LAPOR_APPLY_STATUS"]:
        return False
    key = f"status:{t.lapor_id}:{data.get('status_code')}:{data.get('status_name')}"
    name = data.get("status_name")
    changed = False
    c = Complaint.get_by_id(c.id)
    needs_dispatch = target in ("dispatched", "in_progress", "resolved", "closed")
    if needs_dispatch and c.status == "received":
        agency = agency_for_institution(data.get("disposition_id"))
        if agency is None and c.category_id and c.category.default_agency_id:
            agency = c.category.default_agency_id
        if agency is None:
            note(c.id, f"SP4N-LAPOR!: status {name}, tetapi instansi {data.get('disposition_id')} belum dipetakan "
                       f"ke dinas mana pun; verifikasi manual diperlukan.", key + ":unmapped")
            return False
        changed |= _perform(c, "verify", key + ":verify", agency_id=agency,
                            text=f"Diverifikasi di SP4N-LAPOR! ({data.get('disposition_name') or ''})".strip())
        c = Complaint.get_by_id(c.id)
    if target == "in_progress" and c.status == "dispatched":
        changed |= _perform(c, "start", key + ":start", text=f"SP4N-LAPOR!: {name}")
    elif target in ("resolved", "closed") and c.status in ("dispatched", "in_progress", "on_hold"):
        changed |= _perform(c, "resolve", key + ":resolve", text=f"Dinyatakan {name} di SP4N-LAPOR!.")
        c = Complaint.get_by_id(c.id)
    if target == "closed" and c.status == "resolved":
        changed |= _perform(c, "close", key + ":close", text=f"SP4N-LAPOR!: {name}")
    if target == "rejected" and c.status in ("received", "dispatched"):
        changed |= _perform(c, "reject", key + ":reject", text="Ditolak di SP4N-LAPOR!.")
    return changed


def poll_ticket(t: LaporTicket, api: LaporClient) -> dict[str, int]:
    """One poll of one ticket: E6 (status, log) then E7 (all pages). Raises LaporError on failure."""
    conf = cfg()
    c = Complaint.get_by_id(t.complaint_id)
    data, logs = api.status(t.lapor_id)
    fups = api.followups(t.lapor_id, conf["LAPOR_MAX_PAGES"])
    counts = {"logs": 0, "followups": 0, "status": 0}
    code = None if data.get("status_code") is None else str(data.get("status_code"))
    name = data.get("status_name") if isinstance(data.get("status_name"), str) else None
    disp = None if data.get("disposition_id") is None else str(data.get("disposition_id"))
    changed = (code, name, disp) != (t.status_code, t.status_name, t.disposition_id)
    _update(t.id, status_code=code, status_name=name, disposition_id=disp,
            disposition_name=str(data.get("disposition_name") or "")[:500] or None, raw=data)
    for entry in logs:
        counts["logs"] += import_log(c, t, entry)
    for entry in fups:
        counts["followups"] += import_followup(c, t, entry)
    counts["status"] = int(apply_status(c, t, data))
    changed = changed or any(counts.values())
    c = Complaint.get_by_id(c.id)
    finished = (name or "").lower() in {s.lower() for s in conf["LAPOR_FINAL_STATUSES"]} and c.status in FINISHED_LOCAL
    now = utcnow()
    lo, hi = conf["LAPOR_POLL_MIN_INTERVAL"], conf["LAPOR_POLL_MAX_INTERVAL"]
    interval = lo if changed else min(hi, max(lo, (t.poll_interval or lo) * 2))
    _update(t.id, last_polled_at=now, poll_error=None, poll_interval=interval,
            next_poll_at=None if finished else now + dt.timedelta(seconds=interval))
    return counts


def poll_one(t: LaporTicket, api: LaporClient, *, raise_unreachable: bool = False) -> dict[str, int] | None:
    """Poll, recording any failure on the ticket (never raising): a bad answer must not stop the round.

    With ``raise_unreachable``, a request that could not be sent or was rate limited is raised after
    being recorded, so the round stops instead of hammering a LAPOR! that is down or throttling us.
    """
    try:
        return poll_ticket(t, api)
    except NotSent as exc:
        msg = str(exc)
        if raise_unreachable:
            _update(t.id, poll_error=msg[:2000], last_polled_at=utcnow(),
                    next_poll_at=utcnow() + dt.timedelta(seconds=cfg()["LAPOR_POLL_ERROR_INTERVAL"]))
            raise
    except LaporError as exc:
        msg = str(exc)
    except Exception as exc:  # noqa: BLE001 - an unexpected shape deep in a body; recorded, the round goes on
        log.warning("lapor: poll of ticket %s failed: %s", t.id, type(exc).__name__)
        msg = f"{type(exc).__name__} while reading the LAPOR! answer"
    _update(t.id, poll_error=msg[:2000], last_polled_at=utcnow(),
            next_poll_at=utcnow() + dt.timedelta(seconds=cfg()["LAPOR_POLL_ERROR_INTERVAL"]))
    return None


def poll_due(app) -> dict[str, int]:
    """Schedule ``lapor.poll``: poll the tickets that are due, oldest first, a batch at a time."""
    conf = cfg()
    try:
        api = LaporClient(conf)
    except NotConfigured:
        return {"polled": 0}
    due = (LaporTicket.select().where(LaporTicket.lapor_id.is_null(False) & (LaporTicket.next_poll_at <= utcnow()))
           .order_by(LaporTicket.next_poll_at).limit(conf["LAPOR_POLL_BATCH"]))
    n = errors = 0
    for t in list(due):
        n += 1
        try:
            errors += poll_one(t, api, raise_unreachable=True) is None
        except NotSent as exc:  # down or throttling: the rest of the batch waits for the next round
            log.info("lapor: poll round stopped after %d complaint(s): %s", n, exc.kind)
            return {"polled": n, "errors": errors + 1, "stopped": 1}
    return {"polled": n, "errors": errors}


def templates() -> list[dict]:
    """E2: the reply templates LAPOR! knows (to choose LAPOR_FOLLOWUP_TEMPLATE_CODE)."""
    api = LaporClient(cfg())
    out = []
    for data in api._pages("E2", api.path("templates"), 20):
        out.extend({"code": d.get("code"), "content": d.get("content") or d.get("name")} for d in data
                   if isinstance(d, dict))
    return out


# --- reply (E8) --------------------------------------------------------------------------------

def reply(app, payload: dict, job) -> None:
    """Job ``lapor.reply``: post one of our public answers to LAPOR! as a follow-up."""
    ev = Event.get_or_none(Event.id == payload.get("event_id"))
    if ev is None:
        return
    c = Complaint.get_by_id(ev.complaint_id)
    t = LaporTicket.get_or_none(LaporTicket.complaint == c.id)
    if t is None or t.state != CREATED:
        pending_push = Job.select().where((Job.complaint == c.id) & Job.kind.startswith("lapor.push") &
                                          Job.status.in_(["pending", "running"])).exists()
        if t is None and not pending_push:
            return  # this complaint is not synchronised with LAPOR!
        raise RetryLater("the complaint is not in LAPOR! yet (its create is "
                         f"{t.state if t else 'queued'}); the reply waits",
                         delay=min(3600, 30 * 2 ** max(0, job.attempts - 1)))
    try:
        with database.atomic():
            r = LaporReply.create(event=ev.id, ticket=t.id, content_hash=_hash(ev.text), created_at=utcnow(),
                                  updated_at=utcnow())
    except pw.IntegrityError:
        r = LaporReply.get(LaporReply.event == ev.id)
    if r.state == SENDING:
        if r.updated_at > utcnow() - dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"]):
            raise RetryLater("another worker is posting this reply", delay=cfg()["JOB_LEASE_SECONDS"])
        with database.atomic():
            LaporReply.update(state=UNCERTAIN, last_error="interrupted while in flight: outcome unknown",
                              updated_at=utcnow()).where((LaporReply.id == r.id) & (LaporReply.state == SENDING)).execute()
        raise PermanentFailure("an earlier post of this reply was interrupted: outcome unknown, not resent")
    if r.state != QUEUED:
        return
    api = client()
    conf = cfg()
    with database.atomic():
        n = LaporReply.update(state=SENDING, attempts=LaporReply.attempts + 1, updated_at=utcnow()).where(
            (LaporReply.id == r.id) & (LaporReply.state == QUEUED)).execute()
    if n != 1:
        return
    fields = {"user_id": conf["LAPOR_USER_ID"], "institution_from_id": conf["LAPOR_INSTITUTION_ID"],
              "institution_to_id": t.disposition_id or t.forwarded_to or conf["LAPOR_INSTITUTION_ID"],
              "complaint_id": t.lapor_id, "info_disposition": "", "template_code": conf["LAPOR_FOLLOWUP_TEMPLATE_CODE"],
              "rating": 0, "is_secret": 1 if c.secret else 0, "content": ev.text}

    def _set(state, error=None):
        with database.atomic():
            LaporReply.update(state=state, last_error=error, updated_at=utcnow()).where(LaporReply.id == r.id).execute()

    try:
        api.add_followup(fields)
    except NotSent as exc:
        _set(QUEUED, str(exc))
        raise RetryLater(str(exc), delay=exc.retry_after) from None
    except Rejected as exc:
        _set(FAILED, str(exc))
        raise PermanentFailure(str(exc)) from None
    except Exception as exc:  # noqa: BLE001
        msg = (str(exc) if isinstance(exc, LaporError) else type(exc).__name__) + \
            "; not resent automatically (an operator may resend it)"
        _set(UNCERTAIN, msg)
        raise PermanentFailure(msg) from None
    _set(CREATED)
    lo = conf["LAPOR_POLL_MIN_INTERVAL"]
    _update(t.id, next_poll_at=utcnow(), poll_interval=lo)  # expect an answer: poll again soon


def wake(app, payload: dict, job) -> None:
    """Job ``lapor.wake``: the complaint moved on here (reopened, the reporter replied): poll LAPOR! soon again."""
    with database.atomic():
        (LaporTicket.update(next_poll_at=utcnow(), poll_interval=cfg()["LAPOR_POLL_MIN_INTERVAL"], updated_at=utcnow())
         .where((LaporTicket.complaint == payload.get("complaint_id")) & LaporTicket.lapor_id.is_null(False))
         .execute())


# --- institutions (E1) -------------------------------------------------------------------------

def sync_institutions(app=None) -> dict[str, int]:
    api = LaporClient(cfg())
    rows = api.institutions()
    now = utcnow()
    seen = set()
    with database.atomic():
        for r in rows:
            seen.add(r["id"])
            (LaporInstitution.insert(id=r["id"], name=r["name"][:500], active=True, raw=r["raw"], synced_at=now)
             .on_conflict(conflict_target=[LaporInstitution.id],
                          update={LaporInstitution.name: r["name"][:500], LaporInstitution.active: True,
                                  LaporInstitution.raw: r["raw"], LaporInstitution.synced_at: now}).execute())
        gone = LaporInstitution.update(active=False).where(LaporInstitution.id.not_in(list(seen) or [-1])).execute() \
            if seen else 0
    return {"institutions": len(rows), "inactive": gone}


def scheduled_institutions(app) -> None:
    try:
        LaporClient(cfg())
    except NotConfigured:
        return
    sync_institutions(app)


# --- import by id -------------------------------------------------------------------------------

def import_complaint(lapor_id: str, api: LaporClient | None = None) -> Complaint:
    lapor_id = str(lapor_id).strip()
    existing = LaporTicket.get_or_none(LaporTicket.lapor_id == lapor_id)
    if existing is not None:
        raise ImportRefused(f"LAPOR! complaint {lapor_id} is already linked to {existing.complaint.tracking_id}", 409,
                            existing.complaint.tracking_id)
    api = api or LaporClient(cfg())
    data, _logs = api.status(lapor_id)
    conf = cfg()
    ours = {conf["LAPOR_INSTITUTION_ID"]} | {m.lapor_id for m in LaporMapping.select().where(LaporMapping.kind == "agency")}
    try:
        disp = int(data.get("disposition_id"))
    except (TypeError, ValueError):
        raise BadResponse("E6: results.data.disposition_id is missing or not a number") from None
    if disp not in ours:
        raise ImportRefused(f"LAPOR! complaint {lapor_id} is disposed to {institution_name(disp)} ({disp}), "
                            f"not to this deployment (institution {conf['LAPOR_INSTITUTION_ID']} or a mapped agency)")
    content = services.clean_text(str(data.get("content") or ""))
    if not content:
        raise BadResponse("E6: results.data has no content to import")
    fields = {"title": services.clean_text(str(data.get("title") or ""), multiline=False)[:255] or None,
              "body": content[:10_000], "anonymous": bool(data.get("is_anonymous")),
              "secret": bool(data.get("is_secret"))}
    now = utcnow()
    try:
        with database.atomic():
            c, _code = services.file_complaint(fields, actor=ACTOR, channel="lapor", source="lapor",
                                               external_id=f"complaint:{lapor_id}")
            t = LaporTicket.create(complaint=c.id, origin="import", lapor_id=lapor_id, state=CREATED,
                                   forward_state=FWD_NONE, forwarded_to=disp if disp != conf["LAPOR_INSTITUTION_ID"] else None,
                                   next_poll_at=now, poll_interval=conf["LAPOR_POLL_MIN_INTERVAL"],
                                   created_at=now, updated_at=now)
    except pw.IntegrityError:
        other = LaporTicket.get_or_none(LaporTicket.lapor_id == lapor_id)
        raise ImportRefused(f"LAPOR! complaint {lapor_id} was imported meanwhile", 409,
                            other.complaint.tracking_id if other else None) from None
    note(c.id, f"Diimpor dari SP4N-LAPOR! nomor {lapor_id}.", f"imported:{lapor_id}")
    poll_one(t, api)
    return Complaint.get_by_id(c.id)


# --- operator actions ---------------------------------------------------------------------------

def link(c: Complaint, lapor_id: str, *, force: bool = False) -> LaporTicket:
    """The operator found the complaint in LAPOR!: record its id and carry on (forward, poll).

    Unless ``force``, LAPOR! is asked first (E6) and the complaint there must carry our tracking id
    (we write it at the end of the content): a mistyped id would otherwise pull another citizen's
    complaint history into this one. Raises :class:`LaporError` when LAPOR! cannot be asked.
    """
    lapor_id = str(lapor_id).strip()
    t = ticket_for(c)
    if t.state == CREATED and t.lapor_id == lapor_id:
        return t
    if t.state not in (UNCERTAIN, FAILED, QUEUED):
        raise services.Conflict(f"the ticket is {t.state}; only uncertain, failed or queued tickets can be linked")
    other = LaporTicket.get_or_none((LaporTicket.lapor_id == lapor_id) & (LaporTicket.id != t.id))
    if other is not None:
        raise services.Conflict(f"LAPOR! id {lapor_id} is already linked to {other.complaint.tracking_id}")
    if not force:
        data, _logs = LaporClient(cfg()).status(lapor_id)
        if c.tracking_id not in str(data.get("content") or "") + str(data.get("title") or ""):
            raise services.Conflict(f"LAPOR! complaint {lapor_id} does not mention {c.tracking_id}: check the id "
                                    f"(or link with force when you are sure)")
    now = utcnow()
    with database.atomic():
        LaporTicket.update(state=CREATED, lapor_id=lapor_id, last_error=None, next_poll_at=now,
                           poll_interval=cfg()["LAPOR_POLL_MIN_INTERVAL"], updated_at=now).where(
            LaporTicket.id == t.id).execute()
        enqueue(JobRequest("lapor.push", {"complaint_id": c.id}, key=f"lapor.push:{c.id}:link:{lapor_id}",
                           complaint_id=c.id), default_max_attempts=cfg()["JOB_MAX_ATTEMPTS"])
    note(c.id, f"Operator menautkan pengaduan ini ke SP4N-LAPOR! nomor {lapor_id}.", f"linked:{lapor_id}")
    return LaporTicket.get_by_id(t.id)


def resend(c: Complaint) -> LaporTicket:
    """The operator checked LAPOR! and the complaint is not there: send it again (knowingly)."""
    t = ticket_for(c)
    if t.state not in (UNCERTAIN, FAILED):
        raise services.Conflict(f"the ticket is {t.state}; only uncertain or failed tickets can be resent")
    prev = list(t.previous_ids or [])
    if t.lapor_id:
        prev.append(t.lapor_id)
    with database.atomic():
        n = (LaporTicket.update(state=QUEUED, resends=LaporTicket.resends + 1, previous_ids=prev or None,
                                lapor_id=None, last_error=None, updated_at=utcnow())
             .where((LaporTicket.id == t.id) & (LaporTicket.state == t.state)).execute())
        if n != 1:
            raise services.Conflict("the ticket changed meanwhile; look again")
        enqueue(JobRequest("lapor.push", {"complaint_id": c.id}, key=f"lapor.push:{c.id}:resend:{t.resends + 1}",
                           complaint_id=c.id), default_max_attempts=cfg()["JOB_MAX_ATTEMPTS"])
    note(c.id, "Operator memerintahkan pengiriman ulang ke SP4N-LAPOR!.", f"resend:{t.id}:{t.resends + 1}")
    return LaporTicket.get_by_id(t.id)


def resolve_reply(reply_id: int, action: str) -> LaporReply:
    """An uncertain or failed reply: ``resend`` it (the operator checked LAPOR!) or ``dismiss`` it."""
    r = LaporReply.get_or_none(LaporReply.id == reply_id)
    if r is None:
        raise services.NotFound(f"no LAPOR! reply {reply_id}")
    if r.state not in (UNCERTAIN, FAILED):
        raise services.Conflict(f"the reply is {r.state}; only uncertain or failed replies can be settled")
    with database.atomic():
        if action == "dismiss":
            LaporReply.update(state=CREATED, last_error=f"dismissed by an operator after: {r.last_error or ''}"[:2000],
                              updated_at=utcnow()).where(LaporReply.id == r.id).execute()
        else:
            LaporReply.update(state=QUEUED, last_error=None, updated_at=utcnow()).where(LaporReply.id == r.id).execute()
            enqueue(JobRequest("lapor.reply", {"event_id": r.event_id}, key=f"lapor.reply:{r.event_id}:resend:{r.attempts}",
                               complaint_id=r.ticket.complaint_id), default_max_attempts=cfg()["JOB_MAX_ATTEMPTS"])
    return LaporReply.get_by_id(r.id)


# --- what staff see -----------------------------------------------------------------------------

def _iso(v):
    return v.isoformat() + "Z" if v else None


def next_job(complaint_id: int):
    return (Job.select().where((Job.complaint == complaint_id) & Job.kind.startswith("lapor.") &
                               Job.status.in_(["pending", "running"])).order_by(Job.run_at).first())


def ticket_view(t: LaporTicket | None, complaint: Complaint) -> dict[str, Any] | None:
    job = next_job(complaint.id)
    if t is None:
        if job is None:
            return None
        return {"tracking_id": complaint.tracking_id, "state": QUEUED, "lapor_id": None, "next_attempt": _iso(job.run_at),
                "last_error": job.last_error}
    return {
        "tracking_id": complaint.tracking_id, "lapor_id": t.lapor_id, "origin": t.origin, "state": t.state,
        "forward_state": t.forward_state, "forwarded_to": t.forwarded_to, "attempts": t.attempts, "resends": t.resends,
        "previous_ids": t.previous_ids or [], "last_error": t.last_error or (job.last_error if job else None),
        "last_error_at": _iso(t.last_error_at),
        "next_attempt": _iso(job.run_at) if job else None, "next_poll_at": _iso(t.next_poll_at),
        "poll_interval": t.poll_interval, "last_polled_at": _iso(t.last_polled_at), "poll_error": t.poll_error,
        "lapor_status": {"code": t.status_code, "name": t.status_name, "mapped": local_target(t.status_name),
                         "disposition_id": t.disposition_id, "disposition_name": t.disposition_name},
        "updated_at": _iso(t.updated_at),
    }


def stuck() -> dict[str, list]:
    """Everything an operator must look at: uncertain or failed creates, failing forwards and polls, replies,
    dead jobs."""
    lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
    q = (LaporTicket.select(LaporTicket, Complaint).join(Complaint)
         .where(LaporTicket.state.in_([UNCERTAIN, FAILED]) |
                ((LaporTicket.state == SENDING) & (LaporTicket.updated_at < utcnow() - lease)) |
                LaporTicket.forward_state.in_([FWD_FAILED, FWD_PENDING]) | LaporTicket.poll_error.is_null(False) |
                ((LaporTicket.state == QUEUED) & LaporTicket.last_error.is_null(False)))
         .order_by(LaporTicket.updated_at))
    tickets = [ticket_view(t, t.complaint) for t in q]
    replies = [{"id": r.id, "event_id": r.event_id, "tracking_id": r.ticket.complaint.tracking_id, "state": r.state,
                "last_error": r.last_error} for r in LaporReply.select().where(LaporReply.state.in_([UNCERTAIN, FAILED]))]
    jobs = [{"id": j.id, "kind": j.kind, "attempts": j.attempts, "last_error": j.last_error,
             "tracking_id": j.complaint.tracking_id if j.complaint_id else None}
            for j in Job.select().where(Job.kind.startswith("lapor.") & (Job.status == "dead")).order_by(Job.id)]
    return {"tickets": tickets, "replies": replies, "dead_jobs": jobs}
