"""Marker scan: personal data and secret content reach only the audiences the README allows.

Every personal field of every reporter (name, phone, email, NIK) and every free text of a secret
complaint (title, body, address, replies, a hold's answer, the reopen reason, the rating comment,
an attachment's name) is a unique marker. Complaints are filed anonymously, secretly and by name,
on the web, by SMS and by email; they are worked through their lifecycle; the worker delivers what
the plugins send (mail to a real SMTP server, SMS to a local HTTP gateway, SP4N-LAPOR! to its
simulator) and the open-data exporter runs. Then every GET route of the API (from the served
OpenAPI document) is walked as each audience, and every response, export file, outgoing message and
log line is scanned. The README's privacy table says where a marker may appear; nowhere else.
"""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from aduan.db import database
from aduan.jobs import Worker
from aduan.testing import auth, seed_basics
from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN
from aduan_lapor.testing import PNG, sim  # noqa: F401 - the simulator fixture

SMS_SECRET, RAW_SECRET = "sms-generic-secret", "email-raw-secret"
FROM = "lapor@pemda.example.id"


class Reporter:
    def __init__(self, n: int):
        self.n = n
        self.name = f"Nama{n}penanda Mrk"
        self.phone = f"0812345{n:05d}"
        self.digits = self.phone[1:]  # in every written form: 0812…, +62812…, 62812…
        self.email = f"surel{n}penanda@warga.example"
        self.nik = f"52710199010{n:05d}"

        self.given: set[str] | None = None  # what the channel carried, when not everything

    @property
    def identity(self) -> set[str]:
        return self.given if self.given is not None else {self.name, self.digits, self.email}


class Case:
    """One complaint with its reporter's markers and its own texts."""

    def __init__(self, key: str, n: int, *, anonymous=False, secret=False):
        self.key, self.anonymous, self.secret = key, anonymous, secret
        self.rep = Reporter(n)
        self.texts: dict[str, str] = {}
        self.tid = self.code = None

    def text(self, what: str) -> str:
        marker = f"MRK{self.key.upper()}{what.upper()}"
        self.texts[what] = marker
        return marker

    @property
    def secret_texts(self) -> set[str]:
        return set(self.texts.values()) if self.secret else set()

    @property
    def rating(self) -> set[str]:
        return {v for k, v in self.texts.items() if k == "rate"}


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Box:
        def __init__(self):
            self.envelopes = []

        async def handle_DATA(self, server, session, envelope):
            self.envelopes.append(envelope)
            return "250 OK"

    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    box = Box()
    ctl = Controller(box, hostname="127.0.0.1", port=port)
    ctl.start()
    box.port = port
    yield box
    ctl.stop()


def signed(secret: str, body: bytes) -> dict:
    ts = str(int(time.time()))
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Aduan-Timestamp": ts, "X-Aduan-Signature": "sha256=" + sig}


def drain(app, rounds=30):
    w = Worker(app)
    for _ in range(rounds):
        c = w.run_once(schedules=False)
        if not any(c[k] for k in ("done", "retry", "dead")):
            break


def hits(text: str, markers: set[str]) -> set[str]:
    return {m for m in markers if m and m in text}


