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
import csv
import hashlib
import json
import os
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo

import peewee as pw
from flask import current_app

from aduan import privacy, services
from aduan.auth import system
from aduan.db import (among, create_row, database, fetch_related, select_related, select_row, select_rows,
                      update_rows, utcnow)
from aduan.events import JobRequest
from aduan.i18n import N_, _, configured_language, gettext_in, isoformat, render_note
from aduan.i18n import note as i18n_note
from aduan.jobs import PermanentFailure, RetryLater, enqueue
from aduan.models import Attachment, Complaint, Event, Job, Region

from .client import (BadResponse, LaporClient, LaporError, NotConfigured, NotSent, RateLimited, Rejected,
                     decode_json_string, dig)
from .models import (CREATED, FAILED, FWD_DONE, FWD_FAILED, FWD_NONE, FWD_PENDING, FWD_SENDING, QUEUED, SENDING,
                     UNCERTAIN, LaporInstitution, LaporMapping, LaporReply, LaporTemplate, LaporTicket)

log = logging.getLogger("aduan_lapor")
ACTOR = system("lapor")
FINISHED_LOCAL = ("resolved", "closed", "rejected", "archived")


def cfg():
    return current_app.config


#: how long a job waits for credentials before looking again (the poll schedule wakes it sooner)
UNCONFIGURED_WAIT = 300


def client() -> LaporClient:
    try:
        return LaporClient(cfg())
    except NotConfigured as exc:
        # credentials take weeks to be issued: waiting spends no attempt, the job never dies of it
        raise RetryLater(str(exc), delay=UNCONFIGURED_WAIT, count=False) from None


def _n(message: str, /, **variables) -> dict:
    """A timeline note kept as its msgid and variables (:func:`aduan.i18n.note`): each reader gets it in
    their own language; its ``text`` is written in the deployment's. Texts sent to SP4N-LAPOR! are
    written in Indonesian instead (``gettext_in("id", ...)``)."""
    return i18n_note(message, **variables)


def _text(n: dict) -> str:
    return render_note(n, configured_language())


def _transient(exc: LaporError) -> RetryLater:
    """A failed try worth repeating: LAPOR! asked us to wait (429: no attempt spent) or failed (an attempt)."""
    if isinstance(exc, RateLimited):
        return RetryLater(str(exc), delay=exc.retry_after if exc.retry_after is not None else 60, count=False)
    return RetryLater(str(exc), delay=exc.retry_after)


