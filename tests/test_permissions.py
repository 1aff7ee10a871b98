"""Who sees and does what: the permission matrix and the privacy rules."""
import json

import pytest

from aduan.testing import auth

NIK = "5271014512800003"
IDENTITY = ("Siti Rahmawati", "+6281805551234", "siti.rahma@example.org", NIK)


def file(client, **extra):
    body = {"title": "Pungli di kantor kelurahan", "body": "Petugas meminta uang untuk surat keterangan.",
            "category": "jalan", "reporter": {"name": IDENTITY[0], "phone": "081805551234",
                                              "email": IDENTITY[2], "nik": NIK}}
    body.update(extra)
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


def dispatch(client, tid, seed, agency):
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": agency.id},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200, r.json


def no_identity(payload):
    text = json.dumps(payload)
    return not any(x in text for x in IDENTITY)


@pytest.mark.parametrize("action,body", [("start", {}), ("respond", {"text": "x"}), ("resolve", {"text": "x"}),
                                         ("comment", {"text": "x"}), ("hold", {"text": "x"}),
                                         ("transfer", {"text": "x", "agency_id": None})])
def test_officer_cannot_act_on_other_agency(client, seed, action, body):
    tid, _ = file(client)
    dispatch(client, tid, seed, seed.agency_a)
    if "agency_id" in body:
        body = {**body, "agency_id": seed.agency_b.id}
    r = client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=body, headers=auth(seed.officer_b))
    assert r.status_code == 404
    staff = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert staff["status"] == "dispatched" and len(staff["timeline"]) == 2  # nothing changed


def test_officer_cannot_see_other_agency(client, seed):
    tid, _ = file(client)
    dispatch(client, tid, seed, seed.agency_a)
    assert client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_b)).status_code == 404
    assert client.get(f"/api/v1/complaints/{tid}/attachments", headers=auth(seed.officer_b)).status_code == 404
    listed = client.get("/api/v1/complaints", headers=auth(seed.officer_b)).json["items"]
    assert tid not in [c["tracking_id"] for c in listed]
    listed = client.get("/api/v1/complaints", headers=auth(seed.officer_a)).json["items"]
    assert tid in [c["tracking_id"] for c in listed]
    stats = client.get("/api/v1/stats", headers=auth(seed.officer_b)).json
    assert stats["total"] == 0


def test_officer_cannot_see_unverified_complaints(client, seed):
    tid, _ = file(client)
    assert client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).status_code == 404


def test_wrong_access_code_reveals_nothing(client, seed):
    tid, code = file(client)
    wrong = "ABCDEFGHJK" if code != "ABCDEFGHJK" else "ZZZZZZZZZZ"
    r = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": wrong})
    assert r.status_code == 403
    assert not any(x in r.get_data(as_text=True) for x in IDENTITY)
    assert "Petugas meminta" not in r.get_data(as_text=True)
    r = client.post(f"/api/v1/complaints/{tid}/actions/reply", json={"text": "palsu"}, headers={"X-Access-Code": wrong})
    assert r.status_code == 403
    # a valid code for another complaint does not open this one
    tid2, code2 = file(client)
    r = client.post(f"/api/v1/complaints/{tid}/actions/reply", json={"text": "x"}, headers={"X-Access-Code": code2})
    assert r.status_code == 403
    events = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json["timeline"]
    assert [e["type"] for e in events] == ["file"]


def test_access_code_is_case_and_dash_tolerant(client, seed):
    tid, code = file(client)
    messy = "-".join([code[:5].lower(), code[5:]])
    r = client.get(f"/api/v1/complaints/{tid.lower()}", headers={"X-Access-Code": messy})
    assert r.status_code == 200 and r.json["reporter"]["name"] == IDENTITY[0]


