"""0011: indexes that serve the staff lists at a million complaints.

* ``complaint (created_at, id)``: lists are ordered newest first by ``(created_at, id)`` and walk
  this index, so a ``created_from``/``created_to`` range is one index range instead of a backward
  walk of the primary key (it replaces the index on ``created_at`` alone);
* ``complaint (agency_id, created_at, id)``: an officer's list (own agency) and ``agency_id=``
  filters, newest first, straight from the index (it replaces the index on ``agency_id`` alone,
  which still serves the foreign key through its first column);
* PostgreSQL only: ``pg_trgm`` trigram GIN indexes on ``title`` and ``body``, which serve the list's
  ``q`` search (``ILIKE '%…%'``). The extension is created when the database role may (superuser,
  owner of the database on PostgreSQL 13+ for this trusted extension, or already installed by an
  administrator); otherwise the migration goes on without them and ``q`` still works, by scanning.
  After an administrator runs ``CREATE EXTENSION pg_trgm``, ``aduan db search-index`` adds them.

On a large existing table the index builds hold a write lock for their duration, which grows with
the table: upgrade in a quiet hour.
"""
import peewee as pw


def create_search_indexes(db) -> bool:
    """Trigram indexes for ``q`` on PostgreSQL; False (and nothing done) where they cannot be made."""
    if not isinstance(db, pw.PostgresqlDatabase):
        return False
    try:
        with db.atomic():  # a savepoint: a refusal must not abort the migration's transaction
            db.execute_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except pw.DatabaseError:
        pass
    have = db.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
    if not have:
        return False
    for col in ("title", "body"):
        db.execute_sql(f'CREATE INDEX IF NOT EXISTS "complaint_{col}_trgm" ON "complaint" '
                       f'USING gin ("{col}" gin_trgm_ops)')
    return True


def up(migrator, db):
    migrator.migrate(
        migrator.drop_index('complaint', 'complaint_created_at'),
        migrator.drop_index('complaint', 'complaint_agency_id'),
        migrator.add_index('complaint', ('created_at', 'id'), False),
        migrator.add_index('complaint', ('agency_id', 'created_at', 'id'), False),
    )
    create_search_indexes(db)


def down(migrator, db):
    if isinstance(db, pw.PostgresqlDatabase):
        for col in ("title", "body"):
            db.execute_sql(f'DROP INDEX IF EXISTS "complaint_{col}_trgm"')
    migrator.migrate(
        migrator.drop_index('complaint', 'complaint_agency_id_created_at_id'),
        migrator.drop_index('complaint', 'complaint_created_at_id'),
        migrator.add_index('complaint', ('created_at',), False),
        migrator.add_index('complaint', ('agency_id',), False),
    )
