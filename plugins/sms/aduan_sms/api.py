"""Staff API under ``/api/v1/plugins/sms/``: the message log per complaint and per number, the blocklist."""
from __future__ import annotations

from flask import abort, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from aduan import privacy
from aduan.api import require
from aduan.models import Complaint
from aduan.services import InvalidInput, visible_complaint

from aduan import messaging
from aduan.i18n import gettext as _, isoformat

from .models import SmsMessage
from .phones import normalise

blp = Blueprint("sms", __name__, url_prefix="/api/v1/plugins/sms",
                description="SMS channel: message log and blocklist (staff only).")


class SmsMessageOut(Schema):
    id = fields.Integer()
    direction = fields.String(metadata={"description": "in or out"})
    provider = fields.String()
    provider_message_id = fields.String(allow_none=True)
    phone = fields.String(allow_none=True, metadata={"description": "E.164; null when the reporter's "
                                                     "identity is hidden from the caller (anonymous complaint)"})
    body = fields.String(metadata={"description": "access codes are masked"})
    command = fields.String(allow_none=True)
    status = fields.String()
    error = fields.String(allow_none=True)
    tracking_id = fields.String(allow_none=True)
    segments = fields.Integer()
    encoding = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class SmsNumberQuery(Schema):
    phone = fields.String(required=True, metadata={"description": "any format: 0812…, +62812…, 62812…"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class SmsBlockIn(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(load_default="", validate=validate.Length(max=255))


class SmsBlockOut(Schema):
    phone = fields.String()
    reason = fields.String()
    created_at = fields.String()


def _iso(v):
    return isoformat(v)  # the deployment's offset, as every API time


def message_view(m: SmsMessage, audience: str, complaint: Complaint | None) -> dict:
    show = complaint is None or privacy.shows_identity(complaint, audience)
    return {"id": m.id, "direction": m.direction, "provider": m.provider,
            "provider_message_id": m.provider_message_id, "phone": m.phone or m.phone_raw if show else None,
            "body": m.body if complaint is None or privacy.shows_content(complaint, audience) else "",
            "command": m.command, "status": m.status, "error": m.error,
            "tracking_id": complaint.tracking_id if complaint else None, "segments": m.segments,
            "encoding": m.encoding, "created_at": _iso(m.created_at), "updated_at": _iso(m.updated_at)}


@blp.route("/complaints/<tracking_id>/messages")
class ComplaintMessages(MethodView):
    @require("admin", "coordinator", "officer")
    @blp.response(200, SmsMessageOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, tracking_id):
        """SMS exchanged about one complaint, oldest first (officers: complaints of their agency only)."""
        c = visible_complaint(tracking_id, g.actor)
        aud = privacy.audience_for(g.actor, c)
        rows = SmsMessage.select().where(SmsMessage.complaint == c).order_by(SmsMessage.id)
        return [message_view(m, aud, c) for m in rows]


@blp.route("/messages")
class NumberMessages(MethodView):
    @require("admin", "coordinator", "officer")
    @blp.arguments(SmsNumberQuery, location="query")
    @blp.response(200, SmsMessageOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """SMS from and to one number, newest first. Officers see only messages about complaints of their
        agency whose reporter is not anonymous."""
        phone = normalise(args["phone"])
        q = SmsMessage.select()
        q = q.where(SmsMessage.phone == phone) if phone else q.where(SmsMessage.phone_raw == args["phone"].strip())
        a = g.actor
        if a.role == "officer":
            q = (q.join(Complaint).where((Complaint.agency == a.agency_id) & (Complaint.anonymous == False)))  # noqa: E712
        rows = list(q.order_by(SmsMessage.id.desc()).limit(args["limit"]))
        out = []
        for m in rows:
            c = m.complaint if m.complaint_id else None
            aud = privacy.audience_for(a, c) if c else a.role
            out.append(message_view(m, aud, c))
        return out


@blp.route("/blocklist")
class Blocklist(MethodView):
    @require("admin", "coordinator")
    @blp.response(200, SmsBlockOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Blocked numbers (the SMS_BLOCKLIST setting is not listed here)."""
        return [{"phone": b.address, "reason": b.reason, "created_at": _iso(b.created_at)}
                for b in messaging.blocked("sms")]

    @require("admin", "coordinator")
    @blp.arguments(SmsBlockIn)
    @blp.response(201, SmsBlockOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Block a number: its messages are logged and ignored, nothing is sent to it."""
        key = normalise(data["phone"]) or data["phone"].strip()
        if not key:
            raise InvalidInput({"phone": ["a number or sender id is required"]})
        b = messaging.block("sms", key, data["reason"])
        return {"phone": b.address, "reason": b.reason, "created_at": _iso(b.created_at)}


@blp.route("/blocklist/<path:phone>")
class BlockItem(MethodView):
    @require("admin", "coordinator")
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, phone):
        """Unblock a number."""
        key = normalise(phone) or phone.strip()
        if not messaging.unblock("sms", key):
            abort(404, _("This number is not blocked."))
