"""Administration pages, plugin panels and the dashboard (portal-admin): every page for every role, changes
made through the API routes (so their validation applies: field messages, never a 500), tokens shown once,
panels only for the roles they name, CSV in the role's scope."""
from __future__ import annotations

import csv
import io
import re

import pytest

from aduan.db import database
from aduan.testing import auth
from aduan_portal.testing import csrf_of, sign_in

ADMIN_ONLY = ["/portal/admin/agencies/new", "/portal/admin/agencies/1", "/portal/admin/categories/new",
              "/portal/admin/categories/1", "/portal/admin/users", "/portal/admin/users/1", "/portal/admin/jobs"]
ADMIN_AND_COORDINATOR = ["/portal/admin/", "/portal/admin/agencies", "/portal/admin/categories",
                         "/portal/admin/plugins"]
ALL_STAFF = ["/portal/panels/", "/portal/dashboard", "/portal/dashboard.csv"]


def _as(pc, user_of, username):
    sign_in(pc, user_of(username))
    return pc


def _post(pc, page_url, data, url=None):
    """Submit the form of ``page_url`` as a browser would (with the page's CSRF token)."""
    page = pc.get(page_url)
    assert page.status_code == 200, page.status_code
    return pc.post(url or page_url, data={"csrf_token": csrf_of(page.get_data(as_text=True)), **data})


def _text(r) -> str:
    return r.get_data(as_text=True)


def _field_error(html: str, field: str, prefix: str = "f") -> str:
    m = re.search(rf'id="{prefix}-{field}-error">([^<]+)<', html)
    assert m, f"no message for {field}"
    return m.group(1)


@pytest.mark.parametrize("username, allowed", [
    ("admin", ADMIN_ONLY + ADMIN_AND_COORDINATOR + ALL_STAFF),
    ("koord", ADMIN_AND_COORDINATOR + ALL_STAFF),
    ("off_a", ALL_STAFF),
])
def test_every_page_for_every_role(pc, user_of, username, allowed):
    _as(pc, user_of, username)
    for url in ADMIN_ONLY + ADMIN_AND_COORDINATOR + ALL_STAFF:
        r = pc.get(url)
        if url in allowed:
            assert r.status_code == 200, (url, r.status_code)
            assert r.headers["Cache-Control"] == "no-store"
        else:
            assert r.status_code == 404, (url, r.status_code)  # a page a role may not use does not exist for it


def test_signed_out_visitors_are_sent_to_sign_in(pc):
    for url in ADMIN_ONLY + ADMIN_AND_COORDINATOR + ALL_STAFF:
        r = pc.get(url)
        assert r.status_code == 302 and "/portal/sign-in" in r.headers["Location"], url


def test_coordinators_read_the_directory_without_edit_links(pc, user_of):
    _as(pc, user_of, "koord")
    html = _text(pc.get("/portal/admin/agencies"))
    assert "Dinas PUPR" in html and "/portal/admin/agencies/new" not in html
    html = _text(pc.get("/portal/admin/categories"))
    assert "Jalan" in html and "/portal/admin/categories/" not in html.replace("/portal/admin/categories\"", "")


