"""Import a LAPOR! complaint by id, with its history, and keep it in sync; polling backs off and stops."""
from aduan.testing import auth
from aduan_lapor.cli import lapor_group
from aduan_lapor.testing import act, drain, map_agency


def test_import_by_id_with_history_then_kept_in_sync(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)
    lid = sim.new_complaint(title="Drainase tersumbat", content="Saluran di Jalan Pejanggik tersumbat sampah.",
                            disposition_id=1002, is_secret=True)
    sim.set_status(lid, "Dalam Proses")
    sim.add_followup(lid, "Laporan diteruskan ke PUPR", template_code="disposition")
    sim.add_followup(lid, "Petugas dijadwalkan membersihkan saluran.", with_id=False)

    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": lid}, headers=auth(seed.coordinator))
    assert r.status_code == 201, r.json
    tid = r.json["tracking_id"]
    view = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert view["title"] == "Drainase tersumbat" and view["secret"] is True and view["channel"] == "lapor"
    assert view["status"] == "in_progress" and view["agency"]["code"] == "PUPR"
    assert view["extra"]["lapor"]["origin"] == "import" and view["extra"]["lapor"]["lapor_id"] == lid
    types = [(e["type"], e["source"]) for e in view["timeline"]]
    assert ("file", "lapor") in types and ("verify", "lapor") in types and ("start", "lapor") in types
    assert any("Petugas dijadwalkan" in e["text"] for e in view["timeline"])

    # a second import of the same id is refused, over the API and the CLI
    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": lid}, headers=auth(seed.coordinator))
    assert r.status_code == 409 and r.json["tracking_id"] == tid
    out = app.test_cli_runner().invoke(lapor_group, ["import", lid])
    assert out.exit_code != 0 and "sudah ditautkan" in out.output
    # nothing of it was sent back to LAPOR! (it came from there)
    drain(app)
    assert sim.calls("E4") == [] and sim.calls("E5") == [] and sim.calls("E8") == []

    # kept in sync: a new answer arrives once; our answer goes there once
    sim.add_followup(lid, "Saluran sudah bersih.")
    drain(app)
    drain(app)
    texts = [e["text"] for e in client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).json["timeline"]]
    assert sum(t.startswith("Saluran sudah bersih.") for t in texts) == 1
    assert sum(t.startswith("Petugas dijadwalkan") for t in texts) == 1  # no id: matched by content, once
    act(client, tid, "resolve", seed.officer_a, text="Pekerjaan selesai, saluran normal.")
    drain(app)
    (e8,) = sim.calls("E8")
    assert e8.form["complaint_id"] == lid and e8.form["is_secret"] == "1"


def test_import_refuses_what_is_not_ours_or_unknown(lapor, sim):
    app, client, seed = lapor()
    other = sim.new_complaint(title="Tol", content="Jalan tol rusak", disposition_id=9001)
    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": other}, headers=auth(seed.coordinator))
    assert r.status_code == 422 and "bukan ke instansi ini" in r.json["errors"]["lapor_id"][0]
    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": "999999"}, headers=auth(seed.coordinator))
    # an id SP4N-LAPOR! does not know is the caller's mistake (422), not a gateway failure (502)
    assert r.status_code == 422 and "HTTP 404" in r.json["message"] and "lapor_id" in r.json["errors"]
    out = app.test_cli_runner().invoke(lapor_group, ["import", other])
    assert out.exit_code != 0 and "bukan ke instansi ini" in out.output
    ours = sim.new_complaint(title="Lampu", content="Lampu jalan padam", disposition_id=1001)
    out = app.test_cli_runner().invoke(lapor_group, ["import", ours])
    assert out.exit_code == 0, out.output
    assert "imported" in out.output


def test_quiet_complaints_are_polled_less_and_less_and_finished_ones_not_at_all(lapor, sim):
    app, client, seed = lapor(LAPOR_POLL_MIN_INTERVAL=60, LAPOR_POLL_MAX_INTERVAL=240)
    lid = sim.new_complaint(title="Sampah", content="Sampah menumpuk", disposition_id=1001)
    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": lid}, headers=auth(seed.coordinator))
    tid = r.json["tracking_id"]

    def poll():
        r = client.post(f"/api/v1/plugins/lapor/tickets/{tid}/poll", headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
        return r.json

    intervals = [poll()["poll_interval"] for _ in range(4)]
    assert intervals == [120, 240, 240, 240]  # nothing new: doubling up to the ceiling
    sim.add_followup(lid, "Ada kabar baru")
    assert poll()["poll_interval"] == 60  # something changed: back to the shortest interval
    drain(app)
    n = len(sim.calls("E6"))
    drain(app)
    assert len(sim.calls("E6")) == n  # not due yet: not polled
    act(client, tid, "verify", seed.coordinator, agency_id=seed.agency_a.id)
    act(client, tid, "resolve", seed.officer_a, text="Sudah diangkut.")
    sim.set_status(lid, "Selesai")
    assert poll()["next_poll_at"] is None  # finished on both sides: polling stops


def test_directory_and_mappings_from_the_cli(lapor, sim):
    import json

    app, client, seed = lapor()
    run = app.test_cli_runner().invoke
    out = run(lapor_group, ["map", "agency", "PUPR", "1002"])
    assert out.exit_code != 0 and "institutions sync" in out.output  # unknown until the directory is loaded
    out = run(lapor_group, ["institutions", "sync"])
    assert out.exit_code == 0 and "5 institutions loaded" in out.output
    out = run(lapor_group, ["institutions", "list", "--q", "Kesehatan"])
    assert "1003" in out.output and "1002" not in out.output
    assert run(lapor_group, ["map", "agency", "PUPR", "1002"]).exit_code == 0
    assert run(lapor_group, ["map", "category", "jalan", "17"]).exit_code == 0
    assert run(lapor_group, ["map", "agency", "NOPE", "1002"]).exit_code != 0
    listed = json.loads(run(lapor_group, ["map", "list"]).output)
    assert {a["code"]: a["institution_id"] for a in listed["agencies"]} == {"PUPR": 1002, "DIKES": None}
    assert listed["categories"][0]["lapor_category_id"] == 17
    # the category mapping is what E4 carries
    from aduan_lapor.testing import file

    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    (create,) = sim.calls("E4")
    assert create.json["category_id"] == 17
    assert [c.json["reason"] for c in sim.calls("E5")] == [1002]
    assert run(lapor_group, ["map", "agency", "PUPR", "--remove"]).exit_code == 0
    listed = json.loads(run(lapor_group, ["map", "list"]).output)
    assert {a["code"]: a["institution_id"] for a in listed["agencies"]} == {"PUPR": None, "DIKES": None}
