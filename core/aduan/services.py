"""The only place that changes complaints.

Each public function runs one transaction that updates the complaint row, appends an
:class:`~aduan.models.Event` to its timeline, and writes the outbox jobs plugins ask for
(``enqueue_jobs``); after commit, plugins observe the change (``track_event``). Channels (API,
SMS, email, Open311, LAPOR! import) all come through here, so the workflow and the SLA clocks
apply to every one of them.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import re
import time
import unicodedata
from typing import Any, BinaryIO, Callable, Mapping

import peewee as pw
import phonenumbers
from cryptography.fernet import MultiFernet
from flask import current_app

from . import keys, workflow
from .auth import Actor, hash_access_code, normalise_code, random_code
from .db import create_row, database, is_postgres, select_row, update_rows, utcnow
from .events import DomainEvent
from .i18n import N_, gettext as _, configured_language, isoformat, normalize, note, render_note, requested_language
from .jobs import enqueue
from .models import (KINDS, URGENCIES, Agency, Attachment, Category, Complaint, Event, Region,
                     Reporter)
from .privacy import can_see
from .sla import Deadlines, overdue_conditions, overdue_stages

TRACKING_LEN = 8
ACCESS_CODE_LEN = 10
MAX_BODY = 10_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


class ServiceError(Exception):
    status = 400


class InvalidInput(ServiceError):
    """Bad input; ``errors`` maps field names to messages (a 422 with field messages)."""

    status = 422

    def __init__(self, errors: Mapping[str, Any]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409

    def __init__(self, message: str, allowed: list[str] | None = None):
        super().__init__(message)
        self.allowed = allowed or []


def _state():
    return current_app.extensions["aduan"]


# --- small helpers shared by channels ---------------------------------------------------------

def clean_text(value: str | None, *, multiline: bool = True) -> str:
    """NFC-normalise, drop control and bidi-override characters, trim. Emoji and all scripts stay."""
    if value is None:
        return ""
    value = unicodedata.normalize("NFC", str(value))
    value = _CONTROL.sub("", value)
    if not multiline:
        value = " ".join(value.split())
    return value.strip()


@functools.lru_cache(maxsize=4096)  # a pure function, ~0.1 ms a call; a text channel asks twice per message
def normalise_phone(raw: str | None, region: str = "ID") -> str | None:
    """E.164 for a valid number (``0812…``, ``+62812…``, ``62812…``, ``0062812…``), else ``None``.

    Short codes and alphanumeric sender ids are not numbers a citizen can be reached at: ``None``.
    """
    if not raw:
        return None
    s = re.sub(r"[^\d+]", "", raw)
    if s.startswith("00"):
        s = "+" + s[2:]
    elif s.startswith("62") and len(s) >= 10:
        s = "+" + s
    try:
        num = phonenumbers.parse(s, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def normalise_tracking_id(value: str) -> str:
    return normalise_code(value)


def _legacy_nik_key(secret: str) -> bytes:
    """How releases up to 0.1 derived the NIK key (kept so their ciphertexts still decrypt)."""
    return hashlib.sha256(("nik|" + secret).encode()).digest()


def _fernet() -> MultiFernet:
    """NIK_KEY (then NIK_KEYS_OLD) when set, else the key derived from SECRET_KEY; every older key
    in use still decrypts (:mod:`aduan.keys`)."""
    cfg = current_app.config
    return keys.fernet("nik", cfg, primary=[cfg.get("NIK_KEY"), *(cfg.get("NIK_KEYS_OLD") or [])],
                       legacy=_legacy_nik_key)


def encrypt_nik(nik: str) -> tuple[str, str]:
    return _fernet().encrypt(nik.encode()).decode(), "*" * 12 + nik[-4:]


def decrypt_nik(reporter: Reporter) -> str | None:
    """For coordinators who must verify identity in person; never for display or export."""
    if not reporter.nik_encrypted:
        return None
    return _fernet().decrypt(reporter.nik_encrypted.encode()).decode()


def find_complaint(tracking_id: str) -> Complaint:
    """The complaint with this tracking id (any case or spacing), or :class:`NotFound`."""
    tid = normalise_tracking_id(tracking_id)
    c = select_row(Complaint, tracking_id=tid)
    if c is None:
        # the id as it is written (upper case, no spaces), as the message about a complaint out of
        # reach writes it: the two must not differ
        raise NotFound(_("No complaint with tracking id %(tid)s.", tid=tid[:64] or tracking_id[:64]))
    return c


def visible_complaint(tracking_id: str, actor: Actor) -> Complaint:
    """The complaint ``actor`` may see, for staff routes of plugins (a complaint's messages, its
    LAPOR! ticket…). One that exists but is out of the actor's reach (another agency's, for an
    officer) is :class:`NotFound` with the very message of an unknown tracking id, so a route never
    confirms that a complaint exists to someone who may not see it."""
    c = find_complaint(tracking_id)
    if not can_see(actor, c):
        raise NotFound(_("No complaint with tracking id %(tid)s.", tid=c.tracking_id))
    return c


# --- events -----------------------------------------------------------------------------------

def _record(complaint: Complaint, etype: str, actor: Actor, *, from_status=None, to_status=None,
            from_agency=None, to_agency=None, text="", visibility="public", data=None, source=None,
            external_id=None, now=None) -> Event:
    st = _state()
    ev = create_row(Event, complaint=complaint, type=etype, actor=actor.user_id, actor_role=actor.role,
                      from_status=from_status, to_status=to_status, from_agency=from_agency, to_agency=to_agency,
                      text=text, visibility=visibility, data=data or None,
                      source=source or actor.label or "core",
                      external_id=external_id, created_at=now or utcnow())
    dom = DomainEvent(type=etype, complaint_id=complaint.id, tracking_id=complaint.tracking_id, event_id=ev.id,
                      from_status=from_status, to_status=to_status, agency_id=complaint.agency_id,
                      from_agency_id=from_agency, actor_role=actor.role, channel=complaint.channel,
                      visibility=visibility, text=text, source=ev.source, occurred_at=ev.created_at,
                      data=dict(data or {}))
    for req in st.hooks.enqueue_jobs(dom):
        if req.complaint_id is None:
            req = type(req)(**{**req.__dict__, "complaint_id": complaint.id})
        enqueue(req, default_max_attempts=current_app.config["JOB_MAX_ATTEMPTS"])
    app = current_app._get_current_object()
    database.after_commit(lambda: st.hooks.track_event(app, dom))
    return ev


# --- filing -----------------------------------------------------------------------------------

_UNKNOWN = {
    "category_id": lambda v: _("Unknown category: %(value)s", value=v),
    "category": lambda v: _("Unknown category: %(value)s", value=v),
    "region_code": lambda v: _("Unknown region: %(value)s", value=v),
    "agency_id": lambda v: _("Unknown agency: %(value)s", value=v),
}


#: Most entries a process keeps in its category/region lookup cache (then it starts afresh).
LOOKUP_CACHE_MAX = 4096


def _cache_get(cache: dict, key, now: float, model):
    """A fresh ``model`` instance from a live entry of the lookup cache, or None."""
    hit = cache.get(key)
    if hit is None or hit[0] < now:
        return None
    inst = model(__no_default__=1)
    inst.__data__ = dict(hit[1])
    return inst


def _cache_put(cache: dict, key, now: float, ttl: float, value) -> None:
    if len(cache) >= LOOKUP_CACHE_MAX:
        cache.clear()
    cache[key] = (now + ttl, value)


def cached_value(key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept under ``key`` in the same per-app cache as the directory rows
    (``LOOKUP_CACHE_SECONDS``, emptied by :func:`forget_lookups`), for values derived from them that a
    hot path needs again and again (a plugin's region names, say). ``key`` begins with the caller's
    name. An empty value is not kept."""
    ttl = current_app.config.get("LOOKUP_CACHE_SECONDS", 0)
    if not ttl:
        return compute()
    cache, now = _state().lookup_cache, time.monotonic()
    hit = cache.get(key)
    if hit is not None and hit[0] >= now:
        return hit[1]
    value = compute()
    if value:
        _cache_put(cache, key, now, ttl, value)
    return value