def test_agency_create_edit_and_hierarchy_with_field_messages(p_app, pc, user_of):
    _as(pc, user_of, "admin")
    # bad input: messages beside the fields, in Indonesian, never a 500
    r = _post(pc, "/portal/admin/agencies/new", {"code": "bad code!", "name": "", "email": "not-an-email",
                                                 "parent_id": "99999999999999999999"})
    html = _text(r)
    assert r.status_code == 422
    for field in ("code", "name", "email", "parent_id"):
        _field_error(html, field)
    assert 'aria-invalid="true"' in html and "Mohon perbaiki" in html
    r = _post(pc, "/portal/admin/agencies/new", {"code": "DISHUB", "name": "Dinas Perhubungan", "parent_id": "1",
                                                 "email": "dishub@ntbprov.go.id", "phone": "0370 123", "active": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/admin/agencies")
    from aduan.models import Agency

    with p_app.app_context(), database.connection_context():
        a = Agency.get(Agency.code == "DISHUB")
        assert (a.name, a.parent_id, a.email, a.active) == ("Dinas Perhubungan", 1, "dishub@ntbprov.go.id", True)
    assert "Dinas Perhubungan" in _text(pc.get("/portal/admin/agencies"))
    # a code already in use, and an agency as its own parent
    r = _post(pc, "/portal/admin/agencies/new", {"code": "PUPR", "name": "Lagi"})
    assert r.status_code == 422 and _field_error(_text(r), "code")
    r = _post(pc, f"/portal/admin/agencies/{a.id}", {"code": "DISHUB", "name": "Dishub", "parent_id": str(a.id)})
    assert r.status_code == 422 and _field_error(_text(r), "parent_id")
    # edit: deactivate and move under another parent
    r = _post(pc, f"/portal/admin/agencies/{a.id}", {"code": "DISHUB", "name": "Dishub NTB", "parent_id": "2"})
    assert r.status_code == 302
    with p_app.app_context(), database.connection_context():
        a = Agency.get_by_id(a.id)
        assert (a.name, a.parent_id, a.active) == ("Dishub NTB", 2, False)
    assert pc.get("/portal/admin/agencies/99999").status_code == 404


def test_category_with_default_agency_urgency_sla_and_keywords(p_app, pc, user_of):
    _as(pc, user_of, "admin")
    r = _post(pc, "/portal/admin/categories/new", {"code": "air", "name": "Air bersih", "sla_followup_days": "999",
                                                   "default_urgency": "kiamat", "default_agency_id": "abc"})
    html = _text(r)
    assert r.status_code == 422
    for field in ("sla_followup_days", "default_urgency", "default_agency_id"):
        _field_error(html, field)
    r = _post(pc, "/portal/admin/categories/new", {
        "code": "air", "name": "Air bersih", "name_en": "Clean water", "description": "PDAM, sumur, air minum.",
        "keywords": "air mati, pdam", "default_agency_id": "2", "default_urgency": "mendesak",
        "sla_followup_days": "3", "active": "1"})
    assert r.status_code == 302
    from aduan.models import Category

    with p_app.app_context(), database.connection_context():
        c = Category.get(Category.code == "air")
        assert (c.default_agency_id, c.default_urgency, c.sla_followup_days, c.keywords, c.name_en) == \
               (2, "mendesak", 3, "air mati, pdam", "Clean water")
    html = _text(pc.get("/portal/admin/categories"))
    assert "Air bersih" in html and "Dinas Kesehatan" in html and "Mendesak" in html
    # clearing the override gives the deployment's default back
    r = _post(pc, f"/portal/admin/categories/{c.id}", {"code": "air", "name": "Air bersih", "default_agency_id": "2",
                                                       "default_urgency": "mendesak", "sla_followup_days": "",
                                                       "active": "1"})
    assert r.status_code == 302
    with p_app.app_context(), database.connection_context():
        assert Category.get_by_id(c.id).sla_followup_days is None


def test_users_roles_and_tokens_shown_once_and_revoked(p_app, pc, user_of):
    _as(pc, user_of, "admin")
    r = _post(pc, "/portal/admin/users", {"username": "Bad Name", "name": "", "role": "officer"})
    html = _text(r)
    assert r.status_code == 422
    for field in ("username", "name"):
        _field_error(html, field)
    r = _post(pc, "/portal/admin/users", {"username": "lalu", "name": "Lalu Hamdi", "role": "officer"})
    assert r.status_code == 422 and _field_error(_text(r), "agency_id")  # an officer belongs to an agency
    r = _post(pc, "/portal/admin/users", {"username": "lalu", "name": "Lalu Hamdi", "role": "officer",
                                          "agency_id": "1", "email": "lalu@ntbprov.go.id"})
    lalu = user_of("lalu")
    assert (lalu.role, lalu.agency_id) == ("officer", 1)
    try:
        from aduan import passwords
    except ImportError:  # a core without passwords: straight to the account's page
        assert r.status_code == 302
    else:  # the temporary password, shown once; it signs in and must be changed at once
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
        temp = re.search(r'id="temp-password" class="secret" type="text" readonly value="([^"]+)"', _text(r)).group(1)
        with p_app.app_context(), database.connection_context():
            assert passwords.authenticate("lalu", temp).ok
        assert user_of("lalu").password_temporary
    # change the role: the API's rule applies (an officer needs an agency)
    r = _post(pc, f"/portal/admin/users/{lalu.id}", {"name": "Lalu Hamdi", "role": "officer", "agency_id": "",
                                                      "active": "1"})
    assert r.status_code == 422 and _field_error(_text(r), "agency_id")
    r = _post(pc, f"/portal/admin/users/{lalu.id}", {"name": "Lalu Hamdi", "role": "coordinator", "agency_id": "",
                                                      "active": "1"})
    assert r.status_code == 302 and user_of("lalu").role == "coordinator"

    # a token: the secret is on the answer page only, and works on the API
    r = _post(pc, f"/portal/admin/users/{lalu.id}", {"name": "laptop", "scopes": "", "expires_days": "30"},
              url=f"/portal/admin/users/{lalu.id}/tokens")
    html = _text(r)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="new-token" class="secret" type="text" readonly value="([^"]+)"', html).group(1)
    client = p_app.test_client()
    assert client.get("/api/v1/me", headers=auth(secret)).json["username"] == "lalu"
    again = _text(pc.get(f"/portal/admin/users/{lalu.id}"))
    assert secret not in again and secret[:8] in again  # later: its prefix only
    # bad input on the token form: scopes for a staff token are refused by the API with a field message
    r = _post(pc, f"/portal/admin/users/{lalu.id}", {"name": "x", "scopes": "complaints:read", "expires_days": "0"},
              url=f"/portal/admin/users/{lalu.id}/tokens")
    assert r.status_code == 422 and _field_error(_text(r), "expires_days", prefix="t")
    # revoke: the token stops working
    from aduan.models import Token

    with p_app.app_context(), database.connection_context():
        tid = Token.select().where(Token.user == lalu.id).get().id
    r = _post(pc, f"/portal/admin/users/{lalu.id}", {}, url=f"/portal/admin/tokens/{tid}/revoke")
    assert r.status_code == 302
    assert client.get("/api/v1/me", headers=auth(secret)).status_code == 401
    assert "dicabut" in _text(pc.get(f"/portal/admin/users/{lalu.id}"))


