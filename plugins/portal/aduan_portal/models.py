"""The portal's tables (``portal_*``): staff sessions kept on the server, response templates."""
from __future__ import annotations

import peewee as pw

from aduan.db import utcnow
from aduan.models import Agency, BaseModel, Category, User


class PortalSession(BaseModel):
    """A signed-in staff session. The cookie holds a random token; only its SHA-256 is stored here.
    A session ends when its row is deleted (sign out, sign out everywhere), when it is idle longer
    than ``PORTAL_SESSION_HOURS``, or when the user's ``session_epoch`` moves on (a password change)."""

    token_hash = pw.CharField(max_length=64, unique=True)
    user = pw.ForeignKeyField(User, on_delete="CASCADE", index=True, backref="portal_sessions")
    epoch = pw.IntegerField(default=0)
    created_at = pw.DateTimeField(default=utcnow)
    last_seen_at = pw.DateTimeField(default=utcnow)


class PortalResponseTemplate(BaseModel):
    """A response template (*templat tanggapan*): a ready answer for an agency (``agency`` NULL: every
    agency) and optionally one category, with placeholders filled for each complaint."""

    name = pw.CharField(max_length=120)
    body = pw.TextField()
    agency = pw.ForeignKeyField(Agency, null=True, on_delete="CASCADE", index=True, backref="+")
    category = pw.ForeignKeyField(Category, null=True, on_delete="CASCADE", index=True, backref="+")
    created_by = pw.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="+")
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)


MODELS = [PortalSession, PortalResponseTemplate]
