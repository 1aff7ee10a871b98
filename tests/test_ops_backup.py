"""``aduan backup`` / ``aduan restore``: a backup restored into an empty database equals the original,
every complaint, event and attachment (bytes included); on the test engine, and from SQLite into a
real PostgreSQL (a throwaway cluster)."""
from __future__ import annotations

import importlib.util
import tarfile
from pathlib import Path

from click.testing import CliRunner
from flask.cli import ScriptInfo

from aduan import testing as aduan_testing
from aduan.cli import main
from aduan.db import database
from aduan.models import Attachment, Complaint, Event, Job, Reporter, User
from aduan.testing import auth

_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def populate(app, s) -> None:
    """Complaints in several states, with reporters (NIK), timelines, attachments and jobs."""
    client = app.test_client()
    for i in range(6):
        r = client.post("/api/v1/complaints", json={
            "title": f"Keluhan {i}", "body": f"Isi keluhan nomor {i} — ünïcödé ✓", "category": "jalan",
            "anonymous": i % 2 == 0, "secret": i == 3, "lat": -8.58 + i / 100, "lng": 116.1,
            "reporter": {"name": f"Pelapor {i}", "phone": f"08190712345{i}", "nik": f"520101440392000{i}"}})
        assert r.status_code == 201, r.text
        tid, code = r.json["tracking_id"], r.json["access_code"]
        for n, (name, data) in enumerate([("foto.png", PNG + bytes([i])), ("surat.pdf", PDF), ("lagi.png", PNG + bytes([i]))]):
            up = client.post(f"/api/v1/complaints/{tid}/attachments", headers={"X-Access-Code": code},
                             data={"file": (__import__("io").BytesIO(data), name)}, content_type="multipart/form-data")
            assert up.status_code == 201, up.text
        if i >= 2:
            assert client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"text": "diteruskan"},
                               headers=auth(s.coordinator)).status_code == 200
        if i >= 4:
            assert client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": "sedang ditangani"},
                               headers=auth(s.officer_a)).status_code == 200


def state(app) -> dict:
    """Everything a restore must bring back, as comparable values."""
    storage = app.extensions["aduan"].storage
    with app.app_context(), database.connection_context():
        out = {m.__name__: [tuple(sorted(r.items())) for r in m.select().order_by(m._meta.primary_key).dicts()]
               for m in (Complaint, Event, Attachment, Reporter, User, Job)}
        out["files"] = {a.sha256: storage.read_bytes(a.sha256) for a in Attachment.select()}
    return out


def cli(app, *args):
    res = CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: app))
    return res


def test_backup_restore_round_trip(make_app, seed, tmp_path):
    app = make_app()
    populate(app, seed)
    before = state(app)
    assert len(before["Complaint"]) == 6 and len(before["Attachment"]) == 18 and len(before["files"]) == 7
    archive = tmp_path / "aduan-backup.tar.gz"
    res = cli(app, "backup", str(archive))
    assert res.exit_code == 0, res.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "tables/complaint.jsonl" in names
    assert sum(n.startswith("files/") for n in names) == 7

    # an empty database (and empty storage) on the same engine
    res = cli(app, "restore", str(archive))
    assert res.exit_code != 0 and "not empty" in res.output
    url = aduan_testing.database_url_for_tests(tmp_path / "target")
    if url.startswith("sqlite"):
        (tmp_path / "target").mkdir()
    aduan_testing.reset_database(url)
    target = aduan_testing.build_test_app(tmp_path / "target", {"DATABASE_URL": url})
    res = cli(target, "restore", str(archive))
    assert res.exit_code == 0, res.output
    after = state(target)
    assert after == before
    # the restored deployment works: the reporter's access code, staff tokens, new ids after the old ones
    client = target.test_client()
    r = client.post("/api/v1/complaints", json={"body": "Setelah pemulihan"})
    assert r.status_code == 201
    with target.app_context(), database.connection_context():
        assert Complaint.get(Complaint.tracking_id == r.json["tracking_id"]).id > max(dict(c)["id"] for c in before["Complaint"])
    assert client.get("/api/v1/me", headers=auth(seed.admin)).json["username"] == "admin"


def test_restore_checks_the_archive(make_app, seed, tmp_path):
    app = make_app()
    populate(app, seed)
    archive = tmp_path / "b.tar.gz"
    assert cli(app, "backup", str(archive)).exit_code == 0
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as src, tarfile.open(damaged, "w:gz") as dst:
        for m in src.getmembers():
            data = src.extractfile(m).read()
            if m.name == "tables/event.jsonl":
                data = data.replace(b"diteruskan", b"DITERUSKAN")
            m.size = len(data)
            dst.addfile(m, __import__("io").BytesIO(data))
    res = cli(app, "restore", "--replace", str(damaged))
    assert res.exit_code != 0 and "event.jsonl is damaged" in res.output
    # --replace into the same (non-empty) database restores exactly the backed-up state
    before = state(app)
    app.test_client().post("/api/v1/complaints", json={"body": "dibuat setelah cadangan"})
    res = cli(app, "restore", "--replace", str(archive))
    assert res.exit_code == 0, res.output
    assert state(app) == before


throwaway_pg = ops.throwaway_pg


def test_sqlite_backup_restores_into_postgresql(tmp_path, throwaway_pg, monkeypatch):
    monkeypatch.delenv(aduan_testing.TEST_DB_ENV, raising=False)
    (tmp_path / "src").mkdir()
    src = aduan_testing.build_test_app(tmp_path / "src")
    with src.app_context(), database.connection_context():
        s = aduan_testing.seed_basics()
    populate(src, s)
    before = state(src)
    archive = tmp_path / "b.tar.gz"
    assert cli(src, "backup", str(archive)).exit_code == 0
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()
    dst = aduan_testing.build_test_app(tmp_path / "dst", {"DATABASE_URL": throwaway_pg.url,
                                                          "STORAGE_BACKEND": "database"})
    try:
        res = cli(dst, "restore", str(archive))
        assert res.exit_code == 0, res.output
        assert state(dst) == before
        assert dst.test_client().post("/api/v1/complaints", json={"body": "di PostgreSQL"}).status_code == 201
    finally:
        if hasattr(database.obj, "close_all"):
            database.obj.close_all()