def test_dead_jobs_listed_and_retried(p_app, pc, user_of):
    from aduan.db import utcnow
    from aduan.models import Job

    with p_app.app_context(), database.connection_context():
        job = Job.create(kind="portal.probe", key="probe-1", payload={}, status="dead", attempts=12, max_attempts=12,
                         run_at=utcnow(), last_error="gateway said 500", created_at=utcnow(), updated_at=utcnow())
    _as(pc, user_of, "admin")
    html = _text(pc.get("/portal/admin/jobs"))
    assert "portal.probe" in html and "gateway said 500" in html
    r = _post(pc, "/portal/admin/jobs", {}, url=f"/portal/admin/jobs/{job.id}/retry")
    assert r.status_code == 302
    with p_app.app_context(), database.connection_context():
        j = Job.get_by_id(job.id)
        assert (j.status, j.attempts) == ("pending", 0)
    assert "portal.probe" not in _text(pc.get("/portal/admin/jobs?status=dead"))
    assert "portal.probe" in _text(pc.get("/portal/admin/jobs?status=pending"))
    assert pc.get("/portal/admin/jobs?status=<script>").status_code == 200
    assert _post(pc, "/portal/admin/jobs?status=pending", {}, url="/portal/admin/jobs/99999/retry").status_code == 404


