"""0006: worker heartbeats (``/ready`` knows a worker is alive) and the database storage backend
(attachments and published files kept in the database itself, shared by every web host).

Frozen copies of the models as they were: never import application models here.
"""
from peewee import *


def up(migrator, db):
    class WorkerHeartbeat(Model):
        worker_id = CharField(max_length=128, primary_key=True)
        hostname = CharField(max_length=255)
        pid = IntegerField()
        started_at = DateTimeField()
        seen_at = DateTimeField(index=True)
        class Meta:
            database = db
            table_name = 'worker_heartbeat'

    class StoredFile(Model):
        key = CharField(max_length=512, primary_key=True)
        data = BlobField()
        size = BigIntegerField()
        sha256 = CharField(max_length=64)
        created_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'stored_file'
    db.create_tables([WorkerHeartbeat, StoredFile])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('stored_file'), migrator.drop_table('worker_heartbeat'))
