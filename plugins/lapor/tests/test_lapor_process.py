"""Every public step reaches SP4N-LAPOR!, in the right order, with its place, and nothing dies waiting
(issue #12). Each test drives the simulator over HTTP and checks both sides: what LAPOR! holds and what
the deployment shows."""
import csv

from aduan.db import database
from aduan.models import Job
from aduan.testing import auth
from aduan_lapor.cli import lapor_group
from aduan_lapor.testing import act, drain, file, make_due, map_agency, staff_view, wib


def _ticket(client, token, tid):
    r = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def _stuck(client, token):
    r = client.get("/api/v1/plugins/lapor/stuck", headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def _lapor_jobs(app):
    with app.app_context(), database.connection_context():
        return list(Job.select().where(Job.kind.startswith("lapor.")).order_by(Job.id))


# --- item 1: waiting for credentials -------------------------------------------------------------

def test_pushes_made_while_unconfigured_wait_without_dying_and_go_out_once_configured(lapor, sim):
    app0, client0, seed = lapor(LAPOR_BEARER_TOKEN=None, LAPOR_TOKEN_GUID=None, JOB_MAX_ATTEMPTS=2)
    tid, _ = file(client0)
    act(client0, tid, "verify", seed.coordinator)
    act(client0, tid, "respond", seed.officer_a, text="Tim kami sedang memeriksa lokasi.")
    for _ in range(6):  # three times the attempt budget: weeks of waiting for the ministry
        make_due(app0)
        drain(app0)
    jobs = _lapor_jobs(app0)
    assert {j.kind for j in jobs} == {"lapor.push", "lapor.reply"}
    assert {(j.status, j.attempts) for j in jobs} == {("pending", 0)}
    (push,) = [j for j in jobs if j.kind == "lapor.push"]
    assert "not configured" in push.last_error
    assert sim.calls() == []
    # jobs that died of waiting under an older release are revived too
    with app0.app_context(), database.connection_context():
        Job.update(status="dead", attempts=2).where(Job.kind.startswith("lapor.")).execute()

    # the credentials arrive and the worker restarts with them: everything goes out, once, unattended
    app, client, _ = lapor(seed=False, JOB_MAX_ATTEMPTS=2)
    drain(app)
    assert {j.status for j in _lapor_jobs(app)} == {"done"}
    assert len(sim.complaints_with(tid)) == 1
    assert [c.form["content"] for c in sim.calls("E8")] == ["Tim kami sedang memeriksa lokasi."]
    assert _ticket(client, seed.coordinator, tid)["state"] == "created"


# --- item 2: transfers after the push ----------------------------------------------------------------

def test_transfer_to_an_unmapped_agency_goes_back_to_us_in_lapor_and_is_flagged_until_mapped(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)  # PUPR; DIKES has no LAPOR! institution
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    lid = _ticket(client, seed.coordinator, tid)["lapor_id"]
    assert sim.complaints[lid]["disposition_id"] == 1002

    act(client, tid, "transfer", seed.officer_a, agency_id=seed.agency_b.id, text="Ini urusan puskesmas.")
    drain(app)
    # LAPOR!: no longer at PUPR, back with our own institution, with the officer's reason
    assert [c.json["reason"] for c in sim.calls("E5")] == [1002, 1001]
    assert sim.complaints[lid]["disposition_id"] == 1001
    assert "Ini urusan puskesmas." in sim.calls("E5")[-1].json["reason_description"]
    # here: with DIKES, and a visible note and a stuck entry say LAPOR! cannot show it
    view = staff_view(client, tid, seed.coordinator)
    assert view["status"] == "dispatched" and view["agency"]["code"] == "DIKES"
    notes = [e["text"] for e in view["timeline"] if e["source"] == "lapor" and e["visibility"] == "internal"]
    assert any("Dinas Kesehatan" in n and "belum dipetakan" in n for n in notes)
    # a note is kept as its message: an English reader reads it in English
    en = client.get(f"/api/v1/complaints/{tid}?lang=en", headers=auth(seed.coordinator)).json["timeline"]
    assert any("Dinas Kesehatan has no LAPOR! institution" in e["text"] for e in en)
    (entry,) = _stuck(client, seed.coordinator)["tickets"]
    assert entry["tracking_id"] == tid and "Dinas Kesehatan" in entry["attention"]
    out = app.test_cli_runner().invoke(lapor_group, ["stuck"]).output
    assert tid in out and "Dinas Kesehatan" in out

    # mapping the agency forwards it at once; nothing is left for the operator
    map_agency(client, seed.coordinator, seed.agency_b.id, 1003)
    drain(app)
    assert [c.json["reason"] for c in sim.calls("E5")] == [1002, 1001, 1003]
    assert sim.complaints[lid]["disposition_id"] == 1003
    assert _stuck(client, seed.coordinator)["tickets"] == []

    # it comes back to an agency LAPOR! knows as our own institution: forwarded back to us
    map_agency(client, seed.coordinator, seed.agency_a.id, 1001)
    act(client, tid, "transfer", seed.officer_b, agency_id=seed.agency_a.id, text="Kembali ke PUPR.")
    drain(app)
    assert [c.json["reason"] for c in sim.calls("E5")] == [1002, 1001, 1003, 1001]
    assert sim.complaints[lid]["disposition_id"] == 1001
    assert staff_view(client, tid, seed.coordinator)["extra"]["lapor"]["forwarded_to"] == 1001


# --- item 3: LAPOR!'s own order ------------------------------------------------------------------------

def test_import_with_an_answer_given_after_verification_lands_in_order_and_counts_as_first_response(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)
    lid = sim.new_complaint(title="Jembatan retak", content="Jembatan di Jalan Udayana retak.", disposition_id=1002)
    sim.complaints[lid]["logs"][0]["created_at"] = wib(-90)
    sim.set_status(lid, "Terverifikasi", at=wib(-60))
    sim.add_followup(lid, "Tim PUPR akan meninjau jembatan besok pagi.", at=wib(-30))

    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": lid}, headers=auth(seed.coordinator))
    assert r.status_code == 201, r.json
    tid = r.json["tracking_id"]
    view = staff_view(client, tid, seed.coordinator)
    # the answer came after verification there, so here it is an answer on a verified complaint
    assert view["status"] == "in_progress" and view["agency"]["code"] == "PUPR"
    assert view["first_response_at"] is not None
    types = [e["type"] for e in view["timeline"] if e["type"] in ("verify", "respond", "comment")
             and e["visibility"] == "public"]
    assert types.index("verify") < types.index("respond")
    (answer,) = [e for e in view["timeline"] if e["type"] == "respond"]
    assert answer["text"].startswith("Tim PUPR akan meninjau jembatan besok pagi.")
    # LAPOR! is untouched: nothing of it was sent back
    assert sim.calls("E4") == [] and sim.calls("E5") == [] and sim.calls("E8") == []
    assert sim.complaints[lid]["status_name"] == "Terverifikasi"


# --- item 4: location ------------------------------------------------------------------------------------

def test_region_only_complaint_carries_its_lapor_location_and_region_names(lapor, sim, tmp_path):
    app, client, seed = lapor()
    tid, _ = file(client, region_code="52.71.01")  # a kecamatan, no address, no coordinates
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    (create,) = sim.calls("E4")
    assert create.json["location_id"] == 527101  # the NTB example table shipped with the plugin
    assert "Wilayah: Ampenan, Kota Mataram" in create.json["content"]
    assert "Lokasi:" not in create.json["content"] and "Koordinat:" not in create.json["content"]
    assert "date_of_incident" not in create.json  # unknown: left out, not the filing date
    assert _ticket(client, seed.coordinator, tid)["state"] == "created"
    assert staff_view(client, tid, seed.coordinator)["region"]["code"] == "52.71.01"

    # a regency's own table (the official ids), an override, and an exact place with coordinates
    table = tmp_path / "lokasi.csv"
    with open(table, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["kode", "nama", "location_id"], ["52.71", "Kota Mataram", "777"]])
    app2, client2, _ = lapor(seed=False, LAPOR_LOCATION_TABLE=str(table), LAPOR_LOCATION_MAP={"52.71.02": 778})
    t1, _ = file(client2, region_code="52.71.01", address="Jl. Pejanggik 10", lat=-8.5833, lng=116.1167)
    t2, _ = file(client2, region_code="52.71.02")
    for t in (t1, t2):
        act(client2, t, "verify", seed.coordinator)
    drain(app2)
    by_tid = {tid_: sim.complaints_with(tid_)[0]["body"] for tid_ in (t1, t2)}
    assert by_tid[t1]["location_id"] == 777 and by_tid[t2]["location_id"] == 778
    assert "Lokasi: Jl. Pejanggik 10" in by_tid[t1]["content"]
    assert "Koordinat: -8.583300, 116.116700" in by_tid[t1]["content"]


