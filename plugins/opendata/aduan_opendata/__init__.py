"""aduan-opendata: anonymised open data, a data dictionary and a harvestable DCAT catalogue.

Hooks: ``register_config``, ``register_models``, ``register_migrations``, ``register_blueprints``,
``register_commands``, ``register_schedules`` (``opendata.publish``), ``register_exporters``
(``aduan export opendata DIR``), ``startup``.
"""
from __future__ import annotations

import logging
import os

from aduan import Schedule, hookimpl

__version__ = "0.1.0"
log = logging.getLogger("aduan.opendata")


@hookimpl
def register_config():
    from .config import OpendataConfig

    return {"OPENDATA": OpendataConfig}


@hookimpl
def register_models():
    from .models import MODELS

    return list(MODELS)


@hookimpl
def register_migrations():
    return {"opendata": os.path.join(os.path.dirname(__file__), "migrations")}


@hookimpl
def register_blueprints(app):
    from .web import api, pages

    return [api, pages]


@hookimpl
def register_commands():
    from .cli import group

    return [group]


def _publish_job(app):
    from .publish import publish

    publish(app)


@hookimpl
def register_jobs():
    """``opendata.publish``: a release asked for now (staff panel, ``POST …/opendata/publish``)."""
    def publish_job(app, payload, job):
        _publish_job(app)

    return {"opendata.publish": publish_job}


@hookimpl
def staff_panels(actor):
    """Publishing: the latest release and a "publish now" button (admin)."""
    from .panels import panels

    return panels(actor)


@hookimpl
def register_schedules():
    from flask import current_app

    return [Schedule("opendata.publish", current_app.config["OPENDATA_SNAPSHOT_SECONDS"], _publish_job)]


def _export(app, directory):
    from .publish import export

    return export(app, directory)


@hookimpl
def register_exporters():
    return {"opendata": _export}


@hookimpl
def startup(app):
    from .publish import parquet_note

    note = parquet_note(app)
    if note:
        log.warning("opendata: %s", note)
