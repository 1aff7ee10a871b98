"""Migrations: an empty database and a database from an older release both end up with exactly the
schema the models describe, data intact; ``aduan db status`` / ``aduan db upgrade`` report it.

"Exactly" is checked twice: ``playhouse.schema_diff.diff_models`` (tables, columns, indexes with
their unique flag) and, because that diff does not look at them, each column's nullability and
primary key and each table's foreign keys.
"""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import peewee as pw
import pytest
from playhouse.migrations import Migration, Runner
from playhouse.schema_diff import diff_models

from aduan.db import CORE_MIGRATIONS, database, make_database, migrate, migration_status
from aduan.models import CORE_MODELS, Agency, Category, Complaint, Event, Job, Region, Reporter, ScheduleState, Token, User
from aduan import testing as aduan_testing

MIGRATIONS = [m.name for m in Migration.load_directory(str(CORE_MIGRATIONS))]


def schema_mismatches(db, models) -> list[str]:
    """Everything in which the database differs from the models (empty when they match)."""
    # PostgreSQL's trigram indexes for the text search (migration 0011) exist where pg_trgm does: no
    # model declares them (SQLite has no such index), so they are not a difference.
    problems = [line for line in str(diff_models(db, models)).splitlines()
                if line and not (line.startswith("drop index complaint.complaint_") and line.split()[2].endswith("_trgm"))]
    tables = set(db.get_tables())
    for model in models:
        meta = model._meta
        if meta.table_name not in tables:
            continue  # already reported by diff_models
        cols = {c.name: c for c in db.get_columns(meta.table_name)}
        for f in meta.sorted_fields:
            c = cols.get(f.column_name)
            if c is None:
                continue
            if bool(c.null) != bool(f.null) and not f.primary_key:
                problems.append(f"{meta.table_name}.{f.column_name}: null={c.null} in the database, {f.null} in the model")
            if bool(c.primary_key) != bool(f.primary_key or (isinstance(meta.primary_key, pw.CompositeKey)
                                                              and f.name in meta.primary_key.field_names)):
                problems.append(f"{meta.table_name}.{f.column_name}: primary key differs")
        want = {(f.column_name, f.rel_model._meta.table_name, f.rel_field.column_name)
                for f in meta.sorted_fields if isinstance(f, pw.ForeignKeyField)}
        have = {(fk.column, fk.dest_table, fk.dest_column) for fk in db.get_foreign_keys(meta.table_name)}
        for fk in sorted(want - have):
            problems.append(f"{meta.table_name}: missing foreign key {fk}")
        for fk in sorted(have - want):
            problems.append(f"{meta.table_name}: extra foreign key {fk}")
    return problems


@pytest.fixture
def bare_db(tmp_path):
    """The test database, empty and not migrated, bound to ``aduan.db.database``."""
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


def core_runner(db):
    return Runner(db, str(CORE_MIGRATIONS), table_name="schema_migration")


def test_there_are_migrations_and_the_first_is_initial():
    assert MIGRATIONS[0] == "0001_initial" and len(MIGRATIONS) >= 2


def test_empty_database_upgrades_to_the_models(bare_db):
    assert schema_mismatches(bare_db, CORE_MODELS)  # the check sees a difference when there is one
    applied = migrate({"core": CORE_MIGRATIONS})
    assert applied == [f"core:{n}" for n in MIGRATIONS]
    assert schema_mismatches(bare_db, CORE_MODELS) == []
    assert all(applied for _, _, applied in migration_status({"core": CORE_MIGRATIONS}))
    assert migrate({"core": CORE_MIGRATIONS}) == []  # idempotent
    assert schema_mismatches(bare_db, CORE_MODELS) == []


def test_app_fixture_database_matches_the_models(db):
    # the path every deployment takes: create_app + `aduan db upgrade` (upgrade_database)
    assert schema_mismatches(database.obj, CORE_MODELS) == []


@pytest.mark.parametrize("start", MIGRATIONS[:-1])
def test_each_older_release_upgrades_to_the_models(bare_db, start):
    assert core_runner(bare_db).up(start) == MIGRATIONS[:MIGRATIONS.index(start) + 1]
    assert schema_mismatches(bare_db, CORE_MODELS) != []  # something is still missing
    applied = migrate({"core": CORE_MIGRATIONS})
    assert applied == [f"core:{n}" for n in MIGRATIONS[MIGRATIONS.index(start) + 1:]]
    assert schema_mismatches(bare_db, CORE_MODELS) == []


def ins(db, table_name, /, **values):
    """Insert a row into a table as it was at an older migration (the current models may not fit
    it); returns the new row's id."""
    table = pw.Table(table_name, ("id", *values)).bind(db)
    table.insert(**values).execute()
    return table.select(pw.fn.MAX(table.id)).scalar()


