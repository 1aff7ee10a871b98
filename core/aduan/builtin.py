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
    """Drop finished jobs older than 30 days and expired rate-limit windows."""
    import time

    from .models import Job, RateLimit

    with database.atomic():
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