def _cached_row(model, by: str, value):
    """``model`` row whose ``by`` column equals ``value``, from a per-app cache of
    ``LOOKUP_CACHE_SECONDS`` (a filing looked both up on every request). Each call returns a fresh
    instance (callers may hold or change it). Writers in this process call :func:`forget_lookups`
    after commit; other processes see an admin's change once their entry expires. Misses are not
    cached (an unknown code costs a query, and cannot fill memory)."""
    ttl = current_app.config.get("LOOKUP_CACHE_SECONDS", 0)
    if not ttl:
        return model.get_or_none(getattr(model, by) == value)
    cache, key, now = _state().lookup_cache, (model.__name__, by, value), time.monotonic()
    inst = _cache_get(cache, key, now, model)
    if inst is None:
        inst = model.get_or_none(getattr(model, by) == value)
        if inst is not None:
            _cache_put(cache, key, now, ttl, dict(inst.__data__))
    return inst


def cached_rows(model, by: str, values) -> dict:
    """``{value: row}`` for the ``model`` rows whose ``by`` column is one of ``values``, from the same
    per-app cache as :func:`_cached_row` (``LOOKUP_CACHE_SECONDS``): the rows not cached are read in
    one query. For lists, whose every page names a few agencies, categories and regions: joining
    those tables cost the database more to plan than to run (bench/HISTORY.md). Instances are shared
    by the rows of one call; unknown values are left out."""
    from .db import among

    wanted = {v for v in values if v is not None}
    if not wanted:
        return {}
    ttl = current_app.config.get("LOOKUP_CACHE_SECONDS", 0)
    cache = _state().lookup_cache if ttl else {}
    now = time.monotonic()
    out, missing = {}, []
    for v in wanted:
        inst = _cache_get(cache, (model.__name__, by, v), now, model)
        if inst is not None:
            out[v] = inst
        else:
            missing.append(v)
    if missing:
        for row in model.select().where(among(getattr(model, by), sorted(missing))):
            value = getattr(row, by)
            out[value] = row
            if ttl:
                _cache_put(cache, (model.__name__, by, value), now, ttl, dict(row.__data__))
    return out


