"""0002: open311_request (complaints filed through ``POST requests``: the filing account, the
GeoReport token, the answers to the category's questions, the media link) and open311_update
(``POST servicerequestupdates`` received, unique per account and ``update_id``). Frozen models:
never import the application's models here."""
import datetime

from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Complaint(Model):
        class Meta:
            database = db
            table_name = 'complaint'

    class Event(Model):
        class Meta:
            database = db
            table_name = 'event'

    class Open311Request(Model):
        complaint = ForeignKeyField(Complaint, unique=True, on_delete='CASCADE')
        account = ForeignKeyField(User, null=True, on_delete='SET NULL')
        token = CharField(max_length=64, unique=True)
        attributes = TextField(null=True)
        media_url = TextField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = 'open311_request'

    class Open311Update(Model):
        account = ForeignKeyField(User, on_delete='CASCADE')
        update_id = CharField(max_length=128)
        complaint = ForeignKeyField(Complaint, on_delete='CASCADE')
        event = ForeignKeyField(Event, null=True, on_delete='SET NULL')
        media_url = TextField(null=True)
        created_at = DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = db
            table_name = 'open311_update'
            indexes = ((('account', 'update_id'), True),)
    db.create_tables([Open311Request, Open311Update])


def down(migrator, db):
    db.execute_sql('DROP TABLE IF EXISTS open311_update')
    db.execute_sql('DROP TABLE IF EXISTS open311_request')
