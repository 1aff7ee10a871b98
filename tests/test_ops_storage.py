"""Shared storage: attachments in the database and in an S3-compatible store (moto's standalone S3
server, the only S3 endpoint these machines can run), and ``aduan storage migrate`` moving every file
between backends without loss."""
from __future__ import annotations

import hashlib
import io
import os

import boto3
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from aduan.cli import main
from aduan.storage import DatabaseStorage, LocalStorage, S3Storage

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
S3_KEYS = {"STORAGE_S3_BUCKET": "aduan-files", "STORAGE_S3_REGION": "us-east-1",
           "STORAGE_S3_ACCESS_KEY_ID": "testing", "STORAGE_S3_SECRET_ACCESS_KEY": "testing",
           "STORAGE_S3_PREFIX": "ntb/"}


@pytest.fixture(scope="module")
def s3_server():
    from moto.server import ThreadedMotoServer

    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
    ops = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ops)
    port = ops.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_config(s3_server):
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = S3_KEYS["STORAGE_S3_BUCKET"]
    try:
        client.create_bucket(Bucket=bucket)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])
    return {**S3_KEYS, "STORAGE_S3_ENDPOINT_URL": s3_server}, client


def upload_and_download(app) -> tuple[dict[str, bytes], str, str, list[int]]:
    """Upload two files through the API and download them back; returns ({sha256: bytes}, tracking
    id, access code, attachment ids)."""
    client = app.test_client()
    r = client.post("/api/v1/complaints", json={"body": "Saluran air tersumbat"})
    tid, code = r.json["tracking_id"], r.json["access_code"]
    sent, ids = {}, []
    for name, data in (("foto.png", PNG + b"1"), ("surat.pdf", PDF)):
        up = client.post(f"/api/v1/complaints/{tid}/attachments", headers={"X-Access-Code": code},
                         data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
        assert up.status_code == 201, up.get_data(as_text=True)
        got = client.get(f"/api/v1/complaints/{tid}/attachments/{up.json['id']}", headers={"X-Access-Code": code})
        assert got.status_code == 200 and got.data == data
        sent[hashlib.sha256(data).hexdigest()] = data
        ids.append(up.json["id"])
    rejected = client.post(f"/api/v1/complaints/{tid}/attachments", headers={"X-Access-Code": code},
                           data={"file": (io.BytesIO(b"MZ\x90\x00 not allowed"), "x.exe")},
                           content_type="multipart/form-data")
    assert rejected.status_code == 422
    return sent, tid, code, ids


def test_attachments_in_the_database(make_app):
    app = make_app({"STORAGE_BACKEND": "database"})
    sent = upload_and_download(app)[0]
    assert not os.path.exists(os.path.join(app.instance_path, "attachments"))
    with app.app_context():
        st = app.extensions["aduan"].storage
        assert isinstance(st, DatabaseStorage) and set(st.keys()) == set(sent)


def test_attachments_in_s3(make_app, s3_config):
    cfg, client = s3_config
    app = make_app({"STORAGE_BACKEND": "s3", **cfg})
    sent = upload_and_download(app)[0]
    listed = {o["Key"] for o in client.list_objects_v2(Bucket="aduan-files")["Contents"]}
    assert listed == {f"ntb/{sha}" for sha in sent}
    st = app.extensions["aduan"].storage
    assert isinstance(st, S3Storage) and not st.exists("0" * 64)
    with pytest.raises(FileNotFoundError):
        st.open("0" * 64)
    st.write("opendata/2026-12/complaints.csv", io.BytesIO(b"id,status\n"))  # a published file by path
    assert st.read_bytes("opendata/2026-12/complaints.csv") == b"id,status\n"


def test_local_keys_stay_inside_the_folder(tmp_path):
    st = LocalStorage(str(tmp_path / "files"))
    for bad in ("../escape", "/etc/passwd", "a//b", "a/../../b", ""):
        with pytest.raises(ValueError):
            st.write(bad, io.BytesIO(b"x"))
    st.write("opendata/v1/data.csv", io.BytesIO(b"a"))
    assert list(st.keys()) == ["opendata/v1/data.csv"]


def test_storage_migrate_moves_every_file_without_loss(make_app, s3_config):
    cfg, _client = s3_config
    app = make_app(cfg)  # uploads land in the local folder (the default backend)
    sent, tid, code, ids = upload_and_download(app)
    local = app.extensions["aduan"].storage
    local.write("opendata/2026-11/complaints.csv", io.BytesIO(b"id,status\n1,closed\n"))
    expected = {**sent, "opendata/2026-11/complaints.csv": b"id,status\n1,closed\n"}
    obj = ScriptInfo(create_app=lambda: app)
    runner = CliRunner()

    def migrate(*args):
        res = runner.invoke(main, ["storage", "migrate", *args], obj=obj)
        assert res.exit_code == 0, res.output
        return res.output

    out = migrate("--from", "local", "--to", "database")
    assert "3 copied, 0 already there, 0 deleted" in out
    assert "0 copied, 3 already there" in migrate("--from", "local", "--to", "database")  # safe to run again
    assert "3 copied" in migrate("--from", "database", "--to", "s3", "--delete-source")
    with app.app_context():
        assert list(DatabaseStorage().keys()) == []
        s3 = S3Storage(cfg["STORAGE_S3_BUCKET"], endpoint_url=cfg["STORAGE_S3_ENDPOINT_URL"], region="us-east-1",
                       prefix="ntb/", access_key_id="testing", secret_access_key="testing")
        assert {k: s3.read_bytes(k) for k in s3.keys()} == expected
    # switch the deployment to S3: every attachment is still served
    app2 = make_app({"STORAGE_BACKEND": "s3", **cfg})
    client = app2.test_client()
    got = [client.get(f"/api/v1/complaints/{tid}/attachments/{i}", headers={"X-Access-Code": code}).data for i in ids]
    assert sorted(got) == sorted(sent.values())
    res = runner.invoke(main, ["storage", "info"], obj=ScriptInfo(create_app=lambda: app2))
    assert '"files": 3' in res.output and "s3:aduan-files/ntb/" in res.output
    bad = runner.invoke(main, ["storage", "migrate", "--from", "s3", "--to", "s3"], obj=obj)
    assert bad.exit_code != 0


def test_open_data_release_served_by_a_host_without_the_files(make_app, seed, tmp_path):
    """Published on one host, downloaded from another (no OPENDATA_SNAPSHOT_DIR on its disk)."""
    import shutil

    from aduan_opendata import publish as pub

    app = make_app({"PLUGINS": ["opendata"], "STORAGE_BACKEND": "database",
                    "OPENDATA_SNAPSHOT_DIR": str(tmp_path / "host-a")})
    client = app.test_client()
    client.post("/api/v1/complaints", json={"body": "Jalan berlubang", "category": "jalan"})
    with app.app_context():
        snap = pub.publish(app)
    files = {f["name"] for f in snap.files}
    assert "complaints.csv" in files
    on_disk = (tmp_path / "host-a" / snap.version / "complaints.csv").read_bytes()
    shutil.rmtree(tmp_path / "host-a")  # host B never had it
    for url in ("/api/v1/plugins/opendata/complaints.csv",
                f"/api/v1/plugins/opendata/snapshots/{snap.version}/complaints.csv",
                "/api/v1/plugins/opendata/datapackage.json"):
        r = client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True))
        if url.endswith("complaints.csv"):
            assert r.data == on_disk and r.headers["ETag"]
    with app.app_context():
        keys = set(app.extensions["aduan"].storage.keys())
    assert f"opendata/{snap.version}/complaints.csv" in keys
