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
# --- federation: complaints forwarded to other Open311 back ends (federation.py) ----------------

#: states of a forward (the create of a service request on the remote)
FWD_QUEUED, FWD_SENDING, FWD_TOKEN, FWD_CREATED, FWD_UNCERTAIN, FWD_FAILED, FWD_SKIPPED = (
    "queued", "sending", "token", "created", "uncertain", "failed", "skipped")
FORWARD_STATES = (FWD_QUEUED, FWD_SENDING, FWD_TOKEN, FWD_CREATED, FWD_UNCERTAIN, FWD_FAILED, FWD_SKIPPED)


class Open311Forward(BaseModel):
    """One complaint forwarded to one destination (``OPEN311_DESTINATIONS``): the remote's service
    request and how far it got.

    ``reference`` is written into the description we send, so a create whose outcome is unknown can
    be found on the remote before anything is sent again. ``remote_status`` is the remote's last
    status (open/closed or an extended one); ``finished`` stops polling.
    """

    complaint = pw.ForeignKeyField(Complaint, backref="open311_forwards", on_delete="CASCADE")
    destination = pw.CharField(max_length=64)
    reference = pw.CharField(max_length=128, unique=True)
    service_code = pw.CharField(max_length=128, null=True)
    state = pw.CharField(max_length=16, default=FWD_QUEUED, index=True)
    remote_id = pw.CharField(max_length=128, null=True)
    token = pw.CharField(max_length=128, null=True)
    attempts = pw.IntegerField(default=0)
    sent_at = pw.DateTimeField(null=True)
    last_error = pw.TextField(null=True)
    remote_status = pw.CharField(max_length=64, null=True)
    remote_updated = pw.CharField(max_length=64, null=True)
    finished = pw.BooleanField(default=False)
    last_polled_at = pw.DateTimeField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "open311_forward"
        indexes = ((("complaint", "destination"), True), (("destination", "remote_id"), True))


class Open311Outgoing(BaseModel):
    """One of our timeline events (a reporter's reply) posted to the remote as a service request
    update. ``update_id`` is ours and unique: the remote refuses it a second time, so a post whose
    outcome is unknown can be sent again safely."""

    event = pw.ForeignKeyField(Event, backref="+", on_delete="CASCADE")
    forward = pw.ForeignKeyField(Open311Forward, backref="outgoing", on_delete="CASCADE")
    update_id = pw.CharField(max_length=128, unique=True)
    text_hash = pw.CharField(max_length=64)
    remote_update_id = pw.CharField(max_length=128, null=True)  # the id the destination gave it
    state = pw.CharField(max_length=16, default=FWD_QUEUED)  # queued, uncertain (sent, unconfirmed), created
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "open311_outgoing"
        indexes = ((("event", "forward"), True),)


class Open311Cursor(BaseModel):
    """How far the updates of one destination have been read (``servicerequestupdates`` window)."""

    destination = pw.CharField(max_length=64, primary_key=True)
    polled_until = pw.DateTimeField(null=True)
    has_updates = pw.BooleanField(default=True)  # False: the back end has no servicerequestupdates
    last_error = pw.TextField(null=True)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "open311_cursor"


FEDERATION_MODELS = [Open311Forward, Open311Outgoing, Open311Cursor]