def test_plugin_status_lists_the_enabled_plugins(pc, user_of):
    _as(pc, user_of, "koord")
    html = _text(pc.get("/portal/admin/plugins"))
    assert "portal" in html and "register_blueprints" in html and "staff_panels" not in html.split("portal")[0]


def test_posts_need_the_forms_token(pc, user_of):
    _as(pc, user_of, "admin")
    r = pc.post("/portal/admin/agencies/new", data={"code": "X", "name": "X"})
    assert r.status_code == 400


def test_the_portal_session_is_not_an_api_credential(pc, user_of):
    """Internal calls carry the actor in a WSGI environ key: a browser's session cookie, or a header of that
    name, does not authenticate an API request."""
    _as(pc, user_of, "admin")
    assert pc.get("/portal/admin/users").status_code == 200
    assert pc.get("/api/v1/users").status_code == 401
    assert pc.get("/api/v1/users", headers={"aduan_portal.internal_actor": "admin"}).status_code == 401


# --- plugin panels -----------------------------------------------------------------------------------

@pytest.fixture
def panel_app(make_app):
    from aduan.testing import seed_basics

    app = make_app({"PLUGINS": ["portal", "sms", "opendata"], "BASE_URL": "https://aduan.ntbprov.example"})
    with app.app_context(), database.connection_context():
        seed_basics()
    return app


def _user(app, username):
    from aduan.models import User

    with app.app_context(), database.connection_context():
        return User.get(User.username == username)


def test_panels_are_rendered_for_the_roles_they_name(panel_app):
    expected = {"admin": {"sms.log", "opendata.publishing"}, "koord": {"sms.log"}, "off_a": {"sms.log"}}
    for username, ids in expected.items():
        c = panel_app.test_client()
        sign_in(c, _user(panel_app, username))
        html = _text(c.get("/portal/panels/"))
        assert set(re.findall(r'href="/portal/panels/([a-z0-9_.]+)"', html)) == ids, username
        for pid in ("sms.log", "opendata.publishing"):
            assert c.get(f"/portal/panels/{pid}").status_code == (200 if pid in ids else 404), (username, pid)
    c = panel_app.test_client()
    sign_in(c, _user(panel_app, "koord"))
    html = _text(c.get("/portal/panels/sms.log"))
    assert "SMS: log pesan" in html and "Blokir nomor" in html  # coordinators may block
    c = panel_app.test_client()
    sign_in(c, _user(panel_app, "off_a"))
    assert "Blokir nomor" not in _text(c.get("/portal/panels/sms.log"))
    assert c.get("/portal/panels/nope.nothing").status_code == 404


def test_panel_actions_call_the_plugins_route_as_the_staff_member(panel_app):
    from aduan.models import Job

    c = panel_app.test_client()
    sign_in(c, _user(panel_app, "admin"))
    page = _text(c.get("/portal/panels/opendata.publishing"))
    key = re.search(r'name="action" value="([0-9a-f]+)"', page).group(1)
    r = c.post("/portal/panels/opendata.publishing", data={"csrf_token": csrf_of(page), "action": key})
    assert r.status_code == 302
    with panel_app.app_context(), database.connection_context():
        assert Job.select().where((Job.kind == "opendata.publish") & (Job.status == "pending")).count() == 1
    assert "Selesai: Terbitkan sekarang." in _text(c.get("/portal/panels/opendata.publishing"))
    # an action the panel does not offer is never called
    page = _text(c.get("/portal/panels/sms.log"))
    r = c.post("/portal/panels/sms.log", data={"csrf_token": csrf_of(page), "action": key})
    assert r.status_code == 302
    assert "tidak lagi tersedia" in _text(c.get("/portal/panels/sms.log"))
    # the block form: a missing number gets a field message; a number is blocked through the plugin's API
    key = re.search(r'name="action" value="([0-9a-f]+)"', page).group(1)
    r = c.post("/portal/panels/sms.log", data={"csrf_token": csrf_of(page), "action": key, "phone": "", "reason": ""})
    assert r.status_code == 422 and "Wajib diisi." in _text(r)
    r = c.post("/portal/panels/sms.log", data={"csrf_token": csrf_of(page), "action": key,
                                               "phone": "0819 0707 8888", "reason": "spam"})
    assert r.status_code == 302
    from aduan import messaging

    with panel_app.app_context(), database.connection_context():
        assert [b.address for b in messaging.blocked("sms")] == ["+6281907078888"]
    html = _text(c.get("/portal/panels/sms.log"))
    assert "+6281907078888" not in html  # the panel never shows a whole number


