"""aduan-whatsapp: file, follow and answer complaints on WhatsApp (WhatsApp Business Cloud API).

Transport only: the conversation (commands, drafts, limits, consent, texts) is the core's
:mod:`aduan.messaging`. Inbound: :mod:`aduan_whatsapp.webhooks` (signed webhooks); outbound through
the outbox: :mod:`aduan_whatsapp.outbound` (text inside the 24-hour window, templates outside).
"""
from __future__ import annotations

import logging
import os

from flask import current_app

from aduan import JobRequest, hookimpl

__version__ = "0.1.0"
log = logging.getLogger("aduan.whatsapp")


@hookimpl
def register_config():
    from .config import WhatsappConfig

    return {"WHATSAPP": WhatsappConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return MODELS


@hookimpl(trylast=True)
def register_migrations():
    # trylast: after the core's (the foreign key to "complaint" needs the table)
    return {"whatsapp": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .api import blp
    from .webhooks import bp

    return [blp, bp]


@hookimpl
def register_commands():
    from .cli import whatsapp_cli

    return [whatsapp_cli]


@hookimpl
def register_jobs():
    from .outbound import job_media, job_notify, job_send

    return {"whatsapp.send": job_send, "whatsapp.notify": job_notify, "whatsapp.media": job_media}


@hookimpl
def enqueue_jobs(event):
    """Plan a WhatsApp message to the reporter for a public event by staff or the system."""
    cfg = current_app.config
    if not (cfg.get("WHATSAPP_ACCESS_TOKEN") and cfg.get("WHATSAPP_PHONE_NUMBER_ID")):
        return None
    if event.visibility != "public" or event.actor_role == "reporter" or event.event_id is None:
        return None
    if event.type not in (cfg.get("WHATSAPP_NOTIFY_EVENTS") or []):
        return None
    from aduan import messaging
    from aduan.models import Complaint

    c = Complaint.get_or_none(Complaint.id == event.complaint_id)
    if c is None or not messaging.notify_contacts("whatsapp", c, phone_channel=True):
        return None
    return [JobRequest("whatsapp.notify", {"event_id": event.event_id}, key=f"whatsapp.notify:{event.event_id}",
                       complaint_id=event.complaint_id)]


@hookimpl
def complaint_extra(complaint, audience):
    if audience not in ("coordinator", "admin", "officer"):
        return None
    from .models import WhatsappMessage

    n = WhatsappMessage.select().where(WhatsappMessage.complaint == complaint).count()
    return {"messages": n} if n else None


@hookimpl
def complaint_extras(complaints, audience):
    """``complaint_extra`` for a page: the message counts of every complaint in one query."""
    if audience not in ("coordinator", "admin", "officer"):
        return None
    import peewee as pw

    from aduan.db import among

    from .models import WhatsappMessage

    rows = (WhatsappMessage.select(WhatsappMessage.complaint, pw.fn.COUNT(WhatsappMessage.id))
            .where(among(WhatsappMessage.complaint, [c.id for c in complaints]))
            .group_by(WhatsappMessage.complaint).tuples())
    return {cid: {"messages": n} for cid, n in rows if n}


@hookimpl
def startup(app):
    """An unconfigured bot does not stop start-up: it says what is missing (names, never values)."""
    missing = [k for k in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                           "WHATSAPP_PHONE_NUMBER_ID") if not app.config.get(k)]
    if missing:
        log.warning("whatsapp: channel off until %s %s set", ", ".join(missing),
                    "is" if len(missing) == 1 else "are")


@hookimpl
def channel_info(app):
    """The WhatsApp number citizens write to (``WHATSAPP_PUBLIC_NUMBER``)."""
    from aduan.i18n import gettext as _

    number = app.config.get("WHATSAPP_PUBLIC_NUMBER")
    if not number:
        return None
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return {"channel": "whatsapp", "name": _("WhatsApp"), "address": number, "url": f"https://wa.me/{digits}",
            "order": 30, "how": _("Write your complaint, add photos or share your location, then send KIRIM. "
                                  "The reply gives your tracking id and access code.")}
