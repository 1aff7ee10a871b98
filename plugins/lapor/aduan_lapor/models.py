"""The plugin's tables (``lapor_*``). Written in short transactions; never the core's complaint or event rows."""
from __future__ import annotations

import peewee as pw

from aduan.db import utcnow
from aduan.models import BaseModel, Complaint, Event, JSONField

#: create states of a ticket
QUEUED, SENDING, CREATED, UNCERTAIN, FAILED = "queued", "sending", "created", "uncertain", "failed"
TICKET_STATES = (QUEUED, SENDING, CREATED, UNCERTAIN, FAILED)
#: forward states
FWD_NONE, FWD_PENDING, FWD_SENDING, FWD_DONE, FWD_FAILED = "none", "pending", "sending", "done", "failed"


class LaporInstitution(BaseModel):
    """The national directory of institutions (E1), reloaded daily."""

    id = pw.IntegerField(primary_key=True)  # the LAPOR! institution id
    name = pw.CharField(max_length=500)
    active = pw.BooleanField(default=True)
    raw = JSONField(null=True)
    synced_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "lapor_institution"


class LaporMapping(BaseModel):
    """Our agency → a LAPOR! institution id; our category → a LAPOR! category id."""

    kind = pw.CharField(max_length=16)  # agency | category
    local_id = pw.IntegerField()
    lapor_id = pw.IntegerField()
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "lapor_mapping"
        indexes = ((("kind", "local_id"), True),)


class LaporTicket(BaseModel):
    """The sync state of one complaint with SP4N-LAPOR!."""

    complaint = pw.ForeignKeyField(Complaint, unique=True, backref="lapor_tickets", on_delete="CASCADE")
    origin = pw.CharField(max_length=16, default="push")  # push | import
    lapor_id = pw.CharField(max_length=64, null=True, unique=True)
    previous_ids = JSONField(null=True)  # ids abandoned by an operator's forced resend
    state = pw.CharField(max_length=16, default=QUEUED)
    attachment_ids = JSONField(null=True)  # E3 ids, once uploaded
    forward_state = pw.CharField(max_length=16, default=FWD_NONE)
    forward_target = pw.IntegerField(null=True)
    forwarded_to = pw.IntegerField(null=True)
    attempts = pw.IntegerField(default=0)  # create attempts
    resends = pw.IntegerField(default=0)  # forced by an operator
    last_error = pw.TextField(null=True)
    last_error_at = pw.DateTimeField(null=True)
    # polling
    next_poll_at = pw.DateTimeField(null=True, index=True)
    poll_interval = pw.FloatField(null=True)
    last_polled_at = pw.DateTimeField(null=True)
    poll_error = pw.TextField(null=True)
    # what LAPOR! says, raw
    status_code = pw.CharField(max_length=64, null=True)
    status_name = pw.CharField(max_length=128, null=True)
    disposition_id = pw.CharField(max_length=64, null=True)
    disposition_name = pw.CharField(max_length=500, null=True)
    raw = JSONField(null=True)  # the last E6 results.data
    # the complaint's agency has no LAPOR! institution: LAPOR! shows the fallback institution instead
    unmapped_agency_id = pw.IntegerField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "lapor_ticket"


class LaporReply(BaseModel):
    """One of our timeline events posted to LAPOR! as a follow-up (E8)."""

    event = pw.ForeignKeyField(Event, unique=True, backref="+", on_delete="CASCADE")
    ticket = pw.ForeignKeyField(LaporTicket, backref="replies", on_delete="CASCADE")
    state = pw.CharField(max_length=16, default=QUEUED)  # queued, sending, created, uncertain, failed
    content_hash = pw.CharField(max_length=64, index=True)
    matched_key = pw.CharField(max_length=128, null=True)  # the E7 entry it came back as
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(null=True)
    created_at = pw.DateTimeField(default=utcnow)
    updated_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "lapor_reply"


class LaporTemplate(BaseModel):
    """LAPOR!'s follow-up templates (E2), reloaded with the directory: the codes E8 may name."""

    code = pw.CharField(max_length=128, primary_key=True)
    content = pw.TextField(null=True)
    synced_at = pw.DateTimeField(default=utcnow)

    class Meta:
        table_name = "lapor_template"


MODELS = [LaporInstitution, LaporMapping, LaporTicket, LaporReply, LaporTemplate]
