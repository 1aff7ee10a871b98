"""0002: staff sessions kept on the server (``portal_session``: "sign out everywhere", a password
change ends the other sessions) and response templates (``portal_response_template``).

Frozen copies of the models as they were: never import application models here.
"""
from peewee import *


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class Agency(Model):
        class Meta:
            database = db
            table_name = 'agency'

    class Category(Model):
        class Meta:
            database = db
            table_name = 'category'

    class PortalSession(Model):
        token_hash = CharField(max_length=64, unique=True)
        user = ForeignKeyField(User, on_delete='CASCADE', index=True)
        epoch = IntegerField(default=0)
        created_at = DateTimeField()
        last_seen_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'portal_session'

    class PortalResponseTemplate(Model):
        name = CharField(max_length=120)
        body = TextField()
        agency = ForeignKeyField(Agency, null=True, on_delete='CASCADE', index=True)
        category = ForeignKeyField(Category, null=True, on_delete='CASCADE', index=True)
        created_by = ForeignKeyField(User, null=True, on_delete='SET NULL', backref='+')
        created_at = DateTimeField()
        updated_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'portal_response_template'

    db.create_tables([PortalSession, PortalResponseTemplate])


def down(migrator, db):
    migrator.migrate(migrator.drop_table('portal_response_template'), migrator.drop_table('portal_session'))
