"""aduan-open311: an Open311 GeoReport v2 server (discovery, services, service definitions,
requests, tokens, FixMyStreet's servicerequestupdates; filing and updates with an ``api_key``) in
XML and JSON under ``/api/v1/plugins/open311/``.

Hooks: ``register_config``, ``register_models``, ``register_migrations``, ``register_blueprints``,
``register_commands`` (``aduan open311 attributes-load|attributes-dump``).
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
    from .models import Open311Attribute, Open311Request, Open311Update

    return [Open311Attribute, Open311Request, Open311Update]


@hookimpl
def register_migrations():
    return {"open311": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .web import api

    return [api]


@hookimpl
def register_commands():
    from .cli import group

    return [group]