# --- item 5: public steps ----------------------------------------------------------------------------

def test_public_steps_of_a_pushed_complaint_reach_lapor_and_a_rejection_settles_both_sides(lapor, sim):
    app, client, seed = lapor()
    tid, code = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    lid = _ticket(client, seed.coordinator, tid)["lapor_id"]
    act(client, tid, "start", seed.officer_a, text="Petugas dijadwalkan.")
    act(client, tid, "hold", seed.officer_a, text="Mohon kirim foto lubangnya.")
    r = client.post(f"/api/v1/complaints/{tid}/actions/reply", json={"text": "Fotonya sudah saya unggah."},
                    headers={"X-Access-Code": code})
    assert r.status_code == 200, r.json
    act(client, tid, "comment", seed.officer_a, text="catatan dinas", visibility="internal")
    drain(app)
    drain(app)
    posted = [f["content"] for f in sim.complaints[lid]["followups"]]
    assert posted == ["Sedang ditindaklanjuti: Petugas dijadwalkan.",
                      "Ditunda, menunggu jawaban pelapor: Mohon kirim foto lubangnya.",
                      "Tambahan dari pelapor: Fotonya sudah saya unggah."]
    assert all(c.form["template_code"] == "followup" for c in sim.calls("E8"))
    # they come back in E7 and are recognised: no echo on our timeline
    texts = [e["text"] for e in staff_view(client, tid, seed.coordinator)["timeline"]]
    assert not any("Sedang ditindaklanjuti" in t for t in texts)

    # a complaint rejected after it was pushed: LAPOR! hears why; once closed there, polling stops
    tid2, _ = file(client, title="Lampu", body="Lampu jalan padam di Ampenan.")
    act(client, tid2, "verify", seed.coordinator)
    drain(app)
    lid2 = _ticket(client, seed.coordinator, tid2)["lapor_id"]
    act(client, tid2, "reject", seed.coordinator, text="Sama dengan aduan lain yang sudah ditangani.")
    drain(app)
    assert [f["content"] for f in sim.complaints[lid2]["followups"]] == [
        "Ditolak: Sama dengan aduan lain yang sudah ditangani."]
    sim.set_status(lid2, "Ditolak")
    drain(app)
    view = staff_view(client, tid2, seed.coordinator)
    assert view["status"] == "rejected" and view["extra"]["lapor"]["next_poll_at"] is None
    assert view["extra"]["lapor"]["lapor_status"]["name"] == "Ditolak"


