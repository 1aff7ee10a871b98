"""0001: opendata_snapshot, one row per published open-data snapshot. Frozen model: never import the
application's models here."""
from peewee import *


def up(migrator, db):
    class OpendataSnapshot(Model):
        version = CharField(unique=True, max_length=32)
        created_at = DateTimeField(index=True)
        path = CharField(max_length=1024)
        files = TextField()
        class Meta:
            database = db
            table_name = 'opendata_snapshot'
    db.create_tables([OpendataSnapshot])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS opendata_snapshot')
