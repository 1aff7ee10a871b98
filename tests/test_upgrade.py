"""Upgrading a real deployment of release 0.1 (commit 7301d67) with the current code.

The fixture ``tests/fixtures/release_0_1`` was made by that release with every plugin of its time
enabled (lapor, sms, email, opendata) and rows in every table: complaints in every state with their
timelines, an attachment, reporters with an encrypted NIK, staff tokens (one revoked), done and
pending jobs, LAPOR! tickets and replies, SMS messages, opt-outs and blocks, email threads and a
failing address, open-data snapshots (``make_fixture.py`` says how; ``manifest.json`` is what it
made). Each test upgrades a copy with ``aduan db upgrade`` (a real process, every plugin enabled),
then checks the deployment still serves what it held. On PostgreSQL the same rows come from a plain
``pg_dump``. Migrations added later run here too, on data, not on an empty schema.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aduan import testing as aduan_testing
from aduan.testing import auth

FIXTURE = Path(__file__).parent / "fixtures" / "release_0_1"
MANIFEST = json.loads((FIXTURE / "manifest.json").read_text())
PLUGINS = "lapor,sms,email,opendata"


def _env(url: str, instance: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": url, "ADUAN_INSTANCE_PATH": str(instance),
                "ADUAN_SECRET_KEY": MANIFEST["secret_key"], "ADUAN_PLUGINS": PLUGINS,
                "ADUAN_OPENDATA_SNAPSHOT_DIR": str(instance / "opendata")})
    return env


def _aduan(args, url, instance):
    return subprocess.run([sys.executable, "-c", "from aduan.cli import main; main()", *args],
                          env=_env(url, instance), cwd=str(instance.parent), capture_output=True, text=True,
                          timeout=300)


def _restore_postgres(url: str) -> None:
    """Load the plain dump (psql meta-commands such as ``\\restrict`` are psql's, not SQL)."""
    import psycopg2

    sql = "\n".join(ln for ln in (FIXTURE / "aduan-postgres.sql").read_text().splitlines()
                    if not ln.startswith("\\"))
    conn = psycopg2.connect(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    """The fixture deployment copied to a temporary folder and upgraded by ``aduan db upgrade``
    (once for this module: the tests below read it; the worker test, last, changes jobs only)."""
    tmp_path = tmp_path_factory.mktemp("upgrade")
    url = aduan_testing.database_url_for_tests(tmp_path)
    instance = tmp_path / "instance"
    shutil.copytree(FIXTURE / "state", instance)
    if url.startswith("sqlite"):
        url = "sqlite:///" + str(tmp_path / "aduan.db")
        shutil.copy(FIXTURE / "aduan.db", tmp_path / "aduan.db")
    else:
        aduan_testing.reset_database(url)
        _restore_postgres(url)
    before = _aduan(["db", "status"], url, instance)
    up = _aduan(["db", "upgrade"], url, instance)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "Traceback" not in up.stderr
    after = _aduan(["db", "status"], url, instance)
    assert after.returncode == 0, after.stdout  # nothing pending
    from aduan.app import create_app
    from aduan.db import database

    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
                      "SECRET_KEY": MANIFEST["secret_key"], "PLUGINS": PLUGINS.split(","),
                      "OPENDATA_SNAPSHOT_DIR": str(instance / "opendata"),
                      "RATE_LIMIT_FILE": "100000/hour", "RATE_LIMIT_TRACK": "100000/hour"})
    app.upgrade_output = (before.stdout, up.stdout)
    yield app
    obj = database.obj
    if obj is not None and hasattr(obj, "close_all"):
        obj.close_all()


def test_the_upgrade_applies_the_migrations_written_since_the_release(upgraded):
    before, applied = upgraded.upgrade_output
    assert "[x] core:0001_initial" in before and "[x] lapor:0001_initial" in before
    pending_before = [ln[4:] for ln in before.splitlines() if ln.startswith("[ ]")]
    for name in pending_before:
        assert f"applied {name}" in applied


def test_every_complaint_and_its_timeline_survive_the_upgrade(upgraded):
    c = upgraded.test_client()
    staff = auth(MANIFEST["tokens"]["koordinator"])
    assert len(MANIFEST["complaints"]) >= 10
    for tid, want in MANIFEST["complaints"].items():
        r = c.get(f"/api/v1/complaints/{tid}", headers=staff)
        assert r.status_code == 200, (tid, r.json)
        assert r.json["status"] == want["status"]
        assert r.json["title"] == want["title"]
        timeline = r.json.get("timeline") or r.json.get("events")
        assert len(timeline) >= want["events"], tid
    listed = c.get("/api/v1/complaints?limit=100", headers=staff)
    assert listed.status_code == 200
    assert {x["tracking_id"] for x in listed.json["items"]} >= set(MANIFEST["complaints"])
    public = c.get("/api/v1/complaints")
    assert public.status_code == 200 and public.json["items"]


