"""0002: fixed-window rate-limit counters shared by all web processes."""
from peewee import *

def up(migrator, db):
    class RateLimit(Model):
        key = CharField(max_length=128)
        window = BigIntegerField()
        count = IntegerField(default=0)
        class Meta:
            database = db
            table_name = 'rate_limit'
            primary_key = CompositeKey('key', 'window')
    db.create_tables([RateLimit])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('rate_limit'))