def forget_lookups(app=None) -> None:
    """Drop the cached categories and regions of this process (call after changing them)."""
    from flask import has_app_context

    if app is None and not has_app_context():
        return
    st = (app or current_app).extensions.get("aduan")
    if st is not None:
        st.lookup_cache.clear()


def _lookup(model, value, field_name, errors, *, by="id"):
    if value in (None, ""):
        return None
    if isinstance(value, bool) or (by == "id" and not isinstance(value, int)):
        q = model.get_or_none(getattr(model, by) == value)
    else:
        q = _cached_row(model, by, value)
    if q is None or (hasattr(q, "active") and not q.active):
        errors[field_name] = [_UNKNOWN[field_name](value)]
    return q


def _one_of(choices) -> str:
    return _("Must be one of: %(choices)s.", choices=", ".join(choices))


def _at_most(n: int) -> str:
    return _("At most %(num)d characters.", num=n)


def filing_language(data: Mapping[str, Any], *, reporter: Reporter | None = None, actor: Actor | None = None,
                    channel: str = "web") -> str:
    """The reporter's language recorded at filing, in order: the one given (``reporter.language``,
    or ``language`` when there is no reporter); the language of a contact a channel matched; the
    language the citizen's own request asked for (``?lang=``, ``Accept-Language``: web filings by the
    reporter only, never a provider's webhook or a staff member's browser); the deployment's."""
    chosen = normalize((data.get("reporter") or {}).get("language")) or normalize(data.get("language"))
    if chosen:
        return chosen
    if reporter is not None and normalize(reporter.language):
        return normalize(reporter.language)
    if channel == "web" and (actor is None or actor.role in ("reporter", "public")):
        from flask import has_request_context, request

        if has_request_context():
            asked = requested_language(request)
            if asked:
                return asked
    return configured_language()