def test_old_tokens_and_access_codes_still_open_the_doors_they_opened(upgraded):
    c = upgraded.test_client()
    for user, token in MANIFEST["tokens"].items():
        me = c.get("/api/v1/me", headers=auth(token))
        assert me.status_code == 200, user
        assert me.json["username"] == user
    assert c.get("/api/v1/me", headers=auth(MANIFEST["revoked_token"])).status_code == 401
    web = MANIFEST["web"]
    mine = c.get(f"/api/v1/complaints/{web['tracking_id']}", headers={"X-Access-Code": web["access_code"]})
    assert mine.status_code == 200
    assert mine.json["reporter"]["name"] == "Lalu Ahmad Fikri"
    wrong = c.get(f"/api/v1/complaints/{web['tracking_id']}", headers={"X-Access-Code": "ZZZZZZZZ"})
    assert "reporter" not in wrong.json or not (wrong.json["reporter"] or {}).get("name")


def test_nik_encrypted_by_the_release_still_decrypts_and_the_attachment_is_served(upgraded):
    from aduan.db import database
    from aduan.models import Reporter
    from aduan.services import decrypt_nik

    web = MANIFEST["web"]
    with upgraded.app_context(), database.connection_context():
        assert decrypt_nik(Reporter.get_by_id(web["reporter_id"])) == web["nik"]
    c = upgraded.test_client()
    staff = auth(MANIFEST["tokens"]["koordinator"])
    atts = c.get(f"/api/v1/complaints/{web['tracking_id']}/attachments", headers=staff)
    assert atts.status_code == 200 and len(atts.json) == 1
    got = c.get(f"/api/v1/complaints/{web['tracking_id']}/attachments/{atts.json[0]['id']}", headers=staff)
    assert got.status_code == 200
    assert got.data.startswith(b"\x89PNG")


def test_plugin_rows_are_served_after_the_upgrade(upgraded):
    from aduan.db import database

    c = upgraded.test_client()
    staff = auth(MANIFEST["tokens"]["koordinator"])
    # SMS: the messages of the complaint filed by SMS
    sms_tid = next(t for t, v in MANIFEST["complaints"].items() if v["channel"] == "sms"
                   and "LAPOR" not in v["title"] and v["title"].startswith("Sampah menumpuk di depan SDN"))
    msgs = c.get(f"/api/v1/plugins/sms/complaints/{sms_tid}/messages", headers=staff)
    assert msgs.status_code == 200 and len(msgs.json) >= 2
    # LAPOR!: the staff view still shows the ticket pushed before the upgrade
    pushed = [t for t, v in MANIFEST["complaints"].items() if v["status"] != "received" and not v["secret"]]
    extras = [c.get(f"/api/v1/complaints/{t}", headers=staff).json.get("extra", {}).get("lapor") for t in pushed]
    assert any(e and (e.get("lapor_id") or e.get("state") or e.get("tracking_id")) for e in extras), extras
    # email: a reply address handed out by the release still routes to its complaint; the failing
    # address is still known as failing
    from aduan_email import common

    with upgraded.app_context(), database.connection_context():
        assert common.tracking_id_from_recipients([MANIFEST["email"]["reply_address"]]) == \
            MANIFEST["email"]["tracking_id"]
        assert common.is_failing(MANIFEST["email"]["failing_address"])
    # open data: the snapshots published before the upgrade are still listed and downloadable. The
    # release stored absolute paths: put them where this copy of the state folder is, as a deployment
    # upgrading in place has them.
    import peewee as pw
    from aduan_opendata.models import OpendataSnapshot

    with upgraded.app_context(), database.connection_context():
        OpendataSnapshot.update(path=pw.fn.REPLACE(OpendataSnapshot.path, MANIFEST["state_dir"],
                                                   upgraded.config["OPENDATA_SNAPSHOT_DIR"].rsplit("/", 1)[0])
                                ).execute()
    assert c.get("/opendata/").status_code == 200
    snaps = c.get("/api/v1/plugins/opendata/snapshots").json
    items = snaps["snapshots"]
    assert len(items) == 2
    csv = c.get(f"/api/v1/plugins/opendata/snapshots/{items[0]['version']}/complaints.csv")
    assert csv.status_code == 200, csv.data[:200]
    assert csv.data.count(b"\n") >= 2  # a header and rows


def test_the_worker_runs_the_jobs_left_pending_by_the_release(upgraded):
    from aduan.db import database
    from aduan.jobs import Worker
    from aduan.models import Job

    with upgraded.app_context(), database.connection_context():
        pending = Job.select().where(Job.status == "pending").count()
        assert pending
        Worker(upgraded).run_once()
        # nothing blew up on old payloads: every job is done, waiting for a retry, or dead with a reason
        for j in Job.select():
            assert j.status in ("done", "pending", "dead")
            if j.status == "dead":
                assert j.last_error
