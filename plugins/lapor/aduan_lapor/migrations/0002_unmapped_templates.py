"""0002: lapor_ticket.unmapped_agency_id (a transfer LAPOR! cannot mirror) and lapor_template (E2 codes).

Frozen copies of the models as they were: never import application models here.
"""
from peewee import *


def up(migrator, db):
    class LaporTemplate(Model):
        code = CharField(max_length=128, primary_key=True)
        content = TextField(null=True)
        synced_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'lapor_template'

    migrator.migrate(migrator.add_column('lapor_ticket', 'unmapped_agency_id', IntegerField(null=True)))
    db.create_tables([LaporTemplate])


def down(migrator, db):
    migrator.migrate(migrator.drop_column('lapor_ticket', 'unmapped_agency_id'), migrator.drop_table('lapor_template'))
