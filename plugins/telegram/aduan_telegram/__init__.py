"""aduan-telegram: file, follow and answer complaints with a Telegram bot (Bot API, webhook mode).

Transport only: the conversation (commands, drafts, limits, consent, texts) is the core's
:mod:`aduan.messaging`. Inbound: :mod:`aduan_telegram.webhooks`; outbound through the outbox:
:mod:`aduan_telegram.outbound`.
"""
from __future__ import annotations

import logging
import os

from flask import current_app

from aduan import JobRequest, hookimpl

__version__ = "0.1.0"
log = logging.getLogger("aduan.telegram")


@hookimpl
def register_config():
    from .config import TelegramConfig

    return {"TELEGRAM": TelegramConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return MODELS


@hookimpl(trylast=True)
def register_migrations():
    # trylast: after the core's (the foreign key to "complaint" needs the table)
    return {"telegram": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .api import blp
    from .webhooks import bp

    return [blp, bp]


@hookimpl
def register_commands():
    from .cli import telegram_cli

    return [telegram_cli]


@hookimpl
def register_jobs():
    from .outbound import job_media, job_notify, job_send

    return {"telegram.send": job_send, "telegram.notify": job_notify, "telegram.media": job_media}


@hookimpl
def enqueue_jobs(event):
    """Plan a message to the reporter's chat for a public event by staff or the system."""
    cfg = current_app.config
    if not cfg.get("TELEGRAM_BOT_TOKEN"):
        return None
    if event.visibility != "public" or event.actor_role == "reporter" or event.event_id is None:
        return None
    if event.type not in (cfg.get("TELEGRAM_NOTIFY_EVENTS") or []):
        return None
    from aduan import messaging
    from aduan.models import Complaint

    c = Complaint.get_or_none(Complaint.id == event.complaint_id)
    if c is None or not messaging.notify_contacts("telegram", c):
        return None
    return [JobRequest("telegram.notify", {"event_id": event.event_id}, key=f"telegram.notify:{event.event_id}",
                       complaint_id=event.complaint_id)]


@hookimpl
def complaint_extra(complaint, audience):
    if audience not in ("coordinator", "admin", "officer"):
        return None
    from .models import TelegramMessage

    n = TelegramMessage.select().where(TelegramMessage.complaint == complaint).count()
    return {"messages": n} if n else None


@hookimpl
def complaint_extras(complaints, audience):
    """``complaint_extra`` for a page: the message counts of every complaint in one query."""
    if audience not in ("coordinator", "admin", "officer"):
        return None
    import peewee as pw

    from aduan.db import among

    from .models import TelegramMessage

    rows = (TelegramMessage.select(TelegramMessage.complaint, pw.fn.COUNT(TelegramMessage.id))
            .where(among(TelegramMessage.complaint, [c.id for c in complaints]))
            .group_by(TelegramMessage.complaint).tuples())
    return {cid: {"messages": n} for cid, n in rows if n}


@hookimpl
def startup(app):
    """An unconfigured bot does not stop start-up: it says what is missing (names, never values)."""
    missing = [k for k in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET") if not app.config.get(k)]
    if missing:
        log.warning("telegram: channel off until %s %s set", " and ".join(missing),
                    "is" if len(missing) == 1 else "are")


@hookimpl
def channel_info(app):
    """The bot citizens write to (``TELEGRAM_BOT_USERNAME``)."""
    from aduan.i18n import gettext as _

    name = (app.config.get("TELEGRAM_BOT_USERNAME") or "").lstrip("@")
    if not name:
        return None
    return {"channel": "telegram", "name": _("Telegram"), "address": f"@{name}", "url": f"https://t.me/{name}",
            "order": 40, "how": _("Open the bot, write your complaint, add photos or your location, then press "
                                  "Send. The reply gives your tracking id and access code.")}
