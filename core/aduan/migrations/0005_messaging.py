"""0005: contacts of the text channels (consent, per-contact limits, drafts) and their blocklist,
shared by the sms, whatsapp and telegram plugins through ``aduan.messaging``."""
from peewee import *


def up(migrator, db):
    class Reporter(Model):
        class Meta:
            database = db
            table_name = 'reporter'

    class Contact(Model):
        channel = CharField(max_length=16)
        address = CharField(max_length=64)
        reporter = ForeignKeyField(Reporter, null=True, on_delete='SET NULL')
        language = CharField(max_length=2, null=True)
        opted_out = BooleanField(default=False)
        state = TextField(null=True)
        state_updated_at = DateTimeField(null=True)
        inbound_window = DateTimeField(null=True)
        inbound_count = IntegerField(default=0)
        reply_window = DateTimeField(null=True)
        reply_count = IntegerField(default=0)
        last_inbound_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'contact'
            indexes = ((('channel', 'address'), True),)

    class ContactBlock(Model):
        channel = CharField(max_length=16)
        address = CharField(max_length=64)
        reason = CharField(max_length=255, default='')
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'contact_block'
            indexes = ((('channel', 'address'), True),)

    db.create_tables([Contact, ContactBlock])


def down(migrator, db):
    for t in ('contact_block', 'contact'):
        migrator.migrate(migrator.drop_table(t))
