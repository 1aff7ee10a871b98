"""REST routes under ``/api/v1/plugins/lapor/`` (OpenAPI tag ``lapor``)."""
from __future__ import annotations

from flask import abort, current_app, g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from aduan import services
from aduan.api import check_role
from aduan.db import database
from aduan.i18n import _l, gettext as _
from aduan.models import Agency, Category, Complaint

from . import sync
from .client import LaporError, NotConfigured, Rejected
from .config import missing_credentials
from .models import TICKET_STATES, LaporInstitution, LaporMapping, LaporTicket

blp = Blueprint("lapor", __name__, url_prefix="/api/v1/plugins/lapor",
                description="SP4N-LAPOR! synchronisation: sync state, uncertain creates, mappings, imports.")

MANAGERS = ("admin", "coordinator")


_require = check_role  # the core's 401/403, in the reader's language


def _lapor_error(exc: LaporError):
    """An outside failure is a 502 with the (credential-free) reason, never a 500. LAPOR! answering
    404 for a ``lapor_id`` the caller gave is the caller's mistake: 422 naming the field."""
    if isinstance(exc, Rejected) and exc.status == 404 and "lapor_id" in (request.get_json(silent=True) or {}):
        resp = jsonify(code=422, status="Unprocessable Entity", message=f"SP4N-LAPOR!: {exc}", kind=exc.kind,
                       errors={"lapor_id": [_("SP4N-LAPOR! has no complaint with this id.")]})
        resp.status_code = 422
        abort(resp)
    code = 503 if isinstance(exc, NotConfigured) else 502
    resp = jsonify(code=code, status="Bad Gateway" if code == 502 else "Service Unavailable",
                   message=f"SP4N-LAPOR!: {exc}", kind=exc.kind)
    resp.status_code = code
    abort(resp)


def _complaint(tracking_id: str) -> Complaint:
    return services.visible_complaint(tracking_id, g.actor)


# --- schemas ---------------------------------------------------------------------------------------

LAPOR_ID = r"^[A-Za-z0-9_-]{1,64}$"
LAPOR_ID_MESSAGE = _l("Must be a SP4N-LAPOR! complaint number (letters, digits, - or _).")

class TicketQuery(Schema):
    state = fields.String(validate=validate.OneOf(TICKET_STATES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ResolveIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(["link", "resend"]), metadata={
        "description": "link: the complaint exists in LAPOR! under lapor_id; resend: it does not, send it again"})
    lapor_id = fields.String(validate=validate.Regexp(LAPOR_ID, error=LAPOR_ID_MESSAGE))
    force = fields.Boolean(load_default=False, metadata={
        "description": "link without checking in LAPOR! that the complaint there carries our tracking id"})

    @validates_schema
    def _need_id(self, data, **kwargs):
        if data.get("action") == "link" and not data.get("lapor_id"):
            raise ValidationError({"lapor_id": [_("Required to link.")]})
        if data.get("action") == "resend" and data.get("lapor_id"):
            raise ValidationError({"lapor_id": [_("Not used when resending.")]})


class ReplyResolveIn(Schema):
    action = fields.String(required=True, validate=validate.OneOf(["resend", "dismiss"]), metadata={
        "description": "resend: post it again (it is not in LAPOR!); dismiss: it is there, stop worrying"})


class ImportIn(Schema):
    lapor_id = fields.String(required=True, validate=validate.Regexp(LAPOR_ID, error=LAPOR_ID_MESSAGE))


class AgencyMapIn(Schema):
    institution_id = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "LAPOR! institution id (from the directory); null removes the mapping"})


class CategoryMapIn(Schema):
    lapor_category_id = fields.Integer(required=True, allow_none=True, validate=validate.Range(min=1), metadata={
        "description": "LAPOR! category_id; null removes the mapping"})


class InstitutionQuery(Schema):
    q = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class LaporStatusOut(Schema):
    code = fields.String(allow_none=True, metadata={"description": "raw LAPOR! status_code"})
    name = fields.String(allow_none=True, metadata={"description": "raw LAPOR! status_name"})
    mapped = fields.String(allow_none=True, metadata={"description": "the local status it maps to (LAPOR_STATUS_MAP)"})
    disposition_id = fields.String(allow_none=True)
    disposition_name = fields.String(allow_none=True)


class TicketOut(Schema):
    tracking_id = fields.String()
    lapor_id = fields.String(allow_none=True, metadata={"description": "the complaint's id in LAPOR!"})
    origin = fields.String(metadata={"description": "push (sent from here) or import (taken from LAPOR!)"})
    state = fields.String(metadata={"description": "queued, sending, created, uncertain (outcome unknown: an "
                                                   "operator links or resends), failed (refused)"})
    forward_state = fields.String(metadata={"description": "none, pending, sending, done, failed"})
    forwarded_to = fields.Integer(allow_none=True)
    attempts = fields.Integer()
    resends = fields.Integer()
    previous_ids = fields.List(fields.String())
    last_error = fields.String(allow_none=True)
    last_error_at = fields.String(allow_none=True)
    next_attempt = fields.String(allow_none=True, metadata={"description": "when the pending job runs next"})
    next_poll_at = fields.String(allow_none=True, metadata={"description": "null once polling stopped"})
    poll_interval = fields.Float(allow_none=True)
    last_polled_at = fields.String(allow_none=True)
    poll_error = fields.String(allow_none=True)
    lapor_status = fields.Nested(LaporStatusOut)
    updated_at = fields.String(allow_none=True)
    imported = fields.Dict(allow_none=True, metadata={"description": "poll: entries imported by this poll"})