def file_complaint(data: Mapping[str, Any], *, actor: Actor, channel: str = "web", reporter: Reporter | None = None,
                   now: dt.datetime | None = None, source: str | None = None,
                   external_id: str | None = None) -> tuple[Complaint, str]:
    """File a new complaint; returns it with its one-time access code (shown to the reporter once).

    ``data`` keys: ``kind``, ``title``, ``body`` (required), ``category_id`` or ``category``
    (code), ``urgency``, ``anonymous``, ``secret``, ``share_identity``, ``reporter`` (``name``,
    ``phone``, ``email``, ``nik``, ``language``), ``lat``, ``lng``, ``address``, ``region_code``,
    ``incident_date``, ``language`` (the reporter's language when there is no ``reporter``; see
    :func:`filing_language`). Channels pass an existing ``reporter`` they matched themselves.

    Called inside the caller's transaction (the conversation engine, the Open311 and LAPOR! imports)
    it writes in that transaction, without a savepoint of its own (two statements fewer per
    filing): an error while writing propagates with the rows written so far still in the caller's
    transaction, which must then be rolled back (leaving the caller's ``atomic`` block does that).
    Alone, it commits its rows in one transaction.
    """
    errors: dict[str, list[str]] = {}
    now = now or utcnow()
    body = clean_text(data.get("body"))
    title = clean_text(data.get("title"), multiline=False)
    if not body:
        errors["body"] = [_("The complaint text is required.")]
    elif len(body) > MAX_BODY:
        errors["body"] = [_at_most(MAX_BODY)]
    if not title and body:
        title = " ".join(body.split())[:80]
    if len(title) > 255:
        errors["title"] = [_at_most(255)]
    kind = data.get("kind") or "pengaduan"
    if kind not in KINDS:
        errors["kind"] = [_one_of(KINDS)]
    category = _lookup(Category, data.get("category_id"), "category_id", errors)
    if category is None and data.get("category"):
        category = _lookup(Category, data.get("category"), "category", errors, by="code")
    urgency = data.get("urgency") or (category.default_urgency if category else "biasa")
    if urgency not in URGENCIES:
        errors["urgency"] = [_one_of(URGENCIES)]
    region = _lookup(Region, data.get("region_code"), "region_code", errors, by="code")
    lat, lng = data.get("lat"), data.get("lng")
    if (lat is None) != (lng is None):
        errors["lat" if lat is None else "lng"] = [_("Latitude and longitude go together.")]
    for k, v, lim in (("lat", lat, 90), ("lng", lng, 180)):
        if v is not None and not (-lim <= float(v) <= lim):
            errors[k] = [_("Must be between %(min)s and %(max)s.", min=-lim, max=lim)]
    rep_data = dict(data.get("reporter") or {})
    nik = clean_text(rep_data.get("nik")) if rep_data.get("nik") else None
    if nik and not re.fullmatch(r"[0-9]{16}", nik):  # ASCII: "\d" takes any script's digits
        errors["reporter"] = {"nik": [_("NIK must be 16 digits.")]}
    phone_raw = clean_text(rep_data.get("phone"), multiline=False) or None
    phone = normalise_phone(phone_raw) if phone_raw else None
    if phone_raw and phone is None and channel == "web":
        errors["reporter"] = {**(errors.get("reporter") or {}), "phone": [_("Not a valid phone number.")]}
    anonymous = bool(data.get("anonymous"))
    if errors:
        raise InvalidInput(errors)
    language = filing_language(data, reporter=reporter, actor=actor, channel=channel)

    st = _state()
    deadlines = Deadlines(current_app.config, st.calendar).on_file(now, urgency)
    code = random_code(ACCESS_CODE_LEN)
    with (contextlib.nullcontext() if database.in_transaction() else database.atomic()):
        if reporter is None and (rep_data.get("name") or phone_raw or rep_data.get("email") or nik):
            enc, masked = encrypt_nik(nik) if nik else (None, None)
            reporter = create_row(
                Reporter, name=clean_text(rep_data.get("name"), multiline=False) or None, phone=phone, phone_raw=phone_raw,
                email=(clean_text(rep_data.get("email"), multiline=False).lower() or None),
                nik_encrypted=enc, nik_masked=masked, language=language, created_at=now)
        for _attempt in range(8):
            tid = random_code(TRACKING_LEN)
            c = create_row(
                Complaint, unless_taken="tracking_id", tracking_id=tid, access_code_hash=hash_access_code(tid, code),
                kind=kind, title=title, body=body, category=category, agency=None, urgency=urgency,
                anonymous=anonymous, secret=bool(data.get("secret")), share_identity=bool(data.get("share_identity")),
                reporter=reporter, lat=lat, lng=lng,
                address=clean_text(data.get("address"), multiline=False)[:500] or None,
                region=region, channel=channel, status="received", incident_date=data.get("incident_date"),
                language=language, created_at=now, updated_at=now, **deadlines)
            if c is not None:  # else the tracking id is taken: draw another
                break
        else:  # pragma: no cover - 29**8 ids make this practically impossible
            raise RuntimeError("could not allocate a tracking id")
        _record(c, "file", actor, to_status="received", source=source or channel, external_id=external_id,
                now=now, data={"channel": channel})
    return c, code


