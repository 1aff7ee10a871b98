"""0001: the portal starts with no table of its own (later migrations add sessions and response
templates). Frozen: never import the application's models here."""


def up(migrator, db):
    pass


def down(migrator, db):
    pass
