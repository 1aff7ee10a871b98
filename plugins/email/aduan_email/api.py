"""Staff routes under ``/api/v1/plugins/email/``: mailbox state and the failing-address list."""
from __future__ import annotations

import peewee as pw
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from aduan.api import require
from aduan.api.schemas import LocalDateTime

from . import common
from .models import EmailAddress, EmailImapState, EmailMessage, EmailSent

blp = Blueprint("email", __name__, url_prefix="/api/v1/plugins/email",
                description="Email channel: polling state, inbound outcomes, failing addresses.")


class ImapStateOut(Schema):
    mailbox = fields.String()
    uidvalidity = fields.Integer()
    last_uid = fields.Integer()
    updated_at = LocalDateTime(allow_none=True)


class StatusOut(Schema):
    imap = fields.List(fields.Nested(ImapStateOut))
    inbound = fields.Dict(keys=fields.String(), values=fields.Integer(),
                          metadata={"description": "inbound messages by outcome (filed, reply, ignored, bounce...)"})
    sent = fields.Integer(metadata={"description": "messages sent"})
    failing_addresses = fields.Integer()


class AddressIn(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=255))
    failing = fields.Boolean(required=True, metadata={"description": "mark (true) or clear (false)"})


class AddressOut(Schema):
    failing = fields.Boolean()
    was_failing = fields.Boolean()


@blp.route("/status")
class Status(MethodView):
    @require("admin", "coordinator")
    @blp.response(200, StatusOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Polling resume points, inbound outcomes and delivery state (no addresses, no content)."""
        inbound = {o: n for o, n in EmailMessage.select(EmailMessage.outcome, pw.fn.COUNT(EmailMessage.id))
                   .group_by(EmailMessage.outcome).tuples()}
        imap = [{"mailbox": s.mailbox, "uidvalidity": s.uidvalidity, "last_uid": s.last_uid,
                 "updated_at": s.updated_at}
                for s in EmailImapState.select().order_by(EmailImapState.mailbox)]
        return {"imap": imap, "inbound": inbound, "sent": EmailSent.select().count(),
                "failing_addresses": EmailAddress.select().where(EmailAddress.failing == True).count()}  # noqa: E712


@blp.route("/addresses")
class Addresses(MethodView):
    @require("admin", "coordinator")
    @blp.arguments(AddressIn)
    @blp.response(200, AddressOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Mark an address as failing (no more mail to it) or clear the mark after it was fixed."""
        was = common.is_failing(data["email"])
        common.set_failing(data["email"], data["failing"], "staff")
        return {"failing": data["failing"], "was_failing": was}
