"""0001: inbound message log, sent Message-IDs, address delivery state, IMAP resume point, webhook nonces.

Frozen copies of the models as they were: never import application models here. The core's
migrations run first, so ``complaint`` exists.
"""
from peewee import *


def up(migrator, db):
    class Complaint(Model):
        class Meta:
            database = db
            table_name = 'complaint'

    class EmailMessage(Model):
        message_key = CharField(max_length=128, unique=True)
        complaint = ForeignKeyField(Complaint, null=True, on_delete='SET NULL')
        outcome = CharField(max_length=16)
        reason = CharField(max_length=64, default='')
        source = CharField(max_length=16)
        skipped = TextField(null=True)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'email_message'

    class EmailSent(Model):
        message_key = CharField(max_length=128, unique=True)
        complaint = ForeignKeyField(Complaint, null=True, on_delete='CASCADE')
        job_id = IntegerField(null=True)
        kind = CharField(max_length=16)
        created_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'email_sent'

    class EmailAddress(Model):
        address_hash = CharField(max_length=64, unique=True)
        failing = BooleanField(default=False)
        reason = CharField(max_length=64, default='')
        failed_at = DateTimeField(null=True)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'email_address'

    class EmailImapState(Model):
        mailbox = CharField(max_length=255, unique=True)
        uidvalidity = BigIntegerField(default=0)
        last_uid = BigIntegerField(default=0)
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'email_imap_state'

    class EmailNonce(Model):
        provider = CharField(max_length=16)
        token = CharField(max_length=128)
        seen_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'email_nonce'
            indexes = ((('provider', 'token'), True),)

    db.create_tables([EmailMessage, EmailSent, EmailAddress, EmailImapState, EmailNonce])


def down(migrator, db):
    for t in ('email_nonce', 'email_imap_state', 'email_address', 'email_sent', 'email_message'):
        migrator.migrate(migrator.drop_table(t))
