"""Bad input gets a clear 4xx with field messages, never a 500, and loses nothing."""
import io

import pytest

from aduan.testing import auth

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize("payload,field", [
    ({}, "body"),
    ({"body": ""}, "body"),
    ({"body": 12}, "body"),
    ({"body": "x", "kind": "keluhan"}, "kind"),
    ({"body": "x", "urgency": "darurat"}, "urgency"),
    ({"body": "x", "anonymous": "maybe"}, "anonymous"),
    ({"body": "x", "lat": 200, "lng": 1}, "lat"),
    ({"body": "x", "lat": -8.5}, "lng"),
    ({"body": "x", "category_id": "satu"}, "category_id"),
    ({"body": "x", "category_id": 999}, "category_id"),
    ({"body": "x", "region_code": "99.99"}, "region_code"),
    ({"body": "x", "reporter": {"nik": "12345"}}, "reporter"),
    ({"body": "x", "reporter": {"nik": "٥٢٧١٠١٤٥١٢٨٠٠٠٠٣"}}, "reporter"),  # 16 digits, Arabic-Indic
    ({"body": "x", "reporter": {"phone": "bukan nomor"}}, "reporter"),
    ({"body": "x", "reporter": {"email": "not-an-email"}}, "reporter"),
    ({"body": "x", "incident_date": "kemarin"}, "incident_date"),
    ({"body": "x", "surprise": True}, "surprise"),
    ({"body": "x" * 10_001}, "body"),
    ({"body": "x", "channel": "sms"}, None),
])
def test_filing_errors_name_the_field(client, seed, payload, field):
    r = client.post("/api/v1/complaints", json=payload)
    assert 400 <= r.status_code < 500, r.json
    assert r.is_json and r.json["message"]
    if field:
        assert field in r.json["errors"], r.json
    assert client.get("/api/v1/complaints?limit=5", headers=auth(seed.admin)).json["items"] == []


@pytest.mark.parametrize("data,ctype", [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("null", "application/json"),
    ("body=halo", "application/x-www-form-urlencoded"),
    ("\x00\x01\x02", "application/json"),
])
def test_malformed_bodies(client, seed, data, ctype):
    r = client.post("/api/v1/complaints", data=data, content_type=ctype)
    assert 400 <= r.status_code < 500 and r.is_json


def test_oversized_request_is_413(make_app):
    app = make_app({"MAX_CONTENT_LENGTH": 2048})
    client = app.test_client()
    r = client.post("/api/v1/complaints", json={"body": "x" * 5000})
    assert r.status_code == 413 and r.is_json


def test_unicode_and_control_characters(client, seed):
    body = "Jalan rusak 🚧 di Desa Sembalun\u0000\u202e — ᬅᬓ᭄ᬱᬭ (aksara Bali) \x07 selesai?"
    r = client.post("/api/v1/complaints", json={"body": body, "title": "Judul\nbaris dua\t🚧"})
    assert r.status_code == 201
    c = client.get(f"/api/v1/complaints/{r.json['tracking_id']}", headers={"X-Access-Code": r.json["access_code"]}).json
    assert "🚧" in c["body"] and "ᬅᬓ᭄ᬱᬭ" in c["body"]
    assert "\u0000" not in c["body"] and "\u202e" not in c["body"] and "\x07" not in c["body"]
    assert c["title"] == "Judul baris dua 🚧"


def test_action_errors(client, seed):
    tid = client.post("/api/v1/complaints", json={"body": "Jalan rusak", "category": "jalan"}).json["tracking_id"]
    h = auth(seed.coordinator)
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": 999}, headers=h)
    assert r.status_code == 422 and "agency_id" in r.json["errors"]
    r = client.post(f"/api/v1/complaints/{tid}/actions/explode", json={}, headers=h)
    assert r.status_code in (404, 409)
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"urgency": "sangat"}, headers=h)
    assert r.status_code == 422 and "urgency" in r.json["errors"]
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={}, headers=h)
    assert r.status_code == 200
    r = client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": "   "}, headers=h)
    assert r.status_code == 422 and "text" in r.json["errors"]
    r = client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": "ok", "visibility": "secret"}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/complaints/NOSUCHID/actions/verify", json={}, headers=h)
    assert r.status_code == 404
    r = client.post(f"/api/v1/complaints/{tid}/actions/respond", json={"text": "ok"})
    assert r.status_code == 401


