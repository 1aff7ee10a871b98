"""Forwarding complaints to other Open311 back ends and following them there (the client side).

* Choosing: a complaint is forwarded when it is verified or transferred to an agency (or is of a
  category) that a destination of ``OPEN311_DESTINATIONS`` lists, or when staff forward it
  explicitly (:func:`forward_now`, an internal timeline note carrying ``open311_forward``). Either
  way the job ``open311.forward`` is written by the core's outbox in the change's own transaction.
* Sending (:func:`forward_job`): the forward row (``open311_forward``) is written in short
  transactions before and after the call; the create is claimed (``queued`` → ``sending``) so it is
  sent at most once per claim. A refused connection is retried with back-off; a 4xx is ``failed``
  (dead job, visible); an unknown outcome (timeout after sending, a 500, an unreadable answer, a
  worker that died mid-call) is ``uncertain``: the job then *searches* the destination for the
  reference written into the description before anything else, and never sends again by itself —
  an operator links the remote id or forces a resend (``aduan open311 forward-link|forward-resend``).
  A back end answering with a ``token`` is asked ``tokens/{token}`` until it gives an id.
* Following (:func:`poll`, schedule ``open311.poll``): each destination's ``servicerequestupdates``
  since the last read (or, where it has none, ``requests?service_request_id=...``) become one
  timeline event each (``external_id`` = the remote update id, so a second read changes nothing);
  theirs closed resolves ours, theirs reopened reopens ours, through :mod:`aduan.services`.
* Replying (:func:`update_job`, job ``open311.update``): a reporter's reply is posted back as a
  service request update with our own unique ``update_id`` (the remote refuses a duplicate, so a
  post whose outcome is unknown is simply sent again).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
from urllib.parse import urlparse

import peewee as pw
from flask import current_app

from aduan import privacy, services
from aduan.auth import system
from aduan.db import database, utcnow
from aduan.events import JobRequest
from aduan.i18n import N_, configured_language, isoformat, render_note
from aduan.i18n import note as i18n_note
from aduan.jobs import PermanentFailure, RetryLater
from aduan.models import Agency, Category, Complaint, Event, Job, Region

from .client import GeoReportClient, NotSent, Open311ClientError, Rejected, Uncertain
from .models import (FWD_CREATED, FWD_FAILED, FWD_QUEUED, FWD_SENDING, FWD_SKIPPED, FWD_TOKEN, FWD_UNCERTAIN,
                     Open311Cursor, Open311Forward, Open311Outgoing)

log = logging.getLogger("aduan_open311.federation")
ACTOR = system("open311")
SOURCE = "open311"
DESCRIPTION_MAX = 4000
#: FixMyStreet's extended statuses that mean the request is finished on their side
REMOTE_CLOSED = frozenset({"closed", "fixed", "no_further_action", "not_councils_responsibility", "duplicate",
                           "internal_referral", "cancelled"})
#: seconds the updates window reaches back before the last read (clocks of two servers differ)
OVERLAP = dt.timedelta(minutes=10)
TOKEN_WAIT = 30
PAGE_SIZE = 200
MAX_PAGES = 50
FINISHED_LOCAL = ("closed", "archived", "rejected")
#: our reporter's actions posted back to the destination as service request updates
REPORTER_EVENTS = ("reply", "reopen", "close", "rate")


def cfg():
    return current_app.config


def destinations() -> dict:
    return cfg().get("OPEN311_DESTINATIONS") or {}


def label(name: str) -> str:
    dest = destinations().get(name) or {}
    return dest.get("label") or name


def client_for(name: str) -> GeoReportClient:
    dest = destinations().get(name)
    if dest is None:
        raise PermanentFailure(f"no Open311 destination {name!r} in OPEN311_DESTINATIONS")
    return GeoReportClient(name, dest, connect_timeout=cfg()["OPEN311_CONNECT_TIMEOUT"],
                           read_timeout=cfg()["OPEN311_READ_TIMEOUT"])


def _note(message: str, /, **variables) -> tuple[str, dict]:
    n = i18n_note(message, **variables)
    return render_note(n, configured_language()), n


def _record_note(complaint_id: int, message: str, key: str, *, visibility: str = "internal", **variables) -> None:
    """A timeline note about forwarding, once per ``key``."""
    text, n = _note(message, **variables)
    try:
        services.perform(Complaint(id=complaint_id), "comment", ACTOR, text=text, visibility=visibility,
                         source=SOURCE, external_id=key[:128], data={"note": n})
    except (services.ServiceError, Complaint.DoesNotExist) as exc:
        log.info("open311: note on complaint %s not recorded: %s", complaint_id, type(exc).__name__)


def _hash(text: str) -> str:
    return hashlib.sha256(" ".join(services.clean_text(text or "").split()).encode()).hexdigest()


# --- choosing a destination (inside the change's transaction: reads only) -------------------------

def destination_for(complaint_id: int) -> str | None:
    """The destination of the complaint's agency, else of its category (first by name), else ``None``."""
    dests = destinations()
    if not dests:
        return None
    row = (Complaint.select(Complaint.id, Agency.code.alias("agency_code"), Category.code.alias("category_code"))
           .join(Agency, pw.JOIN.LEFT_OUTER, on=(Complaint.agency == Agency.id)).switch(Complaint)
           .join(Category, pw.JOIN.LEFT_OUTER, on=(Complaint.category == Category.id))
           .where(Complaint.id == complaint_id).dicts().first())
    if row is None:
        return None
    for key, code in (("agencies", row["agency_code"]), ("categories", row["category_code"])):
        if code:
            for name in sorted(dests):
                if code in (dests[name].get(key) or ()):
                    return name
    return None