def test_hold_on_an_imported_complaint_asks_the_reporter_in_lapor_and_their_answer_resumes_it(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)
    lid = sim.new_complaint(title="Got mampet", content="Got di Karang Baru mampet.", disposition_id=1002,
                            status="Terverifikasi")
    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": lid}, headers=auth(seed.coordinator))
    tid = r.json["tracking_id"]
    act(client, tid, "hold", seed.officer_a, text="Di gang mana tepatnya?")
    drain(app)
    # the question reached the reporter where they are: LAPOR!
    assert [f["content"] for f in sim.complaints[lid]["followups"]] == [
        "Ditunda, menunggu jawaban pelapor: Di gang mana tepatnya?"]
    assert staff_view(client, tid, seed.coordinator)["status"] == "on_hold"

    sim.add_reporter_followup(lid, "Gang Melati, di belakang masjid.")
    drain(app)
    view = staff_view(client, tid, seed.coordinator)
    assert view["status"] == "in_progress"
    (answer,) = [e for e in view["timeline"] if e["text"].startswith("Gang Melati")]
    assert answer["visibility"] == "public" and answer["data"]["from_reporter"] is True
    assert view["timeline"][-1]["type"] == "resume"
    assert len(sim.calls("E8")) == 1  # the reporter's answer is not echoed back to LAPOR!