# --- workflow actions ---------------------------------------------------------------------------

def _authorise(complaint: Complaint, actor: Actor) -> None:
    if actor.role in ("officer", "reporter", "integration") and not can_see(actor, complaint):
        raise NotFound(_("No complaint with tracking id %(tid)s.", tid=complaint.tracking_id))
    if actor.role == "public":
        raise NotFound(_("No complaint with tracking id %(tid)s.", tid=complaint.tracking_id))


def _lock(complaint_id: int) -> Complaint:
    """The complaint row, locked for the rest of the transaction (PostgreSQL ``FOR UPDATE``;
    SQLite's write transactions begin ``IMMEDIATE`` and so already hold the database)."""
    c = select_row(Complaint, id=complaint_id, for_update=True)  # SQL built once (a hot path)
    if c is None:
        raise Complaint.DoesNotExist(f"complaint {complaint_id}")
    return c


def _granted(actor: Actor, allowed: list[str]) -> list[str]:
    if actor.role != "integration":
        return allowed
    return [a for a in allowed if actor.has_scope(f"action:{a}")]


def safe_filename(name: str | None) -> str:
    """A file name fit to store and to offer for download: no folder part (``/`` or ``\\``), no NUL,
    control, bidi-override or zero-width character, no leading or trailing dots or spaces."""
    value = unicodedata.normalize("NFC", str(name or ""))
    value = re.split(r"[/\\]", value)[-1]
    value = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    value = " ".join(value.split()).strip(" .")
    if len(value) > 255:
        stem, dot, ext = value.rpartition(".")
        value = (stem[:254 - len(ext)] + "." + ext) if dot and len(ext) <= 16 else value[:255]
    return value or "lampiran"


#: actions whose deadlines depend on the complaint's category (the others never read it)
_NEEDS_CATEGORY = frozenset({"verify", "transfer", "resume", "reopen", "reply"})


