"""aduan-open311: an Open311 GeoReport v2 server (discovery, services, service definitions,
requests, tokens, FixMyStreet's servicerequestupdates; filing and updates with an ``api_key``) in
XML and JSON under ``/api/v1/plugins/open311/``.

Hooks: ``register_config``, ``register_models``, ``register_migrations``, ``register_blueprints``,
``register_commands`` (``aduan open311 attributes-load|attributes-dump``).

Forwarding (the client side, ``federation.py``): ``enqueue_jobs`` plans ``open311.forward`` and
``open311.update`` jobs, ``register_jobs`` runs them, ``register_schedules`` follows forwarded
complaints (``open311.poll``), ``complaint_extra`` shows staff where a complaint was forwarded,
``collect_metrics`` counts forwards by state.
"""
from __future__ import annotations

import os

from aduan import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_config():
    from .config import Open311Config

    return {"OPEN311": Open311Config}


@hookimpl
def register_models():
    from .models import FEDERATION_MODELS, Open311Attribute, Open311Request, Open311Update

    return [Open311Attribute, Open311Request, Open311Update, *FEDERATION_MODELS]


@hookimpl
def register_migrations():
    return {"open311": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .federation_api import blp
    from .web import api

    return [api, blp]


@hookimpl
def register_commands():
    from . import federation_cli  # noqa: F401 - adds the forward commands to the group
    from .cli import group

    return [group]


@hookimpl
def register_jobs():
    from . import federation

    return {"open311.forward": federation.forward_job, "open311.update": federation.update_job}


@hookimpl
def register_schedules():
    from aduan import Schedule
    from flask import current_app

    from . import federation

    return [Schedule("open311.poll", current_app.config["OPEN311_POLL_SECONDS"], federation.poll)]


@hookimpl
def enqueue_jobs(event):
    """Forward a complaint disposed to a destination's agency (or category), or forwarded explicitly;
    post a reporter's reply to a forwarded complaint back (reads only, in the change's transaction)."""
    from . import federation

    return federation.plan(event)


@hookimpl
def complaint_extra(complaint, audience):
    """Where the complaint was forwarded over Open311, for staff only."""
    if audience not in ("officer", "coordinator", "admin"):
        return None
    from .federation import forward_view
    from .models import Open311Forward

    rows = list(Open311Forward.select().where(Open311Forward.complaint == complaint.id).order_by(Open311Forward.id))
    return {"forwards": [forward_view(f) for f in rows]} if rows else None


@hookimpl
def complaint_extras(complaints, audience):
    """:func:`complaint_extra` for a page of complaints, in one query."""
    if audience not in ("officer", "coordinator", "admin"):
        return None
    from aduan.db import among
    from aduan.models import Complaint

    from .federation import forward_view
    from .models import Open311Forward

    out: dict = {}

    # joined, so forward_view reads the tracking id without a query per forward
    rows = (Open311Forward.select(Open311Forward, Complaint.id, Complaint.tracking_id).join(Complaint)
            .where(among(Open311Forward.complaint, [c.id for c in complaints])).order_by(Open311Forward.id))
    for f in rows:
        out.setdefault(f.complaint_id, {"forwards": []})["forwards"].append(forward_view(f))
    return out


@hookimpl
def collect_metrics(app):
    """Complaints forwarded over Open311, by forward state (``uncertain``: waiting for an operator)."""
    import peewee as pw
    from aduan import Metric

    from .models import Open311Forward

    rows = (Open311Forward.select(Open311Forward.state, pw.fn.COUNT(Open311Forward.id))
            .group_by(Open311Forward.state).tuples())
    return [Metric("forwards", "Complaints forwarded to other Open311 back ends, by state.", "gauge", ("state",),
                   [((state,), n) for state, n in rows])]
