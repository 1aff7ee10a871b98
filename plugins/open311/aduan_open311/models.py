"""The open311 plugin's tables: the questions a category asks (Open311 service attributes), the
requests filed and the updates received through GeoReport."""
from __future__ import annotations

import peewee as pw
from aduan.db import utcnow
from aduan.models import BaseModel, Category, Complaint, Event, JSONField, User

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


class Open311Attribute(BaseModel):
    """One question of a category, served as an attribute of its service definition.

    ``values`` is a list of ``{"key", "name"}`` for the list datatypes; ``variable`` false means the
    attribute only informs the user (no input).
    """

    category = pw.ForeignKeyField(Category, backref="open311_attributes", on_delete="CASCADE")
    code = pw.CharField(max_length=64)
    datatype = pw.CharField(max_length=16, default="string")
    variable = pw.BooleanField(default=True)
    required = pw.BooleanField(default=False)
    description = pw.TextField(default="")
    datatype_description = pw.TextField(null=True)
    order = pw.IntegerField(default=1)
    values = JSONField(null=True)

    class Meta:
        table_name = "open311_attribute"
        indexes = ((("category", "code"), True),)


class Open311Request(BaseModel):
    """A complaint filed through ``POST requests``: who filed it and what GeoReport adds to it.

    ``account`` is the integration account whose ``api_key`` filed it (only that account may post
    updates to it); ``token`` is the GeoReport token answered when the service type defers ids;
    ``attributes`` are the answers to the category's questions (``{code: value or [values]}``);
    ``media_url`` is the link the client gave, stored and never fetched.
    """

    complaint = pw.ForeignKeyField(Complaint, unique=True, backref="open311_request", on_delete="CASCADE")
    account = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    token = pw.CharField(max_length=64, unique=True)
    attributes = JSONField(null=True)
    media_url = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "open311_request"


class Open311Update(BaseModel):
    """A ``POST servicerequestupdates`` received: the client's ``update_id`` (unique per account,
    so a repeat is refused) and the timeline entry it became."""

    account = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE")
    update_id = pw.CharField(max_length=128)
    complaint = pw.ForeignKeyField(Complaint, backref="+", on_delete="CASCADE")
    event = pw.ForeignKeyField(Event, null=True, backref="+", on_delete="SET NULL")
    media_url = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "open311_update"
        indexes = ((("account", "update_id"), True),)
