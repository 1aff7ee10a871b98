"""The citizens' pages in headless Chromium (Debian's ``chromium`` driven by Playwright).

* axe-core (vendored in ``tests/vendor/``) reports no violation on any citizen page;
* each page weighs at most 60 KB transferred before user images (HTML, CSS, JS, fonts, icons:
  every response the browser fetched, headers included; attachments excluded);
* no request leaves the server, and the Content-Security-Policy is never violated;
* filing (with a photo, region chosen step by step) and tracking (with the code, replying) work
  with JavaScript disabled; with JavaScript, the QR code's ``#code=`` fragment fills the form and
  the region search box picks a village.

Screenshots of every page are saved under ``$ADUAN_TEST_ARTEFACTS`` (default ``test-artefacts/``
at the repository's root, ignored by git). Skipped, with the reason, where Chromium is missing.
"""
from __future__ import annotations

import io
import os
import re
import sys
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aduan.db import database
from aduan.testing import auth, seed_basics

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file (importlib mode)
from portal_citizen_helpers import PNG, config  # noqa: E402

CHROMIUM = next((p for p in (os.environ.get("ADUAN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                 if p and os.path.exists(p)), None)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - a test dependency
    sync_playwright = None

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
BUDGET = 60 * 1024
ARTEFACTS = Path(os.environ.get("ADUAN_TEST_ARTEFACTS") or Path(__file__).resolve().parents[3] / "test-artefacts")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is a test dependency: pip install -e '.[test]'"),
]


def shot(page, name: str) -> None:
    folder = ARTEFACTS / "portal-citizen"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def site(make_app):
    """A live server with the portal, a seeded directory and complaints in several states."""
    from waitress.server import create_server

    app = make_app(config())
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()

    def file(**extra):
        body = {"title": "Jalan berlubang di Cakranegara", "body": "Lubang besar di depan pasar, sudah sebulan.",
                "category": "jalan", "region_code": "52.71", **extra}
        r = client.post("/api/v1/complaints", json=body)
        return r.json["tracking_id"], r.json["access_code"]

    tid, code = file(reporter={"name": "Baiq Nurul", "phone": "081907123456"})
    client.post(f"/api/v1/complaints/{tid}/attachments", data={"file": (io.BytesIO(PNG), "lubang.png")},
                headers={"X-Access-Code": code}, content_type="multipart/form-data")
    for action, body in (("verify", {}), ("respond", {"text": "Tim sudah meninjau lokasi."}),
                         ("resolve", {"text": "Lubang sudah ditambal."})):
        token = seed.coordinator if action == "verify" else seed.officer_a
        client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=body, headers=auth(token))
    secret, _ = file(title="Pungutan liar", secret=True)
    client.post(f"/api/v1/complaints/{secret}/actions/verify", json={}, headers=auth(seed.coordinator))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.effective_port}", "tid": tid, "code": code, "secret": secret,
           "app": app}
    server.close()
    thread.join(timeout=5)


class Recorder:
    """Counts the bytes of every response a page fetched and blocks anything off the machine."""

    def __init__(self):
        self.bytes = 0
        self.blocked: list[str] = []
        self.csp: list[str] = []
        self.user_images = 0

    def route(self, route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def response(self, response):
        try:
            body = response.body()
        except Exception:  # a redirect has no body
            body = b""
        if "/files/" in response.url:  # user images and documents: outside the budget
            self.user_images += len(body)
            return
        head = sum(len(k) + len(v) + 4 for k, v in response.headers.items()) + 20
        self.bytes += len(body) + head

    def console(self, msg):
        if "Content Security Policy" in msg.text or "Content-Security-Policy" in msg.text:
            self.csp.append(msg.text)


def visit(browser, url: str, *, js=True, bypass_csp=False, before=None):
    context = browser.new_context(java_script_enabled=js, bypass_csp=bypass_csp, locale="id-ID",
                                  viewport={"width": 412, "height": 900})
    rec = Recorder()
    page = context.new_page()
    page.route("**/*", rec.route)
    page.on("response", rec.response)
    page.on("console", rec.console)
    if before:
        before(page)
    page.goto(url, wait_until="networkidle")
    return context, page, rec


def axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]]


def citizen_pages(site) -> dict[str, str]:
    u, tid, secret = site["url"], site["tid"], site["secret"]
    return {
        "home": f"{u}/portal/", "home-en": f"{u}/portal/?lang=en", "file": f"{u}/portal/file",
        "track": f"{u}/portal/track", "track-public": f"{u}/portal/track/{tid}",
        "complaints": f"{u}/portal/complaints", "complaint": f"{u}/portal/complaints/{tid}",
        "complaint-secret": f"{u}/portal/complaints/{secret}", "rapor": f"{u}/portal/rapor",
        "rapor-agency": f"{u}/portal/rapor/PUPR", "confirmation-again": f"{u}/portal/file/done",
    }


