"""The citizens' pages with the Flask client: every page, the filing and tracking flows, privacy."""
from __future__ import annotations

import io
import re
import sys
from pathlib import Path

import pytest

from aduan.db import database
from aduan.testing import auth, seed_basics

sys.path.insert(0, str(Path(__file__).parent))  # the helpers beside this file (importlib mode)
from portal_citizen_helpers import PNG, config, csrf, file_via_form, text_of  # noqa: E402


@pytest.fixture
def world(make_app):
    app = make_app(config())
    with app.app_context(), database.connection_context():
        seed = seed_basics()
        from aduan.models import Category

        Category.update(description="Jalan rusak, berlubang atau longsor.").where(Category.code == "jalan").execute()
    return app, seed


def api_file(client, **extra):
    body = {"title": "Lampu jalan mati", "body": "Lampu jalan di Jl. Pejanggik mati sejak seminggu.",
            "category": "jalan", "region_code": "52.71", **extra}
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


def act(client, token, tid, action, **body):
    r = client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=body, headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def test_home_explains_every_enabled_channel_with_its_configured_address(world):
    app, seed = world
    client = app.test_client()
    r = client.get("/portal/")
    assert r.status_code == 200
    text = text_of(r.get_data(as_text=True))
    assert "Laporkan masalah" in text or "Buat pengaduan" in text  # Indonesian by default
    for shown in ("0811 3900 100", "lapor@ntbprov.example", "@NTBCareBot", "0811 3900 200"):
        assert shown in text
    html = r.get_data(as_text=True)
    assert 'href="https://t.me/NTBCareBot"' in html and 'href="https://wa.me/6281139002' in html
    # an unconfigured channel is not advertised
    app2_text = text_of(app.test_client().get("/portal/?lang=en").get_data(as_text=True))
    assert "How to file" in app2_text and "SMS" in app2_text


def test_home_without_numbers_advertises_only_the_web(make_app):
    app = make_app(config(SMS_PUBLIC_NUMBER=None, EMAIL_FROM_ADDRESS="lapor@localhost", TELEGRAM_BOT_USERNAME=None,
                          WHATSAPP_PUBLIC_NUMBER=None))
    text = text_of(app.test_client().get("/portal/?lang=en").get_data(as_text=True))
    assert "On this website" in text
    assert "WhatsApp" not in text and "Telegram" not in text and "@ntbprov" not in text


def test_lapor_is_mentioned_when_enabled(make_app):
    app = make_app(config(PLUGINS=["portal", "lapor"]))
    text = text_of(app.test_client().get("/portal/?lang=en").get_data(as_text=True))
    assert "Also via SP4N-LAPOR!" in text


def test_home_lists_recent_public_complaints_only(world):
    app, seed = world
    client = app.test_client()
    public_tid, _ = api_file(client, title="Jembatan Ampenan retak")
    act(client, seed.coordinator, public_tid, "verify")
    secret_tid, _ = api_file(client, title="Pungli di kantor camat", secret=True)
    act(client, seed.coordinator, secret_tid, "verify")
    api_file(client, title="Belum diverifikasi")
    text = text_of(client.get("/portal/").get_data(as_text=True))
    assert "Jembatan Ampenan retak" in text
    assert "Pungli" not in text and secret_tid not in text and "Belum diverifikasi" not in text


def test_file_form_explains_kinds_categories_urgency_anonim_rahasia(world):
    app, _seed = world
    text = text_of(app.test_client().get("/portal/file?lang=en").get_data(as_text=True))
    for shown in ("Complaint", "Aspiration", "A question for a government office", "Jalan rusak, berlubang atau longsor.",
                  "First answer within 1 hours",
                  "Anonymous (anonim)", "Secret (rahasia)", "never see your name"):
        assert shown in text, shown


