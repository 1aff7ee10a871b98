"""Portal migration 0002 (staff sessions, response templates): a database at portal 0001 upgrades to
exactly the models, keeping its rows, and the migration reverts."""
from __future__ import annotations

import datetime as dt
import os

from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

import aduan_portal
from aduan import testing as aduan_testing
from aduan.db import CORE_MIGRATIONS, database, make_database, migrate
from aduan.models import User
from aduan_portal.models import MODELS, PortalResponseTemplate, PortalSession

PORTAL_MIGRATIONS = os.path.join(os.path.dirname(aduan_portal.__file__), "migrations")


def test_0002_upgrades_from_0001_keeping_rows(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    db = make_database(url, pool_size=2)
    database.initialize(db)
    db.connect()
    try:
        migrate({"core": CORE_MIGRATIONS})
        runner = Runner(db, PORTAL_MIGRATIONS, table_name="portal_schema_migration")
        assert runner.up("0001_initial") == ["0001_initial"]
        assert "portal_session" not in db.get_tables()
        now = dt.datetime(2026, 3, 2, 1, 30)
        User.create(username="koord", name="Koordinator", role="coordinator", created_at=now)
        assert migrate({"core": CORE_MIGRATIONS, "portal": PORTAL_MIGRATIONS}) == ["portal:0002_staff"]
        assert [line for line in str(diff_models(db, MODELS)).splitlines() if line] == []
        u = User.get(User.username == "koord")
        assert (u.name, u.created_at) == ("Koordinator", now)
        PortalSession.create(token_hash="ab" * 32, user=u.id, epoch=0)
        PortalResponseTemplate.create(name="Umum", body="Terima kasih, {tracking_id}.")
        # deleting a user ends their sessions
        User.delete().where(User.id == u.id).execute()
        assert PortalSession.select().count() == 0 and PortalResponseTemplate.select().count() == 1
        assert runner.down("0001_initial") == ["0002_staff", "0001_initial"]
        assert "portal_session" not in db.get_tables() and "portal_response_template" not in db.get_tables()
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()
