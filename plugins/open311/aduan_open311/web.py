"""HTTP: the GeoReport v2 server under ``/api/v1/plugins/open311/`` (``{resource}.xml`` and ``.json``).

What each caller sees of a complaint is decided by :func:`aduan.privacy.complaint_view` and
:func:`aduan.privacy.timeline` for the ``public`` audience: GETs are public in Open311, so no
reporter field is ever served, a secret (*rahasia*) complaint shows neither description, exact
location nor media, and lists leave out secret and unverified complaints altogether.
"""
from __future__ import annotations

import datetime as dt

from aduan import privacy
from aduan.api.complaints import PUBLIC_LIST_STATUSES
from aduan.db import fetch_related, select_related, utcnow
from aduan.edge import BadInput
from aduan.i18n import _, current_language, isoformat, status_label
from aduan.models import Agency, Attachment, Category, Complaint, Event, Region
from flask import Response, current_app, g, request
from werkzeug.exceptions import RequestEntityTooLarge
from flask_smorest import Blueprint as ApiBlueprint
from peewee import JOIN

from . import openapi_doc as docs
from .georeport import (FORMAT_TYPES, FORMATS, SPEC_URL, STATUS_MAP, CLOSED_STATUSES, OPEN_STATUSES,
                        Open311Error, boolean, comma_list, error_body, param, parse_w3c, positive_int, to_json,
                        to_xml)
from .filing import api_actor, body_values, file_request, post_update
from .models import Open311Attribute, Open311Request, Open311Update

PREFIX = "/api/v1/plugins/open311"
CHANGESET = "2026-12-01T00:00:00+08:00"  # when this document's shape last changed (plugin release)
DESCRIPTION_MAX = 4000

api = ApiBlueprint("open311", __name__, url_prefix=PREFIX,
                   description="Open311 GeoReport v2 (XML and JSON): discovery, services, service definitions "
                               "and requests. Public; errors are GeoReport error arrays.")


@api.errorhandler(Open311Error)
def _open311_error(exc: Open311Error):
    fmt = g.get("open311_format", "json")
    return _respond(fmt, None, status=exc.status, body=error_body(fmt, exc.status, exc.descriptions))


@api.errorhandler(BadInput)
def _edge_error(exc: BadInput):
    """The core's request edge refused the request (NUL, surrogates, deep JSON...) before the view
    ran: answer as GeoReport says, an error array in the format the path asks for."""
    fmt = "xml" if request.path.endswith(".xml") else "json"
    description = str(exc.description)
    details = [f"{k}: {'; '.join(map(str, v))}" for k, v in (exc.data.get("errors") or {}).items()]
    if details:
        description = f"{description} ({', '.join(details)})"
    return _respond(fmt, None, status=exc.code or 400, body=error_body(fmt, exc.code or 400, description))


@api.errorhandler(RequestEntityTooLarge)
def _too_large(exc):
    fmt = g.get("open311_format", "json")
    return _respond(fmt, None, status=413, body=error_body(fmt, 413, _("The request is too large.")))


def _respond(fmt: str, root: str | None, value=None, *, status: int = 200, body: bytes | None = None):
    if body is None:
        body = to_xml(root, value) if fmt == "xml" else to_json(value)
    resp = Response(body, status=status, content_type=FORMATS[fmt])
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


def _both_formats(rule: str, name: str, kind: str, methods=("GET",)):
    """Route ``rule.json`` and ``rule.xml`` to one view, called as ``func(fmt, **path_args)``."""
    def deco(func):
        def make(fmt):
            def view(**kwargs):
                g.open311_format = fmt
                return func(fmt, **kwargs)
            view.__name__ = f"{name}_{fmt}"
            view.__doc__ = func.__doc__
            view = api.doc(**docs.operation(kind, fmt))(view)
            api.route(f"{rule}.{fmt}", endpoint=view.__name__, methods=list(methods))(view)
            return view

        make("json")
        make("xml")
        return func
    return deco


def _cfg(key):
    return current_app.config[f"OPEN311_{key}"]