def test_filing_through_the_form_shows_the_codes_once_and_they_work(world):
    app, _seed = world
    client = app.test_client()
    token = csrf(client)
    r = client.post("/portal/file", content_type="multipart/form-data", data={
        "csrf_token": token, "submit": "1", "kind": "aspirasi", "title": "Taman bermain",
        "body": "Mohon dibangun taman bermain di Kelurahan Cakranegara.", "region_pick": "52.71",
        "name": "Baiq Nurul", "phone": "081907123456", "files": [(io.BytesIO(PNG), "taman.png")]})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/portal/file/done")
    page = client.get("/portal/file/done")
    html = page.get_data(as_text=True)
    tid = re.search(r'<code id="tid">([^<]+)</code>', html).group(1)
    code = re.search(r'<code id="code">([^<]+)</code>', html).group(1)
    assert "tidak dapat dipulihkan" in text_of(html)  # the code cannot be recovered
    assert page.headers.get("Cache-Control", "").startswith("no-store")
    # the QR code encodes the tracking page with the code in the fragment only
    import segno

    expected = segno.make(f"https://aduan.ntbprov.example/portal/track/{tid}#code={code}", error="m")
    path = re.search(r'<path[^>]*stroke="#000"[^>]* d="([^"]+)"', html).group(1)
    assert path in expected.svg_inline(scale=4, border=2, svgclass="qr", lineclass=None)
    # shown once
    again = client.get("/portal/file/done")
    assert again.status_code == 410 and code not in again.get_data(as_text=True)
    # the complaint was filed on the web with the photo, and the code opens it in the API
    view = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json
    assert view["kind"] == "aspirasi" and view["channel"] == "web" and view["reporter"]["name"] == "Baiq Nurul"
    assert [a["filename"] for a in view["attachments"]] == ["taman.png"]
    # the code never appeared in a URL and is not readable in the session cookie
    assert code not in r.headers["Location"]
    assert code.encode() not in session_payload(r.headers.get("Set-Cookie", ""))


def session_payload(set_cookie: str) -> bytes:
    """The decoded payload of Flask's signed session cookie (itsdangerous: base64, maybe zlib)."""
    import base64
    import zlib

    value = set_cookie.split("=", 1)[1].split(";")[0]
    compressed = value.startswith(".")
    raw = base64.urlsafe_b64decode(value.lstrip(".").split(".")[0] + "==")
    return zlib.decompress(raw) if compressed else raw


def test_field_errors_keep_what_was_typed(world):
    app, _seed = world
    client = app.test_client()
    r = client.post("/portal/file?lang=en", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "submit": "1", "title": "Sampah menumpuk", "body": "  ",
        "lat": "abc", "phone": "12", "name": "Lalu Ahmad"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'value="Sampah menumpuk"' in html and 'value="Lalu Ahmad"' in html
    assert 'id="lat-error"' in html and 'aria-invalid="true"' in html
    r = client.post("/portal/file?lang=id", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "submit": "1", "title": "Sampah menumpuk", "body": "", "phone": "12"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "wajib" in text_of(html).lower()  # "Teks pengaduan wajib diisi." next to the field
    assert 'id="body-error"' in html and 'id="reporter-phone-error"' in html
    for odd in ("²", "٣"):  # a category id in digits int() refuses, or other scripts' digits
        r = client.post("/portal/file?lang=en", content_type="multipart/form-data", data={
            "csrf_token": csrf(client), "submit": "1", "title": "Sampah", "body": "Menumpuk di pasar",
            "category_id": odd})
        assert r.status_code == 422 and 'id="category_id-error"' in r.get_data(as_text=True), odd


def test_a_file_of_the_wrong_type_files_nothing(world):
    app, _seed = world
    client = app.test_client()
    r = client.post("/portal/file?lang=en", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "submit": "1", "body": "Air PDAM keruh.",
        "files": [(io.BytesIO(b"#!/bin/sh\necho hi\n"), "run.sh")]})
    assert r.status_code == 422
    assert "run.sh is not a photo" in text_of(r.get_data(as_text=True))
    with app.app_context(), database.connection_context():
        from aduan.models import Complaint

        assert Complaint.select().count() == 0


def test_filing_is_rate_limited_like_the_api(make_app):
    app = make_app(config(RATE_LIMIT_FILE="1/hour"))
    with app.app_context(), database.connection_context():
        seed_basics()
    client = app.test_client()
    file_via_form(client)
    r = client.post("/portal/file?lang=en", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "submit": "1", "body": "Kedua kalinya, tetap berlubang."})
    assert r.status_code == 429
    html = r.get_data(as_text=True)
    assert "Too many complaints" in text_of(html) and "Kedua kalinya, tetap berlubang." in html
    # the API shares the budget
    assert client.post("/api/v1/complaints", json={"body": "Ketiga"}).status_code == 429


