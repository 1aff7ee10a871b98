"""Staff routes of forwarding under ``/api/v1/plugins/open311/forwards`` (OpenAPI tag ``open311``).

Unlike the GeoReport server beside them these are aduan's own API: bearer tokens of coordinators
and admins, errors in the core's JSON format.
"""
from __future__ import annotations

from flask import abort, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from aduan import privacy, services
from aduan.i18n import _

from . import federation
from .models import FORWARD_STATES, Open311Forward

blp = Blueprint("open311-forwards", __name__, url_prefix="/api/v1/plugins/open311/forwards",
                description="Open311 forwarding: complaints forwarded to other Open311 back ends, their state, "
                            "and the operator's decisions on uncertain creates.")

MANAGERS = ("admin", "coordinator")
ID = validate.Regexp(r"^[A-Za-z0-9._:-]{1,128}$")


def _require(*roles):
    a = g.actor
    if a.role not in roles:
        abort(401 if a.role in ("public", "reporter") else 403,
              _("This needs one of the roles: %(roles)s.", roles=", ".join(roles)))
    return a


def _forward(forward_id: int) -> Open311Forward:
    f = Open311Forward.get_or_none(Open311Forward.id == forward_id)
    if f is None:
        abort(404, _("No such forward."))
    return f


class ForwardOut(Schema):
    id = fields.Integer()
    tracking_id = fields.String()
    destination = fields.String()
    state = fields.String(metadata={"description": "queued, sending, token (waiting for the back end's id), "
                                                   "created, uncertain (outcome unknown: an operator links or "
                                                   "resends), failed (refused), skipped (secret complaint)"})
    remote_id = fields.String(allow_none=True)
    service_code = fields.String(allow_none=True)
    remote_status = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    sent_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    updated_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class ForwardList(Schema):
    items = fields.List(fields.Nested(ForwardOut))


class ForwardQuery(Schema):
    state = fields.String(validate=validate.OneOf(FORWARD_STATES))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ForwardIn(Schema):
    tracking_id = fields.String(required=True, validate=validate.Length(min=1, max=32))
    destination = fields.String(required=True, validate=validate.Length(min=1, max=64))


class LinkIn(Schema):
    remote_id = fields.String(required=True, validate=ID, metadata={
        "description": "the service_request_id the destination gave the complaint"})


@blp.route("")
class Forwards(MethodView):
    @blp.arguments(ForwardQuery, location="query")
    @blp.response(200, ForwardList)
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Forwarded complaints, most recently changed first (``state=uncertain`` lists what needs an operator)."""
        _require(*MANAGERS)
        q = Open311Forward.select()
        if args.get("state"):
            q = q.where(Open311Forward.state == args["state"])
        rows = q.order_by(Open311Forward.updated_at.desc(), Open311Forward.id.desc()).limit(args["limit"])
        return {"items": [federation.forward_view(f) for f in rows]}

    @blp.arguments(ForwardIn)
    @blp.response(202, ForwardOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Forward a complaint to a destination of ``OPEN311_DESTINATIONS`` now (sent by the worker)."""
        actor = _require(*MANAGERS)
        try:
            c = services.find_complaint(data["tracking_id"])
        except services.NotFound:
            c = None
        if c is None or not privacy.can_see(actor, c):
            abort(404, _("No complaint with this tracking id."))
        if data["destination"] not in federation.destinations():
            abort(422, _("Unknown Open311 destination: %(name)s", name=data["destination"][:64]))
        existing = Open311Forward.get_or_none((Open311Forward.complaint == c.id)
                                              & (Open311Forward.destination == data["destination"]))
        if existing is not None:
            abort(409, _("The complaint was already forwarded there (state %(state)s).", state=existing.state))
        try:
            federation.forward_now(c, data["destination"], actor)
        except services.ServiceError as exc:
            abort(exc.status, str(exc))
        f = federation.forward_row(c, data["destination"])
        return federation.forward_view(f)


@blp.route("/<int:forward_id>")
class Forward(MethodView):
    @blp.response(200, ForwardOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self, forward_id):
        """One forward."""
        _require(*MANAGERS)
        return federation.forward_view(_forward(forward_id))


@blp.route("/<int:forward_id>/link")
class Link(MethodView):
    @blp.arguments(LinkIn)
    @blp.response(200, ForwardOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data, forward_id):
        """Settle an uncertain (or failed) forward: the destination has it under ``remote_id``."""
        _require(*MANAGERS)
        f = _forward(forward_id)
        try:
            return federation.forward_view(federation.link(f, data["remote_id"]))
        except ValueError:
            abort(409, _("This forward already has its remote id, or the id belongs to another complaint."))


@blp.route("/<int:forward_id>/resend")
class Resend(MethodView):
    @blp.response(202, ForwardOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, forward_id):
        """Settle an uncertain (or failed) forward: the destination does not have it, send it again."""
        actor = _require(*MANAGERS)
        f = _forward(forward_id)
        try:
            return federation.forward_view(federation.resend(f, actor))
        except ValueError:
            abort(409, _("Only an uncertain or failed forward can be sent again (this one is %(state)s).",
                         state=f.state))
