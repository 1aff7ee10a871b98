"""The plugin's tables (``opendata_*``)."""
from __future__ import annotations

import peewee as pw
from aduan.db import utcnow
from aduan.models import BaseModel, Complaint, JSONField


class OpendataSnapshot(BaseModel):
    """A published release of the open data: its folder and the files in it (size, sha256, rows).

    ``kept`` releases are never pruned: the first release, and the first one of every month (UTC),
    so a version URL cited in a paper keeps working (``/snapshots/<version>/<file>``)."""

    version = pw.CharField(max_length=32, unique=True)
    created_at = pw.DateTimeField(default=utcnow, index=True)
    path = pw.CharField(max_length=1024)
    files = JSONField(default=list)
    kept = pw.BooleanField(default=False)

    class Meta:
        table_name = "opendata_snapshot"


class OpendataPeriod(BaseModel):
    """The frozen rows of one aggregate table for one closed month: computed once, never again, so
    comparing two releases reveals nothing about a complaint added or changed later."""

    table = pw.CharField(max_length=64)
    period = pw.CharField(max_length=7)  # YYYY-MM
    frozen_at = pw.DateTimeField(default=utcnow)
    rows = JSONField(default=list)

    class Meta:
        table_name = "opendata_period"
        indexes = ((("table", "period"), True),)


class OpendataPublicId(BaseModel):
    """The public id (HMAC) of each complaint, computed once, so the record table is one SQL query."""

    complaint = pw.ForeignKeyField(Complaint, primary_key=True, on_delete="CASCADE", backref="+")
    public_id = pw.CharField(max_length=16)

    class Meta:
        table_name = "opendata_public_id"


class OpendataIssued(BaseModel):
    """When each table was first published (``dct:issued``), kept however many releases are pruned."""

    table = pw.CharField(max_length=64, primary_key=True)
    issued = pw.DateTimeField()

    class Meta:
        table_name = "opendata_issued"


MODELS = [OpendataSnapshot, OpendataPeriod, OpendataPublicId, OpendataIssued]