class TicketPage(Schema):
    items = fields.List(fields.Nested(TicketOut))


class ImportOut(Schema):
    tracking_id = fields.String()
    status = fields.String()
    lapor = fields.Nested(TicketOut)


# --- routes --------------------------------------------------------------------------------------

@blp.route("/status")
class Status(MethodView):
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Configuration (no secrets) and counts of tickets by state (admin, coordinator)."""
        _require(*MANAGERS)
        cfg = current_app.config
        counts = {s: 0 for s in TICKET_STATES}
        for row in LaporTicket.select(LaporTicket.state).tuples():
            counts[row[0]] = counts.get(row[0], 0) + 1
        stuck = sync.stuck()
        last = LaporInstitution.select().order_by(LaporInstitution.synced_at.desc()).first()
        return {"configured": not missing_credentials(cfg), "missing": missing_credentials(cfg),
                "base_url": cfg["LAPOR_BASE_URL"], "auth_header": cfg["LAPOR_AUTH_HEADER"],
                "institution_id": cfg["LAPOR_INSTITUTION_ID"], "push_on": cfg["LAPOR_PUSH_ON"],
                "send_identity": cfg["LAPOR_SEND_IDENTITY"], "tickets": counts,
                "stuck": {k: len(v) for k, v in stuck.items()},
                "followup_template": {"code": cfg["LAPOR_FOLLOWUP_TEMPLATE_CODE"], "problem": sync.template_problem()},
                "institutions": LaporInstitution.select().where(LaporInstitution.active == True).count(),  # noqa: E712
                "institutions_synced_at": sync._iso(last.synced_at) if last else None}


@blp.route("/stuck")
class Stuck(MethodView):
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Everything waiting for an operator: uncertain and failed creates, failing forwards and polls,
        uncertain replies, dead jobs."""
        _require(*MANAGERS)
        return sync.stuck()


@blp.route("/tickets")
class Tickets(MethodView):
    @blp.arguments(TicketQuery, location="query")
    @blp.response(200, TicketPage)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Sync state of complaints, most recently changed first (filter by ``state``)."""
        _require(*MANAGERS)
        q = LaporTicket.select(LaporTicket, Complaint).join(Complaint)
        if args.get("state"):
            q = q.where(LaporTicket.state == args["state"])
        rows = q.order_by(LaporTicket.updated_at.desc(), LaporTicket.id.desc()).limit(args["limit"])
        return {"items": [sync.ticket_view(t, t.complaint) for t in rows]}


@blp.route("/tickets/<tracking_id>")
class Ticket(MethodView):
    @blp.response(200, TicketOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, tracking_id):
        """Sync state of one complaint (staff who may see the complaint)."""
        _require("admin", "coordinator", "officer")
        c = _complaint(tracking_id)
        view = sync.ticket_view(LaporTicket.get_or_none(LaporTicket.complaint == c.id), c)
        if view is None:
            abort(404, _("Complaint %(tid)s is not synchronised with SP4N-LAPOR!.", tid=c.tracking_id))
        return view


@blp.route("/tickets/<tracking_id>/resolve")
class Resolve(MethodView):
    @blp.arguments(ResolveIn)
    @blp.response(200, TicketOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data, tracking_id):
        """Settle an uncertain (or failed) create: ``link`` it to the LAPOR! id found there, or ``resend`` it."""
        _require(*MANAGERS)
        c = _complaint(tracking_id)
        try:
            t = sync.link(c, data["lapor_id"], force=data["force"]) if data["action"] == "link" else sync.resend(c)
        except LaporError as exc:
            _lapor_error(exc)
        return sync.ticket_view(t, c)


@blp.route("/replies/<int:reply_id>/resolve")
class ReplyResolve(MethodView):
    @blp.arguments(ReplyResolveIn)
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data, reply_id):
        """Settle an uncertain (or failed) follow-up post (E8): ``resend`` or ``dismiss``."""
        _require(*MANAGERS)
        r = sync.resolve_reply(reply_id, data["action"])
        return {"id": r.id, "event_id": r.event_id, "state": r.state, "last_error": r.last_error}


@blp.route("/tickets/<tracking_id>/poll")
class PollNow(MethodView):
    @blp.response(200, TicketOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, tracking_id):
        """Poll LAPOR! for this complaint now (status, log, follow-ups)."""
        _require(*MANAGERS)
        c = _complaint(tracking_id)
        t = LaporTicket.get_or_none(LaporTicket.complaint == c.id)
        if t is None or not t.lapor_id:
            abort(409, _("Complaint %(tid)s has no SP4N-LAPOR! number yet.", tid=c.tracking_id))
        try:
            api = sync.LaporClient(current_app.config)
        except LaporError as exc:
            _lapor_error(exc)
        counts = sync.poll_one(t, api)
        view = sync.ticket_view(LaporTicket.get_by_id(t.id), c)
        view["imported"] = counts
        return view


@blp.route("/import")
class Import(MethodView):
    @blp.arguments(ImportIn)
    @blp.response(201, ImportOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Create a local complaint from a LAPOR! complaint disposed to us, with its history; kept in sync."""
        _require(*MANAGERS)
        try:
            c = sync.import_complaint(data["lapor_id"])
        except sync.ImportRefused as exc:
            body = {"code": exc.status, "status": "Conflict" if exc.status == 409 else "Unprocessable Entity",
                    "message": str(exc), "errors": {"lapor_id": [str(exc)]}}
            if exc.tracking_id:
                body["tracking_id"] = exc.tracking_id
            resp = jsonify(body)
            resp.status_code = exc.status
            abort(resp)
        except LaporError as exc:
            _lapor_error(exc)
        t = LaporTicket.get(LaporTicket.complaint == c.id)
        return {"tracking_id": c.tracking_id, "status": c.status, "lapor": sync.ticket_view(t, c)}