def plan(event) -> list[JobRequest] | None:
    """``enqueue_jobs``: the forward a dispatch or an explicit forward asks for; a reporter's reply to
    a forwarded complaint posted back. Reads only."""
    if not destinations():
        return None  # (what this module writes itself never triggers a job: no verify, transfer, reporter action)
    cid = event.complaint_id
    jobs = []
    name = None
    if event.type in ("verify", "transfer"):
        name = destination_for(cid)
    elif event.type == "comment" and (event.data or {}).get("open311_forward"):
        name = event.data["open311_forward"]
        if (event.data or {}).get("open311_resend"):
            jobs.append(JobRequest("open311.forward", {"complaint_id": cid, "destination": name},
                                   key=f"open311.forward:{cid}:{name}:ev{event.event_id}"))
            return jobs
    if name:
        jobs.append(JobRequest("open311.forward", {"complaint_id": cid, "destination": name},
                               key=f"open311.forward:{cid}:{name}"))
    if event.type in REPORTER_EVENTS and event.actor_role == "reporter":
        forwarded = (Open311Forward.select().where(Open311Forward.complaint == cid).exists()
                     or Job.select().where((Job.complaint == cid) & (Job.kind == "open311.forward")).exists())
        if forwarded:
            jobs.append(JobRequest("open311.update", {"event_id": event.event_id},
                                   key=f"open311.update:{event.event_id}"))
    return jobs or None


def forward_now(complaint: Complaint, name: str, actor, *, resend: bool = False) -> Event:
    """Forward a complaint explicitly (staff): an internal note on its timeline, the job in the same
    transaction. Raises ``KeyError`` for an unknown destination."""
    if name not in destinations():
        raise KeyError(name)
    msg = (N_("Sent again to %(destination)s over Open311 (forced by an operator).") if resend
           else N_("Forwarded to %(destination)s over Open311."))
    text, n = _note(msg, destination=label(name))
    data = {"note": n, "open311_forward": name}
    if resend:
        data["open311_resend"] = True
    return services.perform(complaint, "comment", actor, text=text, visibility="internal", data=data)


# --- what is sent ---------------------------------------------------------------------------------

def reference_for(c: Complaint, name: str) -> str:
    host = urlparse(cfg()["BASE_URL"]).netloc or "aduan"
    return f"aduan:{host}:{c.tracking_id}:{name}"[:128]


def service_code_for(c: Complaint, dest: dict) -> str:
    code = c.category.code if c.category_id else None
    return (dest.get("service_codes") or {}).get(code or "") or dest.get("default_service_code") or code or ""


def _region_name(code: str | None) -> str:
    if not code:
        return ""
    parts = code.split(".")
    codes = [".".join(parts[:i]) for i in range(len(parts), 0, -1)]
    names = {r.code: r.name for r in Region.select(Region.code, Region.name).where(Region.code.in_(codes))}
    return ", ".join(names[x] for x in codes if x in names)


