"""0001: lapor_institution, lapor_mapping, lapor_ticket, lapor_reply.

Frozen copies of the models as they were: never import application models here.
"""
from peewee import *


def up(migrator, db):
    class Complaint(Model):
        class Meta:
            database = db
            table_name = 'complaint'

    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    class LaporInstitution(Model):
        id = IntegerField(primary_key=True)
        name = CharField(max_length=500)
        active = BooleanField(default=True)
        raw = TextField(null=True)
        synced_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'lapor_institution'

    class LaporMapping(Model):
        kind = CharField(max_length=16)
        local_id = IntegerField()
        lapor_id = IntegerField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'lapor_mapping'
            indexes = ((('kind', 'local_id'), True),)

    class LaporTicket(Model):
        complaint = ForeignKeyField(Complaint, unique=True, on_delete='CASCADE')
        origin = CharField(max_length=16, default='push')
        lapor_id = CharField(max_length=64, null=True, unique=True)
        previous_ids = TextField(null=True)
        state = CharField(max_length=16, default='queued')
        attachment_ids = TextField(null=True)
        forward_state = CharField(max_length=16, default='none')
        forward_target = IntegerField(null=True)
        forwarded_to = IntegerField(null=True)
        attempts = IntegerField(default=0)
        resends = IntegerField(default=0)
        last_error = TextField(null=True)
        last_error_at = DateTimeField(null=True)
        next_poll_at = DateTimeField(null=True, index=True)
        poll_interval = FloatField(null=True)
        last_polled_at = DateTimeField(null=True)
        poll_error = TextField(null=True)
        status_code = CharField(max_length=64, null=True)
        status_name = CharField(max_length=128, null=True)
        disposition_id = CharField(max_length=64, null=True)
        disposition_name = CharField(max_length=500, null=True)
        raw = TextField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'lapor_ticket'

    class LaporReply(Model):
        event = ForeignKeyField(Event, unique=True, on_delete='CASCADE')
        ticket = ForeignKeyField(LaporTicket, on_delete='CASCADE')
        state = CharField(max_length=16, default='queued')
        content_hash = CharField(max_length=64, index=True)
        matched_key = CharField(max_length=128, null=True)
        attempts = IntegerField(default=0)
        last_error = TextField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'lapor_reply'

    db.create_tables([LaporInstitution, LaporMapping, LaporTicket, LaporReply])


def down(migrator, db):
    for t in ('lapor_reply', 'lapor_ticket', 'lapor_mapping', 'lapor_institution'):
        migrator.migrate(migrator.drop_table(t))
