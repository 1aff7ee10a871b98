"""Staff pages for each role: queues with filters, counts, overdue clocks and keyset pages; the
complaint page (privacy per audience, workflow buttons, actions, errors, attachments, another
agency's 404); response templates."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest

from aduan import workflow
from aduan.auth import Actor
from aduan.db import database, utcnow
from aduan.models import Complaint, User
from aduan.services import add_attachment, file_complaint, perform
from aduan.testing import recording_queries
from aduan_portal.testing import csrf_of, sign_in

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64
KOORD = Actor(role="coordinator", user_id=None, username="koord")


@pytest.fixture
def world(p_app, p_seed):
    """Complaints: one received (anonymous, with a reporter), one disposed to PUPR (secret, with an
    internal note and two attachments), one disposed to DIKES."""
    with p_app.app_context(), database.connection_context():
        koord = User.get(User.username == "koord")
        actor = Actor(role="coordinator", user_id=koord.id, username="koord")
        rec, _ = file_complaint({"title": "Sampah menumpuk", "body": "Sampah di pasar belum diangkut.",
                                 "category": "jalan", "anonymous": True,
                                 "reporter": {"name": "Baiq Nurul", "phone": "081907123456"}},
                                actor=Actor(role="reporter"))
        pupr, _ = file_complaint({"title": "Jalan berlubang", "body": "Lubang besar di Jl. Udayana.",
                                  "category": "jalan", "secret": True,
                                  "reporter": {"name": "Lalu Ahmad", "phone": "081907000111"}},
                                 actor=Actor(role="reporter"))
        perform(pupr, "verify", actor, agency_id=p_seed.agency_a.id)
        perform(pupr, "comment", actor, text="Catatan internal: cek lokasi dulu.")
        add_attachment(pupr, Actor(role="reporter", complaint_id=pupr.id), io.BytesIO(PNG), "foto.png")
        add_attachment(pupr, actor, io.BytesIO(PNG + b"x"), "internal.png", visibility="internal")
        dikes, _ = file_complaint({"title": "Puskesmas tutup", "body": "Puskesmas tutup di jam kerja."},
                                  actor=Actor(role="reporter"))
        perform(dikes, "verify", actor, agency_id=p_seed.agency_b.id)
        return {"received": rec.tracking_id, "pupr": pupr.tracking_id, "dikes": dikes.tracking_id,
                "seed": p_seed}


def client_for(p_app, user_of, username):
    c = p_app.test_client()
    sign_in(c, user_of(username))
    return c


def text(r):
    return r.get_data(as_text=True)


def action_forms(html: str) -> list[str]:
    return re.findall(r'action="/portal/staff/complaints/[A-Z0-9]+/actions/([a-z_]+)"', html)


# -- queues ------------------------------------------------------------------------------------------

def test_coordinator_queue_tabs_and_counts(p_app, user_of, world):
    c = client_for(p_app, user_of, "koord")
    r = c.get("/portal/staff/")
    html = text(r)
    assert r.status_code == 200
    assert "Masuk <span class=\"count\">(1)</span>" in html  # incoming = received
    assert "Terbuka <span class=\"count\">(3)</span>" in html
    assert world["received"] in html and world["pupr"] not in html  # the incoming tab
    html = text(c.get("/portal/staff/?tab=all"))
    assert all(world[k] in html for k in ("received", "pupr", "dikes"))
    # the agency filter with the API's meaning; the counts follow it
    html = text(c.get(f"/portal/staff/?tab=all&agency_id={world['seed'].agency_b.id}"))
    assert world["dikes"] in html and world["pupr"] not in html
    assert "Semua <span class=\"count\">(1)</span>" in html
    html = text(c.get("/portal/staff/?tab=all&q=Udayana"))
    assert world["pupr"] in html and world["dikes"] not in html


def test_officer_queue_is_their_agency_only(p_app, user_of, world):
    c = client_for(p_app, user_of, "off_a")
    html = text(c.get("/portal/staff/?tab=all"))
    assert world["pupr"] in html and world["dikes"] not in html and world["received"] not in html
    assert "?tab=incoming" not in html  # no incoming tab for officers
    assert 'name="agency_id"' not in html
    # asking for another agency changes nothing: still their own
    html = text(c.get(f"/portal/staff/?tab=all&agency_id={world['seed'].agency_b.id}"))
    assert world["pupr"] in html and world["dikes"] not in html
    assert c.get("/portal/staff/?tab=incoming").status_code == 404


def test_overdue_is_highlighted_by_which_clock(p_app, user_of, world):
    with p_app.app_context(), database.connection_context():
        past = utcnow() - dt.timedelta(days=2)
        Complaint.update(due_verify=past).where(Complaint.tracking_id == world["received"]).execute()
        Complaint.update(due_followup=past).where(Complaint.tracking_id == world["pupr"]).execute()
    c = client_for(p_app, user_of, "koord")
    html = text(c.get("/portal/staff/?tab=overdue"))
    assert "Terlambat <span class=\"count\">(2)</span>" in html
    rows = dict(re.findall(r'<tr class="overdue">\s*<td><a href="[^"]+">([A-Z0-9]+)</a>.*?<td>(<span class="late">.*?)</td>',
                           html, re.S))
    assert "verifikasi terlambat" in rows[world["received"]] and "tindak lanjut" not in rows[world["received"]]
    assert "tindak lanjut terlambat" in rows[world["pupr"]]
    assert world["dikes"] not in html
    html = text(c.get(f"/portal/staff/complaints/{world['pupr']}"))
    assert 'class="late">tindak lanjut terlambat' in html


def test_queue_is_keyboard_friendly(p_app, user_of, world):
    html = text(client_for(p_app, user_of, "koord").get("/portal/staff/"))
    assert 'class="skip" href="#main"' in html
    assert 'aria-current="page"' in html
    assert "<label for=\"f-q\">" in html and 'id="f-q"' in html
    assert 'onclick' not in html and 'tabindex="1' not in html


def test_queue_pages_with_a_cursor(p_app, user_of, world):
    with p_app.app_context(), database.connection_context():
        for i in range(30):
            file_complaint({"title": f"Aduan nomor {i}", "body": f"Isi aduan {i}."}, actor=Actor(role="reporter"))
    c = client_for(p_app, user_of, "koord")
    html = text(c.get("/portal/staff/?tab=incoming"))
    assert "Masuk <span class=\"count\">(31)</span>" in html
    assert len(re.findall(r'<tr[^>]*>\s*<td><a href="/portal/staff/complaints/', html)) == 25
    nxt = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "cursor=" in nxt and "tab=incoming" in nxt
    html2 = text(c.get(nxt))
    assert len(re.findall(r'<tr[^>]*>\s*<td><a href="/portal/staff/complaints/', html2)) == 6
    assert 'rel="next"' not in html2
    assert "Aduan nomor 29" in html and "Aduan nomor 29" not in html2


@pytest.mark.parametrize("query", ["created_from=2026-13-45", "agency_id=99999999999999999999", "urgency=kiamat",
                                   "cursor=bm90LWEtbnVtYmVy", "status=lost", "q=x"])
def test_bad_filters_are_field_messages_not_errors(p_app, user_of, world, query):
    r = client_for(p_app, user_of, "koord").get(f"/portal/staff/?tab=all&{query}")
    assert r.status_code == 400 and 'role="alert"' in text(r)


def test_signed_out_and_wrong_role(p_app, pc, user_of, world):
    r = pc.get(f"/portal/staff/complaints/{world['pupr']}")
    assert r.status_code == 302 and "/portal/sign-in" in r.headers["Location"]


# -- the complaint page --------------------------------------------------------------------------------

def test_officer_of_another_agency_gets_404_everywhere(p_app, user_of, world):
    c = client_for(p_app, user_of, "off_b")
    tid = world["pupr"]
    assert c.get(f"/portal/staff/complaints/{tid}").status_code == 404
    assert c.get(f"/portal/staff/complaints/{tid}/attachments/1").status_code == 404
    page = text(c.get("/portal/staff/"))
    r = c.post(f"/portal/staff/complaints/{tid}/actions/respond", data={"text": "x", "csrf_token": csrf_of(page)})
    assert r.status_code == 404
    assert c.get(f"/portal/staff/complaints/{world['received']}").status_code == 404  # not disposed yet
    assert c.get("/portal/staff/complaints/NOSUCH23").status_code == 404
    # their own agency's complaint opens
    assert c.get(f"/portal/staff/complaints/{world['dikes']}").status_code == 200


def test_buttons_are_exactly_the_workflow_actions(p_app, user_of, world):
    for username, role, key, status in (("koord", "coordinator", "received", "received"),
                                        ("koord", "coordinator", "pupr", "dispatched"),
                                        ("off_a", "officer", "pupr", "dispatched"),
                                        ("admin", "admin", "dikes", "dispatched")):
        html = text(client_for(p_app, user_of, username).get(f"/portal/staff/complaints/{world[key]}"))
        assert action_forms(html) == workflow.allowed_actions(status, role), (username, key)
    html = text(client_for(p_app, user_of, "off_a").get(f"/portal/staff/complaints/{world['pupr']}"))
    assert "verify" not in action_forms(html) and "reject" not in action_forms(html)


def test_privacy_per_audience_on_the_page(p_app, user_of, world):
    koord = client_for(p_app, user_of, "koord")
    html = text(koord.get(f"/portal/staff/complaints/{world['received']}"))
    assert "Baiq Nurul" in html  # coordinators see an anonymous reporter
    with p_app.app_context(), database.connection_context():
        actor = Actor(role="coordinator", user_id=User.get(User.username == "koord").id)
        perform(world["received"], "verify", actor, agency_id=world["seed"].agency_a.id)
    off = client_for(p_app, user_of, "off_a")
    html = text(off.get(f"/portal/staff/complaints/{world['received']}"))
    assert "Baiq Nurul" not in html and "081907123456" not in html and "dirahasiakan (anonim)" in html
    # a secret complaint: its agency's officer reads its content, notes and attachments
    html = text(off.get(f"/portal/staff/complaints/{world['pupr']}"))
    assert "Lubang besar di Jl. Udayana." in html and "Lalu Ahmad" in html
    assert "Catatan internal: cek lokasi dulu." in html and "catatan internal" in html
    assert "foto.png" in html and "internal.png" in html


def test_attachments_download_through_a_checked_route(p_app, user_of, world):
    off = client_for(p_app, user_of, "off_a")
    html = text(off.get(f"/portal/staff/complaints/{world['pupr']}"))
    links = re.findall(r'href="(/portal/staff/complaints/[A-Z0-9]+/attachments/\d+)"', html)
    assert len(links) == 2
    r = off.get(links[0])
    assert r.status_code == 200 and r.data == PNG and r.mimetype == "image/png"
    assert "attachment" in r.headers["Content-Disposition"] and "no-store" in r.headers["Cache-Control"]
    # the same URL for an officer of another agency, and a mismatched complaint: 404
    assert client_for(p_app, user_of, "off_b").get(links[0]).status_code == 404
    other = links[0].replace(world["pupr"], world["dikes"])
    assert client_for(p_app, user_of, "koord").get(other).status_code == 404


def post_action(c, tid, action, data):
    page = text(c.get(f"/portal/staff/complaints/{tid}"))
    return c.post(f"/portal/staff/complaints/{tid}/actions/{action}", data={**data, "csrf_token": csrf_of(page)})


def test_verify_then_officer_works_it(p_app, user_of, world):
    koord = client_for(p_app, user_of, "koord")
    tid = world["received"]
    r = post_action(koord, tid, "verify", {"agency_id": str(world["seed"].agency_a.id), "text": ""})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/portal/staff/complaints/{tid}#timeline")
    html = text(koord.get(f"/portal/staff/complaints/{tid}"))
    assert "selesai dilakukan" in html and "Terverifikasi" in html
    off = client_for(p_app, user_of, "off_a")
    r = post_action(off, tid, "respond", {"text": "Sedang kami tangani."})
    assert r.status_code == 302
    html = text(off.get(f"/portal/staff/complaints/{tid}"))
    assert "Sedang kami tangani." in html and "Dalam proses" in html


def test_illegal_action_and_field_errors_are_shown_in_the_page(p_app, user_of, world):
    koord = client_for(p_app, user_of, "koord")
    r = post_action(koord, world["received"], "close", {})
    assert r.status_code == 409 and 'id="action-error"' in text(r) and "tidak diizinkan" in text(r)
    r = post_action(koord, world["pupr"], "transfer", {"text": "Bukan wewenang kami."})
    assert r.status_code == 400
    html = text(r)
    assert 'id="transfer-agency-error"' in html and "Bukan wewenang kami." in html  # what was typed is kept
    r = post_action(koord, world["pupr"], "transfer", {"agency_id": "99999999999999999999", "text": "x"})
    assert r.status_code == 400
    r = post_action(koord, world["pupr"], "respond", {"text": ""})
    assert r.status_code == 400 and 'id="respond-text-error"' in text(r)
    assert client_for(p_app, user_of, "koord").post(
        f"/portal/staff/complaints/{world['pupr']}/actions/respond", data={"text": "tanpa token"}).status_code == 400


def test_transfer_with_a_reason_leaves_the_officers_reach(p_app, user_of, world):
    off = client_for(p_app, user_of, "off_a")
    tid = world["pupr"]
    r = post_action(off, tid, "transfer", {"agency_id": str(world["seed"].agency_b.id),
                                           "text": "Bukan wewenang PUPR: urusan Dinas Kesehatan."})
    assert r.status_code == 302 and r.headers["Location"].endswith("/portal/staff/")
    assert off.get(f"/portal/staff/complaints/{tid}").status_code == 404
    html = text(client_for(p_app, user_of, "off_b").get(f"/portal/staff/complaints/{tid}"))
    assert "Bukan wewenang PUPR" in html and "Dinas Kesehatan" in html


# -- response templates ----------------------------------------------------------------------------------

def make_template(c, data):
    page = text(c.get("/portal/staff/templates/new"))
    return c.post("/portal/staff/templates/new", data={**data, "csrf_token": csrf_of(page)})


def test_respond_with_a_template_without_javascript(p_app, user_of, world):
    off = client_for(p_app, user_of, "off_a")
    r = make_template(off, {"name": "Terima kasih", "body": "Aduan {tracking_id} ({title}) ditangani oleh "
                                                          "{agency}. Salam, {officer}. {unknown_left}"})
    assert r.status_code == 400 and "{unknown_left}" in text(r)  # unknown placeholders are refused
    r = make_template(off, {"name": "Terima kasih", "body": "Aduan {tracking_id} ({title}) ditangani oleh "
                                                          "{agency}. Salam, {officer}."})
    assert r.status_code == 302
    tid = world["pupr"]
    html = text(off.get(f"/portal/staff/complaints/{tid}"))
    tpl_id = re.search(r'<option value="(\d+)" data-body="[^"]*">Terima kasih</option>', html).group(1)
    r = post_action(off, tid, "respond", {"template_id": tpl_id, "use_template": "1", "text": ""})
    assert r.status_code == 200
    filled = f"Aduan {tid} (Jalan berlubang) ditangani oleh Dinas PUPR. Salam, Off_A."
    assert f">{filled}</textarea>" in text(r)
    r = post_action(off, tid, "respond", {"template_id": tpl_id, "text": filled})
    assert r.status_code == 302
    assert filled in text(off.get(f"/portal/staff/complaints/{tid}"))
    with p_app.app_context(), database.connection_context():
        assert Complaint.get(Complaint.tracking_id == tid).status == "in_progress"


def test_templates_per_agency_and_role(p_app, user_of, world):
    koord = client_for(p_app, user_of, "koord")
    off_a, off_b = client_for(p_app, user_of, "off_a"), client_for(p_app, user_of, "off_b")
    b_id = world["seed"].agency_b.id
    assert make_template(koord, {"name": "Untuk Dikes", "body": "Ditangani Dinas Kesehatan.",
                                 "agency_id": str(b_id)}).status_code == 302
    assert make_template(koord, {"name": "Umum", "body": "Terima kasih atas aduan {tracking_id}."}).status_code == 302
    # an officer cannot pick another agency: theirs is forced
    assert make_template(off_a, {"name": "PUPR saja", "body": "Tim PUPR menuju lokasi.",
                                 "agency_id": str(b_id)}).status_code == 302
    html = text(off_a.get("/portal/staff/templates/"))
    assert "PUPR saja" in html and "Untuk Dikes" not in html and "Umum" not in html
    html = text(koord.get("/portal/staff/templates/"))
    assert all(n in html for n in ("PUPR saja", "Untuk Dikes", "Umum", "{tracking_id}"))
    ids = dict((name, int(i)) for i, name in re.findall(r'href="/portal/staff/templates/(\d+)">([^<]+)<', html))
    # another agency's template is not there for an officer
    assert off_a.get(f"/portal/staff/templates/{ids['Untuk Dikes']}").status_code == 404
    page = text(off_a.get("/portal/staff/templates/"))
    assert off_a.post(f"/portal/staff/templates/{ids['Untuk Dikes']}/delete",
                      data={"csrf_token": csrf_of(page)}).status_code == 404
    # offered on the respond form: the complaint's agency's and the shared ones
    html = text(off_b.get(f"/portal/staff/complaints/{world['dikes']}"))
    assert ">Untuk Dikes</option>" in html and ">Umum</option>" in html and "PUPR saja" not in html
    # edit and delete
    page = text(koord.get(f"/portal/staff/templates/{ids['Umum']}"))
    r = koord.post(f"/portal/staff/templates/{ids['Umum']}", data={"name": "Umum baru", "body": "Halo {officer}.",
                                                                   "csrf_token": csrf_of(page)})
    assert r.status_code == 302 and "Umum baru" in text(koord.get("/portal/staff/templates/"))
    page = text(koord.get("/portal/staff/templates/"))
    assert koord.post(f"/portal/staff/templates/{ids['Umum']}/delete",
                      data={"csrf_token": csrf_of(page)}).status_code == 302
    assert "Umum baru" not in text(koord.get("/portal/staff/templates/"))
    assert koord.post(f"/portal/staff/templates/{ids['PUPR saja']}/delete", data={}).status_code == 400  # CSRF


def test_queue_costs_the_same_queries_for_5_and_25_complaints_and_counts_stop_at_the_cap(p_app, p_seed, user_of,
                                                                                        monkeypatch):
    """The staff queue is the API's list (aduan.listing): one query for the page whatever its length
    (no query per row for its agency, category or region), counts that stop at COUNT_CAP instead of
    counting a whole table, and the channel choices by an index skip scan."""
    from aduan_portal import staff

    with p_app.app_context(), database.connection_context():
        koord = User.get(User.username == "koord")
        actor = Actor(role="coordinator", user_id=koord.id, username="koord")
        for i in range(31):
            c, _ = file_complaint({"title": f"Lampu mati {i}", "body": f"Lampu jalan mati di gang {i}.",
                                   "category": "jalan", "region_code": "52.71"}, actor=Actor(role="reporter"),
                                  channel=("web", "sms", "whatsapp")[i % 3])
            perform(c, "verify", actor, agency_id=(p_seed.agency_a if i % 2 else p_seed.agency_b).id)
    c = client_for(p_app, user_of, "koord")
    seen: list = []

    def queries(url) -> tuple[int, str]:
        with recording_queries() as run:
            r = c.get(url)
        assert r.status_code == 200
        seen[:] = [sql for sql, _params in run]
        return len(run), text(r)

    # a cold directory cache reads the page's agencies, categories and regions: one query per table
    monkeypatch.setattr(staff, "PAGE_SIZE", 25)
    n_cold = queries("/portal/staff/?tab=open")[0]
    monkeypatch.setattr(staff, "PAGE_SIZE", 5)
    n5, html5 = queries("/portal/staff/?tab=open")
    assert len(re.findall(r"/portal/staff/complaints/[A-Z0-9]+\"", html5)) == 5
    monkeypatch.setattr(staff, "PAGE_SIZE", 25)
    n25, html25 = queries("/portal/staff/?tab=open")
    assert len(re.findall(r"/portal/staff/complaints/[A-Z0-9]+\"", html25)) == 25
    assert n5 == n25 <= n_cold <= n25 + 3, (n5, n25, n_cold)
    assert not any("DISTINCT" in s for s in seen)
    for ch in ("sms", "web", "whatsapp"):
        assert f'<option value="{ch}"' in html25
    monkeypatch.setattr(staff, "COUNT_CAP", 10)
    html = queries("/portal/staff/?tab=open")[1]
    assert "Terbuka <span class=\"count\">(10+)</span>" in html
    html = queries(f"/portal/staff/?tab=all&agency_id={p_seed.agency_a.id}&channel=sms")[1]
    assert "Semua <span class=\"count\">(5)</span>" in html  # below the cap: exact