def test_region_steps_without_javascript_keep_the_text(world):
    app, _seed = world
    client = app.test_client()
    page = client.get("/portal/file").get_data(as_text=True)
    assert 'name="region_kabupaten"' in page  # one province only: it is chosen, its regencies offered
    r = client.post("/portal/file", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "region_step": "1", "title": "Drainase", "body": "Selokan tersumbat.",
        "region_province": "52", "region_kabupaten": "52.71"})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert 'name="region_kecamatan"' in html and 'value="Drainase"' in html and "Selokan tersumbat." in html
    kec = re.search(r'name="region_kecamatan">\s*<option value="">[^<]*</option>\s*<option value="([^"]+)"', html).group(1)
    r = client.post("/portal/file", content_type="multipart/form-data", data={
        "csrf_token": csrf(client), "region_step": "1", "body": "Selokan tersumbat.", "region_province": "52",
        "region_kabupaten": "52.71", "region_kecamatan": kec})
    html = r.get_data(as_text=True)
    desa = re.search(r'name="region_desa">\s*<option value="">[^<]*</option>\s*<option value="([^"]+)"', html).group(1)
    filed = file_via_form(client, region_province="52", region_kabupaten="52.71", region_kecamatan=kec,
                          region_desa=desa)
    view = client.get(f"/api/v1/complaints/{filed.tid}", headers={"X-Access-Code": filed.code}).json
    assert view["region"]["code"] == desa


def test_region_search_names_the_parents(world):
    app, _seed = world
    client = app.test_client()
    found = client.get("/portal/regions.json?q=Cakranegara").json
    assert found and all("Cakranegara" in f["label"] for f in found)
    assert any(f["label"].endswith("Kota Mataram") or "Mataram" in f["label"] for f in found)
    assert client.get("/portal/regions.json?q=a").json == []


def test_tracking_public_then_with_the_code(world):
    app, seed = world
    client = app.test_client()
    filed = file_via_form(client, name="Baiq Nurul", anonymous="1")
    stranger = app.test_client()
    r = stranger.get(f"/portal/track/{filed.tid}")
    assert r.status_code == 200
    text = text_of(r.get_data(as_text=True))
    assert "Jalan berlubang" in text and "Baiq Nurul" not in text and "Kirim penilaian" not in text
    # wrong code
    token = csrf(stranger, f"/portal/track/{filed.tid}")
    r = stranger.post(f"/portal/track/{filed.tid}?lang=en", data={"csrf_token": token, "access_code": "WRONG123"})
    assert r.status_code == 403 and "does not match" in text_of(r.get_data(as_text=True))
    # right code: the reporter's view, kept in the session, never in the URL
    r = stranger.post(f"/portal/track/{filed.tid}", data={"csrf_token": token, "access_code": filed.code})
    assert r.status_code == 303 and filed.code not in r.headers["Location"]
    assert filed.code not in r.headers.get("Set-Cookie", "")
    page = stranger.get(r.headers["Location"])
    text = text_of(page.get_data(as_text=True))
    assert "Baiq Nurul" in text and "Add information" in text  # English was chosen for the visit
    assert page.headers.get("Cache-Control", "").startswith("no-store")
    # forget on this device
    stranger.post(f"/portal/track/{filed.tid}/leave", data={"csrf_token": csrf(stranger, f"/portal/track/{filed.tid}")})
    assert "Baiq Nurul" not in text_of(stranger.get(f"/portal/track/{filed.tid}").get_data(as_text=True))


