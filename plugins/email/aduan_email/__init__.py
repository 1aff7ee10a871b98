"""aduan-email: complaints and replies by email, threaded, without loops.

Inbound by IMAP polling (schedule ``email.poll``) or webhooks (``/hooks/email/mailgun``,
``/hooks/email/sendgrid``, ``/hooks/email/raw``); outbound notifications through the outbox (job
kinds ``email.notify`` for reporters and ``email.agency`` for agencies' inboxes) over SMTP.
"""
from __future__ import annotations

import os

from aduan import JobRequest, Schedule, hookimpl

__version__ = "0.1.0"

#: events whose public text or status change the reporter hears about (their own actions excepted)
REPORTER_EVENTS = frozenset({"verify", "transfer", "start", "respond", "hold", "resume", "resolve", "close",
                             "reopen", "reject", "comment"})


@hookimpl
def register_config():
    from .config import EmailConfig

    return {"EMAIL": EmailConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return MODELS


@hookimpl
def register_migrations():
    return {"email": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .api import blp
    from .webhooks import bp

    return [blp, bp]


@hookimpl
def register_commands():
    from .cli import group

    return [group]


@hookimpl
def register_jobs():
    from .outbound import job_agency, job_notify

    return {"email.notify": job_notify, "email.agency": job_agency}


def _poll(app):
    from .imap import poll

    return poll(app)


@hookimpl
def register_schedules():
    from flask import current_app

    if not current_app.config.get("EMAIL_IMAP_HOST"):
        return []
    return [Schedule("email.poll", current_app.config["EMAIL_IMAP_POLL_SECONDS"], _poll)]


@hookimpl
def enqueue_jobs(event):
    """Reporter notifications (acknowledgement of complaints filed on other channels, status changes,
    public answers) and agency notifications on disposition. Reads only."""
    from flask import current_app

    from aduan.models import Agency, Complaint

    from .common import is_failing

    cfg = current_app.config
    jobs = []
    if not cfg["EMAIL_SMTP_HOST"]:
        return jobs  # outbound mail is off
    if cfg["EMAIL_NOTIFY_REPORTERS"] and event.visibility == "public" and event.event_id:
        kind = None
        if event.type == "file" and event.channel != "email":  # email filings are acknowledged by the inbound path
            kind = "ack"
        elif event.type in REPORTER_EVENTS and event.actor_role != "reporter":
            kind = "update"
        if kind:
            c = Complaint.get_or_none(Complaint.id == event.complaint_id)
            if c is not None and c.reporter_id and c.reporter.email and not is_failing(c.reporter.email):
                jobs.append(JobRequest("email.notify", {"complaint_id": c.id, "event_id": event.event_id,
                                                        "kind": kind},
                                       key=f"email.notify:{event.event_id}", complaint_id=c.id))
    if cfg["EMAIL_NOTIFY_AGENCIES"] and event.type in ("verify", "transfer") and event.agency_id:
        ag = Agency.get_or_none(Agency.id == event.agency_id)
        if ag is not None and ag.email:
            jobs.append(JobRequest("email.agency", {"complaint_id": event.complaint_id, "agency_id": ag.id,
                                                    "event_id": event.event_id},
                                   key=f"email.agency:{event.event_id}", complaint_id=event.complaint_id))
    return jobs



@hookimpl
def startup(app):
    """Warn about configurations that cannot work (never printing a secret)."""
    import logging

    log = logging.getLogger("aduan.email")
    cfg = app.config
    if cfg["EMAIL_SMTP_HOST"] and cfg["EMAIL_FROM_ADDRESS"].endswith("@localhost"):
        log.warning("email: EMAIL_FROM_ADDRESS is %s; set the deployment's real address so replies come back",
                    cfg["EMAIL_FROM_ADDRESS"])
    if cfg["EMAIL_IMAP_HOST"] and not (cfg["EMAIL_IMAP_USERNAME"] and cfg["EMAIL_IMAP_PASSWORD"]):
        log.warning("email: EMAIL_IMAP_HOST is set but EMAIL_IMAP_USERNAME or EMAIL_IMAP_PASSWORD is empty; "
                    "polling will fail")
    if not cfg["EMAIL_SMTP_HOST"]:
        log.info("email: EMAIL_SMTP_HOST is empty: no mail will be sent")


@hookimpl
def collect_metrics(app):
    """Inbound mail by outcome (``bounce`` counts bounced notifications) and addresses marked failing."""
    import peewee as pw

    from aduan import Metric

    from .models import EmailAddress, EmailMessage

    rows = EmailMessage.select(EmailMessage.outcome, pw.fn.COUNT(EmailMessage.id)).group_by(EmailMessage.outcome).tuples()
    failing = EmailAddress.select().where(EmailAddress.failing == True).count()  # noqa: E712
    return [Metric("inbound", "Inbound mail handled, by outcome (filed, reply, bounce, ...).", "gauge", ("outcome",),
                   [((o,), n) for o, n in rows]),
            Metric("failing_addresses", "Reporter addresses marked failing after a bounce.", "gauge", (), [((), failing)])]


@hookimpl
def channel_info(app):
    """The address citizens mail complaints to (``EMAIL_FROM_ADDRESS``; replies thread on their complaint)."""
    from aduan.i18n import gettext as _

    address = app.config.get("EMAIL_FROM_ADDRESS")
    if not address or address.endswith("@localhost"):
        return None
    return {"channel": "email", "name": _("Email"), "address": address, "url": f"mailto:{address}", "order": 10,
            "how": _("Write your complaint in the message (the subject becomes its title) and attach photos or "
                     "documents. The reply gives your tracking id and access code; answer it to add to your "
                     "complaint.")}
