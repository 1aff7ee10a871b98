"""aduan-portal: the web pages people use, server-rendered on the core's services and privacy layer.

Citizens (no account) file, keep their tracking id and access code, track and answer; staff sign in
with a password and work their queues; administrators manage agencies, categories, users and tokens.
Every page is under ``/portal/`` (``/`` redirects there); every script, style and image is served by
the plugin itself (``/portal/static/``), never from another host.

Hooks: ``register_config`` (``PORTAL_*``), ``register_models`` (``portal_*`` tables), ``register_migrations``, ``register_blueprints``, ``actor_from_request``,
``startup`` (session signing, template helpers), ``track_url`` (links given to reporters open the
portal's tracking page).
"""
from __future__ import annotations

import os

from aduan import hookimpl

__version__ = "0.1.0"


@hookimpl
def register_config():
    from .config import PortalConfig

    return {"PORTAL": PortalConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return list(MODELS)


@hookimpl
def register_migrations():
    return {"portal": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .web import bp, root

    return [bp, root]


@hookimpl
def actor_from_request(request):
    """The staff member of a portal page's internal call of an API route (:mod:`aduan_portal.apicall`:
    a WSGI environ key no HTTP client can set); ``None`` for every request from outside."""
    from .apicall import internal_actor

    return internal_actor(request)


@hookimpl
def startup(app):
    from .web import init_app

    init_app(app)


@hookimpl
def track_url(tracking_id):
    """Reporters follow their complaint on the portal's tracking page (``aduan.links.track_url``)."""
    from flask import current_app

    return f"{current_app.config['BASE_URL'].rstrip('/')}/portal/track/{tracking_id}"
