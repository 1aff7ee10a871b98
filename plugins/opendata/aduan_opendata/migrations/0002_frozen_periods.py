"""0002: frozen monthly aggregates (opendata_period), cached public ids (opendata_public_id), first
publication per table (opendata_issued), and kept (never pruned) releases. Frozen models: never
import the application's models here."""
from peewee import *


def up(migrator, db):
    class Complaint(Model):
        class Meta:
            database = db
            table_name = 'complaint'

    class OpendataPeriod(Model):
        table = CharField(max_length=64)
        period = CharField(max_length=7)
        frozen_at = DateTimeField()
        rows = TextField()
        class Meta:
            database = db
            table_name = 'opendata_period'
            indexes = ((('table', 'period'), True),)

    class OpendataPublicId(Model):
        complaint = ForeignKeyField(Complaint, primary_key=True, on_delete='CASCADE', backref='+')
        public_id = CharField(max_length=16)
        class Meta:
            database = db
            table_name = 'opendata_public_id'

    class OpendataIssued(Model):
        table = CharField(max_length=64, primary_key=True)
        issued = DateTimeField()
        class Meta:
            database = db
            table_name = 'opendata_issued'

    db.create_tables([OpendataPeriod, OpendataPublicId, OpendataIssued])
    migrator.migrate(migrator.add_column('opendata_snapshot', 'kept', BooleanField(default=False)))
    # the oldest existing release is the first publication: keep it, and record it as issued
    db.execute_sql("UPDATE opendata_snapshot SET kept = %s WHERE id = (SELECT MIN(id) FROM opendata_snapshot)"
                   % ("TRUE" if isinstance(db, PostgresqlDatabase) else "1"))


def down(migrator, db):
    for t in ('opendata_issued', 'opendata_public_id', 'opendata_period'):
        db.execute_sql(f'DROP TABLE IF EXISTS {t}')
    migrator.migrate(migrator.drop_column('opendata_snapshot', 'kept'))
