"""0002: a keyed hash of the sender on inbound messages (per-sender limit on new complaints)."""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('email_message', 'sender_hash', CharField(max_length=64, null=True)),
        migrator.add_index('email_message', ('sender_hash', 'created_at'), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('email_message', 'email_message_sender_hash_created_at'),
        migrator.drop_column('email_message', 'sender_hash'),
    )