def request_form(c: Complaint, f: Open311Forward, dest: dict) -> dict:
    """The ``POST requests`` form, built from the ``external`` view of the privacy layer.

    Sent: title and description (with our reference on its last line), the location (lat/long, else
    the address and region names), the first public photo as ``media_url`` (not for a secret
    complaint). The reporter's name, e-mail and phone only with the destination's ``send_identity``
    and never for an anonymous reporter; the NIK never.
    """
    view = privacy.external_payload(c)
    ref_line = f"\n\nRef: {f.reference}"
    text = "\n\n".join(t for t in (view.get("title"), view.get("body")) if t)
    form = {
        "service_code": f.service_code,
        "description": text[:DESCRIPTION_MAX - len(ref_line)] + ref_line,
    }
    if view.get("lat") is not None and view.get("lng") is not None:
        form.update(lat=f"{view['lat']:.6f}", long=f"{view['lng']:.6f}")
    place = ", ".join(p for p in (view.get("address"), _region_name(c.region_id)) if p)
    form["address_string"] = place or "Indonesia"
    if dest.get("send_identity") and privacy.shows_identity(c, "external"):
        rep = view.get("reporter") or {}
        name = (rep.get("name") or "").split(None, 1)
        if name:
            form["first_name"] = name[0]
            form["last_name"] = name[1] if len(name) > 1 else ""
        if rep.get("email"):
            form["email"] = rep["email"]
        if rep.get("phone"):
            form["phone"] = rep["phone"]
    if not c.secret:
        from .web import _media_urls

        media = _media_urls([c]).get(c.id)
        if media:
            form["media_url"] = media
    return form


# --- the forward row ------------------------------------------------------------------------------

def forward_row(c: Complaint, name: str) -> Open311Forward:
    f = Open311Forward.get_or_none((Open311Forward.complaint == c.id) & (Open311Forward.destination == name))
    if f is not None:
        return f
    now = utcnow()
    try:
        with database.atomic():
            return Open311Forward.create(complaint=c.id, destination=name, reference=reference_for(c, name),
                                         service_code=service_code_for(c, destinations()[name]),
                                         created_at=now, updated_at=now)
    except pw.IntegrityError:
        return Open311Forward.get((Open311Forward.complaint == c.id) & (Open311Forward.destination == name))


def _set(f: Open311Forward, **fields) -> None:
    fields["updated_at"] = utcnow()
    with database.atomic():
        Open311Forward.update(**fields).where(Open311Forward.id == f.id).execute()


def _claim(f: Open311Forward, expected: str, new: str, **fields) -> bool:
    fields.update(state=new, updated_at=utcnow())
    with database.atomic():
        return Open311Forward.update(**fields).where(
            (Open311Forward.id == f.id) & (Open311Forward.state == expected)).execute() == 1


def _created(f: Open311Forward, remote_id: str, how: str) -> None:
    now = utcnow()
    try:
        with database.atomic():
            Open311Forward.update(state=FWD_CREATED, remote_id=remote_id, token=None, last_error=None,
                                  updated_at=now).where(Open311Forward.id == f.id).execute()
            # replies that waited for the create go now
            Job.update(run_at=now, updated_at=now).where(
                (Job.complaint == f.complaint_id) & (Job.kind == "open311.update") & (Job.status == "pending")
                & (Job.run_at > now)).execute()
    except pw.IntegrityError:
        _set(f, state=FWD_UNCERTAIN, last_error=f"the destination answered id {remote_id}, already linked to "
                                                "another complaint")
        raise PermanentFailure(f"{f.destination}: id {remote_id} already linked to another complaint") from None
    _record_note(f.complaint_id, N_("Received by %(destination)s over Open311 as request %(id)s."),
                 f"forward:{f.destination}:{remote_id}", destination=label(f.destination), id=remote_id)
    log.info("open311: complaint %s forwarded to %s as %s (%s)", f.complaint_id, f.destination, remote_id, how)


# --- job open311.forward ------------------------------------------------------------------------

