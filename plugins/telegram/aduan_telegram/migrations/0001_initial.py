"""telegram 0001: the message log. Frozen models: never import application models here."""
from peewee import *


def up(migrator, db):
    class Complaint(Model):
        class Meta:
            database = db
            table_name = 'complaint'

    class TelegramMessage(Model):
        direction = CharField(max_length=3)
        provider = CharField(max_length=16, default='telegram')
        provider_message_id = CharField(max_length=64, null=True)
        chat_id = CharField(max_length=32, null=True, index=True)
        body = TextField(default='')
        command = CharField(max_length=16, null=True)
        status = CharField(max_length=16)
        complaint = ForeignKeyField(Complaint, null=True, on_delete='SET NULL')
        event_id = IntegerField(null=True)
        in_reply_to = ForeignKeyField('self', null=True, on_delete='SET NULL')
        dedupe_key = CharField(max_length=128, null=True, unique=True)
        error = CharField(max_length=255, null=True)
        created_at = DateTimeField(index=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'telegram_message'
            indexes = ((('direction', 'provider_message_id'), True),)

    db.create_tables([TelegramMessage])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('telegram_message'))
