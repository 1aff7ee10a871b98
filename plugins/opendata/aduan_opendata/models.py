"""The plugin's table: one row per published snapshot (``opendata_snapshot``)."""
from __future__ import annotations

import peewee as pw
from aduan.db import utcnow
from aduan.models import BaseModel, JSONField


class OpendataSnapshot(BaseModel):
    """A published version of the open data: its folder and the files in it (size, sha256, rows)."""

    version = pw.CharField(max_length=32, unique=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    path = pw.CharField(max_length=1024)
    files = JSONField(default=list)

    class Meta:
        table_name = "opendata_snapshot"