def test_every_citizen_page_is_accessible_light_and_self_contained(site):
    problems = {}
    weights = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            pages = citizen_pages(site)
            for name, url in pages.items():
                context, page, rec = visit(browser, url)
                shot(page, name)
                weights[name] = rec.bytes
                assert rec.blocked == [], (name, rec.blocked)
                assert rec.csp == [], (name, rec.csp)
                context.close()
                context, page, _rec = visit(browser, url, bypass_csp=True)  # axe is injected inline
                found = axe(page)
                if found:
                    problems[name] = found
                context.close()
            # pages that need a session: the confirmation (after filing), the reporter's view, an error form
            context, page, rec = visit(browser, pages["file"], bypass_csp=True)
            page.fill("#body", "Air PDAM keruh sejak kemarin di Kelurahan Cakranegara.")
            page.click("button[name=submit]")
            page.wait_for_url("**/portal/file/done")
            shot(page, "confirmation")
            found = axe(page)
            if found:
                problems["confirmation"] = found
            context.close()
            context, page, rec = visit(browser, pages["file"])
            page.click("button[name=submit]")  # empty text: the browser's own check stops it...
            page.evaluate("() => document.querySelector('#body').removeAttribute('required')")
            page.click("button[name=submit]")  # ...the server's field error is shown
            page.wait_for_selector(".field-errors")
            shot(page, "file-errors")
            context.close()
            context, page, rec = visit(browser, pages["track-public"], bypass_csp=True)
            page.fill("#access_code", site["code"])
            page.click("form.code-form button[type=submit]")
            page.wait_for_selector("section.act")
            shot(page, "track-reporter")
            found = axe(page)
            if found:
                problems["track-reporter"] = found
            context.close()
            # the weight of the confirmation page as a browser really gets it (CSP on)
            context, page, rec = visit(browser, pages["file"])
            page.fill("#body", "Sampah menumpuk di pinggir Jalan Majapahit.")
            rec.bytes = 0
            page.click("button[name=submit]")
            page.wait_for_url("**/portal/file/done")
            page.wait_for_load_state("networkidle")
            weights["confirmation"] = rec.bytes
            context.close()
        finally:
            browser.close()
    (ARTEFACTS / "portal-citizen").mkdir(parents=True, exist_ok=True)
    (ARTEFACTS / "portal-citizen" / "weights.txt").write_text(
        "".join(f"{k}\t{v}\n" for k, v in sorted(weights.items())))
    assert problems == {}, problems
    heavy = {k: v for k, v in weights.items() if v > BUDGET}
    assert heavy == {}, f"over {BUDGET} bytes: {heavy}"


def test_filing_and_tracking_work_without_javascript(site):
    u = site["url"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            context, page, rec = visit(browser, f"{u}/portal/file", js=False)
            assert page.locator("#region-search").is_hidden() and page.locator("#map-open").count() in (0, 1)
            page.check("#kind-2")
            page.fill("#title", "Selokan tersumbat")
            page.fill("#body", "Selokan di Jalan Sultan Kaharuddin tersumbat sampah.")
            page.select_option("#region-kabupaten", "52.71")
            page.click("button[name=region_step]")
            kec = page.locator("#region-kecamatan option").nth(1).get_attribute("value")
            page.select_option("#region-kecamatan", kec)
            page.click("button[name=region_step]")
            assert page.input_value("#title") == "Selokan tersumbat"  # kept across the steps
            desa = page.locator("#region-desa option").nth(1).get_attribute("value")
            page.select_option("#region-desa", desa)
            page.check("#anonymous")
            page.fill("#name", "Lalu Ahmad")
            page.set_input_files("#files", files=[{"name": "selokan.png", "mimeType": "image/png", "buffer": PNG}])
            shot(page, "file-nojs-filled")
            page.click("button[name=submit]")
            page.wait_for_url("**/portal/file/done")
            shot(page, "confirmation-nojs")
            tid = page.inner_text("#tid").strip()
            code = page.inner_text("#code").strip()
            assert page.locator("button.copy").is_hidden()  # the copy button needs JavaScript
            context.close()
            # track in another browser without JavaScript: the form, then the reporter's view and a reply
            context, page, rec = visit(browser, f"{u}/portal/track", js=False)
            page.fill("#tracking_id", tid)
            page.fill("#access_code", code)
            page.click("form.track-form button[type=submit]")
            page.wait_for_selector("section.act")
            assert "Lalu Ahmad" in page.content() and "selokan.png" in page.content()
            page.fill("#reply-text", "Sampahnya makin banyak.")
            page.click("section.act button[type=submit]")
            page.wait_for_selector("text=Sampahnya makin banyak.")
            shot(page, "track-reporter-nojs")
            assert code not in page.url and all(code not in c["value"] for c in context.cookies())
            context.close()
        finally:
            browser.close()
    view = site["app"].test_client().get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json
    assert view["kind"] == "aspirasi" and view["region"]["code"] == desa and view["anonymous"] is True
    assert [a["filename"] for a in view["attachments"]] == ["selokan.png"]
    assert [e["type"] for e in view["timeline"]][-1] == "reply"


def test_qr_fragment_fills_the_code_and_region_search_picks_a_village(site):
    u, tid, code = site["url"], site["tid"], site["code"]
    requested = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            context, page, rec = visit(browser, f"{u}/portal/track/{tid}#code={code}",
                                       before=lambda pg: pg.on("request", lambda r: requested.append(r.url)))
            assert page.input_value("#access_code") == code
            assert "#code" not in page.url  # removed from the address bar (and history)
            page.click("form.code-form button[type=submit]")
            page.wait_for_selector("section.act")
            assert all(code not in r for r in requested)  # the fragment never went to the server
            context.close()
            context, page, rec = visit(browser, f"{u}/portal/file")
            page.fill("#region-q", "Cakranegara")
            page.wait_for_selector("#region-results button")
            label = page.locator("#region-results button").first.inner_text()
            page.locator("#region-results button").first.click()
            picked = page.input_value("#region-pick")
            assert re.fullmatch(r"52\.71(\.\d+)+", picked) and "Cakranegara" in label
            shot(page, "file-region-search")
            assert rec.blocked == [] and rec.csp == []
            context.close()
        finally:
            browser.close()
