"""Configuration keys of the portal plugin (``PORTAL_*``, environment ``ADUAN_PORTAL_*``)."""
from __future__ import annotations

from aduan.config import describe_key as _d
from marshmallow import Schema, fields, validate


class PortalConfig(Schema):
    SITE_NAME = fields.String(load_default="Layanan Aduan", validate=validate.Length(min=1, max=120), metadata=_d(
        "The service's name in page titles and the header (e.g. `NTB Care`)."))
    SESSION_HOURS = fields.Integer(load_default=12, validate=validate.Range(min=1, max=24 * 30), metadata=_d(
        "How long a staff session lasts without activity, in hours."))
