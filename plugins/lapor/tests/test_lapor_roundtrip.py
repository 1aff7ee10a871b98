"""Push, forward, poll and reply against the simulator over HTTP: the whole round trip."""
import hashlib
import json

from aduan.testing import auth
from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN
from aduan_lapor.testing import PNG, act, drain, file, map_agency, staff_view, upload

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_push_forward_poll_reply_round_trip(lapor, sim):
    app, client, seed = lapor()
    # the directory (E1) and the mappings
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    assert r.status_code == 200 and r.json["institutions"] == 5
    r = client.get("/api/v1/plugins/lapor/institutions?q=Kesehatan", headers=auth(seed.coordinator))
    assert [i["id"] for i in r.json["items"]] == [1003]
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)
    mappings = map_agency(client, seed.coordinator, seed.agency_b.id, 1003)
    assert {a["code"]: a["institution_id"] for a in mappings["agencies"]} == {"PUPR": 1002, "DIKES": 1003}

    tid, code = file(client)
    upload(client, tid, code, "foto.png", PNG)
    upload(client, tid, code, "surat.pdf", PDF)
    drain(app)
    assert sim.calls("E4") == []  # pushed when dispatched, not on receipt

    act(client, tid, "verify", seed.coordinator)  # → PUPR, which LAPOR! knows as 1002
    drain(app)

    # attachments went up in one request, then the create named their ids, then the forward
    (up,) = sim.calls("E3")
    assert sorted(f["sha256"] for f in up.files) == sorted(hashlib.sha256(b).hexdigest() for b in (PNG, PDF))
    assert {f["field"] for f in up.files} == {"attachments[]"}
    (create,) = sim.calls("E4")
    assert create.headers["Auth"] == f"Bearer {DEFAULT_TOKEN}" and create.headers["Token"] == DEFAULT_GUID
    body = create.json
    assert body["disposition_id"] == 1001 and body["is_anonymous"] is False and body["is_secret"] is False
    assert sorted(json.loads(body["attachments"])) == sorted(sim.files)
    assert tid in body["content"] and "Baiq Nurul" in body["content"]
    (lapor_id,) = sim.complaints
    (fwd,) = sim.calls("E5")
    assert fwd.path == f"/complaints/process/{lapor_id}/reject"
    assert fwd.json["reason"] == 1002 and fwd.json["not_authority"] == 1 and fwd.json["is_request"] == 1
    assert sim.complaints[lapor_id]["disposition_id"] == 1002

    view = staff_view(client, tid, seed.coordinator)
    st = view["extra"]["lapor"]
    assert st["lapor_id"] == lapor_id and st["state"] == "created"
    assert st["forward_state"] == "done" and st["forwarded_to"] == 1002 and st["last_error"] is None
    notes = [e["text"] for e in view["timeline"] if e["source"] == "lapor" and e["visibility"] == "internal"]
    assert any(lapor_id in n and "Terkirim" in n for n in notes)
    assert any("Diteruskan" in n for n in notes)
    # the public never sees the sync state
    assert "extra" not in client.get(f"/api/v1/complaints/{tid}").json

    # not ours after all: the transfer is forwarded too
    act(client, tid, "transfer", seed.officer_a, agency_id=seed.agency_b.id, text="Ini soal puskesmas.")
    drain(app)
    assert [c.json["reason"] for c in sim.calls("E5")] == [1002, 1003]
    assert sim.complaints[lapor_id]["disposition_id"] == 1003

    # LAPOR! moves on: a status and twelve follow-ups (two pages), one a disposition entry
    sim.set_status(lapor_id, "Dalam Proses")
    sim.add_followup(lapor_id, "Laporan didisposisikan ke Dinas Kesehatan", template_code="disposition")
    for i in range(11):
        sim.add_followup(lapor_id, f"Tindak lanjut nomor {i}", attachments=[
            {"path": f"https://lapor.example/storage/{i}.jpg", "file_name": f"bukti{i}.jpg"}] if i == 3 else [])
    early = sim.add_followup(lapor_id, "Catatan yang dibuat lebih awal")
    early["created_at"] = "05-11-2026 09:00:00"  # d-m-Y H:i:s, Asia/Jakarta
    drain(app)
    drain(app)  # polled again: nothing new is imported twice
    assert {c.query.get("page") for c in sim.calls("E7")} >= {None, "2"}

    view = staff_view(client, tid, seed.coordinator)
    assert view["status"] == "in_progress"
    assert view["extra"]["lapor"]["lapor_status"] == {"code": "2", "name": "Dalam Proses", "mapped": "in_progress",
                                                      "disposition_id": "1003",
                                                      "disposition_name": sim.institutions[1003]}
    from_lapor = [e for e in view["timeline"] if e["source"] == "lapor"]
    answers = [e for e in from_lapor if e["visibility"] == "public" and "Tindak lanjut nomor" in e["text"]]
    assert sorted(e["text"].split("\n")[0] for e in answers) == sorted(f"Tindak lanjut nomor {i}" for i in range(11))
    (with_file,) = [e for e in answers if "nomor 3" in e["text"]]
    assert with_file["data"]["attachments"] == [{"file_name": "bukti3.jpg",
                                                 "url": "https://lapor.example/storage/3.jpg"}]
    (early_ev,) = [e for e in from_lapor if "lebih awal" in e["text"]]
    assert early_ev["created_at"] == "2026-11-05T10:00:00+08:00"  # LAPOR!'s own time (02:00Z), not the import's
    dispo = [e for e in from_lapor if "didisposisikan" in e["text"]]
    assert len(dispo) == 1 and dispo[0]["visibility"] == "internal"
    logs = [e["text"] for e in from_lapor if e["text"].startswith("SP4N-LAPOR!: Status")]
    assert any("menjadi Dalam Proses" in t for t in logs) and not any("{{" in t for t in logs)
    # the reporter sees the agency's answers from LAPOR!, never the sync notes
    mine = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json["timeline"]
    assert any("Tindak lanjut nomor 0" in e["text"] for e in mine)
    assert not any("Terkirim" in e["text"] for e in mine)

    # our public answer goes to LAPOR! (E8) once, and does not come back as a second entry
    act(client, tid, "respond", seed.officer_b, text="Tim sudah meninjau lokasi.")
    act(client, tid, "comment", seed.officer_b, text="catatan internal", visibility="internal")
    drain(app)
    drain(app)
    (e8,) = sim.calls("E8")
    assert e8.form["complaint_id"] == lapor_id and e8.form["content"] == "Tim sudah meninjau lokasi."
    assert e8.form["institution_from_id"] == "1001" and e8.form["is_secret"] == "0"
    texts = [e["text"] for e in staff_view(client, tid, seed.coordinator)["timeline"]]
    assert texts.count("Tim sudah meninjau lokasi.") == 1
    assert not any("catatan internal" in c.text() for c in sim.calls())

    # LAPOR! closes it: our complaint is resolved and polling stops
    sim.add_followup(lapor_id, "Obat sudah tersedia di puskesmas.")
    sim.set_status(lapor_id, "Selesai")
    drain(app)
    view = staff_view(client, tid, seed.coordinator)
    assert view["status"] == "resolved"
    assert view["extra"]["lapor"]["next_poll_at"] is None
    n = len(sim.calls("E6"))
    drain(app)
    assert len(sim.calls("E6")) == n
    # LAPOR!'s own entries were never echoed back
    assert len(sim.calls("E8")) == 1
    # the reporter reopens it here: LAPOR! is polled again
    r = client.post(f"/api/v1/complaints/{tid}/actions/reopen", json={"text": "Obatnya masih kosong."},
                    headers={"X-Access-Code": code})
    assert r.status_code == 200, r.json
    drain(app)
    assert len(sim.calls("E6")) > n
    assert staff_view(client, tid, seed.coordinator)["extra"]["lapor"]["next_poll_at"] is not None
