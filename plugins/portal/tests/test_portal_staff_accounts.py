"""Staff sign-in with a password: server-side sessions, sign out (everywhere), forced change of a
temporary password, lockout shown on the page, CSRF, cookie flags, bearer tokens beside sessions."""
from __future__ import annotations

import pytest

from aduan.db import database
from aduan.models import User
from aduan.passwords import set_password
from aduan.testing import auth
from aduan_portal.testing import csrf_of

PW = "sawah-hijau-di-lombok"


@pytest.fixture
def with_passwords(p_app, p_seed):
    with p_app.app_context(), database.connection_context():
        for name in ("koord", "off_a"):
            set_password(User.get(User.username == name), PW)
    return p_seed


def post_form(client, url, data, page_url=None):
    page = client.get(page_url or url)
    return client.post(url, data={**data, "csrf_token": csrf_of(page.get_data(as_text=True))})


def sign_in_with(client, username, password, nxt=None):
    data = {"username": username, "password": password}
    if nxt:
        data["next"] = nxt
    return post_form(client, "/portal/sign-in", data)


def sessions_of(p_app, username):
    from aduan_portal.models import PortalSession

    with p_app.app_context(), database.connection_context():
        return PortalSession.select().join(User).where(User.username == username).count()


def test_sign_in_and_out(p_app, pc, with_passwords):
    assert pc.get("/portal/staff/").status_code == 302  # not signed in: to the sign-in page
    r = sign_in_with(pc, "koord", PW)
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/staff/")
    assert pc.get("/portal/staff/").status_code == 200
    assert sessions_of(p_app, "koord") == 1
    page = pc.get("/portal/staff/").get_data(as_text=True)
    r = pc.post("/portal/sign-out", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 302
    assert sessions_of(p_app, "koord") == 0
    assert pc.get("/portal/staff/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(pc, with_passwords):
    r1 = sign_in_with(pc, "koord", "salah-sekali-ini")
    r2 = sign_in_with(pc, "tidak_ada", "salah-sekali-ini")
    assert r1.status_code == r2.status_code == 401
    t1, t2 = r1.get_data(as_text=True), r2.get_data(as_text=True)
    assert "Nama pengguna atau kata sandi salah." in t1 and "Nama pengguna atau kata sandi salah." in t2
    assert pc.get("/portal/staff/").status_code == 302


def test_lockout_is_shown_with_its_local_time_and_does_not_tell_accounts_from_unknown_names(p_app, pc, with_passwords):
    for _ in range(5):
        assert sign_in_with(pc, "koord", "tebak-tebakan-saja").status_code == 401
        assert sign_in_with(pc, "tidak_ada", "tebak-tebakan-saja").status_code == 401
    r = sign_in_with(pc, "koord", PW)  # the right password, but locked
    html = r.get_data(as_text=True)
    assert r.status_code == 429 and "Terlalu banyak percobaan masuk yang gagal" in html and "WITA" in html
    r2 = sign_in_with(pc, "tidak_ada", PW)
    assert r2.status_code == 429 and "Terlalu banyak percobaan masuk yang gagal" in r2.get_data(as_text=True)
    assert "terkunci" not in html  # no "this account is locked": that would confirm the account
    assert pc.get("/portal/staff/").status_code == 302


def test_redirect_after_sign_in_stays_on_the_portal(pc, with_passwords):
    r = sign_in_with(pc, "koord", PW, nxt="https://evil.example/")
    assert r.headers["Location"].endswith("/portal/staff/")
    pc2 = pc.application.test_client()
    r = sign_in_with(pc2, "koord", PW, nxt="/portal/staff/templates/")
    assert r.headers["Location"].endswith("/portal/staff/templates/")


def test_session_fixation_a_new_cookie_session_on_sign_in(pc, with_passwords):
    pc.get("/portal/sign-in")
    before = pc.get_cookie("aduan_portal").value
    sign_in_with(pc, "koord", PW)
    after = pc.get_cookie("aduan_portal").value
    assert before != after


def test_sign_out_everywhere_ends_every_session(p_app, with_passwords):
    a, b = p_app.test_client(), p_app.test_client()
    sign_in_with(a, "koord", PW)
    sign_in_with(b, "koord", PW)
    assert sessions_of(p_app, "koord") == 2
    r = post_form(a, "/portal/account/sign-out-everywhere", {}, page_url="/portal/account")
    assert r.status_code == 302
    assert sessions_of(p_app, "koord") == 0
    assert a.get("/portal/staff/").status_code == 302
    assert b.get("/portal/staff/").status_code == 302  # the other browser is signed out too


def test_password_change_revokes_the_other_sessions(p_app, with_passwords):
    a, b = p_app.test_client(), p_app.test_client()
    sign_in_with(a, "koord", PW)
    sign_in_with(b, "koord", PW)
    r = post_form(a, "/portal/account/password", {"current_password": PW, "new_password": "padi-menguning-2026",
                                                  "new_password2": "padi-menguning-2026"})
    assert r.status_code == 302
    assert a.get("/portal/staff/").status_code == 200  # this browser stays signed in
    assert b.get("/portal/staff/").status_code == 302  # the other one is signed out
    assert sessions_of(p_app, "koord") == 1


def test_password_change_from_the_command_line_ends_web_sessions(p_app, pc, with_passwords):
    sign_in_with(pc, "koord", PW)
    assert pc.get("/portal/staff/").status_code == 200
    with p_app.app_context(), database.connection_context():
        set_password(User.get(User.username == "koord"), "reset-oleh-admin-1")  # `aduan user password`
    assert pc.get("/portal/staff/").status_code == 302


def test_password_change_errors_are_shown(pc, with_passwords):
    sign_in_with(pc, "koord", PW)
    r = post_form(pc, "/portal/account/password", {"current_password": "bukan-ini", "new_password": "x",
                                                   "new_password2": "y"})
    assert r.status_code == 400 and "Dua kata sandi baru berbeda." in r.get_data(as_text=True)
    r = post_form(pc, "/portal/account/password", {"current_password": PW, "new_password": "pendek",
                                                   "new_password2": "pendek"})
    assert r.status_code == 400 and "minimal 10 karakter" in r.get_data(as_text=True)


def test_temporary_password_must_be_changed_first(p_app, pc, p_seed):
    with p_app.app_context(), database.connection_context():
        set_password(User.get(User.username == "off_a"), "ABCD-EFGH-JKMN-PQRS", temporary=True)
    r = sign_in_with(pc, "off_a", "ABCD-EFGH-JKMN-PQRS")
    assert r.headers["Location"].endswith("/portal/account/password")
    # every staff page leads to the change until it is done
    r = pc.get("/portal/staff/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/account/password")
    html = pc.get("/portal/account/password").get_data(as_text=True)
    assert "kata sandi sementara" in html
    r = post_form(pc, "/portal/account/password", {"current_password": "ABCD-EFGH-JKMN-PQRS",
                                                   "new_password": "kopi-lombok-enak-sekali",
                                                   "new_password2": "kopi-lombok-enak-sekali"})
    assert r.status_code == 302
    assert pc.get("/portal/staff/").status_code == 200


def test_forms_without_the_csrf_token_are_refused(pc, with_passwords):
    sign_in_with(pc, "koord", PW)
    for url, data in (("/portal/sign-out", {}), ("/portal/account/sign-out-everywhere", {}),
                      ("/portal/account/password", {"current_password": PW, "new_password": "a-new-one-here",
                                                    "new_password2": "a-new-one-here"})):
        assert pc.post(url, data=data).status_code == 400
        assert pc.post(url, data={**data, "csrf_token": "forged"}).status_code == 400
    assert pc.get("/portal/staff/").status_code == 200  # still signed in, nothing changed


def test_cookie_flags_and_no_personal_data_in_it(make_app):
    app = make_app({"PLUGINS": ["portal"], "BASE_URL": "https://aduan.example"})
    with app.app_context(), database.connection_context():
        from aduan.testing import seed_basics

        seed_basics()
        set_password(User.get(User.username == "koord"), PW)
    c = app.test_client()
    r = sign_in_with(c, "koord", PW)
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("aduan_portal=") and "HttpOnly" in cookie and "Secure" in cookie
    assert "SameSite=Lax" in cookie and "Expires" not in cookie  # ends with the browser
    assert "koord" not in cookie and PW not in cookie


def test_bearer_tokens_keep_working_beside_sessions(p_app, pc, with_passwords):
    sign_in_with(pc, "koord", PW)
    # the API answers the token, not the portal cookie (no CSRF through the API)
    assert pc.get("/api/v1/me").status_code == 401
    r = pc.get("/api/v1/me", headers=auth(with_passwords.coordinator))
    assert r.status_code == 200 and r.get_json()["username"] == "koord"
    r = p_app.test_client().get("/api/v1/me", headers=auth(with_passwords.officer_a))
    assert r.status_code == 200 and r.get_json()["role"] == "officer"
    assert pc.get("/portal/staff/").status_code == 200


def test_idle_sessions_expire(p_app, pc, with_passwords):
    import datetime as dt

    from aduan_portal.models import PortalSession

    sign_in_with(pc, "koord", PW)
    with p_app.app_context(), database.connection_context():
        from aduan.db import utcnow

        PortalSession.update(last_seen_at=utcnow() - dt.timedelta(hours=13)).execute()
    assert pc.get("/portal/staff/").status_code == 302
    assert sessions_of(p_app, "koord") == 0


def test_a_deactivated_account_is_signed_out(p_app, pc, with_passwords):
    sign_in_with(pc, "koord", PW)
    with p_app.app_context(), database.connection_context():
        User.update(active=False).where(User.username == "koord").execute()
    assert pc.get("/portal/staff/").status_code == 302
