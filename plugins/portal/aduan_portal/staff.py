"""Staff pages: the queues of each role, the complaint page with its workflow actions, attachments
and response templates (*templat tanggapan*).

* Officers see and work only the complaints currently disposed to their agency: any other
  complaint's URL is a 404, exactly as in the API (``aduan.privacy.can_see``).
* Every field shown comes from :func:`aduan.privacy.complaint_view` / ``timeline`` for the staff
  member's audience; the action buttons are :func:`aduan.workflow.allowed_actions` for the role and
  state, each a POST form with the fields the action's ``params`` name; actions go through
  :func:`aduan.services.perform`.
"""
from __future__ import annotations

import base64
import re

from flask import abort, flash, redirect, request, url_for
from marshmallow import ValidationError
from peewee import JOIN, fn

from aduan import listing, privacy, services, workflow
from aduan.api.schemas import ComplaintFilter
from aduan.db import utcnow
from aduan.i18n import (_, _l, action_label, format_datetime, kind_label, status_label, urgency_label)
from aduan.i18n.validation import translate_messages
from aduan.models import (OPEN_STATUSES, STATUSES, URGENCIES, Agency, Attachment, Category, Complaint)
from aduan.sla import overdue_stages

from .models import PortalResponseTemplate
from .security import current_staff, staff_required
from .web import bp, render, send_attachment

INT_MAX = 2**31 - 1
PAGE_SIZE = 25
COUNT_CAP = 1000  # tab counts above it read "1000+"
STAFF_ROLES = ("admin", "coordinator", "officer")
MANAGER_ROLES = ("admin", "coordinator")

ROLE_LABELS = {"admin": _l("Administrator"), "coordinator": _l("Coordinator"), "officer": _l("Agency officer")}
#: Which clock an overdue complaint missed, in words.
CLOCK_LABELS = {"verify": _l("verification overdue"), "first_response": _l("first response overdue"),
                "followup": _l("follow-up overdue"), "resolution": _l("resolution overdue")}
#: Placeholders a response template may use (filled for each complaint).
PLACEHOLDERS = {
    "tracking_id": _l("the complaint's tracking id"),
    "title": _l("the complaint's title"),
    "category": _l("its category"),
    "agency": _l("the agency it is with"),
    "filed_on": _l("the day it was filed"),
    "officer": _l("your name"),
}


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))


@bp.app_template_global()
def clock_label(stage: str) -> str:
    return str(CLOCK_LABELS.get(stage, stage))


@bp.app_template_filter("isolocal")
def isolocal(value) -> str:
    """A time of a privacy view (ISO 8601 with offset) for people: the deployment's zone with its name."""
    import datetime as dt

    if not value:
        return "–"
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return format_datetime(parsed, weekday=False)


@bp.context_processor
def _staff_helpers():
    return {"role_label": role_label, "status_label": status_label, "action_label": action_label,
            "kind_label": kind_label, "urgency_label": urgency_label}


# -- queues -----------------------------------------------------------------------------------------

def _tabs(role: str) -> list[tuple[str, str]]:
    if role in MANAGER_ROLES:
        return [("incoming", _("Incoming")), ("overdue", _("Overdue")), ("open", _("Open")), ("all", _("All"))]
    return [("open", _("Open")), ("overdue", _("Overdue")), ("all", _("All"))]


def _tab_condition(tab: str):
    if tab == "incoming":
        return Complaint.status == "received"
    if tab == "overdue":
        return listing.overdue_condition(utcnow())
    if tab == "open":
        return Complaint.status.in_(OPEN_STATUSES)
    return None


def _parse_filters(actor) -> tuple[dict, dict]:
    """The API's filters (``aduan.api.schemas.ComplaintFilter``) from the query string: (values, errors)."""
    raw = {k: v for k, v in request.args.items() if v.strip() and k in ComplaintFilter().fields}
    raw.pop("limit", None)
    statuses = [s for s in request.args.getlist("status") if s]
    if statuses:
        raw["status"] = statuses
    else:
        raw.pop("status", None)
    errors: dict = {}
    for key in ("agency_id", "category_id"):
        if key in raw:
            try:
                if not 1 <= int(raw[key]) <= INT_MAX:
                    raise ValueError
            except ValueError:
                errors[key] = [_("Not a valid choice.")]
                raw.pop(key)
    try:
        values = ComplaintFilter().load(raw)
    except ValidationError as exc:
        errors.update(translate_messages(exc.messages))
        values = ComplaintFilter().load({k: v for k, v in raw.items() if k not in exc.messages})
    if actor.role == "officer":
        values.pop("agency_id", None)  # their agency only, whatever was asked
    return values, errors


