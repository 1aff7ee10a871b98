"""What every portal page shares: the front door, headers, CSRF, sessions, language, error pages."""
from __future__ import annotations

import re

from aduan_portal.testing import csrf_of, sign_in


def test_front_door_redirects_to_the_portal_home(pc):
    r = pc.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/")
    r = pc.get("/portal/")
    assert r.status_code == 200
    assert "NTB Care" in r.get_data(as_text=True)


def test_pages_carry_a_strict_policy_and_no_outside_asset(pc):
    r = pc.get("/portal/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    html = r.get_data(as_text=True)
    # every src/href is on this server
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert not re.match(r"^(https?:)?//", url), url
    assert "<script>" not in html and " style=" not in html
    css = pc.get("/portal/static/portal.css")
    assert css.status_code == 200 and "no-store" not in css.headers.get("Cache-Control", "")


def test_a_post_without_the_forms_token_is_refused_with_a_page(pc):
    r = pc.post("/portal/sign-in", data={"username": "koord", "password": "x"})
    assert r.status_code == 400
    assert r.mimetype == "text/html"
    assert "kedaluwarsa" in r.get_data(as_text=True)  # Indonesian by default
    page = pc.get("/portal/sign-in").get_data(as_text=True)
    r = pc.post("/portal/sign-in", data={"username": "koord", "password": "x", "csrf_token": csrf_of(page)})
    assert r.status_code != 400


def test_session_cookie_flags(make_app):
    app = make_app({"PLUGINS": ["portal"], "BASE_URL": "https://aduan.example"})
    c = app.test_client()
    r = c.get("/portal/sign-in")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("aduan_portal=")
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Lax" in cookie


def test_session_is_signed_with_a_derived_key_not_the_secret_itself(p_app, pc):
    """A cookie forged with the raw SECRET_KEY (Flask's default signing) is not accepted."""
    from flask.sessions import SecureCookieSessionInterface

    forged = SecureCookieSessionInterface().get_signing_serializer(p_app).dumps({"staff_uid": 1})
    pc.set_cookie("aduan_portal", forged, domain="localhost")
    html = pc.get("/portal/").get_data(as_text=True)
    assert "Staf" in html or "sign" in html.lower()
    assert 'class="who"' not in html


def test_signed_in_staff_are_shown(pc, user_of):
    sign_in(pc, user_of("koord"))
    assert 'class="who">koord<' in pc.get("/portal/").get_data(as_text=True)


def test_language_chosen_once_is_kept_for_the_visit(pc):
    assert pc.get("/portal/?lang=en").headers["Content-Language"] == "en"
    r = pc.get("/portal/")
    assert r.headers["Content-Language"] == "en"
    assert '<html lang="en">' in r.get_data(as_text=True)


def test_unknown_portal_page_is_a_page_in_indonesian(pc):
    r = pc.get("/portal/no-such-page")
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "Kembali ke beranda" in r.get_data(as_text=True)
    assert r.headers["Content-Security-Policy"]
    # the API keeps its JSON errors
    assert pc.get("/api/v1/no-such-route").mimetype == "application/json"
