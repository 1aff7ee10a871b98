"""The write side of GeoReport v2: ``POST requests`` (filing a complaint) and FixMyStreet's
``POST servicerequestupdates`` (a reporter's update on a request filed through Open311).

Both authenticate with ``api_key``: a token of an integration account (:func:`aduan.auth.actor_for_token`)
granted ``channel:open311`` and ``complaints:file``. Everything is written through
:mod:`aduan.services` (one transaction per call: the complaint or timeline entry, the plugin's row
and any uploaded media together), so the workflow, SLA clocks, outbox and privacy rules apply as
for every other channel.

Update mapping (the poster speaks for the reporter of a request it filed):

* the complaint is resolved and the update says ``closed`` or ``fixed`` -> ``close`` (the
  reporter confirms the answer);
* the complaint is resolved and the update says ``REOPEN`` or an open status (``open``,
  ``investigating``, ``in_progress``, ``action_scheduled``, ``planned``, ``for_triage``) ->
  ``reopen`` (within the reply window);
* anything else -> ``reply`` (the reporter adds information; a complaint on hold resumes).
"""
from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from aduan import services
from aduan.auth import Actor, actor_for_token
from aduan.db import database, utcnow
from aduan.edge import loads
from aduan.i18n import N_, _, configured_language, format_datetime, note, render_note
from aduan.models import Category, Complaint, Region
from flask import request
from peewee import IntegrityError
from werkzeug.datastructures import MultiDict

from .georeport import Open311Error, param, parse_w3c
from .models import Open311Attribute, Open311Request, Open311Update

CHANNEL = "open311"
SCOPES = ("channel:open311", "complaints:file")
DESCRIPTION_MAX = 4000
#: FixMyStreet's extended statuses (lower-case; clients often send them upper-case) and REOPEN.
UPDATE_STATUSES = ("open", "closed", "fixed", "investigating", "action_scheduled", "in_progress", "planned",
                   "no_further_action", "not_councils_responsibility", "duplicate", "internal_referral",
                   "cancelled", "for_triage", "reopen")
CLOSING = ("closed", "fixed")
REOPENING = ("reopen", "open", "investigating", "in_progress", "action_scheduled", "planned", "for_triage")
MAX_MEDIA_URLS = 10