def perform(complaint: Complaint | str, action: str, actor: Actor, *, text: str = "", agency_id: int | None = None,
            category_id: int | None = None, urgency: str | None = None, visibility: str | None = None,
            rating: int | None = None, data: Mapping[str, Any] | None = None, now: dt.datetime | None = None,
            source: str | None = None, external_id: str | None = None,
            occurred_at: dt.datetime | None = None) -> Event | None:
    """Take one workflow action on a complaint; returns the timeline event written.

    Raises :class:`NotFound` when the actor may not see the complaint, :class:`Conflict` (409,
    with the allowed actions) when the action is illegal in the current state or for the role,
    :class:`InvalidInput` for missing or bad parameters. With ``external_id`` (an entry of another
    system), a second call for the same entry does nothing and returns ``None``.
    ``occurred_at`` dates the timeline entry only (an entry imported from another system keeps
    its own time), while the complaint's clocks run from ``now``.
    """
    if isinstance(complaint, str):
        complaint = find_complaint(complaint)
    text = clean_text(text)
    with database.atomic():
        c = _lock(complaint.id)
        # The time is taken once the row is locked: entries are dated in the order they are
        # written, so a note written before a transfer is never dated after it.
        now = now or utcnow()
        _authorise(c, actor)  # on the locked row: a transfer that just committed is seen
        if external_id and select_row(Event, complaint=c.id, source=source or actor.label or "core",
                                      external_id=external_id) is not None:  # SQL built once
            return None
        try:
            act = workflow.check(action, c.status, actor.role)
        except workflow.WorkflowError as exc:
            raise Conflict(str(exc), _granted(actor, exc.allowed)) from None
        if actor.role == "integration" and not actor.has_scope(f"action:{action}"):
            raise Conflict(_("This token is not granted %(scope)s.", scope=f"action:{action}"),
                           _granted(actor, workflow.allowed_actions(c.status, actor.role)))
        errors: dict[str, list[str]] = {}
        if act.needs_text and not text:
            errors["text"] = [_("Required for this action.")]
        if len(text) > MAX_BODY:
            errors["text"] = [_at_most(MAX_BODY)]
        vis = visibility or act.default_visibility
        if vis not in ("public", "internal"):
            errors["visibility"] = [_("Must be public or internal.")]
        if actor.role == "reporter":
            vis = "public"
        new_agency = c.agency_id
        category = c.category if action in _NEEDS_CATEGORY else None  # read only where a deadline needs it
        if act.needs_agency:
            target = agency_id or (c.category.default_agency_id if c.category_id and action == "verify" else None)
            if not target:
                errors["agency_id"] = [_("The agency to dispose the complaint to is required.")]
            else:
                ag = Agency.get_or_none(Agency.id == target)
                if ag is None or not ag.active:
                    errors["agency_id"] = [_UNKNOWN["agency_id"](target)]
                elif action == "transfer" and ag.id == c.agency_id:
                    errors["agency_id"] = [_("The complaint is already with this agency.")]
                new_agency = target
        if category_id is not None:
            if action != "verify":
                errors["category_id"] = [_("Only set when verifying.")]
            else:
                category = Category.get_or_none(Category.id == category_id)
                if category is None:
                    errors["category_id"] = [_UNKNOWN["category_id"](category_id)]
        if urgency is not None and (action != "verify" or urgency not in URGENCIES):
            errors["urgency"] = [_("Must be one of: %(choices)s, when verifying.", choices=", ".join(URGENCIES))]
        if action == "rate":
            if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
                errors["rating"] = [_("A whole number from 1 to 5.")]
        if errors:
            raise InvalidInput(errors)
        if action == "reopen" and actor.role == "reporter" and c.due_close and now > c.due_close:
            raise Conflict(_("The reply window has closed; file a new complaint."), [])

        deadlines = Deadlines(current_app.config, _state().calendar)
        upd: dict[str, Any] = {"updated_at": now}
        to_status = act.to_state or c.status
        if action == "reply" and c.status == "on_hold":
            to_status = "in_progress"
            upd["due_followup"] = deadlines.followup(now, category)
        if action == "verify":
            upd.update(verified_at=now, agency=new_agency, category=category,
                       due_followup=deadlines.followup(now, category))
            if urgency and urgency != c.urgency:
                upd["urgency"] = urgency
                hours = current_app.config["SLA_URGENCY_HOURS"].get(urgency, 48)
                upd["due_first_response"] = c.created_at + dt.timedelta(hours=hours)
        elif action == "transfer":
            upd.update(agency=new_agency, due_followup=deadlines.followup(now, category))
        elif action in ("resume", "reopen"):
            upd["due_followup"] = deadlines.followup(now, category)
        elif action == "hold":
            upd["due_followup"] = None
        if action == "reopen":
            upd.update(resolved_at=None, due_close=None)
        if act.counts_as_response and vis == "public" and c.first_response_at is None:
            upd["first_response_at"] = now
        if action == "comment" and vis == "public" and actor.is_staff and c.first_response_at is None:
            upd["first_response_at"] = now
        if to_status == "resolved":
            upd.update(resolved_at=now, due_close=deadlines.autoclose(now))
        if to_status in ("closed", "rejected") and c.closed_at is None:
            upd["closed_at"] = now
        if action == "rate":
            upd.update(rating=rating, rating_comment=text or None)
        upd["status"] = to_status
        prev_status, prev_agency = c.status, c.agency_id
        update_rows(Complaint, {"id": c.id}, **upd)
        for k, v in upd.items():  # the row as written, without reading it back
            setattr(c, k, v)
        c._dirty.clear()
        ev_data = dict(data or {})
        if rating is not None:
            ev_data["rating"] = rating
        return _record(c, action, actor, from_status=prev_status, to_status=to_status,
                       from_agency=prev_agency if act.needs_agency else None,
                       to_agency=new_agency if act.needs_agency else None, text=text, visibility=vis,
                       data=ev_data, source=source, external_id=external_id, now=occurred_at or now)