def _jurisdiction() -> str | None:
    """The region prefix of the requested jurisdiction, or ``None`` for every complaint."""
    known = _cfg("JURISDICTIONS")
    jid = param(request.values, "jurisdiction_id")
    if not known:
        return None
    if jid is None:
        if len(known) > 1:
            raise Open311Error(400, _("jurisdiction_id is required: this server serves %(ids)s.",
                                      ids=", ".join(sorted(known))))
        return next(iter(known.values()))
    if jid not in known:
        raise Open311Error(404, _("Unknown jurisdiction_id: %(jid)s.", jid=jid[:64]))
    return known[jid]


def _in_region(prefix: str | None):
    if prefix is None:
        return True
    return (Complaint.region == prefix) | Complaint.region.startswith(prefix + ".")


# --- discovery and services -----------------------------------------------------------------------

@_both_formats("/discovery", "discovery", "discovery")
def discovery(fmt):
    """Discovery: where this GeoReport v2 endpoint is, its formats and whom to contact."""
    _jurisdiction()
    base = current_app.config["BASE_URL"].rstrip("/") + PREFIX
    value = {
        "changeset": CHANGESET,
        "contact": _cfg("CONTACT") or None,
        "key_service": _cfg("KEY_SERVICE") or None,
        "endpoints": [{"specification": SPEC_URL, "url": base, "changeset": CHANGESET,
                       "type": _cfg("ENVIRONMENT"), "formats": list(FORMAT_TYPES)}],
    }
    return _respond(fmt, "discovery", value)


def _category_name(cat: Category) -> str:
    if current_language() == "en" and cat.name_en:
        return cat.name_en
    return cat.name


@_both_formats("/services", "services", "services")
def services(fmt):
    """Services: every active complaint category (`group` is its parent, `keywords` its synonyms)."""
    _jurisdiction()
    Parent = Category.alias()
    cats = (Category.select(Category, Parent).join(Parent, JOIN.LEFT_OUTER, on=(Category.parent == Parent.id))
            .where(Category.active == True).order_by(Category.code))  # noqa: E712
    with_attrs = {r.category_id for r in Open311Attribute.select(Open311Attribute.category).distinct()}
    out = []
    for c in cats:
        keywords = ", ".join(k.strip() for k in (c.keywords or "").split(",") if k.strip())
        out.append({
            "service_code": c.code,
            "service_name": _category_name(c),
            "description": c.description or _category_name(c),
            "metadata": c.id in with_attrs,
            "type": _cfg("SERVICE_TYPE"),
            "keywords": keywords or None,
            "group": _category_name(c.parent) if c.parent_id else None,
        })
    return _respond(fmt, "services", out)


def _service(code: str) -> Category:
    cat = Category.get_or_none((Category.code == code) & (Category.active == True))  # noqa: E712
    if cat is None:
        raise Open311Error(404, _("Unknown service_code: %(code)s.", code=code[:64]))
    return cat


@_both_formats("/services/<service_code>", "service_definition", "service_definition")
def service_definition(fmt, service_code):
    """Service definition: the questions a category asks, as attributes."""
    _jurisdiction()
    cat = _service(service_code)
    attrs = (Open311Attribute.select().where(Open311Attribute.category == cat)
             .order_by(Open311Attribute.order, Open311Attribute.code))
    out = []
    for a in attrs:
        item = {"variable": a.variable, "code": a.code, "datatype": a.datatype, "required": a.required,
                "datatype_description": a.datatype_description, "order": a.order,
                "description": a.description or a.code}
        if a.datatype in ("singlevaluelist", "multivaluelist"):
            item["values"] = [{"key": str(v["key"]), "name": str(v.get("name", v["key"]))} for v in (a.values or [])]
        out.append(item)
    return _respond(fmt, "service_definition", {"service_code": cat.code, "attributes": out})


# --- requests -------------------------------------------------------------------------------------

def _expected(c: Complaint) -> dt.datetime | None:
    """The deadline of the stage the complaint is in (the SLA clocks of :mod:`aduan.sla`)."""
    if c.status == "received":
        return c.due_verify or c.due_resolution
    if c.status in ("dispatched", "in_progress"):
        return c.due_followup or c.due_resolution
    if c.status == "on_hold":
        return c.due_resolution
    return None