class ImportRefused(Exception):
    """An import that cannot be done (already imported, not disposed to us); ``status`` is the HTTP code."""

    def __init__(self, message: str, status: int = 422, tracking_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.tracking_id = tracking_id


# --- small helpers ---------------------------------------------------------------------------

# Ticket reads and writes are single statements (atomic on their own), their SQL built once
# (aduan.db.select_row / update_rows / create_row): a backlog of pushes is CPU-bound on building them.

def _update(ticket_id: int, **fields) -> int:
    fields["updated_at"] = utcnow()
    return update_rows(LaporTicket, {"id": ticket_id}, **fields)


def _claim(ticket_id: int, expected: str, new: str, *, add: dict | None = None, **fields) -> bool:
    """``expected`` → ``new`` by a conditional update: true for the one caller that made the change."""
    fields.update(state=new, updated_at=utcnow())
    return update_rows(LaporTicket, {"id": ticket_id, "state": expected}, add=add, **fields) == 1


def ticket_for(complaint: Complaint, *, new: bool = False) -> LaporTicket:
    """The complaint's ticket, created when it has none. ``new``: most likely none yet (a first push):
    the insert is tried first (``ON CONFLICT DO NOTHING``), saving the read."""
    if not new:
        t = select_row(LaporTicket, complaint=complaint.id)
        if t is not None:
            return t
    now = utcnow()
    t = create_row(LaporTicket, unless_taken="complaint", complaint=complaint.id, created_at=now, updated_at=now)
    return t if t is not None else select_row(LaporTicket, complaint=complaint.id)


def note(complaint_id: int, n: dict, key: str, data: dict | None = None) -> None:
    """An internal timeline entry about the sync (once per ``key``); ``n`` is a :func:`_n` note."""
    try:
        # perform() locks and re-reads the row itself: a bare reference saves a query
        services.perform(Complaint(id=complaint_id), "comment", ACTOR, text=_text(n), visibility="internal",
                         source="lapor", external_id=key[:128], data={**(data or {}), "note": n})
    except (services.ServiceError, Complaint.DoesNotExist) as exc:
        log.info("lapor: note on complaint %s not recorded: %s", complaint_id, type(exc).__name__)


def mapped(kind: str, local_id: int | None) -> int | None:
    if local_id is None:
        return None
    m = select_row(LaporMapping, kind=kind, local_id=local_id)
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
    """The E4 body. Built from the ``external`` view only: identity as consented, never NIK.

    The reporter's details are written into ``content`` only when the report is not anonymous (the
    spec: content is what the receiving institution reads). An anonymous reporter who consented to
    share their identity with LAPOR! is identified only in the user fields (``nameUser``,
    ``emailUser``, ``phoneUser``, when no ``LAPOR_USER_ID`` is set) and stays ``is_anonymous``.
    """
    conf = cfg()
    view = privacy.external_payload(c)
    rep = view.get("reporter") if conf["LAPOR_SEND_IDENTITY"] else None
    parts = [view.get("body") or ""]
    place = region_names(c.region_id)
    if place:
        parts.append(gettext_in("id", "Region: %(place)s", place=place))
    if view.get("address"):
        parts.append(gettext_in("id", "Location: %(address)s", address=view["address"]))
    if view.get("lat") is not None and view.get("lng") is not None:
        parts.append(gettext_in("id", "Coordinates: %(lat).6f, %(lng).6f", lat=view["lat"], lng=view["lng"]))
    if rep and not c.anonymous:
        who = [v for v in (rep.get("name"), rep.get("phone"), rep.get("email")) if v]
        if who:
            parts.append(gettext_in("id", "Reporter: %(who)s", who=" / ".join(who)))
    parts.append(f"Kode aduan {conf.get('INSTITUTION_NAME') or ''}: {c.tracking_id}".replace("  ", " "))
    date = c.incident_date  # unknown stays unknown: never the filing date
    body: dict[str, Any] = {
        "title": (view.get("title") or "")[:255] or "Pengaduan",
        "content": "\n\n".join(p for p in parts if p),
        "channel": conf["LAPOR_CHANNEL"],
        "classification_id": conf["LAPOR_CLASSIFICATION_ID"],
        "category_id": mapped("category", c.category_id) or conf["LAPOR_CATEGORY_ID"],
        "location_id": location_id(c.region_id),
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


# --- location (Kemendagri region code → LAPOR! location_id) ------------------------------------

DEFAULT_LOCATION_TABLE = os.path.join(os.path.dirname(__file__), "data", "lapor_locations_ntb.csv")
_location_tables: dict[str, dict[str, int]] = {}


def location_table(path: str | None = None) -> dict[str, int]:
    """The configured CSV (``kode,location_id``) as a mapping, read once per process and path."""
    path = path or cfg().get("LAPOR_LOCATION_TABLE") or DEFAULT_LOCATION_TABLE
    table = _location_tables.get(path)
    if table is None:
        table = {}
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                code, lid = (row.get("kode") or "").strip(), (row.get("location_id") or "").strip()
                if code and lid:
                    table[code] = int(lid)
        _location_tables[path] = table
    return table


def location_id(region_code: str | None) -> int | None:
    """The LAPOR! location of the longest code prefixing ``region_code`` (``LAPOR_LOCATION_MAP`` first,
    then the table), else ``LAPOR_LOCATION_ID``."""
    conf = cfg()
    overrides = conf.get("LAPOR_LOCATION_MAP") or {}
    table = location_table()
    code = (region_code or "").strip()
    while code:
        if code in overrides:
            return int(overrides[code])
        if code in table:
            return table[code]
        code = code.rsplit(".", 1)[0] if "." in code else ""
    return conf["LAPOR_LOCATION_ID"]


def region_names(region_code: str | None) -> str:
    """``Cakranegara Barat, Cakranegara, Kota Mataram, Nusa Tenggara Barat`` for ``52.71.04.1001``.

    Kept for ``LOOKUP_CACHE_SECONDS`` with the core's regions (:func:`aduan.services.cached_value`):
    every push of a backlog names its region."""
    if not region_code:
        return ""

    def names_of() -> str:
        parts = region_code.split(".")
        codes = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
        names = {r.code: r.name for r in Region.select(Region.code, Region.name).where(Region.code.in_(codes))}
        return ", ".join(names[c] for c in codes if c in names)

    return services.cached_value(("lapor.region_names", region_code), names_of)


def attachment_files(c: Complaint) -> list[tuple[str, bytes, str]]:
    storage = current_app.extensions["aduan"].storage
    out = []
    for att in select_rows(Attachment, complaint=c.id):
        if privacy.attachment_visible(att, c, "external"):
            with storage.open(att.sha256) as fh:
                out.append((att.filename, fh.read(), att.content_type))
    return out


def desired_institution(c: Complaint) -> tuple[int, bool]:
    """The LAPOR! institution the complaint should be disposed to, and whether its agency is mapped.

    No agency, or an agency mapped to us: our own institution. An agency without a mapping: the
    configured fallback (``LAPOR_FORWARD_FALLBACK``, default our own institution).
    """
    conf = cfg()
    own = conf["LAPOR_INSTITUTION_ID"]
    if c.agency_id is None:
        return own, True
    inst = mapped("agency", c.agency_id)
    if inst:
        return inst, True
    return conf.get("LAPOR_FORWARD_FALLBACK") or own, False


# --- push (E3, E4, E5) ------------------------------------------------------------------------

def push(app, payload: dict, job) -> None:
    """Job ``lapor.push``: upload attachments, create, forward; each step recorded and resumed alone."""
    # one statement for the complaint and the rows the E4 body and the forward read
    c = select_row(Complaint, id=payload.get("complaint_id"), related=("category", "region", "agency", "reporter"))
    if c is None:
        return
    t = ticket_for(c, new=not payload.get("event_id"))
    if t.state == SENDING:
        lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
        if t.updated_at > utcnow() - lease:
            raise RetryLater("another worker is sending this complaint", delay=cfg()["JOB_LEASE_SECONDS"],
                             count=False)
        _claim(t.id, SENDING, UNCERTAIN)
        msg = ("an earlier create was interrupted while in flight: outcome unknown; not resent automatically "
               "(link it to the LAPOR! id or force a resend)")
        _err(t.id, Exception(msg))
        note(c.id, _n(N_("SP4N-LAPOR!: sending was interrupted and its outcome is unknown; an operator must check it.")),
             f"uncertain:{t.id}:{t.attempts}")
        raise PermanentFailure(msg)
    if t.state in (UNCERTAIN, FAILED):
        return  # an operator decides (link or resend); nothing to do automatically
    api = client()
    created = forwarded = None
    try:
        if t.state == QUEUED:
            created = _create(api, c, t)
            if created:  # what _create wrote; nothing else changes a ticket this job holds
                t.state, t.lapor_id = CREATED, created
            else:
                t = select_row(LaporTicket, id=t.id)
        if t.state == CREATED:
            forwarded = _forward(api, c, t, payload.get("event_id"))
    finally:  # one timeline note for what this run achieved, even when a later step failed
        n = None
        if created and forwarded:
            n = _n(N_("Sent to SP4N-LAPOR! as number %(id)s. Forwarded in SP4N-LAPOR! to %(name)s (not our "
                      "authority)."), id=created, name=forwarded[1])
        elif created:
            n = _n(N_("Sent to SP4N-LAPOR! as number %(id)s."), id=created)
        elif forwarded:
            n = _n(N_("Forwarded in SP4N-LAPOR! to %(name)s (not our authority)."), name=forwarded[1])
        if n:
            key = f"created:{created}" if created else f"forwarded:{t.lapor_id}:{forwarded[0]}:{job.id}"
            note(c.id, n, key, data={"lapor_id": created or t.lapor_id,
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
                note(c.id, _n(N_("SP4N-LAPOR! refused the attachments: %(error)s"), error=str(exc)),
                     f"failed:upload:{t.id}:{t.attempts}")
                raise PermanentFailure(str(exc)) from None
            except LaporError as exc:  # an orphan upload is harmless: retry
                _err(t.id, exc)
                raise _transient(exc) from None
            _update(t.id, attachment_ids=ids)  # uploaded once, even if the create is retried
    body = create_body(c, ids)
    if not _claim(t.id, QUEUED, SENDING, add={"attempts": 1}, attachment_ids=ids):
        return None  # another worker holds it
    try:
        lapor_id = api.create(body)
    except NotSent as exc:
        _claim(t.id, SENDING, QUEUED, last_error=str(exc), last_error_at=utcnow())
        raise _transient(exc) from None
    except Rejected as exc:
        with database.atomic():
            _claim(t.id, SENDING, FAILED, last_error=str(exc), last_error_at=utcnow())
            note(c.id, _n(N_("SP4N-LAPOR! refused the complaint: %(error)s"), error=str(exc)),
                 f"failed:create:{t.id}:{t.attempts + 1}")
        raise PermanentFailure(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - sent or maybe sent: never resend blindly
        msg = str(exc) if isinstance(exc, LaporError) else f"{type(exc).__name__} while creating (outcome unknown)"
        if "outcome unknown" not in msg:
            msg += " (outcome unknown)"
        msg += "; not resent automatically: link it to the LAPOR! id or force a resend"
        with database.atomic():
            _claim(t.id, SENDING, UNCERTAIN, last_error=msg, last_error_at=utcnow())
            note(c.id, _n(N_("SP4N-LAPOR!: the outcome of sending is unknown (%(error)s)."), error=msg),
                 f"uncertain:{t.id}:{t.attempts + 1}")
        raise PermanentFailure(msg) from None
    now = utcnow()
    try:
        with database.atomic():
            update_rows(LaporTicket, {"id": t.id}, state=CREATED, lapor_id=lapor_id, last_error=None, next_poll_at=now,
                        poll_interval=cfg()["LAPOR_POLL_MIN_INTERVAL"], updated_at=now)
            _wake_replies(c.id, now)
    except pw.IntegrityError:
        # LAPOR! returned an id another ticket already holds: record it, do not lose the answer
        _claim(t.id, SENDING, UNCERTAIN)
        _err(t.id, Exception(f"E4 returned id {lapor_id}, already linked to another complaint"))
        raise PermanentFailure(f"E4 returned id {lapor_id}, already linked to another complaint") from None
    return lapor_id


_WAKE_SQL: dict = {}


def _wake_replies(complaint_id: int, now: dt.datetime) -> None:
    """Replies that waited for the create go now: the pending ones waiting for a later try, and one
    that died waiting under an older release (``not in LAPOR! yet``). One statement, built once."""
    db = database.obj
    sql = _WAKE_SQL.get(db.param)
    if sql is None:
        p = db.param
        sql = _WAKE_SQL[db.param] = (
            'UPDATE "job" SET "attempts" = CASE WHEN "status" = \'dead\' THEN 0 ELSE "attempts" END, '
            '"finished_at" = CASE WHEN "status" = \'dead\' THEN NULL ELSE "finished_at" END, '
            f'"status" = \'pending\', "run_at" = {p}, "updated_at" = {p} '
            f'WHERE "complaint_id" = {p} AND "kind" = \'lapor.reply\' AND (("status" = \'pending\' AND "run_at" > {p}) '
            f'OR ("status" = \'dead\' AND "last_error" LIKE {p}))')
    stamp = Job.run_at.db_value(now)
    db.execute_sql(sql, [stamp, stamp, complaint_id, stamp, "%not in LAPOR! yet%"])


def _forward(api: LaporClient, c: Complaint, t: LaporTicket, event_id: int | None = None) -> tuple[int, str] | None:
    """E5 when the complaint belongs with another institution than LAPOR! shows; returns (id, name) when
    forwarded now.

    An agency without a mapping is forwarded to the fallback (our own institution by default) and a
    visible note says so, on the timeline and in the stuck list, until the agency is mapped (mapping
    it forwards the complaint again). A complaint that comes back to us is forwarded back.
    """
    target, is_mapped = desired_institution(c)
    current = t.forwarded_to or cfg()["LAPOR_INSTITUTION_ID"]
    ev = select_row(Event, id=event_id) if event_id else None
    transfer = ev is not None and ev.type == "transfer"
    if not is_mapped and transfer:
        # an agency without a LAPOR! institution is handled under the fallback there; a *transfer* to one
        # is what LAPOR! cannot show: say so until the agency is mapped
        if t.unmapped_agency_id != c.agency_id:
            _update(t.id, unmapped_agency_id=c.agency_id)
            note(c.id, _n(N_("SP4N-LAPOR!: agency %(agency)s has no LAPOR! institution, so LAPOR! cannot show this "
                         "transfer; the complaint stays with %(name)s there. Map the agency "
                         "(aduan lapor map agency) to forward it."),
                         agency=c.agency.name, name=institution_name(target)),
                 f"unmapped:{t.id}:{c.agency_id}:{event_id or 0}")
    elif is_mapped and t.unmapped_agency_id is not None:
        _update(t.id, unmapped_agency_id=None)
    if target == current:
        return None
    lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
    with database.atomic():
        n = (LaporTicket.update(forward_state=FWD_SENDING, forward_target=target, updated_at=utcnow())
             .where((LaporTicket.id == t.id) & ((LaporTicket.forward_state != FWD_SENDING) |
                                                (LaporTicket.updated_at < utcnow() - lease))).execute())
    if n != 1:
        raise RetryLater("another worker is forwarding this complaint", delay=60, count=False)
    agency = c.agency.name if c.agency_id else ""
    text = gettext_in("id", "Not the authority of %(us)s: forwarded to %(target)s", us=current_app.config.get("INSTITUTION_NAME")
             or institution_name(current), target=institution_name(target))
    text += (f" ({agency})" if agency else "") + "."
    if transfer and ev.visibility == "public" and ev.text:
        text += " " + ev.text  # the officer's own reason, as the reporter reads it here
    text += f" Kode aduan {c.tracking_id}."
    try:
        api.forward(t.lapor_id, target, text)
    except Rejected as exc:
        _err(t.id, exc, forward_state=FWD_FAILED)
        note(c.id, _n(N_("SP4N-LAPOR! refused the forward to %(name)s: %(error)s"), name=institution_name(target),
                     error=str(exc)), f"forward-failed:{t.lapor_id}:{target}")
        raise PermanentFailure(str(exc)) from None
    except LaporError as exc:  # forwarding again is harmless: retried with back-off
        _err(t.id, exc, forward_state=FWD_PENDING)
        raise _transient(exc) from None
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


def from_reporter(entry: dict) -> bool:
    """A follow-up written by the reporter in LAPOR! carries no institution it comes from."""
    return not (entry.get("institution_from_name") or entry.get("institution_from_id")
                or dig(entry, "institution_from.id"))


def import_followup(c: Complaint, t: LaporTicket, entry: dict, problems: list | None = None) -> bool:
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
    c = Complaint.get_by_id(c.id)
    if c.status == "archived":
        # an archived complaint takes no timeline entry: say so where an operator looks
        if problems is not None:
            problems.append(f"E7 follow-up {key.split(':')[-1]} ({entry.get('created_at') or '?'}) arrived after "
                            f"the complaint was archived here: not imported; read it in LAPOR!")
        return False
    atts = [{"file_name": a.get("file_name"), "url": a.get("path")} for a in (entry.get("attachments") or [])
            if isinstance(a, dict)]
    reporter = from_reporter(entry)
    who = entry.get("institution_from_name") or (gettext_in(configured_language(), "the reporter") if reporter else "SP4N-LAPOR!")
    text = content or services.clean_text(str(entry.get("template_content") or "")) or "(lampiran)"
    if atts:
        text += "\n\n" + gettext_in(configured_language(), "Attachments: %(names)s", names=", ".join(str(a["file_name"] or a["url"]) for a in atts))
    text = f"{text}\n\n— {who} (SP4N-LAPOR!)"[:10_000]
    # the timeline entry carries LAPOR!'s own time (occurred_at); the complaint's clocks run from now
    when = remote_time(entry.get("created_at"))
    data = {"lapor_followup": entry, "attachments": atts, "remote_created_at": entry.get("created_at"),
            "remote_created_utc": _iso(when), "from_reporter": reporter}
    if entry.get("template_code") == cfg()["LAPOR_DISPOSITION_TEMPLATE_CODE"]:
        return _perform(c, "comment", key, text=text, visibility="internal", data=data, occurred_at=when)
    if reporter:
        # the reporter answered in LAPOR!: a complaint waiting for them (tunda) goes on
        done = _perform(c, "comment", key, text=text, visibility="public", data=data, occurred_at=when)
        if done and Complaint.get_by_id(c.id).status == "on_hold":
            n = _n(N_("The reporter answered in SP4N-LAPOR!."))
            _perform(c, "resume", key + ":resume", text=_text(n), data={"note": n})
        return done
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


def apply_status(c: Complaint, t: LaporTicket, data: dict, when: dt.datetime | None = None) -> bool:
    """Bring the local workflow to LAPOR!'s status, through the workflow's own actions (timeline
    entries dated ``when``, LAPOR!'s time of the change, when known).

    Each step is taken once per LAPOR! status name, whether a log entry or the current status
    brought it: after the complaint moved on here (a reopen, say) the same LAPOR! status does not
    take it back (keys written before this rule carried the status code too: they count).
    """
    target = local_target(data.get("status_name"))
    if not target or not cfg()["LAPOR_APPLY_STATUS"]:
        return False
    name = data.get("status_name")
    key = f"status:{t.lapor_id}:{name}"

    def step(action: str, n: dict | None = None, **kw) -> bool:
        if n is not None:
            kw.update(text=_text(n), data={"note": n})
        done = Event.select().where((Event.complaint == c.id) & (Event.source == "lapor") &
                                    Event.external_id.startswith(f"status:{t.lapor_id}:") &
                                    Event.external_id.endswith(f":{name}:{action}")).exists()
        return False if done else _perform(c, action, f"{key}:{action}", occurred_at=when, **kw)

    changed = False
    c = Complaint.get_by_id(c.id)
    needs_dispatch = target in ("dispatched", "in_progress", "resolved", "closed")
    if needs_dispatch and c.status == "received":
        agency = agency_for_institution(data.get("disposition_id"))
        if agency is None and c.category_id and c.category.default_agency_id:
            agency = c.category.default_agency_id
        if agency is None:
            note(c.id, _n(N_("SP4N-LAPOR!: status %(status)s, but institution %(inst)s is not mapped "
                                           "to any agency; verify it by hand."),
                                  status=name, inst=data.get("disposition_id")), key + ":unmapped")
            return False
        changed |= step("verify", agency_id=agency, n=_n(N_("Verified in SP4N-LAPOR! (%(name)s)"),
                                                        name=data.get("disposition_name") or "-"))
        c = Complaint.get_by_id(c.id)
    if target == "in_progress" and c.status == "dispatched":
        changed |= step("start", text=f"SP4N-LAPOR!: {name}")
    elif target in ("resolved", "closed") and c.status in ("dispatched", "in_progress", "on_hold"):
        changed |= step("resolve", n=_n(N_("Marked %(status)s in SP4N-LAPOR!."), status=name))
        c = Complaint.get_by_id(c.id)
    if target == "closed" and c.status == "resolved":
        changed |= step("close", text=f"SP4N-LAPOR!: {name}")
    if target == "rejected" and c.status in ("received", "dispatched"):
        changed |= step("reject", n=_n(N_("Rejected in SP4N-LAPOR!.")))
    return changed


def _log_status(entry: dict) -> str | None:
    """The new status name a ``data_logs`` entry records, when it records a status change."""
    d = decode_json_string(entry.get("data")) or {}
    new, old = dig(d, "status_new.name"), dig(d, "status_old.name")
    return new if isinstance(new, str) and new and new != old else None


#: same-second order: steps that open the process, then answers, then steps that end it
_OPENING = ("received", "dispatched", "in_progress")


def poll_ticket(t: LaporTicket, api: LaporClient) -> dict[str, int]:
    """One poll of one ticket: E6 (status, log) then E7 (all pages). Raises LaporError on failure.

    Log entries (with the status changes they record) and follow-ups are applied in LAPOR!'s own
    time order, so an agency's answer given after verification lands on a verified complaint and
    counts as its first response. LAPOR!'s current status is applied last.
    """
    conf = cfg()
    c = Complaint.get_by_id(t.complaint_id)
    data, logs = api.status(t.lapor_id)
    fups = api.followups(t.lapor_id, conf["LAPOR_MAX_PAGES"])
    counts = {"logs": 0, "followups": 0, "status": 0}
    problems: list[str] = []
    code = None if data.get("status_code") is None else str(data.get("status_code"))
    name = data.get("status_name") if isinstance(data.get("status_name"), str) else None
    disp = None if data.get("disposition_id") is None else str(data.get("disposition_id"))
    changed = (code, name, disp) != (t.status_code, t.status_name, t.disposition_id)
    _update(t.id, status_code=code, status_name=name, disposition_id=disp,
            disposition_name=str(data.get("disposition_name") or "")[:500] or None, raw=data)
    never = dt.datetime.max
    steps = []
    for i, entry in enumerate(logs):
        status = _log_status(entry)
        rank = 0 if status is None or local_target(status) in _OPENING else 2
        steps.append((remote_time(entry.get("created_at")) or never, rank, i, "log", entry, status))
    for i, entry in enumerate(fups):
        steps.append((remote_time(entry.get("created_at")) or never, 1, i, "fu", entry, None))
    steps.sort(key=lambda s: s[:3])
    for _when, _rank, _i, kind, entry, status in steps:
        if kind == "log":
            new = import_log(c, t, entry)
            counts["logs"] += new
            if new and status:
                inst = dig(entry, "institution_to.id") or data.get("disposition_id")
                counts["status"] += int(apply_status(c, t, {"status_name": status, "status_code": "log",
                                                            "disposition_id": inst,
                                                            "disposition_name": entry.get("institution_to_name")
                                                            or data.get("disposition_name")},
                                                     remote_time(entry.get("created_at"))))
        else:
            if (entry.get("template_code") != conf["LAPOR_DISPOSITION_TEMPLATE_CODE"] and not from_reporter(entry)
                    and Complaint.get_by_id(c.id).status == "received"
                    and local_target(name) in ("dispatched", "in_progress")):
                # LAPOR! says verified but logged no status change before this answer: verify first
                counts["status"] += int(apply_status(c, t, data))
            counts["followups"] += import_followup(c, t, entry, problems)
    counts["status"] += int(apply_status(c, t, data))
    changed = changed or any(counts.values())
    c = Complaint.get_by_id(c.id)
    finished = (name or "").lower() in {s.lower() for s in conf["LAPOR_FINAL_STATUSES"]} and c.status in FINISHED_LOCAL
    now = utcnow()
    lo, hi = conf["LAPOR_POLL_MIN_INTERVAL"], conf["LAPOR_POLL_MAX_INTERVAL"]
    interval = lo if changed else min(hi, max(lo, (t.poll_interval or lo) * 2))
    _update(t.id, last_polled_at=now, poll_error="; ".join(problems)[:2000] or None, poll_interval=interval,
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
    wake_waiting_jobs()
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


def wake_waiting_jobs() -> int:
    """Now that the credentials are set, the jobs that waited for them run at once (a job that died
    of waiting before waits stopped costing attempts is revived too)."""
    now = utcnow()
    waiting = Job.kind.startswith("lapor.") & Job.last_error.contains("LAPOR! is not configured")
    with database.atomic():
        n = Job.update(run_at=now, updated_at=now).where(waiting & (Job.status == "pending") & (Job.run_at > now)).execute()
        n += (Job.update(status="pending", run_at=now, attempts=0, finished_at=None, updated_at=now)
              .where(waiting & (Job.status == "dead")).execute())
    return n


def templates() -> list[dict]:
    """E2: the reply templates LAPOR! knows (to choose LAPOR_FOLLOWUP_TEMPLATE_CODE); stored for the check."""
    sync_templates()
    return [{"code": t.code, "content": t.content} for t in LaporTemplate.select().order_by(LaporTemplate.code)]


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
        # waiting for the create spends no attempt: the reply goes once the complaint is there
        raise RetryLater("the complaint is not in LAPOR! yet (its create is "
                         f"{t.state if t else 'queued'}); the reply waits",
                         delay=600 if t is not None and t.state in (UNCERTAIN, FAILED) else 60, count=False)
    content = reply_content(ev, c)
    if not content:
        return  # nothing the privacy layer lets LAPOR! read
    try:
        with database.atomic():
            r = LaporReply.create(event=ev.id, ticket=t.id, content_hash=_hash(content), created_at=utcnow(),
                                  updated_at=utcnow())
    except pw.IntegrityError:
        r = LaporReply.get(LaporReply.event == ev.id)
    if r.state == SENDING:
        if r.updated_at > utcnow() - dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"]):
            raise RetryLater("another worker is posting this reply", delay=cfg()["JOB_LEASE_SECONDS"], count=False)
        with database.atomic():
            LaporReply.update(state=UNCERTAIN, last_error="interrupted while in flight: outcome unknown",
                              updated_at=utcnow()).where((LaporReply.id == r.id) & (LaporReply.state == SENDING)).execute()
        raise PermanentFailure("an earlier post of this reply was interrupted: outcome unknown, not resent")
    if r.state != QUEUED:
        return
    api = client()
    conf = cfg()
    problem = template_problem(api)
    if problem:
        with database.atomic():
            LaporReply.update(state=FAILED, last_error=problem, updated_at=utcnow()).where(
                (LaporReply.id == r.id) & (LaporReply.state == QUEUED)).execute()
        raise PermanentFailure(problem)
    with database.atomic():
        n = LaporReply.update(state=SENDING, attempts=LaporReply.attempts + 1, updated_at=utcnow()).where(
            (LaporReply.id == r.id) & (LaporReply.state == QUEUED)).execute()
    if n != 1:
        return
    fields = {"user_id": conf["LAPOR_USER_ID"], "institution_from_id": conf["LAPOR_INSTITUTION_ID"],
              "institution_to_id": t.disposition_id or t.forwarded_to or conf["LAPOR_INSTITUTION_ID"],
              "complaint_id": t.lapor_id, "info_disposition": "", "template_code": conf["LAPOR_FOLLOWUP_TEMPLATE_CODE"],
              "rating": 0, "is_secret": 1 if c.secret else 0, "content": content}

    def _set(state, error=None):
        with database.atomic():
            LaporReply.update(state=state, last_error=error, updated_at=utcnow()).where(LaporReply.id == r.id).execute()

    try:
        api.add_followup(fields)
    except NotSent as exc:
        _set(QUEUED, str(exc))
        raise _transient(exc) from None
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


def reply_content(ev: Event, c: Complaint) -> str:
    """What one of our public steps says in LAPOR! (E8 ``content``): respond, resolve and comment as
    written; the other steps with a short Indonesian lead naming the step. The step's text is what the
    privacy layer lets the ``external`` audience read ("" when nothing: then nothing is posted)."""
    text = privacy.event_view(ev, c, "external")["text"] if privacy.event_visible(ev, "external") else ""
    text = text or ""
    if not text and ev.type not in ("start", "resume"):
        return ""
    if not text and ev.type in ("start", "resume"):
        return gettext_in("id", "Being handled.") if ev.type == "start" else gettext_in("id", "Handling resumed.")
    lead = {
        "start": lambda: gettext_in("id", "Being handled: %(text)s", text=text),
        "hold": lambda: gettext_in("id", "Waiting for the reporter (postponed): %(text)s", text=text),
        "resume": lambda: gettext_in("id", "Handling resumed: %(text)s", text=text),
        "reject": lambda: gettext_in("id", "Rejected: %(text)s", text=text),
        "reply": lambda: gettext_in("id", "The reporter adds: %(text)s", text=text),
        "reopen": lambda: gettext_in("id", "Reopened by the reporter: %(text)s", text=text),
    }.get(ev.type)
    return lead() if lead else text


def sync_templates(api: LaporClient | None = None) -> list[str]:
    """E2: reload LAPOR!'s template codes (kept to check ``LAPOR_FOLLOWUP_TEMPLATE_CODE``)."""
    api = api or LaporClient(cfg())
    rows = []
    for data in api._pages("E2", api.path("templates"), 20):
        rows.extend(d for d in data if isinstance(d, dict) and d.get("code") not in (None, ""))
    now = utcnow()
    with database.atomic():
        LaporTemplate.delete().execute()
        for d in rows:
            (LaporTemplate.insert(code=str(d["code"])[:128], content=str(d.get("content") or d.get("name") or ""),
                                  synced_at=now).on_conflict_ignore().execute())
    return [str(d["code"]) for d in rows]


def template_problem(api: LaporClient | None = None) -> str | None:
    """Why E8 must not be sent with ``LAPOR_FOLLOWUP_TEMPLATE_CODE``, or ``None`` (codes unknown: not checked)."""
    codes = [t.code for t in LaporTemplate.select(LaporTemplate.code)]
    if not codes and api is not None:
        try:
            codes = sync_templates(api)
        except LaporError:
            return None
    code = cfg()["LAPOR_FOLLOWUP_TEMPLATE_CODE"]
    if codes and code not in codes:
        return (f"LAPOR_FOLLOWUP_TEMPLATE_CODE={code!r} is not one of LAPOR!'s template codes (E2: "
                f"{', '.join(sorted(codes)[:20])}); correct it, then resend the reply")
    return None


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
        api = LaporClient(cfg())
    except NotConfigured:
        return
    sync_institutions(app)
    sync_templates(api)


# --- import by id -------------------------------------------------------------------------------

def import_complaint(lapor_id: str, api: LaporClient | None = None) -> Complaint:
    lapor_id = str(lapor_id).strip()
    existing = LaporTicket.get_or_none(LaporTicket.lapor_id == lapor_id)
    if existing is not None:
        raise ImportRefused(_("SP4N-LAPOR! number %(id)s is already linked to %(tid)s.", id=lapor_id,
                              tid=existing.complaint.tracking_id), 409, existing.complaint.tracking_id)
    api = api or LaporClient(cfg())
    data, _logs = api.status(lapor_id)
    conf = cfg()
    ours = {conf["LAPOR_INSTITUTION_ID"]} | {m.lapor_id for m in LaporMapping.select().where(LaporMapping.kind == "agency")}
    try:
        disp = int(data.get("disposition_id"))
    except (TypeError, ValueError):
        raise BadResponse("E6: results.data.disposition_id is missing or not a number") from None
    if disp not in ours:
        raise ImportRefused(_("SP4N-LAPOR! complaint %(id)s is disposed to %(name)s (%(disp)s), not to this "
                              "deployment (institution %(ours)s or a mapped agency).", id=lapor_id,
                              name=institution_name(disp), disp=disp, ours=conf["LAPOR_INSTITUTION_ID"]))
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
        raise ImportRefused(_("SP4N-LAPOR! complaint %(id)s was imported meanwhile.", id=lapor_id), 409,
                            other.complaint.tracking_id if other else None) from None
    note(c.id, _n(N_("Imported from SP4N-LAPOR! number %(id)s."), id=lapor_id), f"imported:{lapor_id}")
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
        raise services.Conflict(_("The ticket is %(state)s; only uncertain, failed or queued tickets can be linked.",
                                  state=t.state))
    other = LaporTicket.get_or_none((LaporTicket.lapor_id == lapor_id) & (LaporTicket.id != t.id))
    if other is not None:
        raise services.Conflict(_("SP4N-LAPOR! number %(id)s is already linked to %(tid)s.", id=lapor_id,
                                  tid=other.complaint.tracking_id))
    if not force:
        data, _logs = LaporClient(cfg()).status(lapor_id)
        if not str(data.get("content") or "").strip() and not str(data.get("title") or "").strip():
            raise services.Conflict(_(
                "SP4N-LAPOR! returned no content for complaint %(id)s, so it cannot be checked against %(tid)s: "
                "link with force (--force, \"force\": true) if you are sure it is this complaint.",
                id=lapor_id, tid=c.tracking_id))
        if c.tracking_id not in str(data.get("content") or "") + str(data.get("title") or ""):
            raise services.Conflict(_("SP4N-LAPOR! complaint %(id)s does not mention %(tid)s: check the number "
                                      "(or link with force when you are sure).", id=lapor_id, tid=c.tracking_id))
    now = utcnow()
    with database.atomic():
        LaporTicket.update(state=CREATED, lapor_id=lapor_id, last_error=None, next_poll_at=now,
                           poll_interval=cfg()["LAPOR_POLL_MIN_INTERVAL"], updated_at=now).where(
            LaporTicket.id == t.id).execute()
        _wake_replies(c.id, now)  # replies that waited for the link go now, as after a create
        enqueue(JobRequest("lapor.push", {"complaint_id": c.id}, key=f"lapor.push:{c.id}:link:{lapor_id}",
                           complaint_id=c.id), default_max_attempts=cfg()["JOB_MAX_ATTEMPTS"])
    note(c.id, _n(N_("An operator linked this complaint to SP4N-LAPOR! number %(id)s."), id=lapor_id), f"linked:{lapor_id}")
    return LaporTicket.get_by_id(t.id)


def resend(c: Complaint) -> LaporTicket:
    """The operator checked LAPOR! and the complaint is not there: send it again (knowingly)."""
    t = ticket_for(c)
    if t.state not in (UNCERTAIN, FAILED):
        raise services.Conflict(_("The ticket is %(state)s; only uncertain or failed tickets can be resent.",
                                  state=t.state))
    prev = list(t.previous_ids or [])
    if t.lapor_id:
        prev.append(t.lapor_id)
    with database.atomic():
        n = (LaporTicket.update(state=QUEUED, resends=LaporTicket.resends + 1, previous_ids=prev or None,
                                lapor_id=None, last_error=None, updated_at=utcnow())
             .where((LaporTicket.id == t.id) & (LaporTicket.state == t.state)).execute())
        if n != 1:
            raise services.Conflict(_("The ticket changed meanwhile; look again."))
        enqueue(JobRequest("lapor.push", {"complaint_id": c.id}, key=f"lapor.push:{c.id}:resend:{t.resends + 1}",
                           complaint_id=c.id), default_max_attempts=cfg()["JOB_MAX_ATTEMPTS"])
    note(c.id, _n(N_("An operator had the complaint sent to SP4N-LAPOR! again.")), f"resend:{t.id}:{t.resends + 1}")
    return LaporTicket.get_by_id(t.id)


def resolve_reply(reply_id: int, action: str) -> LaporReply:
    """An uncertain or failed reply: ``resend`` it (the operator checked LAPOR!) or ``dismiss`` it."""
    r = LaporReply.get_or_none(LaporReply.id == reply_id)
    if r is None:
        raise services.NotFound(_("No SP4N-LAPOR! reply %(id)s.", id=reply_id))
    if r.state not in (UNCERTAIN, FAILED):
        raise services.Conflict(_("The reply is %(state)s; only uncertain or failed replies can be settled.",
                                  state=r.state))
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
    return isoformat(v)  # the deployment's offset, as every API time


def next_job(complaint_id: int):
    return (Job.select().where((Job.complaint == complaint_id) & Job.kind.startswith("lapor.") &
                               Job.status.in_(["pending", "running"])).order_by(Job.run_at, Job.id).first())


def reforward_agency(agency_id: int) -> int:
    """Queue the forward step for open complaints of ``agency_id`` already created in LAPOR! (in the
    caller's transaction). Returns how many."""
    rows = (LaporTicket.select(LaporTicket.complaint).join(Complaint)
            .where((Complaint.agency == agency_id) & (LaporTicket.state == CREATED) &
                   Complaint.status.not_in(list(FINISHED_LOCAL))))
    n = 0
    stamp = utcnow().strftime("%Y%m%d%H%M%S%f")
    for t in rows:
        enqueue(JobRequest("lapor.push", {"complaint_id": t.complaint_id},
                           key=f"lapor.push:{t.complaint_id}:map:{stamp}", complaint_id=t.complaint_id),
                default_max_attempts=cfg()["JOB_MAX_ATTEMPTS"])
        n += 1
    return n


def ticket_views(complaints: list[Complaint]) -> dict[int, dict[str, Any]]:
    """:func:`ticket_view` of many complaints in two queries: their tickets, and their pending or
    running ``lapor.*`` jobs (the first due of each is the one :func:`next_job` picks)."""
    if not complaints:
        return {}
    ids = [c.id for c in complaints]
    # a staff list page runs this: column lists compiled once, the page's ids as one parameter
    tickets = {t.complaint_id: t for t in fetch_related(
        select_related(LaporTicket, {}).where(among(LaporTicket.complaint, ids)), LaporTicket, {})}
    jobs: dict[int, Job] = {}
    for job in fetch_related(select_related(Job, {}).where(
            among(Job.complaint, ids) & Job.kind.startswith("lapor.") & Job.status.in_(["pending", "running"]))
            .order_by(Job.run_at, Job.id), Job, {}):
        jobs.setdefault(job.complaint_id, job)
    out = {}
    for c in complaints:
        view = ticket_view(tickets.get(c.id), c, job=jobs.get(c.id))
        if view:
            out[c.id] = view
    return out


def ticket_view(t: LaporTicket | None, complaint: Complaint, *, job: Any = False) -> dict[str, Any] | None:
    job = next_job(complaint.id) if job is False else job
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
    """What needs an operator now: uncertain or failed creates, failing or unmirrorable forwards, polls
    that fail, uncertain or failed replies, and dead jobs that none of these already shows.

    A dead job whose work was settled since (the ticket linked or resent and created, the reply posted
    or dismissed, a later job of the same kind done) is history: it stays in ``aduan jobs list --status
    dead`` and the complaint's timeline, not here.
    """
    lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
    q = (LaporTicket.select(LaporTicket, Complaint).join(Complaint)
         .where(LaporTicket.state.in_([UNCERTAIN, FAILED]) |
                ((LaporTicket.state == SENDING) & (LaporTicket.updated_at < utcnow() - lease)) |
                LaporTicket.forward_state.in_([FWD_FAILED, FWD_PENDING]) | LaporTicket.poll_error.is_null(False) |
                (LaporTicket.unmapped_agency_id.is_null(False) & Complaint.status.not_in(list(FINISHED_LOCAL))) |
                ((LaporTicket.state == QUEUED) & LaporTicket.last_error.is_null(False)))
         .order_by(LaporTicket.updated_at))
    tickets = []
    for t in q:
        view = ticket_view(t, t.complaint)
        if t.unmapped_agency_id is not None:
            view["attention"] = _(
                "Agency %(agency)s has no LAPOR! institution: LAPOR! shows %(name)s. Map the agency to forward it.",
                agency=t.complaint.agency.name if t.complaint.agency_id else t.unmapped_agency_id,
                name=institution_name(t.forwarded_to or cfg()["LAPOR_INSTITUTION_ID"]))
        tickets.append(view)
    listed = {v["tracking_id"] for v in tickets}
    replies = [{"id": r.id, "event_id": r.event_id, "tracking_id": r.ticket.complaint.tracking_id, "state": r.state,
                "last_error": r.last_error} for r in LaporReply.select().where(LaporReply.state.in_([UNCERTAIN, FAILED]))]
    reply_state = {r.event_id: r.state for r in LaporReply.select(LaporReply.event, LaporReply.state)}
    ticket_state = {t.complaint_id: t.state for t in LaporTicket.select(LaporTicket.complaint, LaporTicket.state)}
    jobs = []
    for j in Job.select().where(Job.kind.startswith("lapor.") & (Job.status == "dead")).order_by(Job.id):
        tid = j.complaint.tracking_id if j.complaint_id else None
        if tid in listed:
            continue  # the ticket says it already (and what to do)
        if j.kind == "lapor.reply" and reply_state.get((j.payload or {}).get("event_id")) in (CREATED, UNCERTAIN, FAILED):
            continue  # posted, dismissed, or listed under replies
        if j.kind == "lapor.push" and ticket_state.get(j.complaint_id) == CREATED:
            continue  # linked or resent since: the complaint is in LAPOR!
        if j.kind == "lapor.wake":
            continue  # polling resumes on its own schedule
        if Job.select().where((Job.kind == j.kind) & (Job.complaint == j.complaint_id) & (Job.id > j.id) &
                              (Job.status.in_(["done", "pending", "running"]))).exists():
            continue  # superseded by a later run
        jobs.append({"id": j.id, "kind": j.kind, "attempts": j.attempts, "last_error": j.last_error, "tracking_id": tid})
    return {"tickets": tickets, "replies": replies, "dead_jobs": jobs}
