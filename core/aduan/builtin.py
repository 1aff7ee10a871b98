"""The core's own hook implementations: its schedules and migrations, registered like a plugin."""
from __future__ import annotations

from datetime import timedelta

from . import hookimpl
from .db import CORE_MIGRATIONS, database, utcnow
from .events import Schedule


def _sla(app):
    from .services import sla_sweep

    return sla_sweep()


def _housekeeping(app):
    """Drop finished jobs older than 30 days, expired rate-limit windows and abandoned chat drafts."""
    import time

    from .messaging import DRAFT_TTL
    from .models import Contact, Job, RateLimit

    with database.atomic():
        # complaints written over several messages and abandoned: drop what the citizen never sent
        Contact.update(state=None).where(Contact.state.is_null(False) &
                                         (Contact.state_updated_at < utcnow() - DRAFT_TTL)).execute()
        Job.delete().where((Job.status == "done") & (Job.finished_at < utcnow() - timedelta(days=30))).execute()
        RateLimit.delete().where(RateLimit.window < int(time.time()) - 2 * 86400).execute()


@hookimpl
def register_migrations():
    return {"core": str(CORE_MIGRATIONS)}


@hookimpl
def register_schedules():
    from flask import current_app

    return [
        Schedule("core.sla", current_app.config["SLA_SWEEP_SECONDS"], _sla),
        Schedule("core.housekeeping", 86400, _housekeeping),
    ]
