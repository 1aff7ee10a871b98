"""Staff API under ``/api/v1/plugins/telegram/``: the Telegram messages about one complaint."""
from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from aduan import privacy
from aduan.api import require
from aduan.i18n import isoformat
from aduan.services import visible_complaint

from .models import TelegramMessage

blp = Blueprint("telegram", __name__, url_prefix="/api/v1/plugins/telegram",
                description="Telegram channel: message log (staff only).")


class TelegramMessageOut(Schema):
    id = fields.Integer()
    direction = fields.String(metadata={"description": "in or out"})
    chat_id = fields.String(allow_none=True, metadata={
        "description": "Telegram chat id; null when the caller may not see the reporter's identity"})
    body = fields.String(metadata={"description": "access codes are masked; empty when the content is hidden"})
    command = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "in: received, processed, ignored, blocked, rate_limited, "
                                                    "error; out: queued, sent, failed, suppressed"})
    error = fields.String(allow_none=True)
    tracking_id = fields.String()
    created_at = fields.String()
    updated_at = fields.String()


@blp.route("/complaints/<tracking_id>/messages")
class ComplaintMessages(MethodView):
    @require("admin", "coordinator", "officer")
    @blp.response(200, TelegramMessageOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, tracking_id):
        """Telegram messages about one complaint, oldest first (officers: complaints of their agency only)."""
        c = visible_complaint(tracking_id, g.actor)
        aud = privacy.audience_for(g.actor, c)
        show_id, show_body = privacy.shows_identity(c, aud), privacy.shows_content(c, aud)
        return [{"id": m.id, "direction": m.direction, "chat_id": m.chat_id if show_id else None,
                 "body": m.body if show_body else "", "command": m.command, "status": m.status, "error": m.error,
                 "tracking_id": c.tracking_id, "created_at": isoformat(m.created_at),
                 "updated_at": isoformat(m.updated_at)}
                for m in TelegramMessage.select().where(TelegramMessage.complaint == c).order_by(TelegramMessage.id)]
