"""Staff API under ``/api/v1/plugins/whatsapp/``: the WhatsApp messages about one complaint."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aduan import privacy
from aduan.api import require
from aduan.i18n import isoformat
from aduan.services import visible_complaint

from .models import WhatsappMessage

blp = Blueprint("whatsapp", __name__, url_prefix="/api/v1/plugins/whatsapp",
                description="WhatsApp channel: message log (staff only).")


class WhatsappMessageOut(Schema):
    id = fields.Integer()
    direction = fields.String(metadata={"description": "in or out"})
    kind = fields.String(metadata={"description": "text, interactive, template, image, document, location..."})
    address = fields.String(allow_none=True, metadata={
        "description": "E.164 number (or business-scoped user id); null when the caller may not see the "
                       "reporter's identity"})
    body = fields.String(metadata={"description": "access codes are masked; empty when the content is hidden"})
    command = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "in: received, processed, ignored, blocked, rate_limited, "
                                                    "error; out: queued, sent, delivered, read, failed, suppressed"})
    error = fields.String(allow_none=True)
    tracking_id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


@blp.route("/complaints/<tracking_id>/messages")
class ComplaintMessages(MethodView):
    @require("admin", "coordinator", "officer")
    @blp.response(200, WhatsappMessageOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, tracking_id):
        """WhatsApp messages about one complaint, oldest first (officers: complaints of their agency only)."""
        c = visible_complaint(tracking_id, g.actor)
        aud = privacy.audience_for(g.actor, c)
        show_id, show_body = privacy.shows_identity(c, aud), privacy.shows_content(c, aud)
        return [{"id": m.id, "direction": m.direction, "kind": m.kind, "address": m.address if show_id else None,
                 "body": m.body if show_body else "", "command": m.command, "status": m.status, "error": m.error,
                 "tracking_id": c.tracking_id, "created_at": isoformat(m.created_at),
                 "updated_at": isoformat(m.updated_at)}
                for m in WhatsappMessage.select().where(WhatsappMessage.complaint == c).order_by(WhatsappMessage.id)]