def test_anonymous_identity_hidden_from_officers_public_and_lists(client, seed):
    tid, code = file(client, anonymous=True)
    dispatch(client, tid, seed, seed.agency_a)
    officer = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a))
    assert officer.status_code == 200 and officer.json["reporter"] is None
    assert no_identity(officer.json)
    public = client.get(f"/api/v1/complaints/{tid}")
    assert no_identity(public.json) and public.json["body"]
    for token in (seed.officer_a, None):
        lst = client.get("/api/v1/complaints", headers=auth(token) if token else {})
        assert tid in [c["tracking_id"] for c in lst.json["items"]]
        assert no_identity(lst.json)
    integ = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.integration))
    assert no_identity(integ.json)
    # the coordinator sees who it is, with the NIK masked
    coord = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert coord["reporter"]["name"] == IDENTITY[0]
    assert coord["reporter"]["nik"] == "************0003"
    assert NIK not in json.dumps(coord)
    # and so does the reporter, with the code
    mine = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json
    assert mine["reporter"]["email"] == IDENTITY[2]


def test_non_anonymous_identity_visible_to_officer_never_public(client, seed):
    tid, _ = file(client)
    dispatch(client, tid, seed, seed.agency_a)
    assert client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).json["reporter"]["name"] == IDENTITY[0]
    assert no_identity(client.get(f"/api/v1/complaints/{tid}").json)
    assert no_identity(client.get("/api/v1/complaints").json)


def test_secret_content_never_public(client, seed):
    tid, code = file(client, secret=True, title="Rahasia: suap izin", address="Jl. Pejanggik 12", lat=-8.58, lng=116.1)
    dispatch(client, tid, seed, seed.agency_a)
    client.post(f"/api/v1/complaints/{tid}/actions/reply", json={"text": "Nama oknumnya Pak X"},
                headers={"X-Access-Code": code})
    public = client.get(f"/api/v1/complaints/{tid}").json
    text = json.dumps(public)
    assert public["title"] is None and public["body"] is None and public["lat"] is None and public["address"] is None
    assert "suap" not in text and "Pejanggik" not in text and "Pak X" not in text
    lst = client.get("/api/v1/complaints?q=suap").json
    assert lst["items"] == []
    assert "suap" not in json.dumps(client.get("/api/v1/complaints").json)
    officer = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).json
    assert officer["title"] == "Rahasia: suap izin"


def test_internal_notes_are_staff_only(client, seed):
    tid, code = file(client)
    dispatch(client, tid, seed, seed.agency_a)
    client.post(f"/api/v1/complaints/{tid}/actions/comment", json={"text": "cek ulang anggaran"},
                headers=auth(seed.officer_a))
    assert "cek ulang anggaran" not in json.dumps(client.get(f"/api/v1/complaints/{tid}").json)
    assert "cek ulang anggaran" not in json.dumps(
        client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json)
    staff = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).json
    assert "cek ulang anggaran" in [e["text"] for e in staff["timeline"]]


def test_unverified_complaints_stay_out_of_the_public_list(client, seed):
    tid, _ = file(client)
    assert tid not in [c["tracking_id"] for c in client.get("/api/v1/complaints").json["items"]]
    assert client.get(f"/api/v1/complaints/{tid}").status_code == 200  # but can be tracked by id


@pytest.mark.parametrize("method,path,role,expected", [
    ("get", "/api/v1/users", None, 401),
    ("get", "/api/v1/users", "officer_a", 403),
    ("get", "/api/v1/users", "coordinator", 403),
    ("get", "/api/v1/users", "admin", 200),
    ("get", "/api/v1/jobs", "coordinator", 403),
    ("get", "/api/v1/jobs", "admin", 200),
    ("get", "/api/v1/stats", None, 200),  # the public view (aduan.stats, suppressed)
    ("get", "/api/v1/stats", "integration", 403),
    ("get", "/api/v1/stats", "officer_a", 200),
    ("post", "/api/v1/agencies", "officer_a", 403),
    ("get", "/api/v1/plugins", None, 401),
    ("get", "/api/v1/me", "officer_a", 200),
])
def test_role_matrix(client, seed, method, path, role, expected):
    headers = auth(getattr(seed, role)) if role else {}
    r = getattr(client, method)(path, headers=headers, json={} if method == "post" else None)
    assert r.status_code == expected, r.json


