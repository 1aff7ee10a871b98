"""0003: integration tokens carry the scopes an admin granted them.

Integration tokens issued before this migration keep working with the legacy grant (everything
they could do except reading secret content and reporters' contacts: see aduan.auth.LEGACY_SCOPES).
"""
import json

from peewee import *

LEGACY_SCOPES = ["action:comment", "action:respond", "action:resolve", "attachments:add", "complaints:file",
                 "complaints:read", "notes:read"]


def up(migrator, db):
    migrator.migrate(migrator.add_column('token', 'scopes', TextField(null=True)))
    legacy = json.dumps(LEGACY_SCOPES)
    db.execute_sql('UPDATE token SET scopes = %s WHERE user_id IN (SELECT id FROM "user" WHERE role = %s)'
                   .replace('%s', db.param), (legacy, 'integration'))


def down(migrator, db):
    migrator.migrate(migrator.drop_column('token', 'scopes'))
