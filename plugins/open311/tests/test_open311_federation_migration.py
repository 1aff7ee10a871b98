"""The plugin's migrations: a database at open311 0001 (with category questions) upgrades to the
forwarding tables of 0003, its rows kept, the schema exactly what the models describe."""
from __future__ import annotations

import datetime as dt
import os

import peewee as pw
import pytest
from playhouse.migrations import Runner
from playhouse.schema_diff import diff_models

from aduan import testing as aduan_testing
from aduan.db import CORE_MIGRATIONS, database, make_database, migrate

import aduan_open311

OPEN311_MIGRATIONS = os.path.join(os.path.dirname(aduan_open311.__file__), "migrations")


@pytest.fixture
def bare_db(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    db = make_database(url, pool_size=2)
    database.initialize(db)
    db.connect()
    yield db
    if not db.is_closed():
        db.close()
    if hasattr(db, "close_all"):
        db.close_all()


def ins(db, table_name, /, **values):
    table = pw.Table(table_name, ("id", *values)).bind(db)
    table.insert(**values).execute()
    return table.select(pw.fn.MAX(table.id)).scalar()


def test_rows_under_0001_survive_the_upgrade_to_the_forwarding_tables(bare_db):
    from aduan_open311.models import FEDERATION_MODELS, Open311Attribute, Open311Forward

    db = bare_db
    migrate({"core": CORE_MIGRATIONS})
    assert Runner(db, OPEN311_MIGRATIONS, table_name="open311_schema_migration").up("0001_initial") == ["0001_initial"]
    assert "open311_forward" not in db.get_tables()
    now = dt.datetime(2026, 11, 2, 1, 30)
    with db.atomic():
        agency = ins(db, "agency", code="DIKES", name="Dinas Kesehatan", active=True, created_at=now)
        cat = ins(db, "category", code="sampah", name="Sampah", default_agency_id=agency, default_urgency="biasa",
                  active=True)
        ins(db, "open311_attribute", category_id=cat, code="jenis", datatype="singlevaluelist", variable=True,
            required=True, description="Jenis sampah", order=1, values='[{"key": "organik", "name": "Organik"}]')
    applied = migrate({"core": CORE_MIGRATIONS, "open311": OPEN311_MIGRATIONS})
    assert "open311:0003_federation" in applied and "open311:0001_initial" not in applied
    assert [line for line in str(diff_models(db, [Open311Attribute, *FEDERATION_MODELS])).splitlines() if line] == []
    [attr] = list(Open311Attribute.select())
    assert (attr.category_id, attr.code, attr.required, attr.values) == (
        cat, "jenis", True, [{"key": "organik", "name": "Organik"}])
    # the new tables take rows through the current models
    from aduan.models import Complaint

    comp = ins(db, "complaint", tracking_id="ABCD2345", access_code_hash="x" * 64, kind="pengaduan", title="t",
               body="b", category_id=cat, agency_id=agency, urgency="biasa", anonymous=False, secret=False,
               share_identity=False, channel="web", status="dispatched", created_at=now, updated_at=now,
               breached="")
    f = Open311Forward.create(complaint=comp, destination="pdam", reference="aduan:x:ABCD2345:pdam")
    assert Open311Forward.get_by_id(f.id).complaint.tracking_id == Complaint.get_by_id(comp).tracking_id
    with pytest.raises(pw.IntegrityError), db.atomic():
        Open311Forward.create(complaint=comp, destination="pdam", reference="other")
    assert migrate({"core": CORE_MIGRATIONS, "open311": OPEN311_MIGRATIONS}) == []