def test_the_tracking_form_finds_and_opens(world):
    app, _seed = world
    client = app.test_client()
    filed = file_via_form(client)
    other = app.test_client()
    token = csrf(other, "/portal/track")
    r = other.post("/portal/track?lang=en", data={"csrf_token": token, "tracking_id": "ZZZZZZZZ"})
    assert r.status_code == 404 and "No complaint has this tracking id." in text_of(r.get_data(as_text=True))
    r = other.post("/portal/track", data={"csrf_token": token, "tracking_id": filed.tid.lower(),
                                          "access_code": filed.code})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/portal/track/{filed.tid}")
    assert "Add information" in text_of(other.get(r.headers["Location"]).get_data(as_text=True))


def test_wrong_codes_are_rate_limited_like_the_api(make_app):
    app = make_app(config(RATE_LIMIT_TRACK="3/hour"))
    with app.app_context(), database.connection_context():
        seed_basics()
    client = app.test_client()
    tid, code = api_file(client)
    token = csrf(client, f"/portal/track/{tid}")
    statuses = [client.post(f"/portal/track/{tid}", data={"csrf_token": token, "access_code": "NOPE0000"}).status_code
                for _ in range(3)]
    assert statuses == [403, 403, 403]
    r = client.post(f"/portal/track/{tid}", data={"csrf_token": token, "access_code": code})
    assert r.status_code == 429  # even the right code waits
    assert client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).status_code == 429


def test_reporter_reply_rate_and_reopen_follow_the_workflow(world):
    app, seed = world
    client = app.test_client()
    filed = file_via_form(client, category_id="1")
    page = client.get(f"/portal/track/{filed.tid}?lang=en").get_data(as_text=True)
    assert "Add information" in page and "Rate the answer" not in page and "Reopen" not in page
    token = csrf(client, f"/portal/track/{filed.tid}")
    r = client.post(f"/portal/track/{filed.tid}/act/reply", data={"csrf_token": token, "text": "Lubangnya makin besar."})
    assert r.status_code == 303
    staff = app.test_client()
    act(staff, seed.coordinator, filed.tid, "verify")
    act(staff, seed.officer_a, filed.tid, "resolve", text="Sudah ditambal.")
    page = client.get(f"/portal/track/{filed.tid}?lang=en").get_data(as_text=True)
    for offered in ("Rate the answer", "Not solved? Reopen", "Close the complaint", "Sudah ditambal."):
        assert offered in text_of(page)
    r = client.post(f"/portal/track/{filed.tid}/act/rate?lang=en", data={"csrf_token": token, "rating": "9"})
    assert r.status_code == 422 and "Choose from 1 to 5" in text_of(r.get_data(as_text=True))
    r = client.post(f"/portal/track/{filed.tid}/act/rate", data={"csrf_token": token, "rating": "4",
                                                                   "text": "Terima kasih"})
    assert r.status_code == 303
    view = staff.get(f"/api/v1/complaints/{filed.tid}", headers=auth(seed.coordinator)).json
    assert view["status"] == "closed" and view["rating"] == 4 and view["rating_comment"] == "Terima kasih"
    assert [e["type"] for e in view["timeline"]][:2] == ["file", "reply"]
    # closed: no more replies nor reopening (the workflow still lets the reporter change the rating),
    # and the rating comment stays off the public page
    page = text_of(client.get(f"/portal/track/{filed.tid}?lang=en").get_data(as_text=True))
    assert "Add information" not in page and "Not solved? Reopen" not in page and "Rate the answer" in page
    assert "Terima kasih" not in text_of(app.test_client().get(f"/portal/complaints/{filed.tid}").get_data(as_text=True))
    # a stranger cannot act
    r = app.test_client().post(f"/portal/track/{filed.tid}/act/reply", data={"csrf_token": token, "text": "x"})
    assert r.status_code in (400, 403)