def test_rows_written_under_0001_survive_the_upgrade(bare_db):
    db = bare_db
    assert core_runner(db).up("0001_initial") == ["0001_initial"]
    now = dt.datetime(2026, 3, 2, 1, 30, 0)
    with db.atomic():
        agency = ins(db, "agency", code="PUPR", name="Dinas PUPR", active=True, created_at=now)
        cat = ins(db, "category", code="jalan", name="Jalan", default_agency_id=agency, default_urgency="biasa",
                  active=True)
        pw.Table("region", ("code", "name", "level", "parent_code")).bind(db).insert(
            code="52.71", name="Kota Mataram", level=2, parent_code="52").execute()
        rep = ins(db, "reporter", name="Baiq Nurul", phone="+6281907123456", language="id", created_at=now)
        user = ins(db, "user", username="off_a", name="Officer", role="officer", agency_id=agency, active=True,
                   created_at=now)
        ins(db, "token", user_id=user, name="t", token_hash="ab" * 32, prefix="adu_abcdef", created_at=now,
            revoked=False)
        comp = ins(db, "complaint", tracking_id="ABCD2345", access_code_hash="x" * 64, kind="pengaduan",
                   title="Jalan berlubang", body="Lubang besar di Jl. Udayana — bahaya 🚧", category_id=cat,
                   agency_id=agency, urgency="biasa", anonymous=False, secret=True, share_identity=False,
                   reporter_id=rep, region_id="52.71", channel="sms", status="dispatched", created_at=now,
                   updated_at=now, breached="")
        ins(db, "event", complaint_id=comp, type="file", actor_id=None, actor_role="reporter", to_status="received",
            text="", visibility="public", source="sms", data='{"channel": "sms"}', created_at=now)
        ins(db, "job", kind="lapor.push", key="lapor.push:1", payload='{"tracking_id": "ABCD2345"}', status="dead",
            attempts=12, max_attempts=12, run_at=now, last_error="HTTPError: 503", complaint_id=comp,
            created_at=now, updated_at=now)
        pw.Table("schedule_state", ("name", "next_run_at")).bind(db).insert(name="core.sla", next_run_at=now).execute()

    applied = migrate({"core": CORE_MIGRATIONS})
    assert applied == [f"core:{n}" for n in MIGRATIONS[1:]]
    assert schema_mismatches(db, CORE_MODELS) == []

    c = Complaint.get(Complaint.tracking_id == "ABCD2345")
    assert (c.title, c.body, c.status, c.channel, c.secret) == (
        "Jalan berlubang", "Lubang besar di Jl. Udayana — bahaya 🚧", "dispatched", "sms", True)
    assert c.created_at == now
    assert c.agency.code == "PUPR" and c.category.code == "jalan" and c.region.code == "52.71"
    assert c.reporter.phone == "+6281907123456"
    [ev] = list(c.events)
    assert (ev.type, ev.data) == ("file", {"channel": "sms"})
    [job] = list(Job.select())
    assert (job.kind, job.status, job.payload, job.last_error, job.complaint_id) == (
        "lapor.push", "dead", {"tracking_id": "ABCD2345"}, "HTTPError: 503", c.id)
    assert User.get(User.username == "off_a").agency.code == "PUPR"
    assert Token.select().count() == 1 and Reporter.select().count() == 1 and Agency.select().count() == 1
    assert Category.get_by_id(cat).default_agency_id == agency and Region.select().count() == 1
    assert ScheduleState.get_by_id("core.sla").next_run_at == now
    assert Event.select().count() == 1
    # the upgraded database takes new rows through the current models
    Agency.create(code="DIKES", name="Dinas Kesehatan")
    assert Agency.select().count() == 2


def test_migrations_revert_and_reapply(bare_db):
    migrate({"core": CORE_MIGRATIONS})
    runner = core_runner(bare_db)
    assert runner.down("0001_initial") == list(reversed(MIGRATIONS))
    assert set(bare_db.get_tables()) <= {"schema_migration"}
    assert migrate({"core": CORE_MIGRATIONS}) == [f"core:{n}" for n in MIGRATIONS]
    assert schema_mismatches(bare_db, CORE_MODELS) == []


def _aduan(args, tmp_path, url):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": url, "ADUAN_INSTANCE_PATH": str(tmp_path / "cli-instance"),
                "ADUAN_SECRET_KEY": "cli-test", "ADUAN_PLUGINS": ""})
    return subprocess.run([sys.executable, "-c", "from aduan.cli import main; main()", *args], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120)


