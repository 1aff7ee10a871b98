"""0003: open311_forward, open311_outgoing, open311_cursor: complaints forwarded to other Open311
back ends and followed there. Frozen models: never import the application's models here."""
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

    class Open311Forward(Model):
        complaint = ForeignKeyField(Complaint, on_delete='CASCADE')
        destination = CharField(max_length=64)
        reference = CharField(max_length=128, unique=True)
        service_code = CharField(max_length=128, null=True)
        state = CharField(max_length=16, default='queued', index=True)
        remote_id = CharField(max_length=128, null=True)
        token = CharField(max_length=128, null=True)
        attempts = IntegerField(default=0)
        sent_at = DateTimeField(null=True)
        last_error = TextField(null=True)
        remote_status = CharField(max_length=64, null=True)
        remote_updated = CharField(max_length=64, null=True)
        finished = BooleanField(default=False)
        last_polled_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'open311_forward'
            indexes = ((('complaint', 'destination'), True), (('destination', 'remote_id'), True))

    class Open311Outgoing(Model):
        event = ForeignKeyField(Event, on_delete='CASCADE')
        forward = ForeignKeyField(Open311Forward, on_delete='CASCADE')
        update_id = CharField(max_length=128, unique=True)
        text_hash = CharField(max_length=64)
        remote_update_id = CharField(max_length=128, null=True)
        state = CharField(max_length=16, default='queued')
        attempts = IntegerField(default=0)
        last_error = TextField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'open311_outgoing'
            indexes = ((('event', 'forward'), True),)

    class Open311Cursor(Model):
        destination = CharField(max_length=64, primary_key=True)
        polled_until = DateTimeField(null=True)
        has_updates = BooleanField(default=True)
        last_error = TextField(null=True)
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = 'open311_cursor'

    db.create_tables([Open311Forward, Open311Outgoing, Open311Cursor])


def down(migrator, db):
    for table in ('open311_outgoing', 'open311_forward', 'open311_cursor'):
        db.execute_sql(f'DROP TABLE IF EXISTS {table}')