_ATTR_KEY = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")
_NUMBER = re.compile(r"^[+-]?(\d{1,30}(\.\d{0,30})?|\.\d{1,30})([eE][+-]?\d{1,3})?$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


# --- parameters ------------------------------------------------------------------------------------

def body_values() -> MultiDict:
    """The POST parameters: the form body (url-encoded or multipart), or a JSON object whose values
    are strings, numbers, booleans or lists of them (``attribute`` may be an object of answers)."""
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form
    if request.is_json:
        try:  # the edge's parser (depth checked, NUL and lone surrogates cleaned): request.get_json()
            data = loads(request.get_data(cache=True))  # would use Flask's provider, which cleans nothing
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Open311Error(400, _("The request body must be a form or a JSON object."))
        out = MultiDict()
        for key, value in data.items():
            if key == "attribute" and isinstance(value, dict):
                for code, answer in value.items():
                    _add_json(out, f"attribute[{code}]", answer)
            else:
                _add_json(out, str(key), value)
        return out
    if request.content_length:
        raise Open311Error(400, _("The request body must be a form (application/x-www-form-urlencoded)."))
    return MultiDict()


def _add_json(out: MultiDict, key: str, value) -> None:
    for v in value if isinstance(value, list) else [value]:
        if v is None:
            continue
        if isinstance(v, bool):
            out.add(key, "true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.add(key, str(v))
        else:
            raise Open311Error(400, _("%(name)s must be a text, a number or a list of them.", name=key[:80]))


def _text(values, name: str, limit: int) -> str | None:
    value = param(values, name)
    if value is not None and len(value) > limit:
        raise Open311Error(400, _("%(name)s is longer than %(num)d characters.", name=name, num=limit))
    return value


def api_actor(values) -> Actor:
    """The integration actor behind ``api_key``: 403 when it is missing, unknown, revoked, expired, or
    not granted ``channel:open311`` and ``complaints:file``."""
    key = param(values, "api_key")
    if key is None:
        raise Open311Error(403, _("api_key is required: ask for one at the address in discovery's key_service."))
    actor = actor_for_token(key[:512]) if len(key) <= 512 else None
    if actor is None or actor.role != "integration":
        raise Open311Error(403, _("The api_key is not valid."))
    missing = [s for s in SCOPES if not actor.has_scope(s)]
    if missing:
        raise Open311Error(403, _("This api_key is not granted %(scope)s.", scope=", ".join(missing)))
    return actor


def _number(name: str, value: str) -> float:
    if not _NUMBER.match(value) or not math.isfinite(float(value)):
        raise Open311Error(400, _("%(name)s must be a number: %(value)s", name=name, value=value[:64]))
    return float(value)


def media_urls(values) -> list[str]:
    """Links given as ``media_url`` (repeated, as FixMyStreet sends them): http(s) only, no
    credentials, at most 2048 characters. They are stored and shown, never fetched."""
    urls = [v.strip() for v in values.getlist("media_url") if v and v.strip()]
    if len(urls) > MAX_MEDIA_URLS:
        raise Open311Error(400, _("At most %(num)d media_url values.", num=MAX_MEDIA_URLS))
    for url in urls:
        try:
            parts = urlsplit(url)
            ok = (parts.scheme in ("http", "https") and parts.hostname and not parts.username
                  and len(url) <= 2048 and not re.search(r"\s", url))
        except ValueError:
            ok = False
        if not ok:
            raise Open311Error(400, _("media_url must be an http or https address: %(value)s", value=url[:80]))
    return urls


# --- attributes ------------------------------------------------------------------------------------

def given_attributes(values) -> dict[str, list[str]]:
    """``attribute[code]=v`` and ``attribute[code][]=v`` (repeatable) as ``{code: [values]}``."""
    out: dict[str, list[str]] = {}
    for key in values.keys():
        m = _ATTR_KEY.match(key)
        if m:
            out.setdefault(m.group(1), []).extend(v.strip() for v in values.getlist(key) if v is not None)
    return out


@dataclass
class Answers:
    values: dict  # code -> value (a list for multivaluelist)
    lines: list[str]  # "question: answer" for the complaint text


def check_attributes(category: Category, given: dict[str, list[str]]) -> Answers:
    """Validate the answers against the category's questions: required ones present, numbers and
    datetimes well formed, list values among the keys. An empty answer to an optional question is
    no answer; answers to unknown codes are ignored (as open311-adapter does). Raises
    :class:`Open311Error` (400) listing every problem."""
    errors: list[str] = []
    answers: dict = {}
    lines: list[str] = []
    attrs = (Open311Attribute.select().where((Open311Attribute.category == category)
                                             & (Open311Attribute.variable == True))  # noqa: E712
             .order_by(Open311Attribute.order, Open311Attribute.code))
    for a in attrs:
        name = f"attribute[{a.code}]"
        vals = [v for v in given.get(a.code, []) if v != ""]
        if not vals:
            if a.required:
                errors.append(_("%(name)s is required: %(question)s", name=name, question=a.description or a.code))
            continue
        if a.datatype != "multivaluelist" and len(vals) > 1:
            errors.append(_("%(name)s takes one value.", name=name))
            continue
        if a.datatype in ("singlevaluelist", "multivaluelist"):
            keys = {str(v["key"]): str(v.get("name", v["key"])) for v in (a.values or [])}
            bad = [v for v in vals if v not in keys]
            if bad:
                errors.append(_("%(name)s: %(value)s is not one of: %(keys)s.", name=name, value=bad[0][:64],
                                keys=", ".join(keys)))
                continue
            shown = ", ".join(keys[v] for v in vals)
        elif a.datatype == "number":
            try:
                _number(name, vals[0])
            except Open311Error as exc:
                errors.append(exc.description)
                continue
            shown = vals[0]
        elif a.datatype == "datetime":
            try:
                parse_w3c(name, vals[0])
            except Open311Error as exc:
                errors.append(exc.description)
                continue
            shown = vals[0]
        else:
            limit = 4000 if a.datatype == "text" else 1000
            if len(vals[0]) > limit:
                errors.append(_("%(name)s is longer than %(num)d characters.", name=name, num=limit))
                continue
            shown = vals[0]
        answers[a.code] = vals if a.datatype == "multivaluelist" else vals[0]
        lines.append(f"{a.description or a.code}: {shown}")
    if errors:
        raise Open311Error(400, errors[0], more=errors[1:])
    return Answers(answers, lines)


# --- POST requests ---------------------------------------------------------------------------------

def _new_token() -> str:
    return secrets.token_urlsafe(18)


def _invalid(exc: services.InvalidInput) -> Open311Error:
    """The core's field messages as GeoReport errors (one per field)."""
    names = {"lng": "long", "address": "address_string", "region_code": "address_id", "body": "description",
             "file": "media"}
    msgs = []
    for field, value in exc.errors.items():
        items = value.items() if isinstance(value, dict) else [(None, value)]
        for sub, ms in items:
            label = names.get(sub or field, sub or field)
            for m in ms if isinstance(ms, list) else [ms]:
                msgs.append(f"{label}: {m}")
    return Open311Error(400, msgs[0] if msgs else str(exc), more=msgs[1:])


@dataclass
class Filed:
    complaint: Complaint
    token: str
    notice: str
    account_id: str | None


def file_request(actor: Actor, values, files, region_prefix: str | None, service: Category) -> Filed:
    """File a complaint from ``POST requests`` parameters for ``actor`` (from :func:`api_actor`), in
    ``service``. Raises :class:`Open311Error` (400) on bad input; nothing is written then."""
    description = _text(values, "description", DESCRIPTION_MAX)
    answers = check_attributes(service, given_attributes(values))
    lat, lng = param(values, "lat"), param(values, "long")
    if (lat is None) != (lng is None):
        raise Open311Error(400, _("lat and long go together."))
    lat_f = _number("lat", lat) if lat is not None else None
    lng_f = _number("long", lng) if lng is not None else None
    if lat_f is not None and not (-90 <= lat_f <= 90 and -180 <= lng_f <= 180):
        raise Open311Error(400, _("lat must be between -90 and 90 and long between -180 and 180."))
    address = _text(values, "address_string", 500)
    address_id = _text(values, "address_id", 32)
    if lat_f is None and address is None and address_id is None:
        raise Open311Error(400, _("A location is required: lat and long, address_string or address_id."))
    region = None
    if address_id is not None:
        region = Region.get_or_none(Region.code == address_id)
        if region is None:
            raise Open311Error(400, _("Unknown address_id (a Kemendagri region code): %(value)s", value=address_id))
        if region_prefix and not (region.code == region_prefix or region.code.startswith(region_prefix + ".")):
            raise Open311Error(400, _("address_id %(value)s lies outside this jurisdiction.", value=address_id))
    elif region_prefix:
        region = Region.get_or_none(Region.code == region_prefix)
    email = _text(values, "email", 254)
    if email is not None and not _EMAIL.match(email):
        raise Open311Error(400, _("email is not an e-mail address: %(value)s", value=email[:80]))
    phone = _text(values, "phone", 32)
    first, last = _text(values, "first_name", 100), _text(values, "last_name", 100)
    _text(values, "device_id", 255)  # accepted, checked, not stored: it identifies a person's phone
    account_id = _text(values, "account_id", 255)
    urls = media_urls(values)
    uploads = [f for f in files.getlist("media") if f and f.filename is not None]

    name = " ".join(p for p in (first, last) if p) or None
    body_parts = [description or (service.name if not answers.lines else "")]
    if answers.lines:
        body_parts.append("\n".join(answers.lines))
    if urls:
        body_parts.append("\n".join(urls))
    body = "\n\n".join(p for p in body_parts if p) or service.name
    title = " ".join((description or service.name).split())[:80]
    data = {"title": title, "body": body, "category": service.code, "anonymous": not (name or email or phone),
            "lat": lat_f, "lng": lng_f, "address": address, "region_code": region.code if region else None}
    if name or email or phone:
        data["reporter"] = {"name": name, "email": email, "phone": phone}
    try:
        with database.atomic():
            c, _code = services.file_complaint(data, actor=actor, channel=CHANNEL, source=CHANNEL)
            req = Open311Request.create(complaint=c, account=actor.user_id, token=_new_token(),
                                        attributes=answers.values or None, media_url=urls[0] if urls else None,
                                        created_at=c.created_at)
            reporter = Actor(role="reporter", complaint_id=c.id)
            for f in uploads:
                services.add_attachment(c, reporter, f.stream, f.filename or "media", source=CHANNEL)
    except services.InvalidInput as exc:
        raise _invalid(exc) from None
    except services.ServiceError as exc:
        raise Open311Error(400, str(exc)) from None
    notice = _("Received. It will be verified and handed to the agency responsible by %(due)s.",
               due=format_datetime(c.due_verify or c.due_resolution))
    return Filed(c, req.token, notice, account_id)


# --- POST servicerequestupdates ----------------------------------------------------------------------

def post_update(values, region_prefix: str | None) -> str:
    """Record a reporter's update on a request this account filed; returns the update's id (the
    timeline entry's id, the ``update_id`` GET servicerequestupdates shows for it)."""
    actor = api_actor(values)
    update_id = _text(values, "update_id", 128)
    request_id = _text(values, "service_request_id", 64)
    status = param(values, "status")
    missing = [n for n, v in (("service_request_id", request_id), ("update_id", update_id), ("status", status))
               if v is None]
    if missing:
        raise Open311Error(400, _("Required: %(names)s.", names=", ".join(missing)))
    status = status.lower()
    if status not in UPDATE_STATUSES:
        raise Open311Error(400, _("status must be one of: %(choices)s.", choices=", ".join(UPDATE_STATUSES)))
    when = param(values, "updated_datetime")
    when_at = parse_w3c("updated_datetime", when) if when else None
    description = _text(values, "description", DESCRIPTION_MAX)
    urls = media_urls(values)
    c = Complaint.get_or_none(Complaint.tracking_id == request_id.upper())
    filed = Open311Request.get_or_none(Open311Request.complaint == c) if c is not None else None
    if (filed is None or filed.account_id != actor.user_id or c.channel != CHANNEL
            or (region_prefix and not (c.region_id == region_prefix
                                       or (c.region_id or "").startswith(region_prefix + ".")))):
        raise Open311Error(400, _("Unknown service_request_id: %(id)s (not a request this api_key filed).",
                                  id=request_id))
    if Open311Update.select().where((Open311Update.account == actor.user_id)
                                    & (Open311Update.update_id == update_id)).exists():
        raise Open311Error(400, _("Duplicate update_id: %(id)s was already received.", id=update_id))
    if c.status == "resolved" and status in CLOSING:
        action = "close"
    elif c.status == "resolved" and status in REOPENING:
        action = "reopen"
    else:
        action = "reply"
    n = None
    text = description or ""
    if urls:
        text = "\n\n".join(p for p in (text, "\n".join(urls)) if p)
    if not text and action != "close":
        n = note(N_("Update through Open311: %(status)s."), status=status)
        text = render_note(n, configured_language())
    now = utcnow()
    occurred = None
    if when_at is not None and c.created_at <= when_at <= now:
        occurred = when_at  # the update keeps its own time when it is plausible
    reporter = Actor(role="reporter", complaint_id=c.id, label=CHANNEL)
    try:
        with database.atomic():
            ev = services.perform(c, action, reporter, text=text, source=CHANNEL, external_id=update_id,
                                  data={"open311_status": status, **({"note": n} if n else {})},
                                  occurred_at=occurred)
            if ev is None:
                raise _Duplicate()
            Open311Update.create(account=actor.user_id, update_id=update_id, complaint=c, event=ev,
                                 media_url=urls[0] if urls else None, created_at=now)
    except (_Duplicate, IntegrityError):
        raise Open311Error(400, _("Duplicate update_id: %(id)s was already received.", id=update_id)) from None
    except services.InvalidInput as exc:
        raise _invalid(exc) from None
    except services.ServiceError as exc:
        raise Open311Error(400, str(exc)) from None
    return str(ev.id)


class _Duplicate(Exception):
    pass