def test_markers_reach_only_the_audiences_the_readme_allows(make_app, sim, smtp, httpserver, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/send").respond_with_json({"ok": True, "messageId": "gw-1"})
    app = make_app({
        "PLUGINS": ["email", "sms", "lapor", "opendata"], "BASE_URL": "https://aduan.example.id",
        "EMAIL_FROM_ADDRESS": FROM, "EMAIL_SMTP_HOST": "127.0.0.1", "EMAIL_SMTP_PORT": smtp.port,
        "EMAIL_SMTP_SECURITY": "none", "EMAIL_RAW_SECRET": RAW_SECRET,
        "SMS_GENERIC_SECRET": SMS_SECRET, "SMS_OUTBOUND": "http", "SMS_HTTP_URL": httpserver.url_for("/send"),
        "LAPOR_BASE_URL": sim.url, "LAPOR_BEARER_TOKEN": DEFAULT_TOKEN, "LAPOR_TOKEN_GUID": DEFAULT_GUID,
        "LAPOR_INSTITUTION_ID": 1001, "LAPOR_READ_TIMEOUT": 2.0, "LAPOR_CONNECT_TIMEOUT": 2.0,
        "OPENDATA_SNAPSHOT_DIR": str(tmp_path / "snapshots"),
    })
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    coord, off_a, off_b = auth(seed.coordinator), auth(seed.officer_a), auth(seed.officer_b)
    for agency in (seed.agency_a, seed.agency_b):
        r = client.patch(f"/api/v1/agencies/{agency.id}", json={"email": f"{agency.code.lower()}@pemda.example.id"},
                         headers=coord)
        assert r.status_code == 200, r.json

    named, anon, secret, secret_anon = (Case("named", 1), Case("anon", 2, anonymous=True),
                                        Case("secret", 3, secret=True), Case("secanon", 4, anonymous=True, secret=True))
    by_sms, by_email = Case("sms", 5), Case("email", 6)
    by_sms.rep.given = {by_sms.rep.digits}  # an SMS gives only the number
    by_email.rep.given = {by_email.rep.name, by_email.rep.email}  # an email, the sender's name and address
    cases = [named, anon, secret, secret_anon, by_sms, by_email]

    # --- filing: web (named, anonymous, secret, secret and anonymous), SMS, email ------------------
    for c in (named, anon, secret, secret_anon):
        r = client.post("/api/v1/complaints", json={
            "title": c.text("title"), "body": c.text("body") + " jalan rusak di depan pasar",
            "address": c.text("address"), "lat": -8.58, "lng": 116.11, "category": "jalan",
            "region_code": "52.71.01", "anonymous": c.anonymous, "secret": c.secret,
            "reporter": {"name": c.rep.name, "phone": c.rep.phone, "email": c.rep.email, "nik": c.rep.nik}})
        assert r.status_code == 201, r.json
        c.tid, c.code = r.json["tracking_id"], r.json["access_code"]
    body = json.dumps({"from": by_sms.rep.phone, "text": f"LAPOR {by_sms.text('body')} lampu jalan mati",
                       "id": "sms-1"}).encode()
    r = client.post("/hooks/sms/generic", data=body, content_type="application/json", headers=signed(SMS_SECRET, body))
    assert r.status_code == 200, r.get_data(as_text=True)
    raw = (f"From: {by_email.rep.name} <{by_email.rep.email}>\r\nTo: {FROM}\r\nSubject: {by_email.text('title')}\r\n"
           f"Message-ID: <m1@warga.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           f"{by_email.text('body')} sampah menumpuk di gang.\r\n").encode()
    r = client.post("/hooks/email/raw", data=raw, content_type="message/rfc822", headers=signed(RAW_SECRET, raw))
    assert r.status_code in (200, 201, 202), r.get_data(as_text=True)
    staff_list = client.get("/api/v1/complaints?limit=200", headers=coord).json["items"]
    for c in (by_sms, by_email):
        c.tid = next(x["tracking_id"] for x in staff_list if x["channel"] == c.key)

    # --- the lifecycle, with every kind of text --------------------------------------------------
    def act(c, action, headers, **data):
        r = client.post(f"/api/v1/complaints/{c.tid}/actions/{action}", json=data, headers=headers)
        assert r.status_code == 200, (c.key, action, r.json)

    for c in cases:
        act(c, "verify", coord, agency_id=seed.agency_a.id)
    for c in (named, anon, secret, secret_anon):
        rep = {"X-Access-Code": c.code}
        up = client.post(f"/api/v1/complaints/{c.tid}/attachments", headers=rep,
                         data={"file": (io.BytesIO(PNG + c.key.encode()), c.text("file") + ".png")})
        assert up.status_code == 201, up.json
        act(c, "reply", rep, text=c.text("reply"))
        act(c, "hold", off_a, text=c.text("hold"))
        act(c, "reply", rep, text=c.text("answer"))
        act(c, "respond", off_a, text=c.text("respond"))
        act(c, "resolve", off_a, text=c.text("resolve"))
        act(c, "reopen", rep, text=c.text("reopen"))
        act(c, "comment", off_a, text=c.text("note"))  # internal
        act(c, "resolve", off_a, text=c.text("resolvetwo"))
        act(c, "rate", rep, rating=4, text=c.text("rate"))
    drain(app)

    # --- what each audience may not see ------------------------------------------------------------
    niks = {c.rep.nik for c in cases}
    identity = set().union(*(c.rep.identity for c in cases))
    anon_identity = set().union(*(c.rep.identity for c in cases if c.anonymous))
    secret_texts = set().union(*(c.secret_texts for c in cases))
    ratings = set().union(*(c.rating for c in cases))
    notes = {c.texts["note"] for c in cases if "note" in c.texts}
    every_text = set().union(*(set(c.texts.values()) for c in cases))

    # --- exports: open data holds no personal data and no free text ----------------------------------
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from aduan.cli import main

    out_dir = tmp_path / "export"
    res = CliRunner().invoke(main, ["export", "opendata", str(out_dir)], obj=ScriptInfo(create_app=lambda: app))
    assert res.exit_code == 0, res.output
    files = [p for p in Path(out_dir).rglob("*") if p.is_file()]
    assert files
    exported = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)
    assert hits(exported, identity | niks | every_text) == set()
    assert len({c.tid for c in cases if c.tid in exported}) == 0  # tracking ids are not published either
    res = CliRunner().invoke(main, ["opendata", "publish"], obj=ScriptInfo(create_app=lambda: app))
    assert res.exit_code == 0, res.output  # a release served by the web, walked below
    release = client.get("/api/v1/plugins/opendata/").json["latest"]
    assert release
    version = release["version"]
    names = sorted({p.name for p in files})


    spec = client.get("/api/v1/openapi.json").json
    att_ids = [a["id"] for c in cases for a in client.get(f"/api/v1/complaints/{c.tid}/attachments",
                                                         headers=coord).json]

    def urls():
        for path, ops in sorted(spec["paths"].items()):
            if "get" not in ops:
                continue
            for tid in ([c.tid for c in cases] if "{tracking_id}" in path else [None]):
                for att in (att_ids if "{attachment_id}" in path else [None]):
                  for fname in (names if "{filename}" in path else [None]):
                    url = (path.replace("{tracking_id}", tid or "").replace("{attachment_id}", str(att))
                           .replace("{agency_id}", "1").replace("{category_id}", "1").replace("{user_id}", "1")
                           .replace("{code}", "52.71").replace("{version}", version)
                           .replace("{filename}", fname or ""))
                    yield url
                    if path == "/api/v1/complaints":
                        for q in ("?q=MRK", "?overdue=true", "?overdue=false", "?region=52.71", "?status=closed",
                                  "?channel=sms", "?channel=email", "?limit=200"):
                            yield url + q
                    if path == "/api/v1/plugins/sms/messages":
                        for c in cases:
                            yield url + "?phone=" + c.rep.phone

    pages = ["/opendata/", "/opendata/catalog"] + [f"/opendata/datasets/{n.split('.')[0]}" for n in names]

    served: dict[str, int] = {}

    def walk(headers) -> str:
        out = []
        for url in [*urls(), *pages]:
            r = client.get(url, headers=headers)
            assert r.status_code < 500, (url, r.status_code)
            served[url] = r.status_code
            out.append(r.get_data().decode("utf-8", "replace") + r.headers.get("Content-Disposition", ""))
        return "\n".join(out)

    def integration(*scopes):
        users = client.get("/api/v1/users", headers=auth(seed.admin)).json
        uid = next(u["id"] for u in users if u["role"] == "integration")
        r = client.post(f"/api/v1/users/{uid}/tokens", json={"scopes": list(scopes)}, headers=auth(seed.admin))
        return auth(r.json["token"])

    audiences = {
        # audience: (headers, markers it must never read)
        "public": ({}, identity | niks | secret_texts | ratings | notes),
        "other-agency officer": (off_b, identity | niks | secret_texts | ratings | notes),
        "integration, no grant": (integration, identity | niks | secret_texts | ratings | notes),
        "integration, read": (lambda: integration("complaints:read"), identity | niks | secret_texts | notes),
        "integration, legacy grant": (auth(seed.integration), identity | niks | secret_texts),
        "officer of the agency": (off_a, anon_identity | niks),
        "coordinator": (coord, niks),
    }
    for name, (headers, forbidden) in audiences.items():
        seen = walk(headers() if callable(headers) else headers)
        assert hits(seen, forbidden) == set(), name
        if name == "public":  # the walk reached real content: every complaint and the published files
            assert all(served[f"/api/v1/complaints/{c.tid}"] == 200 for c in cases)
            assert all(served[f"/api/v1/plugins/opendata/{n}"] == 200 for n in names), served
            assert served["/opendata/"] == 200
    # the scan sees what it looks for: staff do read the markers they may
    assert hits(walk(coord), identity | secret_texts | ratings | notes) == identity | secret_texts | ratings | notes

    # --- the reporter, with their own access code, reads only their own complaint -----------------
    for c in (named, anon, secret, secret_anon):
        rep = {"X-Access-Code": c.code}
        own = client.get(f"/api/v1/complaints/{c.tid}", headers=rep).get_data(as_text=True)
        others = set().union(*(o.rep.identity | set(o.texts.values()) | {o.rep.nik} for o in cases if o is not c))
        assert hits(own, others | niks) == set(), c.key
        assert hits(own, c.rep.identity) == c.rep.identity
        assert c.texts["note"] not in own  # internal notes are for staff

    # --- outgoing messages ---------------------------------------------------------------------------
    mails = [(e.rcpt_tos, message_from_bytes(e.original_content or e.content, policy=policy.default))
             for e in smtp.envelopes]
    assert mails
    for rcpts, msg in mails:
        text = msg.as_string()
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                text += part.get_content()
        owner = next((c for c in cases if c.rep.email in rcpts), None)
        if owner is None:  # an agency's shared inbox
            assert all(r.endswith("@pemda.example.id") for r in rcpts), rcpts
            assert hits(text, anon_identity | niks | secret_texts | ratings | notes) == set(), rcpts
        else:  # the reporter: their own complaint only
            others = set().union(*(o.rep.identity | set(o.texts.values()) | {o.rep.nik} for o in cases
                                   if o is not owner))
            assert hits(text, others | niks | ({owner.texts["note"]} if "note" in owner.texts else set())) == set(), owner.key
    assert any(not any(c.rep.email in r for c in cases) for r, _ in mails), "agency inboxes were notified"

    sms_out = [json.loads(req.data) for req, _ in httpserver.log]
    assert sms_out
    for m in sms_out:
        owner = next(c for c in cases if m["to"].endswith(c.rep.digits))
        others = set().union(*(o.rep.identity | set(o.texts.values()) | {o.rep.nik} for o in cases if o is not owner))
        assert hits(m["text"], others | niks | ({owner.texts["note"]} if "note" in owner.texts else set())) == set(), owner.key

    # SP4N-LAPOR! (the national handling system): identity only with consent, never a NIK, no
    # internal note; secret content goes there flagged is_secret (README: privacy)
    lapor = sim.received_text()
    assert sim.calls()
    assert hits(lapor, anon_identity | niks | notes) == set()

    # --- logs ----------------------------------------------------------------------------------------
    stand_ins = ("mail.log", "werkzeug", "pytest_httpserver")  # the local SMTP and HTTP servers' own logs
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(stand_ins))
    assert hits(logged, identity | niks | every_text) == set()