def test_secret_complaint_public_pages_show_status_and_dates_only(world):
    app, seed = world
    client = app.test_client()
    filed = file_via_form(client, secret="1", title="Pungutan liar oleh oknum", name="Saksi Rahasia",
                          files=[(io.BytesIO(PNG), "bukti.png")])
    act(app.test_client(), seed.coordinator, filed.tid, "verify", agency_id=seed.agency_a.id)
    public = app.test_client()
    for path in (f"/portal/track/{filed.tid}", f"/portal/complaints/{filed.tid}"):
        r = public.get(path)
        assert r.status_code == 200
        text = text_of(r.get_data(as_text=True))
        assert "Pungutan liar" not in text and "Saksi Rahasia" not in text and "bukti.png" not in text
        assert "Jalan di depan Pasar" not in text and "rahasia" in text.lower()
    assert filed.tid not in public.get("/portal/complaints").get_data(as_text=True)
    assert filed.tid not in public.get("/portal/complaints?q=Pungutan").get_data(as_text=True)
    att = re.search(r"/files/(\d+)", client.get(f"/portal/track/{filed.tid}").get_data(as_text=True)).group(1)
    assert public.get(f"/portal/track/{filed.tid}/files/{att}").status_code == 404
    # the reporter sees everything of their own secret complaint, files included
    page = text_of(client.get(f"/portal/track/{filed.tid}").get_data(as_text=True))
    assert "Pungutan liar" in page and "Saksi Rahasia" in page and "bukti.png" in page
    got = client.get(f"/portal/track/{filed.tid}/files/{att}")
    assert got.status_code == 200 and got.data == PNG


def test_public_list_filters_and_pages(world):
    app, seed = world
    client = app.test_client()
    tids = []
    for i in range(3):
        tid, _ = api_file(client, title=f"Lampu mati nomor {i}")
        act(client, seed.coordinator, tid, "verify")
        tids.append(tid)
    act(client, seed.officer_a, tids[0], "resolve", text="Sudah diganti.")
    unverified, _ = api_file(client, title="Belum dicek")
    html = client.get("/portal/complaints").get_data(as_text=True)
    assert all(t in html for t in tids) and unverified not in html
    html = client.get("/portal/complaints?status=resolved").get_data(as_text=True)
    assert tids[0] in html and tids[1] not in html
    html = client.get("/portal/complaints?q=nomor 2").get_data(as_text=True)
    assert tids[2] in html and tids[1] not in html
    html = client.get(f"/portal/complaints?agency_id={seed.agency_b.id}").get_data(as_text=True)
    assert not any(t in html for t in tids)
    assert client.get("/portal/complaints?page=99999999999999999999&category_id=x").status_code == 200
    assert client.get("/portal/complaints?after=99999999999999999999&before=-1").status_code == 200
    # digits that str.isdigit() takes and int() refuses (superscripts), or reads (Arabic-Indic, full
    # width): ignored like any other word, the whole list shown
    for odd in ("²", "٣", "１", "⁹⁹"):
        for key in ("after", "before", "category_id", "agency_id"):
            r = client.get("/portal/complaints", query_string={key: odd})
            assert r.status_code == 200 and all(t in r.get_data(as_text=True) for t in tids), (key, odd)
    page = client.get(f"/portal/complaints/{tids[0]}?lang=en")
    text = text_of(page.get_data(as_text=True))
    assert "Lampu mati nomor 0" in text and "Sudah diganti." in text and "Dinas PUPR" in text


def test_unknown_tracking_ids_are_404_and_counted(make_app):
    app = make_app(config(RATE_LIMIT_TRACK="2/hour"))
    client = app.test_client()
    assert client.get("/portal/track/NOSUCH01").status_code == 404
    assert client.get("/portal/complaints/NOSUCH02").status_code == 404
    assert client.get("/portal/track/NOSUCH03").status_code == 429


