"""aduan-lapor: synchronise complaints with SP4N-LAPOR!, the national complaint system (API v3).

Push (E3 upload, E4 create, E5 forward) when a complaint is dispatched, poll status and follow-ups
(E6, E7), post our public answers (E8), import a LAPOR! complaint by id, keep the institution
directory (E1). See README.md.
"""
from __future__ import annotations

import logging
import os

from aduan import JobKind, JobRequest, Schedule, hookimpl

__version__ = "0.1.0"

log = logging.getLogger("aduan_lapor")

#: public steps posted to LAPOR! even without a text of their own (the lead says what happened)
TEXTLESS_STEPS = ("start", "resume")
#: our events after which LAPOR! is worth polling again soon (polling may have stopped)
WAKE_EVENTS = ("reopen", "reply")


@hookimpl
def register_config():
    from .config import LaporConfig

    return {"LAPOR": LaporConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return list(MODELS)


@hookimpl(trylast=True)
def register_migrations():
    # trylast: our tables reference the core's, so our migrations must run after the core's (pluggy calls
    # later-registered plugins first, and the core's migrate() keeps the order the hooks answered in)
    return {"lapor": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .api import blp

    return [blp]


@hookimpl
def register_commands():
    from .cli import lapor_group

    return [lapor_group]


@hookimpl
def register_jobs():
    from flask import current_app

    from . import sync

    # every job that calls SP4N-LAPOR! shares one bound per worker process (and the client's rate limit)
    n = current_app.config["LAPOR_CONCURRENCY"]
    return {"lapor.push": JobKind(sync.push, concurrency=n, group="lapor"),
            "lapor.reply": JobKind(sync.reply, concurrency=n, group="lapor"), "lapor.wake": sync.wake}


@hookimpl
def register_schedules():
    from flask import current_app

    from . import sync

    cfg = current_app.config
    return [Schedule("lapor.poll", cfg["LAPOR_POLL_SECONDS"], sync.poll_due),
            Schedule("lapor.institutions", cfg["LAPOR_INSTITUTION_SYNC_SECONDS"], sync.scheduled_institutions)]


@hookimpl
def startup(app):
    from .config import missing_credentials

    missing = missing_credentials(app.config)
    if missing:
        log.warning("lapor: not configured, nothing will be sent to SP4N-LAPOR! until these are set: %s "
                    "(jobs wait; see `aduan lapor status`)", ", ".join(missing))


@hookimpl
def enqueue_jobs(event):
    """Plan the outside work in the change's own transaction (no I/O here)."""
    from flask import current_app

    if event.source == "lapor":
        return None  # it came from LAPOR!: never echo it back
    cfg = current_app.config
    cid = event.complaint_id
    push_on = cfg["LAPOR_PUSH_ON"]
    if event.type == push_on:
        return [JobRequest("lapor.push", {"complaint_id": cid}, key=f"lapor.push:{cid}")]
    jobs = []
    if event.type in ("verify", "transfer"):
        # the complaint is (or will be) in LAPOR! already: the push job resumes at the forward step
        jobs.append(JobRequest("lapor.push", {"complaint_id": cid, "event_id": event.event_id},
                               key=f"lapor.push:{cid}:ev{event.event_id}"))
    if (event.type in (cfg["LAPOR_POST_STEPS"] or ()) and event.visibility == "public"
            and (event.text or event.type in TEXTLESS_STEPS)):
        jobs.append(JobRequest("lapor.reply", {"event_id": event.event_id}, key=f"lapor.reply:{event.event_id}"))
    if event.type in WAKE_EVENTS:
        jobs.append(JobRequest("lapor.wake", {"complaint_id": cid}, key=f"lapor.wake:{event.event_id}"))
    return jobs or None


@hookimpl
def complaint_extra(complaint, audience):
    """The LAPOR! sync state, for staff only."""
    if audience not in ("officer", "coordinator", "admin"):
        return None
    from .models import LaporTicket
    from .sync import ticket_view

    return ticket_view(LaporTicket.get_or_none(LaporTicket.complaint == complaint.id), complaint)


@hookimpl
def complaint_extras(complaints, audience):
    """``complaint_extra`` for a page: every complaint's ticket and next LAPOR! job in one query."""
    if audience not in ("officer", "coordinator", "admin"):
        return None
    from .sync import ticket_views

    return ticket_views(complaints)


@hookimpl
def collect_metrics(app):
    """Tickets and follow-ups by sync state (``uncertain``: a create whose outcome LAPOR! never confirmed)."""
    import peewee as pw

    from aduan import Metric

    from .models import LaporReply, LaporTicket

    def by_state(model):
        return [((state,), n) for state, n in
                model.select(model.state, pw.fn.COUNT(model.id)).group_by(model.state).tuples()]

    return [Metric("tickets", "Complaints synchronised with SP4N-LAPOR!, by sync state.", "gauge", ("state",),
                   by_state(LaporTicket)),
            Metric("replies", "Follow-ups posted to SP4N-LAPOR!, by state.", "gauge", ("state",), by_state(LaporReply))]


@hookimpl
def staff_panels(actor):
    """The stuck list and the mappings, for coordinators and admins (rendered by a staff portal)."""
    from .panels import panels

    return panels(actor)


@hookimpl
def channel_info(app):
    """Complaints are exchanged with SP4N-LAPOR!: citizens may file there too."""
    from aduan.i18n import gettext as _

    return {"channel": "lapor", "name": _("SP4N-LAPOR!"), "address": None, "url": "https://www.lapor.go.id",
            "order": 90, "how": _("Also via SP4N-LAPOR!, the national complaint service: complaints about us "
                                  "filed there reach us and are answered here too.")}
