"""Malformed or unexpected answers are recorded with a clear message; the worker carries on."""
from aduan.db import database
from aduan.models import Job, ScheduleState
from aduan.testing import auth
from aduan_lapor.testing import PNG, act, drain, file, upload


def _ticket(client, token, tid):
    r = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def test_unreadable_create_answer_is_uncertain_with_a_clear_message(lapor, sim):
    app, client, seed = lapor()
    a, _ = file(client, title="A")
    b, _ = file(client, title="B")
    sim.fail_next("E4", "unexpected", "malformed")
    act(client, a, "verify", seed.coordinator)
    act(client, b, "verify", seed.coordinator)
    counts = drain(app)
    assert counts["dead"] == 2  # recorded, not crashed
    errors = {tid: _ticket(client, seed.coordinator, tid)["last_error"] for tid in (a, b)}
    assert sorted(errors.values())[0].startswith("E4 POST /complaints/complaint: HTTP 200 but the body is not JSON")
    assert any("carries no complaint id" in e and "LAPOR_CREATED_ID_PATHS" in e for e in errors.values())
    with app.app_context(), database.connection_context():
        assert all("outcome unknown" in j.last_error or "no complaint id" in j.last_error
                   for j in Job.select().where(Job.status == "dead"))


def test_bad_upload_answer_is_retried_without_creating(lapor, sim):
    app, client, seed = lapor()
    tid, code = file(client)
    upload(client, tid, code, "foto.png", PNG)
    sim.fail_next("E3", "unexpected", "error")
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    assert len(sim.calls("E3")) == 3 and len(sim.calls("E4")) == 1
    t = _ticket(client, seed.coordinator, tid)
    assert t["state"] == "created"


def test_malformed_poll_answers_are_recorded_and_other_complaints_still_polled(lapor, sim):
    app, client, seed = lapor()
    ok, _ = file(client, title="Baik")
    bad, _ = file(client, title="Rusak")
    act(client, ok, "verify", seed.coordinator)
    act(client, bad, "verify", seed.coordinator)
    drain(app)
    ids = {tid: _ticket(client, seed.coordinator, tid)["lapor_id"] for tid in (ok, bad)}
    sim.add_followup(ids[ok], "Sudah ditangani")
    sim.add_followup(ids[bad], "Tidak akan terbaca")
    # the bad one answers E6 with HTML, then E7 with an unexpected shape, then a page that never ends
    sim.complaints[ids[bad]]["followups"][0]["content"] = {"nested": "bukan teks"}

    sim.fail_next("E6", "malformed")
    from aduan_lapor import sync

    with app.test_request_context(), database.connection_context():
        from aduan_lapor.models import LaporTicket
        api = sync.LaporClient(app.config)
        tb = LaporTicket.get(LaporTicket.lapor_id == ids[bad])
        assert sync.poll_one(tb, api) is None
        err = LaporTicket.get_by_id(tb.id).poll_error
        assert "E6 GET /complaints/" in err and "not JSON" in err
        sim.fail_next("E7", "unexpected")
        assert sync.poll_one(tb, api) is None
        assert "E7 GET" in LaporTicket.get_by_id(tb.id).poll_error and "no results.data list" in \
            LaporTicket.get_by_id(tb.id).poll_error
        sim.fail_next("E6", "unexpected")
        assert sync.poll_one(tb, api) is None
        assert "E6: no results.data object" in LaporTicket.get_by_id(tb.id).poll_error

    # a follow-up whose content is not text is imported as text; the round polls both; nothing crashes
    counts = drain(app)
    assert counts["dead"] == 0
    texts = [e["text"] for e in client.get(f"/api/v1/complaints/{ok}", headers=auth(seed.coordinator)).json["timeline"]]
    assert any(t.startswith("Sudah ditangani") for t in texts)
    st = _ticket(client, seed.coordinator, bad)
    assert st["poll_error"] is None and st["lapor_status"]["name"] == "Belum Terverifikasi"
    stuck = client.get("/api/v1/plugins/lapor/stuck", headers=auth(seed.coordinator)).json
    assert stuck["tickets"] == []


def test_directory_errors_are_clear_4xx_5xx_never_500(lapor, sim):
    app, client, seed = lapor()
    sim.fail_next("E1", "malformed")
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.admin))
    assert r.status_code == 502 and "not JSON" in r.json["message"]
    sim.fail_next("E1", "unexpected")
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.admin))
    assert r.status_code == 502 and "no results.data list" in r.json["message"]
    # the daily schedule records the same failure and the worker carries on
    sim.fail_next("E1", "error")
    drain(app)
    with app.app_context(), database.connection_context():
        st = ScheduleState.get(ScheduleState.name == "lapor.institutions")
        assert "HTTP 500" in st.last_error
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.admin))
    assert r.status_code == 200 and r.json["institutions"] == 5


def test_a_poll_round_stops_when_lapor_is_down_and_templates_are_listed(lapor, sim):
    from aduan_lapor.cli import lapor_group

    app, client, seed = lapor()
    tids = []
    for i in range(3):
        tid, _ = file(client, title=f"Aduan {i}")
        act(client, tid, "verify", seed.coordinator)
        tids.append(tid)
    drain(app)
    polls = len(sim.calls("E6"))
    sim.fail_next("E6", "429")
    drain(app, rounds=1)
    assert len(sim.calls("E6")) == polls + 1  # throttled: the rest of the round waits
    errors = [_ticket(client, seed.coordinator, t)["poll_error"] for t in tids]
    assert sum(bool(e) for e in errors) == 1 and "429" in [e for e in errors if e][0]
    out = app.test_cli_runner().invoke(lapor_group, ["templates"])
    assert out.exit_code == 0 and "disposition" in out.output and "followup" in out.output