def test_report_card_shows_the_numbers_of_the_public_stats_api(world):
    app, seed = world
    client = app.test_client()
    for i in range(6):
        tid, code = api_file(client, title=f"Jalan {i}")
        act(client, seed.coordinator, tid, "verify")
        act(client, seed.officer_a, tid, "respond", text="Sedang kami periksa.")
        if i < 5:
            act(client, seed.officer_a, tid, "resolve", text="Selesai.")
            r = client.post(f"/api/v1/complaints/{tid}/actions/rate", json={"rating": 3 + i % 3},
                            headers={"X-Access-Code": code})
            assert r.status_code == 200
    for i in range(2):  # a small agency: withheld
        tid, _ = api_file(client, title=f"Puskesmas {i}")
        act(client, seed.coordinator, tid, "verify", agency_id=seed.agency_b.id)
    api_file(client, title="Rahasia", secret=True)
    stats = client.get("/api/v1/stats").json
    html = client.get("/portal/rapor").get_data(as_text=True)
    fig = {k: re.search(rf'<dd id="fig-{k}">([^<]*)</dd>', html).group(1)
           for k in ("total", "overdue", "first", "resolution", "rating")}

    def shown(v):
        return "–" if v is None else str(v)

    assert fig == {"total": shown(stats["total"]), "overdue": shown(stats["overdue"]),
                   "first": shown(stats["median_hours_to_first_response"]),
                   "resolution": shown(stats["median_days_to_resolution"]),
                   "rating": shown(stats["average_rating"])}
    assert stats["total"] == 8  # the secret one is left out of both
    table = html.split('<table id="agencies">')[1].split("</table>")[0]
    rows = re.findall(r'<tr data-agency-id="([^"]*)">(.*?)</tr>', table, flags=re.S)
    got = []
    for agency_id, row in rows:
        cells = re.findall(r"<td>([^<]*)</td>", row)
        got.append((int(agency_id) if agency_id else None, cells[0], cells[1], cells[2]))
    want = [(r["agency_id"], shown(r["total"]), shown(r["open"]), shown(r["overdue"])) for r in stats["by_agency"]]
    assert got == want
    assert ("–", "–", "–") in [g[1:] for g in got]  # the small agency is withheld on both
    assert "<svg" in html and 'role="img"' in html
    # one agency's page, and an unknown one
    assert client.get("/portal/rapor/PUPR").status_code == 200
    assert client.get("/portal/rapor/NOPE").status_code == 404


def test_track_url_points_to_the_portal(world):
    app, _seed = world
    r = app.test_client().post("/api/v1/complaints", json={"body": "Sampah di pantai Ampenan."})
    assert r.json["track_url"] == f"https://aduan.ntbprov.example/portal/track/{r.json['tracking_id']}"


def test_pages_speak_indonesian_by_default_and_english_on_request(world):
    app, _seed = world
    client = app.test_client()
    for path in ("/portal/", "/portal/file", "/portal/track", "/portal/complaints", "/portal/rapor"):
        id_page = client.get(path)
        assert id_page.status_code == 200, path
        en_page = app.test_client().get(path + "?lang=en")
        assert id_page.get_data(as_text=True) != en_page.get_data(as_text=True), path
        assert 'lang="id"' in id_page.get_data(as_text=True) and 'lang="en"' in en_page.get_data(as_text=True)


def test_links_in_email_notifications_open_the_portal(world):
    app, _seed = world
    from aduan_email.common import track_url  # the email plugin's notification link (EMAIL_TRACK_URL empty)

    with app.test_request_context():
        assert track_url("K7Q4M2XP") == "https://aduan.ntbprov.example/portal/track/K7Q4M2XP"


def test_the_map_is_offered_only_with_a_tile_url_whose_host_the_csp_allows(make_app):
    app = make_app(config(PORTAL_TILE_URL="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"))
    r = app.test_client().get("/portal/file")
    assert 'id="map-open"' in r.get_data(as_text=True)
    assert "img-src 'self' data: https://*.tile.openstreetmap.org;" in r.headers["Content-Security-Policy"]
    plain = make_app(config()).test_client().get("/portal/file")
    assert 'id="map-open"' not in plain.get_data(as_text=True)
    assert "openstreetmap" not in plain.headers["Content-Security-Policy"]


