"""The plugin's migrations: a deployment with category questions (0001) upgrades to 0002 (requests
and updates received through Open311), keeps its questions, and ends with the models' schema."""
from __future__ import annotations

from pathlib import Path

import peewee as pw
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

import aduan_open311
from aduan import testing as aduan_testing
from aduan.db import CORE_MIGRATIONS, database, make_database

MIGRATIONS = Path(aduan_open311.__file__).parent / "migrations"


def test_0002_keeps_the_questions_of_0001(tmp_path):
    from aduan_open311.models import Open311Attribute, Open311Request, Open311Update

    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    db = make_database(url, pool_size=2)
    database.initialize(db)
    db.connect()
    try:
        Runner(db, str(CORE_MIGRATIONS), table_name="schema_migration").up()
        runner = Runner(db, str(MIGRATIONS), table_name="open311_schema_migration")
        assert runner.up("0001_initial") == ["0001_initial"]
        from aduan.models import Category

        cat_id = Category.create(code="sampah", name="Sampah").id  # the core is at its latest schema
        attr = pw.Table("open311_attribute", ("category_id", "code", "datatype", "variable", "required",
                                              "description", "order", "values")).bind(db)
        attr.insert(category_id=cat_id, code="jenis", datatype="singlevaluelist", variable=True, required=True,
                    description="Jenis sampah", order=1, values='[{"key": "organik", "name": "Organik"}]').execute()
        assert runner.up() == ["0002_requests_updates"]
        models = [Open311Attribute, Open311Request, Open311Update]
        assert not [line for line in str(diff_models(db, models)).splitlines() if line]
        kept = [(a.category.code, a.code, a.values) for a in Open311Attribute.select()]
        assert kept == [("sampah", "jenis", [{"key": "organik", "name": "Organik"}])]
        assert Open311Request.select().count() == 0 and Open311Update.select().count() == 0
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()
