"""0013: staff passwords (``aduan.passwords``): an argon2id hash, the must-change flag of a
temporary password, the failed-attempt counter and lock of the sign-in lockout, and a session epoch
that a password change bumps so every older session ends.

Existing accounts keep working with their API tokens and have no password (no password sign-in)
until ``aduan user password NAME`` sets one.
"""
from peewee import BooleanField, CharField, DateTimeField, IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('user', 'password_hash', CharField(max_length=255, null=True)),
        migrator.add_column('user', 'password_temporary', BooleanField(default=False)),
        migrator.add_column('user', 'password_changed_at', DateTimeField(null=True)),
        migrator.add_column('user', 'failed_logins', IntegerField(default=0)),
        migrator.add_column('user', 'locked_until', DateTimeField(null=True)),
        migrator.add_column('user', 'session_epoch', IntegerField(default=0)),
    )


def down(migrator, db):
    migrator.migrate(*(migrator.drop_column('user', name) for name in (
        'session_epoch', 'locked_until', 'failed_logins', 'password_changed_at', 'password_temporary',
        'password_hash')))
