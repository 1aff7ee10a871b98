"""Administration pages, plugin panels and the dashboard in headless Chromium (Debian's ``chromium``, Playwright):
axe-core (vendored in ``tests/vendor/``) reports no violation on any of them, for the admin and for the roles
that may see them; no request leaves the server; the Content-Security-Policy is never violated.

Screenshots are saved under ``$ADUAN_TEST_ARTEFACTS/portal-admin/`` (default ``test-artefacts/`` at the
repository's root). Skipped, with the reason, where Chromium is missing.
"""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aduan.db import database
from aduan.testing import seed_basics
from aduan_portal.testing import sign_in

CHROMIUM = next((p for p in (os.environ.get("ADUAN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                 if p and os.path.exists(p)), None)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - a test dependency
    sync_playwright = None

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
ARTEFACTS = Path(os.environ.get("ADUAN_TEST_ARTEFACTS") or Path(__file__).resolve().parents[3] / "test-artefacts")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is a test dependency: pip install -e '.[test]'"),
]

PAGES = {
    "admin": ["/portal/admin/", "/portal/admin/agencies", "/portal/admin/agencies/new", "/portal/admin/agencies/1",
              "/portal/admin/categories", "/portal/admin/categories/new", "/portal/admin/categories/1",
              "/portal/admin/users", "/portal/admin/users/1", "/portal/admin/jobs", "/portal/admin/plugins",
              "/portal/panels/", "/portal/panels/sms.log", "/portal/panels/opendata.publishing",
              "/portal/dashboard"],
    "koord": ["/portal/admin/", "/portal/admin/agencies", "/portal/admin/categories", "/portal/panels/sms.log",
              "/portal/dashboard"],
    "off_a": ["/portal/panels/", "/portal/panels/sms.log", "/portal/dashboard"],
}


@pytest.fixture
def site(make_app):
    """A live server with the portal, the sms and opendata plugins (their panels), and a few complaints."""
    from waitress.server import create_server

    from aduan import services
    from aduan.auth import Actor
    from aduan.models import Job, User

    app = make_app({"PLUGINS": ["portal", "sms", "opendata"], "BASE_URL": "http://127.0.0.1"})
    with app.app_context(), database.connection_context():
        seed_basics()
        for agency_id in (1, 1, 2):
            c, _code = services.file_complaint({"title": "Jalan rusak", "body": "Jalan berlubang di depan pasar.",
                                                "category": "jalan", "reporter": {"name": "Baiq Nurul"}},
                                               actor=Actor(role="public"), channel="web")
            services.perform(c.tracking_id, "verify", Actor(role="coordinator", username="koord"),
                             agency_id=agency_id)
        from aduan.db import utcnow

        Job.create(kind="sms.send", key="dead-1", payload={}, status="dead", attempts=12, max_attempts=12,
                   run_at=utcnow(), last_error="gateway answered 500", created_at=utcnow(), updated_at=utcnow())
        users = {u.username: u for u in User.select()}
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.effective_port}", "app": app, "users": users}
    server.close()
    thread.join(timeout=5)


def session_cookie(app, user) -> str:
    """The portal's signed session cookie of ``user`` (as signing in would set it)."""
    client = app.test_client()
    sign_in(client, user)
    client.get("/portal/")
    return client.get_cookie("aduan_portal").value


def axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]]


def test_admin_pages_have_no_axe_violation_and_stay_on_the_server(site):
    problems: dict[str, list] = {}
    outside: list[str] = []
    csp: list[str] = []
    folder = ARTEFACTS / "portal-admin"
    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            for username, urls in PAGES.items():
                for bypass in (False, True):  # first as served (CSP enforced), then with axe injected
                    context = browser.new_context(bypass_csp=bypass, viewport={"width": 412, "height": 900})
                    context.add_cookies([{"name": "aduan_portal", "value": session_cookie(site["app"],
                                                                                         site["users"][username]),
                                          "url": site["url"]}])
                    page = context.new_page()

                    def route(r):
                        if urlsplit(r.request.url).hostname == "127.0.0.1":
                            r.continue_()
                        else:
                            outside.append(r.request.url)
                            r.abort("internetdisconnected")

                    page.route("**/*", route)
                    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text else None)
                    for url in urls:
                        resp = page.goto(site["url"] + url)
                        assert resp.status == 200, (username, url, resp.status)
                        if bypass:
                            found = axe(page)
                            if found:
                                problems[f"{username} {url}"] = found
                        else:
                            name = url.strip("/").replace("/", "_") or "root"
                            page.screenshot(path=str(folder / f"{username}-{name}.png"), full_page=True)
                    context.close()
        finally:
            browser.close()
    assert problems == {}
    assert outside == []
    assert csp == []
