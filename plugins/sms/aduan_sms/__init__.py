"""aduan-sms: SMS as a first-class complaint channel (like LAPOR!'s SMS 1708).

Inbound: Twilio, SMS Gateway for Android, SMSSync, Gammu SMSD and a generic signed webhook, all
through one conversation (:mod:`aduan_sms.inbound`). Outbound: replies and notifications on public
timeline events through the outbox (:mod:`aduan_sms.outbound`).
"""
from __future__ import annotations

import os

from flask import current_app

from aduan import JobRequest, Schedule, hookimpl

__version__ = "0.1.0"


@hookimpl
def register_config():
    from .config import SmsConfig

    return {"SMS": SmsConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return MODELS


@hookimpl(trylast=True)
def register_migrations():
    # trylast: pluggy calls the core's builtin hooks last, so without it our tables would be created
    # before the core's (PostgreSQL refuses the foreign key to a missing "complaint" table).
    return {"sms": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .api import blp
    from .webhooks import bp

    return [blp, bp]


@hookimpl
def register_commands():
    from .cli import sms_cli

    return [sms_cli]


@hookimpl
def register_jobs():
    from .outbound import job_notify, job_send

    return {"sms.send": job_send, "sms.notify": job_notify}


@hookimpl
def register_schedules():
    if not current_app.config.get("SMS_GAMMU_DATABASE_URL"):
        return []
    from .gammu import poll

    return [Schedule("sms.gammu", current_app.config["SMS_GAMMU_POLL_SECONDS"], poll)]


@hookimpl
def enqueue_jobs(event):
    """Plan an SMS to the reporter for a public event by staff or the system (reads only, no I/O)."""
    cfg = current_app.config
    if event.visibility != "public" or event.actor_role == "reporter" or event.event_id is None:
        return None
    if event.type not in (cfg.get("SMS_NOTIFY_EVENTS") or []):
        return None
    from aduan.models import Complaint

    from .phones import is_blocked, opted_out

    c = Complaint.get_or_none(Complaint.id == event.complaint_id)
    rep = c.reporter if c is not None and c.reporter_id else None
    if rep is None or not rep.phone:
        return None
    if event.channel != "sms" and not cfg.get("SMS_NOTIFY_ALL_PHONES"):
        return None
    if opted_out(rep.phone) or is_blocked(rep.phone):
        return None
    if cfg.get("SMS_OUTBOUND", "none") == "none" and event.channel != "sms":
        return None
    return [JobRequest("sms.notify", {"event_id": event.event_id}, key=f"sms.notify:{event.event_id}")]


@hookimpl
def complaint_extra(complaint, audience):
    if audience not in ("coordinator", "admin", "officer"):
        return None
    from .models import SmsMessage

    n = SmsMessage.select().where(SmsMessage.complaint == complaint).count()
    return {"messages": n} if n else None


@hookimpl
def complaint_extras(complaints, audience):
    """``complaint_extra`` for a page: the message counts of every complaint in one query."""
    if audience not in ("coordinator", "admin", "officer"):
        return None
    import peewee as pw

    from aduan.db import among

    from .models import SmsMessage

    rows = (SmsMessage.select(SmsMessage.complaint, pw.fn.COUNT(SmsMessage.id))
            .where(among(SmsMessage.complaint, [c.id for c in complaints]))
            .group_by(SmsMessage.complaint).tuples())
    return {cid: {"messages": n} for cid, n in rows if n}


@hookimpl
def startup(app):
    """Refuse to start with an outbound gateway that lacks what it needs (names the keys, never values)."""
    from aduan.config import ConfigError

    cfg = app.config
    need = {
        "twilio": ["SMS_TWILIO_ACCOUNT_SID", "SMS_TWILIO_AUTH_TOKEN"],
        "android": ["SMS_ANDROID_SEND_URL"],
        "http": ["SMS_HTTP_URL"],
        "gammu": ["SMS_GAMMU_DATABASE_URL"],
    }.get(cfg["SMS_OUTBOUND"], [])
    missing = [k for k in need if not cfg.get(k)]
    if cfg["SMS_OUTBOUND"] == "twilio" and not (cfg.get("SMS_TWILIO_FROM") or cfg.get("SMS_TWILIO_MESSAGING_SERVICE_SID")):
        missing.append("SMS_TWILIO_FROM (or SMS_TWILIO_MESSAGING_SERVICE_SID)")
    if missing:
        raise ConfigError(f"invalid configuration: SMS_OUTBOUND={cfg['SMS_OUTBOUND']} needs {', '.join(missing)}")


@hookimpl
def collect_metrics(app):
    """SMS handled, by direction (in/out) and status (sent, delivered, failed, ...)."""
    import peewee as pw

    from aduan import Metric

    from .models import SmsMessage

    rows = (SmsMessage.select(SmsMessage.direction, SmsMessage.status, pw.fn.COUNT(SmsMessage.id))
            .group_by(SmsMessage.direction, SmsMessage.status).tuples())
    return [Metric("messages", "SMS messages recorded, by direction and status.", "gauge", ("direction", "status"),
                   [((d, s), n) for d, s, n in rows])]


@hookimpl
def staff_panels(actor):
    """The message log with masked numbers (officers: their agency's complaints only)."""
    from .panels import panels

    return panels(actor)


@hookimpl
def channel_info(app):
    """The number citizens text (``SMS_PUBLIC_NUMBER``, else ``SMS_TWILIO_FROM``) and what to send."""
    from aduan.i18n import gettext as _

    number = app.config.get("SMS_PUBLIC_NUMBER") or app.config.get("SMS_TWILIO_FROM")
    if not number:
        return None
    return {"channel": "sms", "name": _("SMS"), "address": number, "order": 20,
            "how": _("Send LAPOR followed by your complaint, e.g. \u201cLAPOR Jalan di depan Pasar Narmada "
                     "berlubang\u201d. The reply gives your tracking id and access code; CEK <id> tells the status.")}
