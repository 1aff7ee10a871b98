"""Staff panel (core hook ``staff_panels``): the SMS message log, as plain data a portal renders.

Privacy: a number is never shown whole (``aduan.messaging.mask``: enough to tell contacts apart, not to
reach them), and not even masked when :func:`aduan.privacy.shows_identity` hides the reporter from the
reader (an anonymous complaint seen by an officer). Message texts are not shown here (they may carry
a story or an access code): the complaint's page shows what the reader may see. Officers see only
messages about complaints of their agency.
"""
from __future__ import annotations

import datetime as dt

from aduan import Panel, PanelAction, PanelData, PanelField, PanelTable, messaging, privacy
from aduan.db import utcnow
from aduan.i18n import _, _l, format_datetime
from aduan.models import Complaint

from .models import SmsMessage

ROLES = ("admin", "coordinator", "officer")
LIMIT = 50
DIRECTION = {"in": _l("in"), "out": _l("out")}


def _scoped(actor, query):
    if actor.role == "officer":
        return query.join(Complaint).where(Complaint.agency == actor.agency_id)
    return query


def number_for(actor, m: SmsMessage) -> str:
    """The masked number this reader may see, or a dash."""
    c = m.complaint if m.complaint_id else None
    if c is not None and not privacy.shows_identity(c, privacy.audience_for(actor, c)):
        return "—"
    if c is None and actor.role == "officer":
        return "—"
    return messaging.mask(m.phone or m.phone_raw)


def log_data(actor) -> PanelData:
    since = utcnow() - dt.timedelta(days=1)
    day = _scoped(actor, SmsMessage.select()).where(SmsMessage.created_at >= since)
    counts = ((_("Received in 24 hours"), day.where(SmsMessage.direction == "in").count()),
              (_("Sent in 24 hours"), day.where(SmsMessage.direction == "out").count()),
              (_("Failed in 24 hours"), day.where(SmsMessage.status.in_(["failed", "error"])).count()))
    rows = list(_scoped(actor, SmsMessage.select()).order_by(SmsMessage.id.desc()).limit(LIMIT))
    table = PanelTable(
        _("Latest messages"),
        (_("Time"), _("Direction"), _("Number"), _("Command"), _("Status"), _("Tracking id"), _("Problem")),
        tuple((format_datetime(m.created_at), str(DIRECTION.get(m.direction, m.direction)), number_for(actor, m),
               m.command or "—", m.status, m.complaint.tracking_id if m.complaint_id else "—", m.error or "—")
              for m in rows),
        empty=_("No SMS yet."))
    actions = ()
    if actor.role in ("admin", "coordinator"):
        counts += ((_("Blocked numbers"), len(messaging.blocked("sms"))),)
        actions = (PanelAction(_("Block a number"), "/api/v1/plugins/sms/blocklist",
                               (PanelField("phone", _("Number"), required=True),
                                PanelField("reason", _("Reason")))),)
    return PanelData(counts=counts, tables=(table,), actions=actions,
                     notes=(_("Numbers are masked; message texts are on each complaint's page."),))


def panels(actor) -> list[Panel]:
    return [Panel("log", _("SMS: message log"), ROLES, log_data,
                  _("The latest SMS received and sent, with their delivery state."))]
