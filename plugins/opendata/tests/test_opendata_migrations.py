"""The plugin's migrations: a deployment of the previous release (0001: releases only) upgrades to
the models; its first existing release becomes a kept one (its versioned URLs were cited)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import peewee as pw
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

import aduan_opendata
from aduan import testing as aduan_testing
from aduan.db import CORE_MIGRATIONS, database, make_database

MIGRATIONS = Path(aduan_opendata.__file__).parent / "migrations"


def test_a_previous_release_upgrades_and_keeps_its_first_release(tmp_path):
    from aduan_opendata.models import MODELS, OpendataSnapshot

    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    db = make_database(url, pool_size=2)
    database.initialize(db)
    db.connect()
    try:
        Runner(db, str(CORE_MIGRATIONS), table_name="schema_migration").up()
        runner = Runner(db, str(MIGRATIONS), table_name="opendata_schema_migration")
        assert runner.up("0001_initial") == ["0001_initial"]
        snap = pw.Table("opendata_snapshot", ("version", "created_at", "path", "files")).bind(db)
        for day in (3, 4):
            snap.insert(version=f"2026110{day}T000000Z", created_at=dt.datetime(2026, 11, day), path="/x",
                        files="[]").execute()
        assert runner.up() == ["0002_frozen_periods"]
        assert not [line for line in str(diff_models(db, MODELS)).splitlines() if line]
        kept = [(s.version, s.kept) for s in OpendataSnapshot.select().order_by(OpendataSnapshot.id)]
        assert kept == [("20261103T000000Z", True), ("20261104T000000Z", False)]
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()