def test_public_list_pages_by_keyset_both_ways_and_caps_its_count(world, monkeypatch):
    """The public list is the API's (aduan.listing): "older" continues after the last complaint shown,
    "newer" goes back before the first, every complaint once in either direction; the count stops at
    COUNT_CAP ("more than …") instead of counting a whole table."""
    from aduan_portal import citizen

    app, seed = world
    client = app.test_client()
    tids = []
    for i in range(7):
        tid, _ = api_file(client, title=f"Jalan rusak nomor {i}")
        act(client, seed.coordinator, tid, "verify")
        tids.append(tid)
    monkeypatch.setattr(citizen, "PAGE_SIZE", 3)
    shown = lambda html: [t for t in re.findall(r"/portal/complaints/([A-Z0-9]{6,})\"", html)]  # noqa: E731
    pages, url = [], "/portal/complaints?q=Jalan rusak"
    while url:
        html = client.get(url).get_data(as_text=True)
        pages.append(shown(html))
        nxt = re.search(r'href="([^"]+)" rel="next"', html)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert [len(p) for p in pages] == [3, 3, 1]
    assert sum(pages, []) == list(reversed(tids))  # newest first, each once
    back = []
    url = re.search(r'href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&")
    while url:
        html = client.get(url).get_data(as_text=True)
        back.append(shown(html))
        prev = re.search(r'href="([^"]+)" rel="prev"', html)
        url = prev.group(1).replace("&amp;", "&") if prev else None
    assert back == pages[-2::-1]
    # a "newer" page costs what an "older" page costs (its rows' agencies, categories and regions
    # from the directory cache, not a query per row)
    from aduan.testing import recording_queries

    def queries(u):
        with recording_queries() as seen:
            assert client.get(u).status_code == 200
        return len(seen)

    middle = client.get("/portal/complaints?q=Jalan rusak").get_data(as_text=True)
    older = re.search(r'href="([^"]+)" rel="next"', middle).group(1).replace("&amp;", "&")
    html = client.get(older).get_data(as_text=True)
    newer = re.search(r'href="([^"]+)" rel="prev"', html).group(1).replace("&amp;", "&")
    queries(older), queries(newer)  # warm the directory cache
    assert queries(newer) == queries(older)
    assert "7 pengaduan" in client.get("/portal/complaints?q=Jalan rusak").get_data(as_text=True)
    monkeypatch.setattr(citizen, "COUNT_CAP", 5)
    assert "Lebih dari 5 pengaduan" in client.get("/portal/complaints?q=Jalan rusak").get_data(as_text=True)


def test_an_unexpected_error_on_a_page_is_a_page(make_app, caplog):
    """A fault nobody foresaw, inside the portal, answers with the portal's error page in the
    reader's language (it was the API's JSON, shown raw on a citizen's phone), and is logged."""
    import logging

    app = make_app(config())

    def broken():
        raise RuntimeError("a fault nobody foresaw")

    app.add_url_rule("/portal/rusak", "portal_test_broken", broken)
    caplog.set_level(logging.ERROR, logger="aduan")
    r = app.test_client().get("/portal/rusak")
    assert r.status_code == 500 and r.mimetype == "text/html", (r.status_code, r.data[:200])
    assert "kesalahan internal" in text_of(r.get_data(as_text=True))  # "Terjadi kesalahan internal; …"
    assert "unhandled error on GET /portal/rusak" in caplog.text
    r = app.test_client().get("/portal/rusak?lang=en")
    assert r.status_code == 500 and "Internal error" in text_of(r.get_data(as_text=True))
    # the API keeps its JSON error
    app2 = make_app(config())
    app2.add_url_rule("/api/v1/rusak", "api_test_broken", broken)
    r = app2.test_client().get("/api/v1/rusak")
    assert r.status_code == 500 and r.is_json and r.json["code"] == 500
