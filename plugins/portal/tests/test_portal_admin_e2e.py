"""End to end, in headless Chromium (Debian's ``chromium`` driven by Playwright) against a real ``aduan serve``
subprocess with the portal (and its worker):

a citizen files a complaint with a photo → the coordinator signs in, verifies it and disposes it to Dinas PUPR
→ an officer of PUPR writes a response template, answers with it and resolves → the citizen tracks the complaint
with the code, sees the answer and rates it → an officer of another agency gets 404 on the complaint's URL.

Every page visited is saved as a screenshot under ``$ADUAN_TEST_ARTEFACTS/portal-e2e/`` (default
``test-artefacts/`` at the repository's root). Skipped, with the reason, where Chromium is missing, and where
the pieces of the other portal helpers are not installed (staff passwords and pages, citizen pages).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from aduan.db import database
from aduan.testing import seed_basics

CHROMIUM = next((p for p in (os.environ.get("ADUAN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                 if p and os.path.exists(p)), None)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - a test dependency
    sync_playwright = None
try:
    from aduan import passwords
except ImportError:  # the core's staff passwords (portal-staff) are not there yet
    passwords = None

ARTEFACTS = Path(os.environ.get("ADUAN_TEST_ARTEFACTS") or Path(__file__).resolve().parents[3] / "test-artefacts")
BIN = Path(sys.executable).parent
#: a 1×1 PNG (the citizen's photo)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2216bc80000000049454e44ae426082")
PASSWORD = {"koord": "Koordinasi-Mataram-2026", "off_a": "Petugas-PUPR-Ampenan-26", "off_b": "Petugas-Dikes-Selong-26"}
TEMPLATE = ("Terima kasih atas laporan {tracking_id}. Tim Dinas PUPR sudah meninjau lokasi dan menjadwalkan "
            "penambalan jalan minggu ini.")

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is a test dependency: pip install -e '.[test]'"),
    pytest.mark.skipif(passwords is None, reason="staff passwords (aduan.passwords, portal-staff) are not installed"),
]


def free_port() -> int:
    """A free port in this suite's range (5800–5899), else any free port."""
    for port in list(range(5800, 5900)) + [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise RuntimeError("no free port")


@pytest.fixture
def server(make_app, tmp_path):
    """``aduan serve --with-worker`` on a migrated, seeded database; staff with passwords."""
    from aduan.models import User

    app = make_app({"PLUGINS": ["portal"]})
    with app.app_context(), database.connection_context():
        seed_basics()
        for username, password in PASSWORD.items():
            passwords.set_password(User.get(User.username == username), password)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": app.config["DATABASE_URL"], "ADUAN_INSTANCE_PATH": app.instance_path,
                "ADUAN_SECRET_KEY": "e2e-secret-long-enough-for-the-start-up-check-0123456789",
                "ADUAN_PLUGINS": "portal", "ADUAN_BASE_URL": url, "ADUAN_RATE_LIMIT_FILE": "1000/hour",
                "ADUAN_RATE_LIMIT_TRACK": "1000/hour", "ADUAN_WORKER_POLL_SECONDS": "0.2"})
    log = open(tmp_path / "serve.log", "wb")
    proc = subprocess.Popen([str(BIN / "aduan"), "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--with-worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except requests.ConnectionError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.close()
            raise AssertionError("aduan serve did not start:\n" + (tmp_path / "serve.log").read_text()[-3000:])
        time.sleep(0.2)
    yield {"url": url, "app": app}
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
    log.close()


class Shots:
    def __init__(self):
        self.folder = ARTEFACTS / "portal-e2e"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n = 0

    def __call__(self, page, name: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.folder / f"{self.n:02d}-{name}.png"), full_page=True)


def sign_in(browser, url, username):
    context = browser.new_context(viewport={"width": 1100, "height": 900}, locale="id-ID")
    page = context.new_page()
    page.goto(f"{url}/portal/sign-in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD[username])
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "/sign-in" not in page.url, page.content()[-2000:]
    return context, page


def test_citizen_to_coordinator_to_officer_and_back(server):
    url = server["url"]
    shot = Shots()
    outside: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])

        def only_here(route):
            if route.request.url.startswith(url):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort("internetdisconnected")

        try:
            # 1. a citizen files, with a photo (mobile size, Indonesian)
            citizen = browser.new_context(viewport={"width": 412, "height": 900}, locale="id-ID")
            citizen.route("**/*", only_here)
            page = citizen.new_page()
            page.goto(f"{url}/portal/")
            shot(page, "citizen-home")
            page.goto(f"{url}/portal/file")
            page.fill("#title", "Jalan berlubang di Cakranegara")
            page.fill("#body", "Lubang besar di depan Pasar Cakranegara, sudah sebulan dan membahayakan pengendara.")
            page.check("#cat-1")
            page.fill("#region-q", "Cakranegara")
            page.wait_for_selector("#region-results button")
            page.locator("#region-results button").first.click()
            page.fill("#name", "Baiq Nurul")
            page.set_input_files("#files", files=[{"name": "lubang.png", "mimeType": "image/png", "buffer": PNG}])
            shot(page, "citizen-file-filled")
            page.click("button[name=submit]")
            page.wait_for_url("**/portal/file/done")
            shot(page, "citizen-confirmation")
            tid = page.inner_text("#tid").strip()
            code = page.inner_text("#code").strip()
            citizen.close()

            # 2. the coordinator verifies it and disposes it to Dinas PUPR
            coord, page = sign_in(browser, url, "koord")
            coord.route("**/*", only_here)
            page.goto(f"{url}/portal/staff/")
            assert tid in page.content()
            shot(page, "coordinator-queue")
            page.goto(f"{url}/portal/staff/complaints/{tid}")
            assert "lubang.png" in page.content()
            shot(page, "coordinator-complaint")
            page.click("#action-verify summary")
            page.select_option("#verify-agency", label="Dinas PUPR")
            page.click("#action-verify form button[type=submit]")
            page.wait_for_load_state()
            assert "Dinas PUPR" in page.inner_text("dl.facts")
            shot(page, "coordinator-verified")
            coord.close()

            # 3. an officer of PUPR writes a response template, answers with it and resolves
            officer, page = sign_in(browser, url, "off_a")
            officer.route("**/*", only_here)
            page.goto(f"{url}/portal/staff/")
            assert tid in page.content()
            shot(page, "officer-queue")
            page.goto(f"{url}/portal/staff/templates/new")
            page.fill("#t-name", "Jadwal penambalan")
            page.fill("#t-body", TEMPLATE)
            shot(page, "officer-template-new")
            page.click("main form button[type=submit]")
            page.wait_for_load_state()
            shot(page, "officer-templates")
            resp = page.goto(f"{url}/portal/staff/complaints/{tid}")
            shot(page, "officer-complaint")
            assert resp.status == 200, page.content()[-3000:]
            page.click("#action-respond summary")
            page.select_option("#respond-template", label="Jadwal penambalan")  # staff.js fills the answer
            answer = TEMPLATE.replace("{tracking_id}", tid)
            assert page.input_value("#respond-text") == answer
            shot(page, "officer-respond-with-template")
            page.click("#action-respond form button[type=submit]:not([name])")
            page.wait_for_load_state()
            assert answer in page.inner_text("ol.timeline")
            page.click("#action-resolve summary")
            page.fill("#resolve-text", "Jalan sudah ditambal pada hari Kamis.")
            page.click("#action-resolve form button[type=submit]:not([name])")
            page.wait_for_load_state()
            shot(page, "officer-resolved")
            officer.close()

            # 4. the citizen tracks with the code, sees the answer and rates it
            citizen = browser.new_context(viewport={"width": 412, "height": 900}, locale="id-ID")
            citizen.route("**/*", only_here)
            page = citizen.new_page()
            page.goto(f"{url}/portal/track")
            page.fill("#tracking_id", tid)
            page.fill("#access_code", code)
            shot(page, "citizen-track-form")
            page.click("form.track-form button[type=submit]")
            page.wait_for_selector("section.act")
            assert answer in page.content() and "Jalan sudah ditambal" in page.content()
            assert code not in page.url
            shot(page, "citizen-track-answer")
            page.check("#rating-5")
            page.fill("#rate-text", "Cepat dan jelas, terima kasih.")
            page.click("section.act:has(#rating-5) button[type=submit]")
            page.wait_for_load_state()
            shot(page, "citizen-rated")
            citizen.close()

            # 5. an officer of another agency cannot open the complaint by its URL
            other, page = sign_in(browser, url, "off_b")
            other.route("**/*", only_here)
            resp = page.goto(f"{url}/portal/staff/complaints/{tid}")
            assert resp.status == 404
            assert "Baiq" not in page.content() and "Cakranegara" not in page.content()
            shot(page, "other-officer-404")
            other.close()
        finally:
            browser.close()
    assert outside == []
    # what the reporter's view says now, from the API of the same server
    view = requests.get(f"{url}/api/v1/complaints/{tid}", headers={"X-Access-Code": code}, timeout=10).json()
    assert view["rating"] == 5 and view["agency"]["code"] == "PUPR"
    assert [a["filename"] for a in view["attachments"]] == ["lubang.png"]
    public = [e for e in view["timeline"] if e["type"] == "respond"]
    assert public and public[0]["text"] == answer