def _media_urls(complaints) -> dict[int, str]:
    """The first public image or file of each complaint the public may see, as a download URL."""
    by_id = {c.id: c for c in complaints}
    if not by_id:
        return {}
    out: dict[int, str] = {}
    base = current_app.config["BASE_URL"].rstrip("/")
    atts = (Attachment.select().where(Attachment.complaint.in_(list(by_id)))
            .order_by(Attachment.created_at, Attachment.id))
    for att in atts:
        c = by_id[att.complaint_id]
        if att.complaint_id in out or not privacy.attachment_visible(att, c, "public"):
            continue
        out[att.complaint_id] = f"{base}/api/v1/complaints/{c.tracking_id}/attachments/{att.id}"
    # else the link an Open311 client gave when filing (content: shown only where content is)
    rest = [cid for cid in by_id if cid not in out]
    if rest:
        for row in Open311Request.select().where(Open311Request.complaint.in_(rest)
                                                 & Open311Request.media_url.is_null(False)):
            if privacy.shows_content(by_id[row.complaint_id], "public"):
                out[row.complaint_id] = row.media_url
    return out


def _request_view(c: Complaint, media_url: str | None, extensions: bool) -> dict:
    view = privacy.complaint_view(c, "public")  # no reporter field; content hidden when secret
    # A secret complaint seen by the public is its status and dates only: no service, agency, region.
    reduced = privacy.status_only(c, "public")
    status, extended = STATUS_MAP.get(c.status, ("open", c.status))
    description = None
    if view["title"] is not None or view["body"] is not None:
        description = "\n\n".join(t for t in (view["title"], view["body"]) if t)[:DESCRIPTION_MAX]
    out = {
        "service_request_id": c.tracking_id,
        "status": status,
        "status_notes": status_label(c.status),
        "service_name": _category_name(c.category) if c.category_id and not reduced else None,
        "service_code": c.category.code if c.category_id and not reduced else "",
        "description": description,
        "agency_responsible": view["agency"]["name"] if view["agency"] else None,
        "service_notice": None,
        "requested_datetime": view["created_at"],
        "updated_datetime": view["updated_at"],
        "expected_datetime": None if reduced else isoformat(_expected(c)),
        "address": view["address"],
        "address_id": view["region"]["code"] if view["region"] else None,
        "zipcode": None,
        "lat": view["lat"],
        "long": view["lng"],
        "media_url": media_url,
    }
    if extensions:
        out["extended_attributes"] = {"status": extended, "kind": None if reduced else c.kind,
                                      "urgency": None if reduced else c.urgency,
                                      "region": view["region"]["name"] if view["region"] else None}
        out["notes"] = [{"datetime": e["created_at"], "description": e.get("text"), "type": e["type"]}
                        for e in privacy.timeline(c, "public")]
    return out


_RELATED = {"agency": Agency, "category": Category, "region": Region}


def _base_query():
    """Complaints with their agency, category and region joined (read with :func:`_rows`: a page of
    up to 1,000 requests is one query and no per-row model machinery)."""
    return select_related(Complaint, _RELATED)


def _rows(query) -> list:
    return fetch_related(query, Complaint, _RELATED)


def _render_requests(fmt, rows, extensions):
    media = _media_urls(rows)
    return _respond(fmt, "service_requests", [_request_view(c, media.get(c.id), extensions) for c in rows])


