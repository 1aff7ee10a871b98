"""Integration tokens do only what an admin granted them (issue #9 item 3).

Least privilege: a token issued with no scope can do nothing the public cannot; permissions
(``complaints:read``, ``secret:read``, ``contacts:read``, ``action:*``…) and reach limits
(``channel:<name>``, ``agency:<code>``) are granted explicitly through the admin API or
``aduan token create --scope``; tokens issued before scopes existed keep a safe legacy grant.
"""
from __future__ import annotations

import datetime as dt
import json

import peewee as pw
import pytest

from aduan.auth import LEGACY_SCOPES, hash_token
from aduan.testing import auth

NAME, PHONE, EMAIL = "Mrk Tokentest", "081805559876", "mrk.tokentest@example.org"


def file(client, headers=None, **extra):
    body = {"title": "Jalan berlubang", "body": "Jalan di depan pasar berlubang.", "category": "jalan",
            "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL}}
    body.update(extra)
    r = client.post("/api/v1/complaints", json=body, headers=headers or {})
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


def verify(client, seed, tid, agency):
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": agency.id},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200, r.json


def integration_user(client, seed) -> int:
    users = client.get("/api/v1/users", headers=auth(seed.admin)).json
    return next(u["id"] for u in users if u["role"] == "integration")


def issue(client, seed, scopes=None, expect=201):
    body = {"name": "kanal"}
    if scopes is not None:
        body["scopes"] = scopes
    r = client.post(f"/api/v1/users/{integration_user(client, seed)}/tokens", json=body, headers=auth(seed.admin))
    assert r.status_code == expect, r.json
    return r.json


def identity_in(payload) -> bool:
    text = json.dumps(payload)
    return any(x in text for x in (NAME, EMAIL, "81805559876"))


def test_a_token_without_scopes_can_do_nothing_beyond_the_public(client, seed):
    tid, _ = file(client)
    verify(client, seed, tid, seed.agency_a)
    tok = issue(client, seed)
    assert tok["scopes"] == []
    h = auth(tok["token"])
    assert client.get("/api/v1/complaints", headers=h).status_code == 403
    r = client.get(f"/api/v1/complaints/{tid}", headers=h)
    assert r.status_code == 404 and not identity_in(r.json)
    assert client.post("/api/v1/complaints", json={"body": "Lampu jalan mati."}, headers=h).status_code == 403
    for action in ("respond", "resolve", "comment"):
        r = client.post(f"/api/v1/complaints/{tid}/actions/{action}", json={"text": "x"}, headers=h)
        assert r.status_code == 404, action
    coord = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert [e["type"] for e in coord["timeline"]] == ["file", "verify"]


def test_read_grant_sees_content_but_no_contacts_no_secret_no_notes(client, seed):
    plain, _ = file(client)
    secret, _ = file(client, secret=True, title="MRK-SECRET-TITLE", body="MRK-SECRET-BODY")
    for tid in (plain, secret):
        verify(client, seed, tid, seed.agency_a)
    client.post(f"/api/v1/complaints/{plain}/actions/comment", json={"text": "MRK-INTERNAL-NOTE"},
                headers=auth(seed.officer_a))
    h = auth(issue(client, seed, ["complaints:read"])["token"])
    view = client.get(f"/api/v1/complaints/{plain}", headers=h).json
    assert view["body"] == "Jalan di depan pasar berlubang." and view["reporter"] is None
    assert not identity_in(view) and "MRK-INTERNAL-NOTE" not in json.dumps(view)
    assert view["allowed_actions"] == []
    sview = client.get(f"/api/v1/complaints/{secret}", headers=h).json
    assert sview["title"] is None and "MRK-SECRET" not in json.dumps(sview)
    listed = client.get("/api/v1/complaints", headers=h).json
    assert {plain, secret} <= {c["tracking_id"] for c in listed["items"]}
    assert not identity_in(listed) and "MRK-SECRET" not in json.dumps(listed)
    assert client.get("/api/v1/complaints?q=MRK-SECRET", headers=h).json["items"] == []
    r = client.post(f"/api/v1/complaints/{plain}/actions/respond", json={"text": "x"}, headers=h)
    assert r.status_code == 409 and r.json["allowed_actions"] == []


def test_explicit_grants_open_secret_content_contacts_and_notes(client, seed):
    named, _ = file(client, secret=True, title="MRK-SECRET-TITLE")
    anon, _ = file(client, anonymous=True)
    for tid in (named, anon):
        verify(client, seed, tid, seed.agency_a)
    client.post(f"/api/v1/complaints/{named}/actions/comment", json={"text": "MRK-INTERNAL-NOTE"},
                headers=auth(seed.officer_a))
    h = auth(issue(client, seed, ["complaints:read", "secret:read", "contacts:read", "notes:read"])["token"])
    view = client.get(f"/api/v1/complaints/{named}", headers=h).json
    assert view["title"] == "MRK-SECRET-TITLE" and view["reporter"]["name"] == NAME
    assert view["reporter"]["nik"] is None and "MRK-INTERNAL-NOTE" in json.dumps(view)
    # an anonymous reporter stays anonymous whatever the grant
    assert client.get(f"/api/v1/complaints/{anon}", headers=h).json["reporter"] is None


def test_action_grants_name_the_actions(client, seed):
    tid, _ = file(client)
    verify(client, seed, tid, seed.agency_a)
    h = auth(issue(client, seed, ["complaints:read", "action:comment"])["token"])
    assert client.get(f"/api/v1/complaints/{tid}", headers=h).json["allowed_actions"] == ["comment"]
    r = client.post(f"/api/v1/complaints/{tid}/actions/comment", json={"text": "diterima sistem"}, headers=h)
    assert r.status_code == 200
    r = client.post(f"/api/v1/complaints/{tid}/actions/resolve", json={"text": "selesai"}, headers=h)
    assert r.status_code == 409 and r.json["allowed_actions"] == ["comment"]
    r = client.post(f"/api/v1/complaints/{tid}/attachments", headers=h,
                    data={"file": (__import__("io").BytesIO(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n"), "a.pdf")})
    assert r.status_code == 403


def test_channel_scope_limits_reach_and_sets_the_channel(client, seed):
    web, _ = file(client)
    verify(client, seed, web, seed.agency_a)
    h = auth(issue(client, seed, ["channel:open311", "complaints:file", "complaints:read", "action:respond"])["token"])
    mine, _ = file(client, headers=h)
    r = client.post("/api/v1/complaints", json={"body": "Lampu mati.", "channel": "sms"}, headers=h)
    assert r.status_code == 422 and "channel" in r.json["errors"]
    coord = client.get(f"/api/v1/complaints/{mine}", headers=auth(seed.coordinator)).json
    assert coord["channel"] == "open311"
    verify(client, seed, mine, seed.agency_a)
    listed = [c["tracking_id"] for c in client.get("/api/v1/complaints", headers=h).json["items"]]
    assert listed == [mine]
    assert client.get(f"/api/v1/complaints/{web}", headers=h).status_code == 404
    assert client.post(f"/api/v1/complaints/{web}/actions/respond", json={"text": "x"}, headers=h).status_code == 404
    assert client.post(f"/api/v1/complaints/{mine}/actions/respond", json={"text": "ok"}, headers=h).status_code == 200


def test_agency_scope_limits_reach(client, seed):
    a, _ = file(client)
    b, _ = file(client)
    verify(client, seed, a, seed.agency_a)
    verify(client, seed, b, seed.agency_b)
    h = auth(issue(client, seed, ["agency:PUPR", "complaints:read", "action:respond"])["token"])
    assert [c["tracking_id"] for c in client.get("/api/v1/complaints", headers=h).json["items"]] == [a]
    assert client.get(f"/api/v1/complaints/{b}", headers=h).status_code == 404
    assert client.post(f"/api/v1/complaints/{b}/actions/respond", json={"text": "x"}, headers=h).status_code == 404
    assert client.post(f"/api/v1/complaints/{a}/actions/respond", json={"text": "ok"}, headers=h).status_code == 200
    # transferred away: out of reach at once
    r = client.post(f"/api/v1/complaints/{a}/actions/transfer", json={"agency_id": seed.agency_b.id, "text": "bukan"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200
    assert client.get(f"/api/v1/complaints/{a}", headers=h).status_code == 404


def test_bad_scopes_are_refused_with_field_messages(client, seed):
    r = issue(client, seed, ["complaints:read", "everything", "agency:NOPE"], expect=422)
    assert set(r["errors"]) == {"scopes"} and len(r["errors"]["scopes"]) == 2
    officer = next(u["id"] for u in client.get("/api/v1/users", headers=auth(seed.admin)).json if u["role"] == "officer")
    r = client.post(f"/api/v1/users/{officer}/tokens", json={"scopes": ["secret:read"]}, headers=auth(seed.admin))
    assert r.status_code == 422 and "scopes" in r.json["errors"]
    listed = client.get(f"/api/v1/users/{integration_user(client, seed)}/tokens", headers=auth(seed.admin)).json
    assert all("token" not in t for t in listed)


def test_token_listing_shows_scopes(client, seed):
    tok = issue(client, seed, ["complaints:read", "channel:SMS"])
    assert client.get("/api/v1/me", headers=auth(tok["token"])).json["scopes"] == ["channel:sms", "complaints:read"]
    assert "scopes" not in client.get("/api/v1/me", headers=auth(seed.coordinator)).json
    listed = client.get(f"/api/v1/users/{integration_user(client, seed)}/tokens", headers=auth(seed.admin)).json
    assert ["channel:sms", "complaints:read"] in [t["scopes"] for t in listed]


def test_cli_token_create_with_scopes(app, seed, client):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from aduan.cli import main

    obj = ScriptInfo(create_app=lambda: app)

    class Runner:
        def invoke(self, args):
            return CliRunner().invoke(main, args, obj=obj)

    runner = Runner()
    r = runner.invoke(args=["token", "create", "integ", "--scope", "complaints:read", "--scope", "agency:PUPR"])
    assert r.exit_code == 0, r.output
    raw = r.output.strip().splitlines()[-1]
    assert raw.startswith("adu_")
    assert client.get("/api/v1/complaints", headers=auth(raw)).status_code == 200
    r = runner.invoke(args=["token", "create", "integ", "--scope", "read-everything"])
    assert r.exit_code == 2 and "Cakupan tidak dikenal: read-everything" in r.output  # Indonesian by default
    r = runner.invoke(args=["token", "create", "koord", "--scope", "secret:read"])
    assert r.exit_code == 2


def test_tokens_issued_before_scopes_keep_a_safe_legacy_grant(tmp_path):
    """Migration 0003: an existing integration token keeps filing, reading and answering, but
    no longer reads secret content or reporters' contacts; other tokens are untouched."""
    from playhouse.migrations import Runner

    from aduan import testing as aduan_testing
    from aduan.db import CORE_MIGRATIONS, database, make_database, migrate
    from aduan.models import Token

    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    db = make_database(url, pool_size=2)
    database.initialize(db)
    db.connect()
    try:
        Runner(db, str(CORE_MIGRATIONS), table_name="schema_migration").up("0002_rate_limit")
        now = dt.datetime(2026, 3, 2, 1, 30)
        users = pw.Table("user", ("id", "username", "name", "role", "active", "created_at")).bind(db)
        tokens = pw.Table("token", ("id", "user_id", "name", "token_hash", "prefix", "created_at", "revoked")).bind(db)
        ids = {}
        for name, role in (("integ", "integration"), ("koord", "coordinator")):
            users.insert(username=name, name=name, role=role, active=True, created_at=now).execute()
            ids[name] = users.select(users.id).where(users.username == name).scalar()
            tokens.insert(user_id=ids[name], name="old", token_hash=hash_token(f"adu_{name}"), prefix="adu_old",
                          created_at=now, revoked=False).execute()
        migrate({"core": CORE_MIGRATIONS})
        scopes = {t.user_id: t.scopes for t in Token.select()}
        assert sorted(scopes[ids["integ"]]) == sorted(LEGACY_SCOPES)
        assert not scopes[ids["koord"]]
        assert "secret:read" not in LEGACY_SCOPES and "contacts:read" not in LEGACY_SCOPES
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()


@pytest.mark.parametrize("scope", ["channel:sms", "channel:open311"])
def test_plugins_check_scopes_by_name(scope):
    from aduan.auth import Actor

    a = Actor(role="integration", scopes=frozenset({scope, "complaints:read"}))
    assert a.has_scope(scope) and a.channels == {scope.split(":")[1]}
    assert not Actor(role="admin", scopes=frozenset({scope})).has_scope(scope)
