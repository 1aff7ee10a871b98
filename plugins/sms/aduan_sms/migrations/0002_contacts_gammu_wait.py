"""sms 0002: opt-outs and the blocklist move to the core's ``contact`` / ``contact_block`` (channel
``sms``, core migration 0005), shared by every text channel; the old tables are dropped.
``sms_gammu_wait`` keeps when an incomplete concatenated Gammu SMS was first seen (it lived in
process memory, so a one-shot ``poll-gammu`` never filed an incomplete message)."""
import datetime as dt

from peewee import *


def up(migrator, db):
    class SmsGammuWait(Model):
        group_key = CharField(max_length=255, unique=True)
        first_seen = DateTimeField()
        class Meta:
            database = db
            table_name = 'sms_gammu_wait'

    db.create_tables([SmsGammuWait])
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    tables = set(db.get_tables())
    if 'sms_optout' in tables:
        for phone, created in db.execute_sql('SELECT phone, created_at FROM sms_optout').fetchall():
            db.execute_sql('INSERT INTO contact (channel, address, opted_out, inbound_count, reply_count, '
                           'created_at, updated_at) VALUES (%s, %s, %s, 0, 0, %s, %s) '
                           'ON CONFLICT (channel, address) DO UPDATE SET opted_out = excluded.opted_out'
                           .replace('%s', db.param), ('sms', phone, True, created or now, now))
        migrator.migrate(migrator.drop_table('sms_optout'))
    if 'sms_block' in tables:
        for phone, reason, created in db.execute_sql('SELECT phone, reason, created_at FROM sms_block').fetchall():
            db.execute_sql('INSERT INTO contact_block (channel, address, reason, created_at) VALUES (%s, %s, %s, %s) '
                           'ON CONFLICT (channel, address) DO NOTHING'.replace('%s', db.param),
                           ('sms', phone, reason or '', created or now))
        migrator.migrate(migrator.drop_table('sms_block'))


def down(migrator, db):
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

    db.create_tables([SmsOptOut, SmsBlock])
    migrator.migrate(migrator.drop_table('sms_gammu_wait'))
