"""0010: the reporter's language recorded on each complaint at filing (``complaint.language``).

Notifications and the reporter's own view use it. Complaints filed before this release keep NULL:
their reporter's language (``reporter.language``), else the deployment's ``LANGUAGE``, applies.
"""
from peewee import CharField


def up(migrator, db):
    migrator.migrate(migrator.add_column('complaint', 'language', CharField(max_length=8, null=True)))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('complaint', 'language'))
