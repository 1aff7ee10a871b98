"""Uploads: per-complaint caps on files and bytes, and file names without folder parts or control
characters (issue #9 item 13)."""
from __future__ import annotations

import io

import pytest

from aduan.testing import auth

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7V\xbd\xfa\x00\x00\x00\x00IEND\xaeB`\x82")


def png(n: int = 0, size: int = 0) -> bytes:
    """A distinct PNG (content-addressed storage: each upload its own bytes), padded to ``size``."""
    data = PNG + f"#{n}".encode()
    return data + b"\0" * max(0, size - len(data))


def file(client):
    r = client.post("/api/v1/complaints", json={"body": "Jalan berlubang di depan pasar.", "category": "jalan"})
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], {"X-Access-Code": r.json["access_code"]}


def upload(client, tid, headers, data: bytes, name: str = "foto.png"):
    return client.post(f"/api/v1/complaints/{tid}/attachments", headers=headers,
                       data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def multipart(name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body as curl and browsers send it: the name quoted, ``\\`` and ``"`` escaped."""
    quoted = name.replace("\\", "\\\\").replace('"', '\\"')
    body = (b"--XbOuNdArY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + quoted.encode() +
            b"\"\r\nContent-Type: application/octet-stream\r\n\r\n" + data + b"\r\n--XbOuNdArY--\r\n")
    return body, "multipart/form-data; boundary=XbOuNdArY"


@pytest.mark.parametrize("name,stored", [
    ("../../etc/passwd.png", "passwd.png"),
    ("..\\..\\Windows\\System32\\foto.png", "foto.png"),
    ("C:\\Users\\warga\\Pictures\\jalan rusak.png", "jalan rusak.png"),
    ("foto\x00.png", "foto.png"),
    ("foto\x07\x1b[31m.png", "foto[31m.png"),
    ("\u202egnp.exe", "gnp.exe"),
    ("../", "lampiran"),
    ("..", "lampiran"),
    ("ok/..\\.png", "png"),
])
def test_file_names_lose_folder_parts_and_control_characters(client, seed, name, stored):
    tid, rep = file(client)
    body, ctype = multipart(name, png())
    r = client.post(f"/api/v1/complaints/{tid}/attachments", headers=rep, data=body, content_type=ctype)
    assert r.status_code == 201, r.json
    assert r.json["filename"] == stored
    got = client.get(f"/api/v1/complaints/{tid}/attachments/{r.json['id']}", headers=rep)
    assert got.status_code == 200
    disposition = got.headers["Content-Disposition"]
    assert "/" not in disposition.split("filename", 1)[1] and "\\" not in disposition and "\r" not in disposition


@pytest.mark.parametrize("name,stored", [
    ("..\\..\\boot.ini\r\n.pdf", "boot.ini.pdf"),
    ("/var/lib/aduan/../../x.png", "x.png"),
    ("a\tb\u200bc\u2066.png", "abc.png"),
    ("x" * 300 + ".png", "x" * 251 + ".png"),
])
def test_every_channel_gets_safe_names(db, seed, name, stored):
    """The service cleans the name, so email and other channels (which call it directly) are covered."""
    from aduan import services
    from aduan.auth import Actor

    c, _ = services.file_complaint({"body": "Jalan rusak."}, actor=Actor(role="reporter"), channel="email")
    att = services.add_attachment(c, Actor(role="reporter", complaint_id=c.id), io.BytesIO(png()), name)
    assert att.filename == stored


def seeded(make_app, config):
    from aduan.db import database
    from aduan.testing import seed_basics

    app = make_app(config)
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    return app.test_client(), seed


def test_number_of_files_per_complaint_is_capped(make_app):
    client, seed = seeded(make_app, {"ATTACHMENT_MAX_FILES": 2})
    tid, rep = file(client)
    assert upload(client, tid, rep, png(1)).status_code == 201
    assert upload(client, tid, rep, png(2)).status_code == 201
    r = upload(client, tid, rep, png(3))
    assert r.status_code == 422 and "file" in r.json["errors"]
    # the cap counts every uploader: staff too
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                    headers=auth(seed.coordinator))
    assert upload(client, tid, auth(seed.officer_a), png(4)).status_code == 422
    staff = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert len(staff["attachments"]) == 2 and [e["type"] for e in staff["timeline"]].count("attach") == 2
    # another complaint has its own budget
    tid2, rep2 = file(client)
    assert upload(client, tid2, rep2, png(5)).status_code == 201


def test_total_bytes_per_complaint_are_capped(make_app):
    client, _ = seeded(make_app, {"ATTACHMENT_MAX_BYTES": 4000, "ATTACHMENT_MAX_TOTAL_BYTES": 5000})
    tid, rep = file(client)
    assert upload(client, tid, rep, png(1, 3000)).status_code == 201
    r = upload(client, tid, rep, png(2, 2500))
    assert r.status_code == 422 and "2000" in " ".join(r.json["errors"]["file"])  # what is left is said
    assert upload(client, tid, rep, png(3, 1900)).status_code == 201
    assert upload(client, tid, rep, png(4, 200)).status_code == 422
    assert len(client.get(f"/api/v1/complaints/{tid}/attachments", headers=rep).json) == 2


def test_cap_messages_are_indonesian_by_default(make_app):
    client, _ = seeded(make_app, {"ATTACHMENT_MAX_FILES": 1})
    tid, rep = file(client)
    assert upload(client, tid, rep, png(1)).status_code == 201
    r = upload(client, tid, rep, png(2))
    assert r.status_code == 422
    assert "paling banyak 1 berkas" in r.json["errors"]["file"][0]
    r = client.post(f"/api/v1/complaints/{tid}/attachments?lang=en", headers=rep,
                    data={"file": (io.BytesIO(png(3)), "x.png")}, content_type="multipart/form-data")
    assert "at most 1 file" in r.json["errors"]["file"][0]


def test_concurrent_uploads_cannot_pass_the_cap_together(make_app):
    """Eight uploads race on one complaint allowed three files: the cap is checked again on the
    locked row, so exactly three are stored (PostgreSQL: row lock; SQLite: write transaction)."""
    import threading

    client, _ = seeded(make_app, {"ATTACHMENT_MAX_FILES": 3, "DATABASE_POOL_SIZE": 10})
    tid, rep = file(client)
    app = client.application
    codes = []
    start = threading.Barrier(8)

    def up(n):
        c = app.test_client()
        start.wait()
        codes.append(upload(c, tid, rep, png(100 + n)).status_code)

    threads = [threading.Thread(target=up, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [201] * 3 + [422] * 5
    assert len(client.get(f"/api/v1/complaints/{tid}/attachments", headers=rep).json) == 3