def add_attachment(complaint: Complaint | str, actor: Actor, stream: BinaryIO, filename: str, *,
                   visibility: str = "public", now: dt.datetime | None = None,
                   source: str | None = None) -> Attachment:
    """Store a file and attach it to a complaint (with a timeline entry).

    Checked against the deployment's limits: size and sniffed type of the file
    (``ATTACHMENT_MAX_BYTES``, ``ATTACHMENT_TYPES``), and the number of files and total bytes per
    complaint (``ATTACHMENT_MAX_FILES``, ``ATTACHMENT_MAX_TOTAL_BYTES``: checked before the upload is
    read and again on the locked row, so concurrent uploads cannot pass the caps together). The name
    is reduced by :func:`safe_filename`.
    """
    if isinstance(complaint, str):
        complaint = find_complaint(complaint)
    _authorise(complaint, actor)
    if actor.role == "integration" and not actor.has_scope("attachments:add"):
        raise Conflict(_("This token is not granted %(scope)s.", scope="attachments:add"), [])
    if complaint.status == "archived":
        raise Conflict(_("The complaint is archived."), [])
    if actor.role == "reporter":
        visibility = "public"
    if visibility not in ("public", "internal"):
        raise InvalidInput({"visibility": [_("Must be public or internal.")]})
    from .storage import AttachmentRejected

    _check_attachment_caps(complaint.id, 0)
    try:
        sha, size, ctype = _state().storage.put(stream)
    except AttachmentRejected as exc:
        raise InvalidInput({"file": [str(exc)]}) from None
    name = safe_filename(filename)
    with database.atomic():
        c = _lock(complaint.id)
        _authorise(c, actor)
        _check_attachment_caps(c.id, size)
        now = now or utcnow()
        ev = _record(c, "attach", actor, text="", visibility=visibility, source=source,
                     data={"filename": name, "content_type": ctype, "size": size}, now=now)
        att = Attachment.create(complaint=c, event=ev, sha256=sha, size=size, content_type=ctype,
                                filename=name, visibility=visibility, uploaded_by=actor.role, created_at=now)
        Complaint.update(updated_at=now).where(Complaint.id == c.id).execute()
    return att


def _check_attachment_caps(complaint_id: int, adding: int) -> None:
    from .i18n import ngettext

    cfg = current_app.config
    count, total = (Attachment.select(pw.fn.COUNT(Attachment.id), pw.fn.COALESCE(pw.fn.SUM(Attachment.size), 0))
                    .where(Attachment.complaint == complaint_id).tuples().get())
    max_files, max_total = cfg["ATTACHMENT_MAX_FILES"], cfg["ATTACHMENT_MAX_TOTAL_BYTES"]
    if count >= max_files:
        raise InvalidInput({"file": [ngettext("A complaint holds at most %(num)d file.",
                                              "A complaint holds at most %(num)d files.", max_files)]})
    if total + adding > max_total or (adding == 0 and total >= max_total):
        raise InvalidInput({"file": [_("The files of a complaint total at most %(limit)d bytes; "
                                       "%(left)d bytes are left.", limit=max_total, left=max(0, max_total - total))]})