def test_revoked_and_unknown_tokens_are_refused(client, seed):
    assert client.get("/api/v1/me", headers=auth("adu_not-a-token")).status_code == 401
    users = client.get("/api/v1/users", headers=auth(seed.admin)).json
    officer = next(u for u in users if u["username"] == "off_a")
    tokens = client.get(f"/api/v1/users/{officer['id']}/tokens", headers=auth(seed.admin)).json
    assert all("token" not in t for t in tokens)
    assert client.delete(f"/api/v1/tokens/{tokens[0]['id']}", headers=auth(seed.admin)).status_code == 204
    assert client.get("/api/v1/me", headers=auth(seed.officer_a)).status_code == 401


def test_admin_issues_a_token_that_works_once_shown(client, seed):
    r = client.post("/api/v1/users", json={"username": "dishub", "name": "Dishub", "role": "officer",
                                           "agency_id": seed.agency_b.id}, headers=auth(seed.admin))
    assert r.status_code == 201
    r = client.post(f"/api/v1/users/{r.json['id']}/tokens", json={"name": "laptop"}, headers=auth(seed.admin))
    assert r.status_code == 201 and r.json["token"].startswith("adu_")
    me = client.get("/api/v1/me", headers=auth(r.json["token"])).json
    assert me["username"] == "dishub" and me["agency_id"] == seed.agency_b.id
    r = client.post("/api/v1/users", json={"username": "x1", "name": "X", "role": "officer"}, headers=auth(seed.admin))
    assert r.status_code == 422 and "agency_id" in r.json["errors"]


def test_routes_do_not_confirm_a_complaint_out_of_reach(make_app):
    """Every API route about one complaint (``/api/v1/…/<tracking_id>…``, GET, core and plugins)
    answers an officer of another agency exactly as it answers a tracking id that does not exist:
    the same 404 and the same message, in the reader's language, however the id is typed. (The SMS
    and Telegram message logs answered with a message of their own, and the core wrote the id as
    typed for an unknown one but upper case for one out of reach: both told that it existed.)"""
    from pathlib import Path

    from aduan.db import database
    from aduan.plugins import installed_plugins
    from aduan.testing import seed_basics

    root = Path(__file__).resolve().parent.parent / "plugins"
    plugins = [p.name for p in sorted(root.iterdir()) if (p / "pyproject.toml").exists()
               and p.name in installed_plugins()]
    app = make_app({"PLUGINS": plugins, "SMS_GENERIC_SECRET": "generic-secret"})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    tid, _ = file(client)
    dispatch(client, tid, seed, seed.agency_a)
    routes = sorted({r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
                     and "<tracking_id>" in r.rule and "GET" in r.methods and r.rule.count("<") == 1})
    assert len(routes) >= 5, routes  # the complaint, its attachments; sms, telegram, whatsapp logs; lapor
    for lang, word in (("id", "Tidak ada pengaduan"), ("en", "No complaint")):
        for rule in routes:
            headers = {**auth(seed.officer_b), "Accept-Language": lang}
            theirs = client.get(rule.replace("<tracking_id>", tid.lower()), headers=headers)
            unknown = client.get(rule.replace("<tracking_id>", "zzzz2222"), headers=headers)
            assert theirs.status_code == unknown.status_code == 404, (rule, theirs.json, unknown.json)
            assert theirs.json["message"] == unknown.json["message"].replace("ZZZZ2222", tid), rule
            assert word in theirs.json["message"], (rule, theirs.json)
            mine = client.get(rule.replace("<tracking_id>", tid), headers={**auth(seed.officer_a)})
            assert mine.status_code in (200, 404), (rule, mine.json)  # 404: lapor's "not synchronised"