# --- dashboard -----------------------------------------------------------------------------------------

def _file_and_dispose(app, agency_code):
    from aduan import services
    from aduan.auth import Actor
    from aduan.models import Agency

    with app.app_context(), database.connection_context():
        c, _code = services.file_complaint({"title": "Jalan rusak", "body": "Jalan berlubang di depan pasar.",
                                            "category": "jalan", "reporter": {"name": "Baiq Nurul"}},
                                           actor=Actor(role="public"), channel="web")
        agency = Agency.get(Agency.code == agency_code)
        services.perform(c.tracking_id, "verify", Actor(role="coordinator", username="koord"), agency_id=agency.id)
        return c.tracking_id


def test_dashboard_report_card_and_csv_in_the_roles_scope(p_app, pc, user_of):
    _file_and_dispose(p_app, "PUPR")
    _file_and_dispose(p_app, "PUPR")
    _file_and_dispose(p_app, "DIKES")
    _as(pc, user_of, "koord")
    html = _text(pc.get("/portal/dashboard"))
    assert "Dinas PUPR" in html and "Dinas Kesehatan" in html and "<svg" in html and 'role="img"' in html
    rows = list(csv.DictReader(io.StringIO(_text(pc.get("/portal/dashboard.csv?table=agencies")))))
    assert {r["agency"]: int(r["total"]) for r in rows} == {"Dinas PUPR": 2, "Dinas Kesehatan": 1}
    months = list(csv.DictReader(io.StringIO(_text(pc.get("/portal/dashboard.csv?table=months&period=all")))))
    assert sum(int(m["total"]) for m in months) == 3

    officer = p_app.test_client()
    sign_in(officer, user_of("off_b"))  # Dinas Kesehatan
    html = _text(officer.get("/portal/dashboard"))
    assert "Dinas PUPR" not in html and "Dinas Kesehatan" in html
    r = officer.get("/portal/dashboard.csv?table=agencies")
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(_text(r))))
    assert [(r["agency"], r["total"]) for r in rows] == [("Dinas Kesehatan", "1")]


def test_dashboard_period_filters_and_bad_dates(pc, user_of, p_app):
    _file_and_dispose(p_app, "PUPR")
    _as(pc, user_of, "koord")
    for period in ("30d", "90d", "12m", "year", "all"):
        assert pc.get(f"/portal/dashboard?period={period}").status_code == 200
    rows = list(csv.DictReader(io.StringIO(_text(pc.get("/portal/dashboard.csv?from=2000-01-01&to=2000-12-31")))))
    assert rows == []  # nothing filed in 2000
    assert pc.get("/portal/dashboard?from=0001-01-01&to=9999-12-31").status_code == 200
    r = pc.get("/portal/dashboard?from=2026-13-45&to=2026-01-01")
    assert r.status_code == 400 and _field_error(_text(r), "from", prefix="d")
    r = pc.get("/portal/dashboard?from=2026-02-01&to=2026-01-01")
    assert r.status_code == 400 and _field_error(_text(r), "to", prefix="d")
    assert pc.get("/portal/dashboard.csv?table=secrets").status_code == 400
    assert pc.get("/portal/dashboard?from=%00").status_code in (400, 422)