def test_cli_db_status_and_upgrade(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    status = _aduan(["db", "status"], tmp_path, url)
    assert status.returncode == 1, status.stdout + status.stderr
    assert [ln for ln in status.stdout.splitlines() if ln.startswith("[")] == [f"[ ] core:{n}" for n in MIGRATIONS]

    up = _aduan(["db", "upgrade"], tmp_path, url)
    assert up.returncode == 0, up.stdout + up.stderr
    assert [f"applied core:{n}" for n in MIGRATIONS] == [ln for ln in up.stdout.splitlines() if ln.startswith("applied")]

    status = _aduan(["db", "status"], tmp_path, url)
    assert status.returncode == 0, status.stdout + status.stderr
    assert [ln for ln in status.stdout.splitlines() if ln.startswith("[")] == [f"[x] core:{n}" for n in MIGRATIONS]

    again = _aduan(["db", "upgrade"], tmp_path, url)
    assert again.returncode == 0 and "up to date" in again.stdout

    # and the result is the models' schema
    db = make_database(url, pool_size=1)
    db.connect()
    try:
        database.initialize(db)
        assert schema_mismatches(db, CORE_MODELS) == []
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()


def test_concurrent_upgrades_apply_each_migration_once(tmp_path):
    """Web processes and workers start together, each running `aduan db upgrade`."""
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": url, "ADUAN_INSTANCE_PATH": str(tmp_path / "cli-instance"),
                "ADUAN_SECRET_KEY": "cli-test", "ADUAN_PLUGINS": ""})
    procs = [subprocess.Popen([sys.executable, "-c", "from aduan.cli import main; main()", "db", "upgrade"], env=env,
                              cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(5)]
    outputs = [(p.wait(timeout=180), p.stdout.read()) for p in procs]
    for p in procs:
        p.stdout.close()
    assert [rc for rc, _ in outputs] == [0] * len(procs), "\n---\n".join(out for _, out in outputs)
    applied = [ln for _, out in outputs for ln in out.splitlines() if ln.startswith("applied ")]
    assert sorted(applied) == sorted(f"applied core:{n}" for n in MIGRATIONS)  # each exactly once, in all

    db = make_database(url, pool_size=1)
    db.connect()
    try:
        database.initialize(db)
        assert schema_mismatches(db, CORE_MODELS) == []
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()


def test_rows_written_under_0010_survive_0011_and_lists_use_its_indexes(bare_db):
    """0011 swaps the complaint indexes for (created_at, id) and (agency_id, created_at, id) and, on
    PostgreSQL with pg_trgm, adds trigram indexes for the text search; rows stay as they were."""
    db = bare_db
    assert core_runner(db).up("0010_complaint_language")[-1] == "0010_complaint_language"
    now = dt.datetime(2026, 3, 2, 1, 30, 0)
    with db.atomic():
        agency = ins(db, "agency", code="PUPR", name="Dinas PUPR", active=True, created_at=now)
        ids = [ins(db, "complaint", tracking_id=f"ABCD234{i}", access_code_hash="x" * 64, kind="pengaduan",
                   title=f"Jalan berlubang {i}", body="Lubang besar di Jl. Udayana", agency_id=agency, urgency="biasa",
                   anonymous=False, secret=False, share_identity=False, channel="web", status="dispatched",
                   created_at=now + dt.timedelta(minutes=i), updated_at=now, breached="", language="id")
               for i in range(3)]
    assert core_runner(db).up("0011_list_indexes") == ["0011_list_indexes"]
    migrate({"core": CORE_MIGRATIONS})  # and any later one
    assert schema_mismatches(db, CORE_MODELS) == []
    rows = list(Complaint.select().order_by(Complaint.id))
    assert [c.id for c in rows] == ids and [c.title for c in rows] == [f"Jalan berlubang {i}" for i in range(3)]
    assert [c.created_at for c in rows] == [now + dt.timedelta(minutes=i) for i in range(3)]
    assert all(c.agency_id == agency and c.language == "id" for c in rows)
    names = {ix.name for ix in db.get_indexes("complaint")}
    assert {"complaint_created_at_id", "complaint_agency_id_created_at_id"} <= names
    assert "complaint_created_at" not in names and "complaint_agency_id" not in names
    from aduan.db import create_search_indexes, is_postgres

    if is_postgres(db):
        have_trgm = db.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
        assert bool(have_trgm) == ({"complaint_title_trgm", "complaint_body_trgm"} <= names)
        assert create_search_indexes(db) == bool(have_trgm)  # idempotent
        if have_trgm:
            db.execute_sql("SET enable_seqscan = off")  # three rows: make the planner show what it can use
            plan = " ".join(r[0] for r in db.execute_sql(
                "EXPLAIN SELECT id FROM complaint WHERE title ILIKE %s OR body ILIKE %s", ("%berlubang%", "%berlubang%")))
            db.execute_sql("SET enable_seqscan = on")
            assert "complaint_title_trgm" in plan and "complaint_body_trgm" in plan, plan
    else:
        assert create_search_indexes(db) is False
    # back down and up again
    assert core_runner(db).down("0011_list_indexes")[-1] == "0011_list_indexes"
    assert Complaint.select().count() == 3
    assert "core:0011_list_indexes" in migrate({"core": CORE_MIGRATIONS})
    assert schema_mismatches(db, CORE_MODELS) == []
