"""aduan-portal: the web pages people use, server-rendered on the core's services and privacy layer.

Citizens (no account) file, keep their tracking id and access code, track and answer; staff sign in
with a password and work their queues; administrators manage agencies, categories, users and tokens.
Every page is under ``/portal/`` (``/`` redirects there); every script, style and image is served by
the plugin itself (``/portal/static/``), never from another host.

Hooks: ``register_config`` (``PORTAL_*``), ``register_models`` (``portal_*`` tables), ``register_migrations``, ``register_blueprints``,
``startup`` (session signing, template helpers).
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
def startup(app):
    from .web import init_app

    init_app(app)
