"""The staff pages in headless Chromium (Debian's ``chromium`` driven by Playwright): a coordinator
signs in with the real form, verifies a complaint; an officer answers with a response template
chosen in the select (JavaScript fills the box under the strict CSP); axe-core reports no violation
on any staff page; the skip link is the first stop of the keyboard. Screenshots of every page go to
``$ADUAN_TEST_ARTEFACTS/portal-staff/`` (default ``test-artefacts/`` at the repository's root).
Skipped, with the reason, where Chromium is missing."""
from __future__ import annotations

import io
import os
import shutil
import socket
from pathlib import Path

import pytest

from aduan.auth import Actor
from aduan.db import database
from aduan.models import Complaint, User
from aduan.passwords import set_password
from aduan.services import add_attachment, file_complaint, perform
from aduan.testing import seed_basics, waitress_in_thread

CHROMIUM = next((p for p in (os.environ.get("ADUAN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                 if p and os.path.exists(p)), None)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - a test dependency
    sync_playwright = None

AXE = Path(__file__).with_name("vendor") / "axe.min.js"
ARTEFACTS = Path(os.environ.get("ADUAN_TEST_ARTEFACTS") or Path(__file__).resolve().parents[3] / "test-artefacts")
PW = "sawah-hijau-di-lombok"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is a test dependency: pip install -e '.[test]'"),
]


def _free_port() -> int:
    """A free port in this suite's range (5700-5799), else any free one."""
    for port in range(5700, 5800):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    return 0


@pytest.fixture
def site(make_app):

    app = make_app({"PLUGINS": ["portal"], "PORTAL_SITE_NAME": "NTB Care"})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
        for name in ("koord", "off_a"):
            set_password(User.get(User.username == name), PW)
        koord = Actor(role="coordinator", user_id=User.get(User.username == "koord").id, username="koord")
        new, _ = file_complaint({"title": "Sampah menumpuk di Pasar Cakranegara", "body": "Sudah tiga hari.",
                                 "category": "jalan", "reporter": {"name": "Baiq Nurul", "phone": "081907123456"}},
                                actor=Actor(role="reporter"))
        work, _ = file_complaint({"title": "Jalan berlubang di Jl. Udayana", "body": "Lubang besar, bahaya.",
                                  "category": "jalan", "anonymous": True}, actor=Actor(role="reporter"))
        perform(work, "verify", koord, agency_id=seed.agency_a.id)
        perform(work, "comment", koord, text="Cek lokasi bersama kelurahan.")
        add_attachment(work, koord, io.BytesIO(PNG), "lokasi.png")
        from aduan_portal.models import PortalResponseTemplate

        PortalResponseTemplate.create(name="Tim menuju lokasi", agency=seed.agency_a.id,
                                      body="Aduan {tracking_id} sedang ditangani {agency}. Salam, {officer}.")
        ids = {"new": new.tracking_id, "work": work.tracking_id}
    with waitress_in_thread(app, port=_free_port()) as server:
        yield {"url": f"http://127.0.0.1:{server.effective_port}", "app": app, **ids}


@pytest.fixture
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def shot(page, name: str) -> None:
    folder = ARTEFACTS / "portal-staff"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"]]


def sign_in(page, base, username):
    page.goto(base + "/portal/sign-in")
    page.fill("#username", username)
    page.fill("#password", PW)
    page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_every_staff_page_has_no_axe_violation(site, browser):
    base = site["url"]
    # axe is injected as a script tag, which the page's CSP would (rightly) refuse
    results = {}
    for username, pages in (
            ("koord", [("queue", "/portal/staff/"), ("queue-all-filtered", "/portal/staff/?tab=all&urgency=biasa"),
                       ("complaint-received", f"/portal/staff/complaints/{site['new']}"),
                       ("complaint-dispatched", f"/portal/staff/complaints/{site['work']}"),
                       ("templates", "/portal/staff/templates/"), ("template-new", "/portal/staff/templates/new"),
                       ("account", "/portal/account"), ("password", "/portal/account/password")]),
            ("off_a", [("officer-queue", "/portal/staff/?tab=all"),
                       ("officer-complaint", f"/portal/staff/complaints/{site['work']}")])):
        ctx = browser.new_context(bypass_csp=True, viewport={"width": 412, "height": 900}, locale="id-ID")
        page = ctx.new_page()
        page.goto(base + "/portal/sign-in")
        results[f"{username}:sign-in"] = axe(page)
        shot(page, "sign-in")
        sign_in(page, base, username)
        for name, path in pages:
            page.goto(base + path, wait_until="networkidle")
            page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            results[f"{username}:{name}"] = axe(page)
            shot(page, f"{username}-{name}")
        ctx.close()
    assert {k: v for k, v in results.items() if v} == {}


def test_coordinator_verifies_and_officer_answers_with_a_template(site, browser):
    base = site["url"]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")  # the real CSP applies
    page = ctx.new_page()
    csp_errors = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, base, "koord")
    assert page.url.endswith("/portal/staff/")
    page.click(f"text={site['new']}")
    page.click("#action-verify summary")
    page.click("#action-verify button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "selesai dilakukan" in page.content()
    shot(page, "coordinator-after-verify")
    ctx.close()

    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="id-ID")
    page = ctx.new_page()
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    sign_in(page, base, "off_a")
    page.goto(base + f"/portal/staff/complaints/{site['work']}", wait_until="networkidle")
    page.click("#action-respond summary")
    assert page.is_hidden("#action-respond button[name=use_template]")  # JavaScript does it on choosing
    page.select_option("#respond-template", label="Tim menuju lokasi")
    filled = page.input_value("#respond-text")
    assert filled == f"Aduan {site['work']} sedang ditangani Dinas PUPR. Salam, Off_A."
    shot(page, "officer-respond-with-template")
    page.click("#action-respond button[type=submit]:not([name])")
    page.wait_for_load_state("networkidle")
    assert filled in page.content()
    with site["app"].app_context(), database.connection_context():
        assert Complaint.get(Complaint.tracking_id == site["work"]).status == "in_progress"
    assert csp_errors == []
    ctx.close()


def test_keyboard_reaches_the_skip_link_first_and_focus_is_visible(site, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, site["url"], "koord")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    ctx.close()