def forward_job(app, payload: dict, job) -> None:
    c = Complaint.get_or_none(Complaint.id == payload.get("complaint_id"))
    name = payload.get("destination")
    if c is None:
        return
    dest = destinations().get(name)
    if dest is None:
        raise PermanentFailure(f"no Open311 destination {name!r} in OPEN311_DESTINATIONS")
    f = forward_row(c, name)
    if f.state == FWD_SENDING:
        lease = dt.timedelta(seconds=cfg()["JOB_LEASE_SECONDS"])
        if f.updated_at > utcnow() - lease:
            raise RetryLater("another worker is sending this forward", delay=cfg()["JOB_LEASE_SECONDS"], count=False)
        # the worker died while the create was in flight: its outcome is unknown
        _claim(f, FWD_SENDING, FWD_UNCERTAIN, last_error="interrupted while sending: outcome unknown")
        f = Open311Forward.get_by_id(f.id)
    if f.state in (FWD_CREATED, FWD_FAILED, FWD_SKIPPED):
        return
    if c.secret and not dest.get("forward_secret"):
        _set(f, state=FWD_SKIPPED, last_error="secret complaint: not forwarded (forward_secret is off)")
        _record_note(c.id, N_("Not forwarded to %(destination)s: the complaint is secret."),
                     f"skipped:{name}", destination=label(name))
        return
    api = client_for(name)
    if f.state == FWD_UNCERTAIN:
        return _search(api, f)
    if f.state == FWD_TOKEN:
        return _follow_token(api, f)
    form = request_form(c, f, dest)
    if not _claim(f, FWD_QUEUED, FWD_SENDING, attempts=Open311Forward.attempts + 1, sent_at=utcnow()):
        raise RetryLater("another worker holds this forward", delay=30, count=False)
    try:
        answer = api.create(form)
    except NotSent as exc:
        _claim(f, FWD_SENDING, FWD_QUEUED, last_error=str(exc))
        raise RetryLater(str(exc)) from None
    except Rejected as exc:
        _claim(f, FWD_SENDING, FWD_FAILED, last_error=str(exc))
        _record_note(c.id, N_("%(destination)s refused the forwarded complaint: %(error)s"),
                     f"failed:{name}:{f.attempts + 1}", destination=label(name), error=str(exc))
        raise PermanentFailure(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - sent or maybe sent: never resend blindly
        msg = str(exc) if isinstance(exc, Uncertain) else f"{type(exc).__name__} while sending; outcome unknown"
        _claim(f, FWD_SENDING, FWD_UNCERTAIN, last_error=msg)
        _record_note(c.id, N_("Forwarding to %(destination)s: the outcome is unknown; the request is looked "
                              "for there before anything is sent again."),
                     f"uncertain:{name}:{f.attempts + 1}", destination=label(name))
        raise RetryLater(msg) from None
    if answer["service_request_id"]:
        _created(f, answer["service_request_id"], "id")
    else:
        _claim(f, FWD_SENDING, FWD_TOKEN, token=answer["token"], last_error=None)
        raise RetryLater(f"{name}: answered with token; waiting for its id", delay=TOKEN_WAIT, count=False)


def _follow_token(api: GeoReportClient, f: Open311Forward) -> None:
    try:
        remote_id = api.token(f.token)
    except Rejected as exc:
        if exc.status == 404:  # not known (yet): batch back ends list a token only once processed
            raise RetryLater(f"{f.destination}: token not known yet", delay=TOKEN_WAIT) from None
        _set(f, last_error=str(exc))
        raise RetryLater(str(exc)) from None
    except Open311ClientError as exc:
        _set(f, last_error=str(exc))
        raise RetryLater(str(exc)) from None
    if not remote_id:
        raise RetryLater(f"{f.destination}: token has no id yet", delay=TOKEN_WAIT, count=False)
    _created(f, remote_id, "token")


def find_remote(api: GeoReportClient, f: Open311Forward) -> str | None:
    """Look for our reference among the destination's requests of that service around the send."""
    start = (f.sent_at or f.created_at) - dt.timedelta(days=1)
    end = utcnow() + dt.timedelta(days=1)
    params = {"service_code": f.service_code, "start_date": isoformat(start), "end_date": isoformat(end)}
    needle = f"Ref: {f.reference}"
    for page in range(1, MAX_PAGES + 1):
        rows = api.requests({**params, "page": page, "page_size": PAGE_SIZE})
        for r in rows:
            if needle in str(r.get("description") or "") and r.get("service_request_id"):
                return str(r["service_request_id"])
        if len(rows) < PAGE_SIZE:
            return None
    return None


def _search(api: GeoReportClient, f: Open311Forward) -> None:
    try:
        remote_id = find_remote(api, f)
    except Open311ClientError as exc:
        raise RetryLater(f"{f.destination}: searching for an uncertain create failed: {exc}") from None
    if remote_id:
        _created(f, remote_id, "found by reference")
        return
    # not (yet) listed there: look again later; when the job's attempts run out it is dead and the
    # forward waits, uncertain, for an operator (link the remote id, or force a resend)
    raise RetryLater(f"{f.destination}: the create's outcome is unknown and {f.reference} is not listed there "
                     "(yet); not resent automatically: `aduan open311 forward-link` or `forward-resend`")


# --- operator decisions ---------------------------------------------------------------------------

def link(f: Open311Forward, remote_id: str) -> Open311Forward:
    """An operator found the remote request: record its id (a forward in any state but created)."""
    if f.state == FWD_CREATED:
        raise ValueError("this forward already has its remote id")
    if Open311Forward.select().where((Open311Forward.destination == f.destination)
                                     & (Open311Forward.remote_id == remote_id)).exists():
        raise ValueError(f"{remote_id} is already linked to another complaint")
    _created(f, remote_id, "linked by an operator")
    return Open311Forward.get_by_id(f.id)


def resend(f: Open311Forward, actor) -> Open311Forward:
    """An operator checked that the remote has nothing: send again (uncertain or failed forwards)."""
    if f.state not in (FWD_UNCERTAIN, FWD_FAILED):
        raise ValueError(f"only an uncertain or failed forward can be sent again (this one is {f.state})")
    with database.atomic():
        _set(f, state=FWD_QUEUED, last_error=None)
        forward_now(Complaint.get_by_id(f.complaint_id), f.destination, actor, resend=True)
    return Open311Forward.get_by_id(f.id)


def forward_view(f: Open311Forward) -> dict:
    return {"id": f.id, "tracking_id": f.complaint.tracking_id, "destination": f.destination,
            "state": f.state, "remote_id": f.remote_id, "service_code": f.service_code,
            "remote_status": f.remote_status, "attempts": f.attempts, "last_error": f.last_error,
            "sent_at": isoformat(f.sent_at), "updated_at": isoformat(f.updated_at)}


# --- job open311.update: a reporter's reply posted back -------------------------------------------

def update_job(app, payload: dict, job) -> None:
    ev = Event.get_or_none(Event.id == payload.get("event_id"))
    if ev is None:
        return
    c = Complaint.get_by_id(ev.complaint_id)
    forwards = list(Open311Forward.select().where(Open311Forward.complaint == c.id))
    waiting = [f for f in forwards if f.state in (FWD_QUEUED, FWD_SENDING, FWD_TOKEN, FWD_UNCERTAIN)]
    if not forwards or waiting:
        pending = Job.select().where((Job.complaint == c.id) & (Job.kind == "open311.forward")
                                     & Job.status.in_(["pending", "running"])).exists()
        if waiting or pending:
            raise RetryLater("the complaint is not at its destination yet; the reply waits", delay=60, count=False)
        return
    text = privacy.event_view(ev, c, "external").get("text") or ""
    if not text and ev.type == "reply":
        return
    for f in forwards:
        if f.state == FWD_CREATED and f.destination in destinations():
            _post_update(f, ev, text, update_status(ev, f))


def update_status(ev: Event, f: Open311Forward) -> str:
    """The FixMyStreet status sent with our reporter's action: the request's status after it.

    ``reopen`` → ``reopen``; ``close`` or ``rate`` → ``closed`` (the reporter accepts the answer); a
    ``reply`` → ``open``, or, while the destination has closed the request, its own closed status
    (a reply does not reopen it; the reporter's ``reopen`` does).
    """
    if ev.type == "reopen":
        return "reopen"
    if ev.type in ("close", "rate"):
        return "closed"
    if (f.remote_status or "") in REMOTE_CLOSED:
        return f.remote_status
    return "open"


def _post_update(f: Open311Forward, ev: Event, text: str, status: str) -> None:
    now = utcnow()
    try:
        with database.atomic():
            out = Open311Outgoing.create(event=ev.id, forward=f.id, update_id=f"{f.reference}:e{ev.id}"[:128],
                                         text_hash=_hash(text), created_at=now, updated_at=now)
    except pw.IntegrityError:
        out = Open311Outgoing.get((Open311Outgoing.event == ev.id) & (Open311Outgoing.forward == f.id))
    if out.state in (FWD_CREATED, FWD_FAILED):
        return
    api = client_for(f.destination)
    form = {"service_request_id": f.remote_id, "update_id": out.update_id, "status": status,
            "updated_datetime": isoformat(ev.created_at), "description": text[:DESCRIPTION_MAX]}
    tried_before = out.state == FWD_UNCERTAIN

    def mark(**fields):
        fields["updated_at"] = utcnow()
        with database.atomic():
            Open311Outgoing.update(**fields).where(Open311Outgoing.id == out.id).execute()

    try:
        answer = api.post_update(form)
    except NotSent as exc:
        mark(attempts=Open311Outgoing.attempts + 1, last_error=str(exc))
        raise RetryLater(str(exc)) from None
    except Rejected as exc:
        if tried_before and exc.status == 400:
            # an earlier post whose answer was lost did arrive: the remote refuses the same update_id again
            mark(state=FWD_CREATED, last_error=f"already there: {exc}")
            return
        mark(state=FWD_FAILED, attempts=Open311Outgoing.attempts + 1, last_error=str(exc))
        raise PermanentFailure(str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - maybe posted: the update_id makes sending again safe
        mark(state=FWD_UNCERTAIN, attempts=Open311Outgoing.attempts + 1, last_error=str(exc)[:2000])
        raise RetryLater(str(exc)) from None
    # the id the destination gives the update, so it is not read back as one of theirs
    item = answer[0] if isinstance(answer, list) and answer and isinstance(answer[0], dict) else answer
    remote = str(item.get("update_id") or "")[:128] if isinstance(item, dict) else ""
    mark(state=FWD_CREATED, attempts=Open311Outgoing.attempts + 1, last_error=None, remote_update_id=remote or None)


# --- schedule open311.poll: follow the forwarded complaints ---------------------------------------

def poll(app) -> dict:
    """Read every destination's updates and turn them into timeline events (once each)."""
    totals = {"destinations": 0, "applied": 0, "errors": 0}
    for name in sorted(destinations()):
        active = list(Open311Forward.select(Open311Forward, Complaint).join(Complaint).where(
            (Open311Forward.destination == name) & (Open311Forward.state == FWD_CREATED)
            & (Open311Forward.finished == False)))  # noqa: E712
        if not active:
            continue
        totals["destinations"] += 1
        try:
            totals["applied"] += poll_destination(name, active)
        except Open311ClientError as exc:
            totals["errors"] += 1
            log.info("open311: polling %s failed: %s", name, exc)
            with database.atomic():
                Open311Cursor.insert(destination=name, last_error=str(exc)[:2000], updated_at=utcnow()).on_conflict(
                    conflict_target=[Open311Cursor.destination],
                    update={Open311Cursor.last_error: str(exc)[:2000], Open311Cursor.updated_at: utcnow()}).execute()
    # wake the forwards waiting on a token or a search, so a destination that came back is used at once
    return totals


def poll_destination(name: str, active: list[Open311Forward]) -> int:
    api = client_for(name)
    started = utcnow()
    cursor = Open311Cursor.get_or_none(Open311Cursor.destination == name)
    by_remote = {f.remote_id: f for f in active}
    applied = 0
    if cursor is None or cursor.has_updates:
        since = (cursor.polled_until if cursor and cursor.polled_until else min(
            (f.sent_at or f.created_at) for f in active)) - OVERLAP
        try:
            updates = _all_updates(api, since)
        except Rejected as exc:
            if exc.status not in (404, 400):
                raise
            updates = None  # this back end has no servicerequestupdates: read the requests instead
        if updates is not None:
            updates.sort(key=lambda u: (str(u.get("updated_datetime") or ""), str(u.get("update_id") or "")))
            for u in updates:
                f = by_remote.get(str(u.get("service_request_id") or ""))
                if f is not None:
                    applied += apply_update(f, u)
            _save_cursor(name, polled_until=started, has_updates=True)
            _finish_done(active)
            return applied
        _save_cursor(name, polled_until=started, has_updates=False)
    ids = list(by_remote)
    for i in range(0, len(ids), 50):
        for r in api.requests({"service_request_id": ",".join(ids[i:i + 50])}):
            f = by_remote.get(str(r.get("service_request_id") or ""))
            status = str(r.get("status") or "").lower()
            if f is None or not status or status == (f.remote_status or "open"):
                continue
            synthetic = {"update_id": f"status:{status}:{r.get('updated_datetime') or ''}",
                         "status": status, "description": r.get("status_notes") or "",
                         "updated_datetime": r.get("updated_datetime")}
            applied += apply_update(f, synthetic)
    _finish_done(active)
    return applied


def _all_updates(api: GeoReportClient, since: dt.datetime) -> list[dict]:
    out, seen = [], set()
    for page in range(1, MAX_PAGES + 1):
        rows = api.updates({"start_date": isoformat(since), "page": page, "page_size": PAGE_SIZE})
        fresh = [r for r in rows if (r.get("update_id"), r.get("service_request_id")) not in seen]
        seen.update((r.get("update_id"), r.get("service_request_id")) for r in rows)
        out += fresh
        if len(rows) < PAGE_SIZE or not fresh:  # the last page, or a back end that ignores paging
            break
    return out


def _save_cursor(name: str, **fields) -> None:
    fields.update(updated_at=utcnow(), last_error=None)
    with database.atomic():
        Open311Cursor.insert(destination=name, **fields).on_conflict(
            conflict_target=[Open311Cursor.destination],
            update={getattr(Open311Cursor, k): v for k, v in fields.items()}).execute()


def _finish_done(active: list[Open311Forward]) -> None:
    done = [f.id for f in active if Complaint.get_by_id(f.complaint_id).status in FINISHED_LOCAL]
    if done:
        with database.atomic():
            Open311Forward.update(finished=True, updated_at=utcnow()).where(Open311Forward.id.in_(done)).execute()


def apply_update(f: Open311Forward, u: dict) -> int:
    """One remote update → at most one timeline event (``external_id`` = the remote update id)."""
    update_id = str(u.get("update_id") or "").strip()
    if not update_id:
        return 0
    key = f"{f.destination}:{update_id}"[:128]
    status = str(u.get("status") or "").strip().lower()
    desc = services.clean_text(str(u.get("description") or ""))[:services.MAX_BODY - 300]
    echo = Open311Outgoing.remote_update_id == update_id
    if desc:
        echo = echo | (Open311Outgoing.text_hash == _hash(desc))
    if Open311Outgoing.select().where((Open311Outgoing.forward == f.id) & echo).exists():
        if status:
            _set(f, remote_status=status)
        return 0  # our own reporter's action, read back
    c = Complaint.get_by_id(f.complaint_id)
    was_closed = (f.remote_status or "") in REMOTE_CLOSED
    dest = label(f.destination)
    if status in REMOTE_CLOSED and c.status in ("dispatched", "in_progress", "on_hold"):
        action = "resolve"
        text, n = (_note(N_("%(destination)s: %(text)s"), destination=dest, text=desc) if desc else
                   _note(N_("%(destination)s closed the request (%(status)s)."), destination=dest, status=status))
    elif status and status not in REMOTE_CLOSED and c.status == "resolved" and was_closed:
        action = "reopen"
        text, n = (_note(N_("%(destination)s reopened the request: %(text)s"), destination=dest, text=desc) if desc
                   else _note(N_("%(destination)s reopened the request."), destination=dest))
    else:
        action = "respond" if desc and c.status in ("dispatched", "in_progress") else "comment"
        text, n = (_note(N_("%(destination)s: %(text)s"), destination=dest, text=desc) if desc else
                   _note(N_("%(destination)s: the request is now %(status)s."), destination=dest,
                         status=status or "open"))
    data = {"note": n, "open311": {"destination": f.destination, "update_id": update_id, "status": status}}
    ev = None
    for act in (action, "comment"):
        try:
            ev = services.perform(Complaint(id=c.id), act, ACTOR, text=text, visibility="public", source=SOURCE,
                                  external_id=key, data=data)
            break
        except services.Conflict:
            continue  # the action does not fit our state (any more): keep the update as a note
        except services.ServiceError as exc:
            log.info("open311: update %s of complaint %s not recorded: %s", key, c.id, type(exc).__name__)
            break
    if status:
        _set(f, remote_status=status, remote_updated=str(u.get("updated_datetime") or "")[:64])
    return 1 if ev is not None else 0
