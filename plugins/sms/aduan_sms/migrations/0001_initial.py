"""sms 0001: message log, opt-outs, blocklist. Frozen models: never import application models here."""
from peewee import *


def up(migrator, db):
    class Complaint(Model):
        class Meta:
            database = db
            table_name = 'complaint'

    class SmsMessage(Model):
        direction = CharField(max_length=3)
        provider = CharField(max_length=16)
        provider_message_id = CharField(max_length=128, null=True)
        phone = CharField(max_length=20, null=True, index=True)
        phone_raw = CharField(max_length=64, null=True)
        body = TextField(default='')
        command = CharField(max_length=16, null=True)
        status = CharField(max_length=16)
        complaint = ForeignKeyField(Complaint, null=True, on_delete='SET NULL')
        event_id = IntegerField(null=True)
        in_reply_to = ForeignKeyField('self', null=True, on_delete='SET NULL')
        segments = IntegerField(default=0)
        encoding = CharField(max_length=8, null=True)
        dedupe_key = CharField(max_length=128, null=True, unique=True)
        error = CharField(max_length=255, null=True)
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'sms_message'
            indexes = ((('direction', 'provider', 'provider_message_id'), True),)

    class SmsOptOut(Model):
        phone = CharField(max_length=20, unique=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'sms_optout'

    class SmsBlock(Model):
        phone = CharField(max_length=64, unique=True)
        reason = CharField(max_length=255, default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'sms_block'

    db.create_tables([SmsMessage, SmsOptOut, SmsBlock])


def down(migrator, db):
    for t in ('sms_block', 'sms_optout', 'sms_message'):
        migrator.migrate(migrator.drop_table(t))