@_both_formats("/requests", "requests", "requests")
def requests_list(fmt):
    """Service requests: verified, non-secret complaints, newest first.

    ``service_request_id`` (comma list) overrides every other filter. Without any date filter the
    window is the last 90 days (``OPEN311_MAX_DAYS``); ``page_size`` defaults to the first 1000.
    """
    args = request.args
    prefix = _jurisdiction()
    extensions = boolean(param(args, "extensions"))
    max_size = _cfg("MAX_PAGE_SIZE")
    page = positive_int("page", param(args, "page"), 1, 10**6)
    page_size = positive_int("page_size", param(args, "page_size"), max_size, max_size)
    q = _base_query().where((Complaint.status.in_(PUBLIC_LIST_STATUSES)) & (Complaint.secret == False)  # noqa: E712
                            & _in_region(prefix))
    ids = comma_list(param(args, "service_request_id"))
    if ids:
        q = q.where(Complaint.tracking_id.in_([i.upper() for i in ids[:max_size]]))
    else:
        codes = comma_list(param(args, "service_code"))
        if codes:
            q = q.where(Category.code.in_(codes))
        statuses = comma_list(param(args, "status"))
        if statuses:
            wanted = []
            for s in statuses:
                if s.lower() == "open":
                    wanted += OPEN_STATUSES
                elif s.lower() == "closed":
                    wanted += CLOSED_STATUSES
                else:
                    raise Open311Error(400, _("status must be open or closed (comma-separated): %(value)s",
                                              value=s[:32]))
            q = q.where(Complaint.status.in_(wanted))
        q = _date_filters(q, args)
    rows = _rows(q.order_by(Complaint.created_at.desc(), Complaint.id.desc())
                 .offset((page - 1) * page_size).limit(page_size))
    return _render_requests(fmt, rows, extensions)


def _window(args, *, default_recent: bool = True):
    """``(start, end)`` in naive UTC from ``start_date``/``end_date``, checked as the spec says."""
    days = dt.timedelta(days=_cfg("MAX_DAYS"))
    start = param(args, "start_date")
    end = param(args, "end_date")
    start_at = parse_w3c("start_date", start) if start else None
    end_at = parse_w3c("end_date", end, end=True) if end else None
    if start_at and end_at:
        if end_at < start_at:
            raise Open311Error(400, _("end_date is before start_date."))
        if end_at - start_at > days:
            raise Open311Error(400, _("start_date and end_date may not span more than %(days)d days.",
                                      days=days.days))
    elif start_at:
        end_at = start_at + days if start_at < dt.datetime.max - days else None
    elif end_at:
        start_at = end_at - days if end_at > dt.datetime.min + days else None
    elif default_recent:
        start_at = utcnow() - days
    return start_at, end_at


def _date_filters(q, args):
    after = param(args, "updated_after")
    before = param(args, "updated_before")
    after_at = parse_w3c("updated_after", after) if after else None
    before_at = parse_w3c("updated_before", before, end=True) if before else None
    # the default 90-day window on requested_datetime does not apply to an updated_* query
    start_at, end_at = _window(args, default_recent=after_at is None and before_at is None)
    if after_at and before_at and before_at < after_at:
        raise Open311Error(400, _("updated_before is before updated_after."))
    if start_at:
        q = q.where(Complaint.created_at >= start_at)
    if end_at:
        q = q.where(Complaint.created_at <= end_at)
    if after_at:
        q = q.where(Complaint.updated_at >= after_at)
    if before_at:
        q = q.where(Complaint.updated_at <= before_at)
    return q


@_both_formats("/requests/<service_request_id>", "request", "request")
def request_one(fmt, service_request_id):
    """One service request by id (a one-element list), as the public may track it."""
    prefix = _jurisdiction()
    found = _rows(_base_query().where((Complaint.tracking_id == service_request_id.strip().upper())
                                      & _in_region(prefix)).limit(1))
    c = found[0] if found else None
    if c is None:
        raise Open311Error(404, _("Unknown service_request_id: %(id)s.", id=service_request_id[:64]))
    return _render_requests(fmt, [c], boolean(param(request.args, "extensions")))


# --- FixMyStreet's servicerequestupdates (read side) ----------------------------------------------

