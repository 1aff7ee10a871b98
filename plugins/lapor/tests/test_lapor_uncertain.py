"""No silent duplicates: what may have been created is never resent blindly; what surely was not is retried."""
from aduan.jobs import Worker
from aduan.testing import auth
from aduan_lapor.cli import lapor_group
from aduan_lapor.testing import act, drain, file, map_agency


def _ticket(client, token, tid):
    r = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def test_refused_and_rate_limited_creates_are_retried_and_arrive_once(lapor, sim):
    app, client, seed = lapor()
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    sim.stop()  # LAPOR! unreachable: the request never left
    Worker(app).run_once(max_jobs=1)
    t = _ticket(client, seed.coordinator, tid)
    assert t["state"] == "queued" and "not sent" in t["last_error"] and t["next_attempt"] is not None
    sim.start()
    sim.fail_next("E4", "429", "429")
    drain(app)
    assert len(sim.complaints_with(tid)) == 1
    assert [c.fault for c in sim.calls("E4")] == ["429", "429", None]
    assert _ticket(client, seed.coordinator, tid)["state"] == "created"


def test_lost_answer_is_uncertain_listed_and_linked_by_the_operator(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)
    tid, _ = file(client)
    sim.fail_next("E4", "lost")  # LAPOR! creates it, the answer never arrives
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    drain(app)
    assert len(sim.calls("E4")) == 1  # not resent
    (created,) = sim.complaints_with(tid)
    t = _ticket(client, seed.coordinator, tid)
    assert t["state"] == "uncertain" and t["lapor_id"] is None
    assert "outcome unknown" in t["last_error"] and "not resent automatically" in t["last_error"]
    assert sim.calls("E5") == []  # nothing is forwarded before we know the id

    # the operator sees it: staff view, the stuck list, the CLI, the timeline
    view = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert view["extra"]["lapor"]["state"] == "uncertain"
    assert any("tidak diketahui" in e["text"] for e in view["timeline"] if e["visibility"] == "internal")
    stuck = client.get("/api/v1/plugins/lapor/stuck", headers=auth(seed.coordinator)).json
    assert [t["tracking_id"] for t in stuck["tickets"]] == [tid]
    assert stuck["dead_jobs"] == []  # listed once, as the ticket (its dead push job says the same)
    runner = app.test_cli_runner()
    out = runner.invoke(lapor_group, ["stuck"]).output
    assert tid in out and "uncertain" in out

    # they find it in LAPOR! and link it: the forward and the polling carry on from there
    r = runner.invoke(lapor_group, ["link", tid, str(created["id"])])
    assert r.exit_code == 0, r.output
    drain(app)
    t = _ticket(client, seed.coordinator, tid)
    assert t["state"] == "created" and t["lapor_id"] == str(created["id"]) and t["forward_state"] == "done"
    assert [c.json["reason"] for c in sim.calls("E5")] == [1002]
    assert len(sim.complaints_with(tid)) == 1
    assert sim.calls("E6")  # polled
    assert client.get("/api/v1/plugins/lapor/stuck", headers=auth(seed.coordinator)).json["tickets"] == []


