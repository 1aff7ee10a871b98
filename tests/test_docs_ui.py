"""The interactive docs at /api/v1/docs work on an intranet with no outside network.

Headless Chromium (Debian's ``chromium``, driven by Playwright without any browser download) loads
the page from a live server while every request to anything but 127.0.0.1 is blocked; the page
must still render Swagger UI with the OpenAPI 3.1 document's operations, and summaries must not show
raw reStructuredText backticks. Skipped, with the reason, where Chromium or Playwright is missing
(``.ci/run`` installs Chromium).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from aduan.testing import waitress_in_thread

CHROMIUM = next((p for p in (os.environ.get("ADUAN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                             shutil.which("chromium-browser")) if p and os.path.exists(p)), None)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - a test dependency
    sync_playwright = None

ASSETS = Path(__file__).resolve().parents[1] / "core" / "aduan" / "static" / "swagger-ui"

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install -y chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="playwright is a test dependency: pip install -e '.[test]'"),
]


@pytest.fixture
def live(app):
    with waitress_in_thread(app, port=0) as server:
        yield f"http://127.0.0.1:{server.effective_port}"


def test_docs_page_renders_offline_in_headless_chromium(live, tmp_path):
    blocked, served = [], []

    def only_loopback(route):
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            served.append(route.request.url)
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page()
            page.route("**/*", only_loopback)
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"{live}/api/v1/docs", wait_until="load")
            page.wait_for_selector(".opblock-summary-path", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            summaries = page.locator(".opblock-summary-description").all_inner_texts()
            title = page.locator(".info .title").inner_text()
            filing = page.locator(".opblock-post").first  # POST /api/v1/complaints: "may set ``channel``"
            filing.locator(".opblock-summary").click()
            description = filing.locator(".opblock-description-wrapper").first
            description.wait_for(timeout=10_000)
            described = description.inner_text()
            code_spans = description.locator("code").all_inner_texts()
            page.screenshot(path=str(tmp_path / "docs.png"), full_page=False)
        finally:
            browser.close()
    assert blocked == [], f"the docs page reached outside the machine: {blocked}"
    assert any(u.endswith("/swagger-ui-bundle.js") for u in served)
    assert not errors, errors
    assert "aduan" in title and "OAS 3.1" in title
    assert any(p.replace("\u200b", "") == "/api/v1/complaints/{tracking_id}" for p in paths), paths
    assert len(paths) >= 20
    listing = next(s for s in summaries if s.startswith("List complaints"))
    assert "``" not in " ".join(summaries) and "`" not in listing, listing
    # docstring literals (``channel``) render as code, not as backticks
    assert "`" not in described and "channel" in code_spans, (described, code_spans)


def test_vendored_swagger_ui_is_pinned_with_its_licence(client):
    version = (ASSETS / "VERSION").read_text().strip()
    assert version.split(".")[0] == "5"  # 4.x cannot read OpenAPI 3.1
    assert "Apache License" in (ASSETS / "LICENSE").read_text()
    assert version in (ASSETS / "README.md").read_text()
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "https://" not in page and "cdn" not in page.lower()
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/v1/docs/assets/{name}" in page
        r = client.get(f"/api/v1/docs/assets/{name}")
        assert r.status_code == 200 and r.data == (ASSETS / name).read_bytes()