# --- SLA sweep ----------------------------------------------------------------------------------

_SLA_NOTES = {
    "first_response": N_("Deadline for the first answer missed (due %(due)s)."),
    "verify": N_("Deadline for verification missed (due %(due)s)."),
    "followup": N_("Deadline for the follow-up missed (due %(due)s)."),
    "resolution": N_("Deadline for resolution missed (due %(due)s)."),
}


def _deployment_text(n) -> str:
    """A system note in the deployment's language: what the event's ``text`` keeps for other
    systems; readers of the timeline get it in their own language (:func:`aduan.i18n.event_text`)."""
    return render_note(n, configured_language())


#: Complaints read per query by :func:`sla_sweep`.
SLA_SWEEP_BATCH = 500


def sla_unrecorded_breaches(now: dt.datetime):
    """SQL condition: an open complaint with a clock past its deadline whose breach is not recorded yet
    (:func:`aduan.sla.overdue_stages` minus the stages in ``breached``)."""
    out = None
    for stage, cond in overdue_conditions(now).items():
        # plain LIKE on both engines (peewee's OP.LIKE is GLOB on SQLite)
        cond = cond & ~pw.NodeList((Complaint.breached, pw.SQL("LIKE"), pw.Value(f"%{stage}%")))
        out = cond if out is None else out | cond
    return out


def sla_sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Record each newly missed deadline as an internal ``sla_breach`` event (once per stage) and
    close resolved complaints whose reply window has passed. Run by the worker's ``core.sla``
    schedule; safe to run concurrently and repeatedly."""
    from .auth import system

    explicit = now is not None  # a given time dates the entries; otherwise each is dated after its row lock
    now = now or utcnow()
    actor = system("sla")
    counts = {"breaches": 0, "closed": 0}
    # Only complaints with a clock past its deadline and not yet recorded: a breach, once recorded,
    # drops the complaint out of this query, so a sweep over complaints long in breach reads nothing.
    # Keyset batches: never one huge result held open while rows are locked one by one.
    unrecorded = sla_unrecorded_breaches(now)
    last = 0
    while True:
        batch = [cid for (cid,) in Complaint.select(Complaint.id).where(unrecorded & (Complaint.id > last))
                 .order_by(Complaint.id).limit(SLA_SWEEP_BATCH).tuples()]
        for cid in batch:
            with database.atomic():
                q = Complaint.select().where(Complaint.id == cid)
                c = (q.for_update() if is_postgres() else q).get()
                stamp = now if explicit else utcnow()
                done = {s for s in c.breached.split(",") if s}
                new = [s for s in overdue_stages(c, now) if s not in done]
                if not new:
                    continue
                Complaint.update(breached=",".join(sorted(done | set(new)))).where(Complaint.id == c.id).execute()
                for stage in new:
                    due = getattr(c, f"due_{stage}")
                    n = note(_SLA_NOTES[stage], due={"utc": due.isoformat()})
                    _record(c, "sla_breach", actor, from_status=c.status, to_status=c.status, visibility="internal",
                            text=_deployment_text(n), data={"stage": stage, "due": isoformat(due), "note": n},
                            now=stamp)
                    counts["breaches"] += 1
        if len(batch) < SLA_SWEEP_BATCH:
            break
        last = batch[-1]
    to_close = Complaint.select(Complaint.id).where((Complaint.status == "resolved") & (Complaint.due_close <= now))
    for (cid,) in to_close.tuples().iterator():
        try:
            n = note(N_("Closed automatically: the reporter did not answer within the reply window."))
            perform(Complaint.get_by_id(cid), "close", actor, now=now if explicit else None,
                    text=_deployment_text(n), data={"auto": True, "note": n})
            counts["closed"] += 1
        except Conflict:
            continue  # another worker or the reporter got there first
    return counts