def _cursor_value(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        value = int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        return -1
    return value if 0 < value <= INT_MAX else -1


def _encode_cursor(cid: int) -> str:
    return base64.urlsafe_b64encode(str(cid).encode()).decode().rstrip("=")


@bp.get("/staff/")
@staff_required(*STAFF_ROLES)
def staff_queue():
    actor = current_staff()
    tabs = _tabs(actor.role)
    tab = request.args.get("tab") or tabs[0][0]
    if tab not in dict(tabs):
        abort(404)
    values, errors = _parse_filters(actor)
    cursor = _cursor_value(request.args.get("cursor"))
    if cursor == -1:
        errors["cursor"] = [_("Use the next_cursor of a previous page.")]
        cursor = None
    # the API's list (aduan.listing): same reach, filters, order and keyset pages; one query for
    # the page, and tab counts that stop at COUNT_CAP (a table of a million rows is not counted)
    ids, _order = listing.filtered(actor, values, related=False)
    counts = {}
    for key, _label in tabs:
        cond = _tab_condition(key)
        n = listing.bounded_count(ids.where(cond) if cond is not None else ids, COUNT_CAP)
        counts[key] = f"{COUNT_CAP}+" if n > COUNT_CAP else str(n)
    q, order = listing.filtered(actor, values)
    cond = _tab_condition(tab)
    if cond is not None:
        q = q.where(cond)
    rows, more = listing.page(q, order, limit=PAGE_SIZE, after=cursor)
    now = utcnow()
    items = []
    for c in rows:
        view = privacy.complaint_view(c, privacy.audience_for(actor, c))
        view["overdue"] = overdue_stages(c, now)
        items.append(view)
    args = {k: v for k, v in request.args.items(multi=True) if k not in ("cursor",)}
    next_url = None
    if more and rows:
        next_url = url_for("portal.staff_queue", **_merge(request.args, cursor=_encode_cursor(rows[-1].id)))
    tab_urls = {key: url_for("portal.staff_queue", **_merge(request.args, tab=key, cursor=None)) for key, _l2 in tabs}
    return render("portal/staff/queue.html", tabs=tabs, tab=tab, counts=counts, items=items, errors=errors,
                  filters=values, args=args, next_url=next_url, tab_urls=tab_urls,
                  agencies=_agencies(), categories=Category.select().order_by(Category.name),
                  statuses=STATUSES, urgencies=URGENCIES,
                  channels=listing.distinct_values(Complaint.channel)), \
        (400 if errors else 200)


def _merge(args, **changes) -> dict:
    out: dict = {}
    for k in args:
        vals = [v for v in args.getlist(k) if v != ""]
        if vals:
            out[k] = vals if len(vals) > 1 else vals[0]
    for k, v in changes.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _agencies():
    return list(Agency.select().where(Agency.active == True).order_by(Agency.name))  # noqa: E712


# -- the complaint page -------------------------------------------------------------------------------

def _complaint_for(actor, tracking_id: str) -> Complaint:
    """The complaint, or 404 when it does not exist or is outside the actor's reach (an officer's
    agency): the page of a complaint an officer may not see does not exist for them."""
    tid = services.normalise_tracking_id(tracking_id or "")
    if not tid or len(tid) > 16:
        abort(404)
    c = Complaint.get_or_none(Complaint.tracking_id == tid)
    if c is None or not privacy.can_see(actor, c):
        abort(404)
    return c


def fill_placeholders(body: str, c: Complaint, view: dict, actor_name: str) -> str:
    """Replace ``{tracking_id}``, ``{title}``… (see :data:`PLACEHOLDERS`) with the complaint's values
    as this staff member sees them; an unknown ``{name}`` stays as written."""
    values = {
        "tracking_id": view.get("tracking_id") or "",
        "title": view.get("title") or "",
        "category": (view.get("category") or {}).get("name") or "",
        "agency": (view.get("agency") or {}).get("name") or "",
        "filed_on": format_datetime(c.created_at, weekday=False).rsplit(" ", 2)[0] if c.created_at else "",
        "officer": actor_name,
    }
    return re.sub(r"\{([a-z_]+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), body)


def templates_for(actor, c: Complaint):
    """Response templates offered on this complaint: its agency's (or every agency's), for its
    category or for any category."""
    q = PortalResponseTemplate.select().where(
        (PortalResponseTemplate.agency.is_null() | (PortalResponseTemplate.agency == c.agency_id))
        & (PortalResponseTemplate.category.is_null() | (PortalResponseTemplate.category == c.category_id)))
    return list(q.order_by(PortalResponseTemplate.name))


def _page(c: Complaint, actor, *, errors=None, action_errors=None, form=None, status=200, text_prefill=None):
    from aduan.models import User

    aud = privacy.audience_for(actor, c)
    view = privacy.complaint_view(c, aud)
    view["overdue"] = overdue_stages(c, utcnow())
    timeline = privacy.timeline(c, aud)
    attachments = [privacy.attachment_view(a) for a in c.attachments.order_by(Attachment.id)
                   if privacy.attachment_visible(a, c, aud)]
    allowed = workflow.allowed_actions(c.status, actor.role)
    actions = [workflow.ACTIONS[name] for name in allowed]
    me = User.get_by_id(actor.user_id)
    tpls = [(t, fill_placeholders(t.body, c, view, me.name)) for t in templates_for(actor, c)]
    return render("portal/staff/complaint.html", c=c, view=view, timeline=timeline, attachments=attachments,
                  actions=actions, agencies=_agencies(), categories=Category.select().order_by(Category.name),
                  urgencies=URGENCIES, templates=tpls, errors=errors or [], action_errors=action_errors or {},
                  form=form or {}, text_prefill=text_prefill or {}), status


@bp.get("/staff/complaints/<tracking_id>")
@staff_required(*STAFF_ROLES)
def staff_complaint(tracking_id):
    actor = current_staff()
    c = _complaint_for(actor, tracking_id)
    return _page(c, actor)


def _int_field(name: str, errors: dict) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
        if not 1 <= value <= INT_MAX:
            raise ValueError
        return value
    except ValueError:
        errors[name] = [_("Not a valid choice.")]
        return None


@bp.post("/staff/complaints/<tracking_id>/actions/<action>")
@staff_required(*STAFF_ROLES)
def staff_action(tracking_id, action):
    actor = current_staff()
    c = _complaint_for(actor, tracking_id)
    if action not in workflow.ACTIONS:
        abort(404)
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    # no JavaScript: "use this template" fills the answer box and shows the page again
    if request.form.get("use_template"):
        errors: dict = {}
        tid = _int_field("template_id", errors)
        tpl = next((t for t in templates_for(actor, c) if t.id == tid), None)
        if tpl is None:
            return _page(c, actor, action_errors={action: {"template_id": [_("Choose a template.")]}}, form=form,
                         status=400)
        from aduan.models import User

        view = privacy.complaint_view(c, privacy.audience_for(actor, c))
        filled = fill_placeholders(tpl.body, c, view, User.get_by_id(actor.user_id).name)
        return _page(c, actor, form=form, text_prefill={action: filled})
    errors = {}
    agency_id = _int_field("agency_id", errors)
    category_id = _int_field("category_id", errors)
    urgency = request.form.get("urgency") or None
    visibility = request.form.get("visibility") or None
    if errors:
        return _page(c, actor, action_errors={action: errors}, form=form, status=400)
    try:
        services.perform(c, action, actor, text=request.form.get("text", ""), agency_id=agency_id,
                         category_id=category_id, urgency=urgency, visibility=visibility)
    except services.Conflict as exc:
        return _page(Complaint.get_by_id(c.id), actor, errors=[str(exc)], form=form, status=409)
    except services.InvalidInput as exc:
        return _page(c, actor, action_errors={action: exc.errors}, form=form, status=400)
    except services.NotFound:
        abort(404)
    flash(_("%(action)s: done.", action=action_label(action)))
    c = Complaint.get_by_id(c.id)
    if not privacy.can_see(actor, c):  # transferred away from the officer's agency
        return redirect(url_for("portal.staff_queue"))
    return redirect(url_for("portal.staff_complaint", tracking_id=c.tracking_id) + "#timeline")


@bp.get("/staff/complaints/<tracking_id>/attachments/<int:attachment_id>")
@staff_required(*STAFF_ROLES)
def staff_attachment(tracking_id, attachment_id):
    actor = current_staff()
    c = _complaint_for(actor, tracking_id)
    return send_attachment(c, actor, attachment_id)


# -- response templates --------------------------------------------------------------------------------

def _templates_query(actor):
    q = (PortalResponseTemplate.select(PortalResponseTemplate, Agency, Category)
         .join(Agency, JOIN.LEFT_OUTER, on=(PortalResponseTemplate.agency == Agency.id)).switch(PortalResponseTemplate)
         .join(Category, JOIN.LEFT_OUTER, on=(PortalResponseTemplate.category == Category.id))
         .switch(PortalResponseTemplate))
    if actor.role == "officer":
        q = q.where(PortalResponseTemplate.agency == actor.agency_id)
    return q.order_by(fn.COALESCE(Agency.name, ""), PortalResponseTemplate.name)


def _template_for(actor, template_id: int) -> PortalResponseTemplate:
    t = PortalResponseTemplate.get_or_none(PortalResponseTemplate.id == template_id) if template_id <= INT_MAX else None
    if t is None or (actor.role == "officer" and t.agency_id != actor.agency_id):
        abort(404)
    return t


def _template_form(actor, t: PortalResponseTemplate | None):
    """Validate the posted template; returns (values, errors)."""
    errors: dict = {}
    name = services.clean_text(request.form.get("name", ""), multiline=False)
    body = services.clean_text(request.form.get("body", ""))
    if not name:
        errors["name"] = [_("Required.")]
    elif len(name) > 120:
        errors["name"] = [_("At most %(n)d characters.", n=120)]
    if not body:
        errors["body"] = [_("Required.")]
    elif len(body) > 10_000:
        errors["body"] = [_("At most %(n)d characters.", n=10_000)]
    if actor.role == "officer":
        agency_id = actor.agency_id
    else:
        agency_id = _int_field("agency_id", errors)
        if agency_id is not None and Agency.get_or_none(Agency.id == agency_id) is None:
            errors["agency_id"] = [_("Not a valid choice.")]
    category_id = _int_field("category_id", errors)
    if category_id is not None and Category.get_or_none(Category.id == category_id) is None:
        errors["category_id"] = [_("Not a valid choice.")]
    unknown = sorted(set(re.findall(r"\{([a-z_]+)\}", body)) - set(PLACEHOLDERS))
    if unknown and "body" not in errors:
        errors["body"] = [_("Unknown placeholder: %(names)s.", names=", ".join("{%s}" % u for u in unknown))]
    return {"name": name, "body": body, "agency": agency_id, "category": category_id}, errors


def _render_template_form(actor, t, values, errors, status=200):
    return render("portal/staff/template_form.html", t=t, values=values, errors=errors,
                  agencies=_agencies(), categories=Category.select().order_by(Category.name),
                  placeholders=PLACEHOLDERS, officer=actor.role == "officer"), status


@bp.get("/staff/templates/")
@staff_required("coordinator", "officer", "admin")
def staff_templates():
    actor = current_staff()
    return render("portal/staff/templates.html", templates=list(_templates_query(actor)), placeholders=PLACEHOLDERS)


@bp.route("/staff/templates/new", methods=["GET", "POST"])
@staff_required("coordinator", "officer", "admin")
def staff_template_new():
    actor = current_staff()
    if request.method == "GET":
        return _render_template_form(actor, None, {"agency": actor.agency_id}, {})
    values, errors = _template_form(actor, None)
    if errors:
        return _render_template_form(actor, None, values, errors, 400)
    PortalResponseTemplate.create(created_by=actor.user_id, **values)
    flash(_("Template saved."))
    return redirect(url_for("portal.staff_templates"))


@bp.route("/staff/templates/<int:template_id>", methods=["GET", "POST"])
@staff_required("coordinator", "officer", "admin")
def staff_template_edit(template_id):
    actor = current_staff()
    t = _template_for(actor, template_id)
    if request.method == "GET":
        return _render_template_form(actor, t, {"name": t.name, "body": t.body, "agency": t.agency_id,
                                                "category": t.category_id}, {})
    values, errors = _template_form(actor, t)
    if errors:
        return _render_template_form(actor, t, values, errors, 400)
    PortalResponseTemplate.update(updated_at=utcnow(), **values).where(PortalResponseTemplate.id == t.id).execute()
    flash(_("Template saved."))
    return redirect(url_for("portal.staff_templates"))


@bp.post("/staff/templates/<int:template_id>/delete")
@staff_required("coordinator", "officer", "admin")
def staff_template_delete(template_id):
    actor = current_staff()
    t = _template_for(actor, template_id)
    PortalResponseTemplate.delete().where(PortalResponseTemplate.id == t.id).execute()
    flash(_("Template deleted."))
    return redirect(url_for("portal.staff_templates"))