def test_timeout_and_server_error_are_uncertain_and_resend_is_explicit(lapor, sim):
    app, client, seed = lapor(LAPOR_READ_TIMEOUT=0.3)
    sim.faults.timeout = 1.0
    slow, _ = file(client, title="Satu")
    broken, _ = file(client, title="Dua")
    sim.fail_next("E4", "timeout", "error")
    act(client, slow, "verify", seed.coordinator)
    drain(app)
    act(client, broken, "verify", seed.coordinator)
    drain(app)
    assert "no response within" in _ticket(client, seed.coordinator, slow)["last_error"]
    assert "HTTP 500" in _ticket(client, seed.coordinator, broken)["last_error"]
    r = client.get("/api/v1/plugins/lapor/tickets?state=uncertain", headers=auth(seed.coordinator))
    assert sorted(t["tracking_id"] for t in r.json["items"]) == sorted([slow, broken])
    # the timed-out one exists in LAPOR! (link it); the 500 did not (resend it)
    assert len(sim.complaints_with(slow)) == 1 and sim.complaints_with(broken) == []
    r = client.post(f"/api/v1/plugins/lapor/tickets/{slow}/resolve",
                    json={"action": "link", "lapor_id": str(sim.complaints_with(slow)[0]["id"])},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200 and r.json["state"] == "created"
    # a mistyped id is caught: the LAPOR! complaint must carry our tracking id
    r = client.post(f"/api/v1/plugins/lapor/tickets/{broken}/resolve",
                    json={"action": "link", "lapor_id": str(sim.complaints_with(slow)[0]["id"])},
                    headers=auth(seed.coordinator))
    assert r.status_code == 409 and "sudah ditautkan ke" in r.json["message"]  # the deployment's language
    r = client.post(f"/api/v1/plugins/lapor/tickets/{broken}/resolve",
                    json={"action": "link", "lapor_id": str(sim.complaints_with(slow)[0]["id"])},
                    headers={**auth(seed.coordinator), "Accept-Language": "en"})
    assert r.status_code == 409 and "is already linked to" in r.json["message"]  # or the reader's
    other = sim.new_complaint(title="Lain", content="Aduan warga lain")
    r = client.post(f"/api/v1/plugins/lapor/tickets/{broken}/resolve", json={"action": "link", "lapor_id": other},
                    headers=auth(seed.coordinator))
    assert r.status_code == 409 and f"tidak menyebut {broken}" in r.json["message"]
    # the operator's slips get field messages in their language, and change nothing
    for body, field_text in (({"action": "link"}, "Wajib diisi untuk menautkan."),
                             ({"action": "resend", "lapor_id": "70001"}, "Tidak dipakai saat mengirim ulang."),
                             ({"action": "link", "lapor_id": "70 001"}, "Harus berupa nomor pengaduan SP4N-LAPOR!")):
        r = client.post(f"/api/v1/plugins/lapor/tickets/{broken}/resolve", json=body, headers=auth(seed.coordinator))
        assert r.status_code == 422 and field_text in r.json["errors"]["lapor_id"][0], r.json
    assert _ticket(client, seed.coordinator, broken)["state"] == "uncertain"
    r = client.post(f"/api/v1/plugins/lapor/tickets/{broken}/resolve", json={"action": "resend"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200 and r.json["state"] == "queued"
    drain(app)
    assert len(sim.complaints_with(slow)) == 1 and len(sim.complaints_with(broken)) == 1
    t = _ticket(client, seed.coordinator, broken)
    assert t["state"] == "created" and t["resends"] == 1
    # settled tickets cannot be resent again by mistake
    r = client.post(f"/api/v1/plugins/lapor/tickets/{broken}/resolve", json={"action": "resend"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 409
    assert len(sim.complaints_with(broken)) == 1


def test_operator_api_rejects_bad_input_with_field_messages(lapor, sim):
    app, client, seed = lapor()
    tid, _ = file(client)
    base = f"/api/v1/plugins/lapor/tickets/{tid}/resolve"
    r = client.post(base, json={"action": "link"}, headers=auth(seed.coordinator))
    assert r.status_code == 422 and "lapor_id" in r.json["errors"]
    r = client.post(base, json={"action": "explode"}, headers=auth(seed.coordinator))
    assert r.status_code == 422 and "action" in r.json["errors"]
    r = client.post(base, json={"action": "link", "lapor_id": "../../etc"}, headers=auth(seed.coordinator))
    assert r.status_code == 422 and "lapor_id" in r.json["errors"]
    r = client.post(base, json={"action": "resend"}, headers=auth(seed.coordinator))
    assert r.status_code == 409  # nothing uncertain to resend
    assert client.post(base, json={"action": "resend"}, headers=auth(seed.officer_a)).status_code == 403
    assert client.post(base, json={"action": "resend"}).status_code == 401
    r = client.get("/api/v1/plugins/lapor/tickets/NOSUCH99", headers=auth(seed.coordinator))
    assert r.status_code == 404
    r = client.get("/api/v1/plugins/lapor/tickets?state=weird", headers=auth(seed.coordinator))
    assert r.status_code == 422 and "state" in r.json["errors"]
    r = client.put(f"/api/v1/plugins/lapor/mappings/agencies/{seed.agency_a.id}", json={"institution_id": 424242},
                   headers=auth(seed.coordinator))
    assert r.status_code == 422 and "institution_id" in r.json["errors"]
    r = client.put(f"/api/v1/plugins/lapor/mappings/agencies/{seed.agency_a.id}", json={"institution_id": "x"},
                   headers=auth(seed.coordinator))
    assert r.status_code == 422 and "institution_id" in r.json["errors"]
    r = client.put("/api/v1/plugins/lapor/mappings/agencies/9999", json={"institution_id": 1},
                   headers=auth(seed.coordinator))
    assert r.status_code == 404
    r = client.post("/api/v1/plugins/lapor/import", json={}, headers=auth(seed.coordinator))
    assert r.status_code == 422 and "lapor_id" in r.json["errors"]


def test_uncertain_replies_are_not_reposted_and_settle_from_lapor_or_the_operator(lapor, sim):
    app, client, seed = lapor()
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    lid = _ticket(client, seed.coordinator, tid)["lapor_id"]
    sim.fail_next("E8", "lost", "error")
    act(client, tid, "respond", seed.officer_a, text="Jawaban pertama.")
    act(client, tid, "respond", seed.officer_a, text="Jawaban kedua.")
    drain(app)  # posts both, then polls: the lost one is found in E7 and settled, without a timeline echo
    assert len(sim.calls("E8")) == 2
    stuck = client.get("/api/v1/plugins/lapor/stuck", headers=auth(seed.coordinator)).json
    assert [r["state"] for r in stuck["replies"]] == ["uncertain"]
    assert "HTTP 500" in stuck["replies"][0]["last_error"]
    (left,) = stuck["replies"]
    assert len(sim.calls("E8")) == 2
    texts = [e["text"] for e in client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json["timeline"]]
    assert texts.count("Jawaban pertama.") == 1
    # the 500 one is not in LAPOR!: the operator resends it, once
    assert [f["content"] for f in sim.complaints[lid]["followups"]] == ["Jawaban pertama."]
    out = app.test_cli_runner().invoke(lapor_group, ["reply", str(left["id"]), "resend"])
    assert out.exit_code == 0, out.output
    drain(app)
    drain(app)
    assert [f["content"] for f in sim.complaints[lid]["followups"]] == ["Jawaban pertama.", "Jawaban kedua."]
    assert client.get("/api/v1/plugins/lapor/stuck", headers=auth(seed.coordinator)).json["replies"] == []
    r = client.post(f"/api/v1/plugins/lapor/replies/{left['id']}/resolve", json={"action": "resend"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 409
    r = client.post(f"/api/v1/plugins/lapor/replies/{left['id']}/resolve", json={"action": "x"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 422 and "action" in r.json["errors"]


def test_a_worker_dying_mid_create_leaves_it_uncertain_not_resent(lapor, sim):
    import threading
    import time

    app, client, seed = lapor(JOB_LEASE_SECONDS=0.5, LAPOR_READ_TIMEOUT=20)
    tid, _ = file(client)
    sim.fail_next("E4", "hang")  # LAPOR! creates it, and its answer is held back
    act(client, tid, "verify", seed.coordinator)
    stuck_worker = Worker(app)
    th = threading.Thread(target=stuck_worker.run_once, kwargs={"schedules": False}, daemon=True)
    th.start()
    while not sim.calls("E4") and th.is_alive():
        time.sleep(0.01)
    time.sleep(0.6)  # the stuck worker's lease runs out, as if it had died
    Worker(app).run_once(schedules=False)  # another worker takes the job over
    t = _ticket(client, seed.coordinator, tid)
    assert t["state"] == "uncertain" and "interrupted while in flight" in t["last_error"]
    assert len(sim.calls("E4")) == 1  # not resent
    sim.release.set()  # the held answer finally reaches the first worker: its id is kept
    th.join(10)
    t = _ticket(client, seed.coordinator, tid)
    assert t["state"] == "created" and t["lapor_id"] == str(sim.complaints_with(tid)[0]["id"])
    assert len(sim.complaints_with(tid)) == 1 and len(sim.calls("E4")) == 1


def test_linking_sends_the_answers_that_waited_for_the_complaint(lapor, sim):
    """Answers given while the create was uncertain wait for the complaint to be in LAPOR!. The
    operator's link sends them at once, as a successful create does: the one waiting for its next
    try, and one that an older release gave up on ("not in LAPOR! yet")."""
    from aduan.db import database
    from aduan.models import Job

    app, client, seed = lapor()
    tid, _ = file(client)
    sim.fail_next("E4", "lost")
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    act(client, tid, "respond", seed.officer_a, text="Tim akan menambal jalan minggu ini.")
    act(client, tid, "comment", seed.officer_a, text="Material sudah dipesan.", visibility="public")
    drain(app)
    assert sim.calls("E8") == []
    with app.app_context(), database.connection_context():
        replies = list(Job.select().where(Job.kind == "lapor.reply").order_by(Job.id))
        assert len(replies) == 2 and all(j.status == "pending" for j in replies)  # waiting, minutes away
        Job.update(status="dead", last_error="the complaint is not in LAPOR! yet (old release)").where(
            Job.id == replies[1].id).execute()
    (created,) = sim.complaints_with(tid)
    r = app.test_cli_runner().invoke(lapor_group, ["link", tid, str(created["id"])])
    assert r.exit_code == 0, r.output
    drain(app)
    assert len(sim.calls("E8")) == 2