@blp.route("/institutions")
class Institutions(MethodView):
    @blp.arguments(InstitutionQuery, location="query")
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """The LAPOR! institution directory (synced daily), filtered by name."""
        _require(*MANAGERS)
        q = LaporInstitution.select().where(LaporInstitution.active == True)  # noqa: E712
        if args.get("q"):
            q = q.where(LaporInstitution.name.contains(args["q"]))
        return {"items": [{"id": i.id, "name": i.name} for i in q.order_by(LaporInstitution.name).limit(args["limit"])]}


@blp.route("/institutions/sync")
class InstitutionsSync(MethodView):
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def post(self):
        """Reload the directory from LAPOR! (E1) now."""
        _require(*MANAGERS)
        try:
            return sync.sync_institutions()
        except LaporError as exc:
            _lapor_error(exc)


def _mappings():
    inst = {i.id: i.name for i in LaporInstitution.select()}
    amap = {m.local_id: m.lapor_id for m in LaporMapping.select().where(LaporMapping.kind == "agency")}
    cmap = {m.local_id: m.lapor_id for m in LaporMapping.select().where(LaporMapping.kind == "category")}
    return {
        "institution_id": current_app.config["LAPOR_INSTITUTION_ID"],
        "agencies": [{"agency_id": a.id, "code": a.code, "name": a.name, "institution_id": amap.get(a.id),
                      "institution_name": inst.get(amap.get(a.id))} for a in Agency.select().order_by(Agency.code)],
        "categories": [{"category_id": c.id, "code": c.code, "name": c.name, "lapor_category_id": cmap.get(c.id)}
                       for c in Category.select().order_by(Category.code)],
        "default_category_id": current_app.config["LAPOR_CATEGORY_ID"],
    }


def set_mapping(kind: str, local_id: int, lapor_id: int | None) -> None:
    """Set (or remove, with ``None``) a mapping. Open complaints of a newly (re)mapped agency that are
    already in LAPOR! are forwarded again, so LAPOR! catches up with transfers it could not mirror."""
    with database.atomic():
        if lapor_id is None:
            LaporMapping.delete().where((LaporMapping.kind == kind) & (LaporMapping.local_id == local_id)).execute()
        else:
            (LaporMapping.insert(kind=kind, local_id=local_id, lapor_id=lapor_id)
             .on_conflict(conflict_target=[LaporMapping.kind, LaporMapping.local_id],
                          update={LaporMapping.lapor_id: lapor_id}).execute())
        if kind == "agency":
            sync.reforward_agency(local_id)


@blp.route("/mappings")
class Mappings(MethodView):
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Our agencies and categories with the LAPOR! ids they map to."""
        _require(*MANAGERS)
        return _mappings()


@blp.route("/mappings/agencies/<int:agency_id>")
class AgencyMapping(MethodView):
    @blp.arguments(AgencyMapIn)
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def put(self, data, agency_id):
        """Map an agency to a LAPOR! institution (complaints disposed to it are forwarded there)."""
        _require(*MANAGERS)
        if Agency.get_or_none(Agency.id == agency_id) is None:
            abort(404, _("No such agency."))
        inst = data["institution_id"]
        if inst is not None and LaporInstitution.get_or_none(LaporInstitution.id == inst) is None:
            raise services.InvalidInput({"institution_id": [
                _("Unknown SP4N-LAPOR! institution %(id)s: synchronise the directory first "
                  "(aduan lapor institutions sync).", id=inst)]})
        set_mapping("agency", agency_id, inst)
        return _mappings()


@blp.route("/mappings/categories/<int:category_id>")
class CategoryMapping(MethodView):
    @blp.arguments(CategoryMapIn)
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def put(self, data, category_id):
        """Map a category to a LAPOR! category_id (sent as E4 category_id)."""
        _require(*MANAGERS)
        if Category.get_or_none(Category.id == category_id) is None:
            abort(404, _("No such category."))
        set_mapping("category", category_id, data["lapor_category_id"])
        return _mappings()