@_both_formats("/servicerequestupdates", "updates", "updates")
def updates_list(fmt):
    """Service request updates (FixMyStreet's extension): the public timeline entries of listed requests.

    ``start_date``/``end_date`` bound the update time (default: the last 90 days); oldest first,
    ``page``/``page_size`` as for requests. ``status`` is FixMyStreet's extended status after the update.
    """
    args = request.args
    prefix = _jurisdiction()
    max_size = _cfg("MAX_PAGE_SIZE")
    page = positive_int("page", param(args, "page"), 1, 10**6)
    page_size = positive_int("page_size", param(args, "page_size"), max_size, max_size)
    start_at, end_at = _window(args)
    q = (Event.select(Event, Complaint).join(Complaint)
         .where((Event.visibility == "public") & Complaint.status.in_(PUBLIC_LIST_STATUSES)
                & (Complaint.secret == False) & _in_region(prefix)))  # noqa: E712
    if start_at:
        q = q.where(Event.created_at >= start_at)
    if end_at:
        q = q.where(Event.created_at <= end_at)
    events = list(q.order_by(Event.created_at, Event.id).offset((page - 1) * page_size).limit(page_size))
    media = _event_media(events)
    out = []
    for e in events:
        c = e.complaint
        if not privacy.event_visible(e, "public"):
            continue
        view = privacy.event_view(e, c, "public")
        status = e.to_status or e.from_status or c.status
        out.append({
            "update_id": str(e.id),
            "service_request_id": c.tracking_id,
            "status": STATUS_MAP.get(status, ("open", status))[1],
            "updated_datetime": view["created_at"],
            "description": view["text"] or "",
            "media_url": media.get(e.id),
        })
    return _respond(fmt, "service_request_updates", out)


def _event_media(events) -> dict[int, str]:
    by_id = {e.id: e for e in events}
    if not by_id:
        return {}
    base = current_app.config["BASE_URL"].rstrip("/")
    out: dict[int, str] = {}
    for att in Attachment.select().where(Attachment.event.in_(list(by_id))).order_by(Attachment.id):
        c = by_id[att.event_id].complaint
        if att.event_id not in out and privacy.attachment_visible(att, c, "public"):
            out[att.event_id] = f"{base}/api/v1/complaints/{c.tracking_id}/attachments/{att.id}"
    for row in Open311Update.select().where(Open311Update.event.in_(list(by_id))
                                            & Open311Update.media_url.is_null(False)):
        if row.event_id not in out and privacy.shows_content(by_id[row.event_id].complaint, "public"):
            out[row.event_id] = row.media_url
    return out


# --- the write side: POST requests, tokens, POST servicerequestupdates ------------------------------

@_both_formats("/requests", "create_request", "create_request", methods=("POST",))
def requests_create(fmt):
    """File a service request (a complaint through the `open311` channel).

    Form-encoded (or multipart with a `media` file, or a JSON object). `api_key` must be an
    integration token granted `channel:open311` and `complaints:file`. Answers a one-element list
    with `service_request_id` (service type realtime) or `token` (batch, blackbox).
    """
    values = body_values()
    prefix = _jurisdiction()
    actor = api_actor(values)
    code = param(values, "service_code")
    if code is None:
        raise Open311Error(400, _("service_code is required."))
    service = _service(code)
    filed = file_request(actor, values, request.files, prefix, service)
    item = {"service_notice": filed.notice}
    if _cfg("SERVICE_TYPE") == "realtime":
        item = {"service_request_id": filed.complaint.tracking_id, **item}
    else:
        item = {"token": filed.token, **item}
    if filed.account_id:
        item["account_id"] = filed.account_id
    return _respond(fmt, "service_requests", [item])


@_both_formats("/tokens/<token>", "token", "token")
def token_one(fmt, token):
    """The service request id of a token answered by `POST requests` (a one-element list)."""
    prefix = _jurisdiction()
    row = (Open311Request.select(Open311Request, Complaint).join(Complaint)
           .where((Open311Request.token == token.strip()) & _in_region(prefix)).first())
    if row is None:
        raise Open311Error(404, _("Unknown token: %(token)s.", token=token[:64]))
    return _respond(fmt, "service_requests", [{"service_request_id": row.complaint.tracking_id, "token": row.token}])


@_both_formats("/servicerequestupdates", "create_update", "create_update", methods=("POST",))
def updates_create(fmt):
    """Post a reporter's update on a request this `api_key` filed (FixMyStreet's extension).

    A duplicate `update_id` or an unknown request is a 400. Answers `[{update_id}]`: the id of the
    timeline entry it became (the `update_id` GET servicerequestupdates shows for it).
    """
    values = body_values()
    prefix = _jurisdiction()
    return _respond(fmt, "service_request_updates", [{"update_id": post_update(values, prefix)}])