# --- item 6: the stuck list ----------------------------------------------------------------------------

def test_stuck_list_shows_each_problem_once_and_empties_once_settled(lapor, sim):
    app, client, seed = lapor()
    tid, _ = file(client)
    sim.fail_next("E4", "lost")
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    stuck = _stuck(client, seed.coordinator)
    assert [t["tracking_id"] for t in stuck["tickets"]] == [tid] and stuck["dead_jobs"] == []
    (created,) = sim.complaints_with(tid)
    r = client.post(f"/api/v1/plugins/lapor/tickets/{tid}/resolve", json={"action": "link", "lapor_id": str(created["id"])},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200, r.json
    drain(app)
    # settled: the dead push job is history now (the jobs list and the timeline keep it)
    assert _stuck(client, seed.coordinator) == {"tickets": [], "replies": [], "dead_jobs": []}
    assert [j.status for j in _lapor_jobs(app) if j.kind == "lapor.push"].count("dead") == 1


# --- item 7: answers that certainly did not create ------------------------------------------------------

def test_gateway_errors_without_a_lapor_body_are_retried_and_lapor_errors_stay_uncertain(lapor, sim):
    app, client, seed = lapor()
    gw, _ = file(client, title="Gerbang")
    sim.fail_next("E4", "unavailable", "bad_gateway", "gateway_timeout")  # the gateway, before LAPOR!
    act(client, gw, "verify", seed.coordinator)
    drain(app)
    assert [c.status for c in sim.calls("E4")] == [503, 502, 504, 200]
    assert len(sim.complaints_with(gw)) == 1
    assert _ticket(client, seed.coordinator, gw)["state"] == "created"

    own, _ = file(client, title="Laravel")
    sim.fail_next("E4", "error")  # LAPOR! itself answers 500 with its JSON body: it may have done it
    act(client, own, "verify", seed.coordinator)
    drain(app)
    t = _ticket(client, seed.coordinator, own)
    assert t["state"] == "uncertain" and "HTTP 500" in t["last_error"]

    # the set is configuration: without it, a 503 needs the operator again
    app2, client2, _ = lapor(seed=False, LAPOR_NOT_CREATED_STATUSES=[])
    strict, _ = file(client2, title="Ketat")
    sim.fail_next("E4", "unavailable")
    act(client2, strict, "verify", seed.coordinator)
    drain(app2)
    assert _ticket(client2, seed.coordinator, strict)["state"] == "uncertain"

    # a gateway that times out after passing the request on: keep 504 out of the set, and no duplicate
    app3, client3, _ = lapor(seed=False, LAPOR_NOT_CREATED_STATUSES=[502, 503])
    late, _ = file(client3, title="Terlambat")
    sim.fail_next("E4", "gateway_timeout_after")
    act(client3, late, "verify", seed.coordinator)
    drain(app3)
    assert _ticket(client3, seed.coordinator, late)["state"] == "uncertain"
    assert len(sim.complaints_with(late)) == 1


# --- item 9: smaller ones -------------------------------------------------------------------------------

def test_link_without_content_in_lapor_says_so_and_suggests_force(lapor, sim):
    app, client, seed = lapor()
    tid, _ = file(client)
    sim.fail_next("E4", "lost")
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    (created,) = sim.complaints_with(tid)
    created["content"] = None
    created["title"] = None
    body = {"action": "link", "lapor_id": str(created["id"])}
    r = client.post(f"/api/v1/plugins/lapor/tickets/{tid}/resolve", json=body, headers=auth(seed.coordinator))
    assert r.status_code == 409
    assert "tidak mengembalikan isi" in r.json["message"] and "--force" in r.json["message"]
    assert "tidak menyebut" not in r.json["message"]
    r = client.post(f"/api/v1/plugins/lapor/tickets/{tid}/resolve", json={**body, "force": True},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200 and r.json["state"] == "created"


def test_follow_up_for_an_archived_complaint_is_reported_not_dropped(lapor, sim):
    app, client, seed = lapor()
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    lid = _ticket(client, seed.coordinator, tid)["lapor_id"]
    act(client, tid, "resolve", seed.officer_a, text="Sudah ditambal.")
    act(client, tid, "close", seed.coordinator)
    act(client, tid, "archive", seed.coordinator)
    drain(app)
    sim.add_followup(lid, "Catatan susulan dari Kementerian.")
    client.post(f"/api/v1/plugins/lapor/tickets/{tid}/poll", headers=auth(seed.coordinator))
    t = _ticket(client, seed.coordinator, tid)
    assert "archived" in t["poll_error"] and "not imported" in t["poll_error"]
    assert tid in [x["tracking_id"] for x in _stuck(client, seed.coordinator)["tickets"]]


def test_unknown_template_code_is_refused_before_sending_and_user_id_is_never_empty(lapor, sim):
    app, client, seed = lapor(LAPOR_FOLLOWUP_TEMPLATE_CODE="tindak_lanjut")
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    act(client, tid, "respond", seed.officer_a, text="Akan diperbaiki minggu ini.")
    drain(app)
    assert sim.calls("E8") == []  # not sent with a code LAPOR! does not have (E2)
    (reply,) = _stuck(client, seed.coordinator)["replies"]
    assert reply["state"] == "failed" and "tindak_lanjut" in reply["last_error"] and "followup" in reply["last_error"]
    st = client.get("/api/v1/plugins/lapor/status", headers=auth(seed.admin)).json
    assert "tindak_lanjut" in st["followup_template"]["problem"]

    # the right code: sent, and without a user_id field when LAPOR_USER_ID is unset
    app2, client2, _ = lapor(seed=False)
    r = client2.post(f"/api/v1/plugins/lapor/replies/{reply['id']}/resolve", json={"action": "resend"},
                     headers=auth(seed.coordinator))
    assert r.status_code == 200, r.json
    drain(app2)
    (e8,) = sim.calls("E8")
    assert e8.status == 200 and e8.form["template_code"] == "followup" and "user_id" not in e8.form
    assert e8.form["content"] == "Akan diperbaiki minggu ini."


def test_a_reopened_complaint_is_not_resolved_again_by_the_lapor_status_it_left(lapor, sim):
    from aduan.models import Event

    app, client, seed = lapor()
    tid, code = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    lid = _ticket(client, seed.coordinator, tid)["lapor_id"]
    sim.set_status(lid, "Selesai")
    drain(app)
    assert staff_view(client, tid, seed.coordinator)["status"] == "resolved"
    # the step as an earlier release keyed it (with the status code): it still counts as taken
    with app.app_context(), database.connection_context():
        n = Event.update(external_id=f"status:{lid}:3:Selesai:resolve").where(
            Event.external_id == f"status:{lid}:Selesai:resolve").execute()
    assert n == 1
    r = client.post(f"/api/v1/complaints/{tid}/actions/reopen", json={"text": "Lubangnya muncul lagi."},
                    headers={"X-Access-Code": code})
    assert r.status_code == 200, r.json
    drain(app)
    drain(app)
    # LAPOR! still says Selesai: that is where it was, not a new answer; here it stays reopened
    assert staff_view(client, tid, seed.coordinator)["status"] == "in_progress"
    assert sim.complaints[lid]["followups"][-1]["content"] == "Dibuka kembali oleh pelapor: Lubangnya muncul lagi."