def test_missing_auth_and_wrong_methods(client, seed):
    assert client.get("/api/v1/users").status_code == 401
    assert client.get("/api/v1/users", headers={"Authorization": "Bearer"}).status_code == 401
    assert client.delete("/api/v1/complaints").status_code == 405
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.is_json
    r = client.get("/api/v1/complaints?limit=0", headers=auth(seed.admin))
    assert r.status_code == 422 and "limit" in r.json["errors"]
    r = client.get("/api/v1/complaints?cursor=%%%", headers=auth(seed.admin))
    assert r.status_code == 422
    r = client.get("/api/v1/complaints?status=lost", headers=auth(seed.admin))
    assert r.status_code == 422


def test_uploads_checked_by_size_and_sniffed_type(make_app):
    from aduan.db import database
    from aduan.testing import seed_basics

    app = make_app({"ATTACHMENT_MAX_BYTES": 1000})
    with app.app_context(), database.connection_context():
        seed_basics()
    client = app.test_client()
    r = client.post("/api/v1/complaints", json={"body": "Foto jalan rusak"})
    tid, code = r.json["tracking_id"], r.json["access_code"]
    h = {"X-Access-Code": code}
    up = lambda data, name: client.post(f"/api/v1/complaints/{tid}/attachments", headers=h,
                                        data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    r = up(b"MZ\x90\x00" + b"\x00" * 200, "foto.png")  # a Windows executable named .png
    assert r.status_code == 422 and "file" in r.json["errors"]
    r = up(PNG + b"\x00" * 2000, "besar.png")
    assert r.status_code == 422 and "lebih besar" in r.json["errors"]["file"][0]
    r = up(b"", "kosong.png")
    assert r.status_code == 422
    r = client.post(f"/api/v1/complaints/{tid}/attachments", headers=h, data={}, content_type="multipart/form-data")
    assert r.status_code == 422
    r = up(PNG, "../../etc/passwd")
    assert r.status_code == 201 and r.json["content_type"] == "image/png"
    files = client.get(f"/api/v1/complaints/{tid}/attachments", headers=h).json
    assert len(files) == 1
    d = client.get(f"/api/v1/complaints/{tid}/attachments/{files[0]['id']}", headers=h)
    assert d.status_code == 200 and d.data == PNG and d.headers["X-Content-Type-Options"] == "nosniff"


def test_rate_limit_on_public_filing(make_app):
    app = make_app({"RATE_LIMIT_FILE": "3/hour"})
    client = app.test_client()
    codes = [client.post("/api/v1/complaints", json={"body": f"laporan {i}"}).status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    r = client.post("/api/v1/complaints", json={"body": "lagi"})
    assert int(r.headers["Retry-After"]) > 0


def test_rate_limit_counts_the_client_behind_a_trusted_proxy(make_app):
    app = make_app({"RATE_LIMIT_FILE": "1/hour", "TRUSTED_PROXIES": 1})
    client = app.test_client()
    post = lambda ip: client.post("/api/v1/complaints", json={"body": "x"},
                                  headers={"X-Forwarded-For": ip}).status_code
    assert [post("10.1.1.1"), post("10.1.1.1"), post("10.2.2.2")] == [201, 429, 201]


def test_guessing_tracking_ids_is_rate_limited(make_app):
    app = make_app({"RATE_LIMIT_TRACK": "3/hour"})
    client = app.test_client()
    tid = client.post("/api/v1/complaints", json={"body": "Jalan rusak"}).json["tracking_id"]
    misses = [client.get(f"/api/v1/complaints/ZZZZZZ{i:02d}").status_code for i in range(5)]
    assert misses == [404, 404, 404, 429, 429]
    assert client.get(f"/api/v1/complaints/{tid}").status_code == 200  # real ids still answer
