"""The life of a complaint over HTTP, and the SLA clocks that drive it."""
import datetime as dt

from aduan.auth import Actor, system
from aduan.db import database
from aduan.models import Complaint, Event
from aduan.services import file_complaint, perform, sla_sweep
from aduan.testing import auth


def file(client, **extra):
    body = {"title": "Jalan berlubang", "body": "Jalan di depan pasar berlubang besar.", "category": "jalan",
            "region_code": "52.71.01", "reporter": {"name": "Baiq Nurul", "phone": "0819 0712 3456"}}
    body.update(extra)
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


def act(client, tid, action, token=None, code=None, **body):
    headers = auth(token) if token else {"X-Access-Code": code}
    return client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=body, headers=headers)


def test_full_life_over_http(client, seed):
    tid, code = file(client)
    r = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code})
    assert r.json["status"] == "received" and r.json["status_label"] == "Belum terverifikasi"
    assert r.json["reporter"]["phone"] == "+6281907123456"

    r = act(client, tid, "verify", seed.coordinator)  # the category's default agency: PUPR
    assert r.status_code == 200, r.json
    assert r.json["status"] == "dispatched" and r.json["agency"]["code"] == "PUPR"
    assert r.json["due"]["followup"] is not None

    r = act(client, tid, "transfer", seed.officer_a, agency_id=seed.agency_b.id,
            text="Bukan wewenang PUPR: ini soal puskesmas.")
    assert r.status_code == 200, r.json
    assert r.json["agency"]["code"] == "DIKES" and r.json["status"] == "dispatched"
    # officer A has lost the complaint with the transfer
    assert client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).status_code == 404

    assert act(client, tid, "start", seed.officer_b).json["status"] == "in_progress"
    r = act(client, tid, "resolve", seed.officer_b, text="Stok obat sudah dipenuhi.")
    assert r.json["status"] == "resolved" and r.json["due"]["close"] is not None

    r = act(client, tid, "rate", code=code, rating=4, text="Terima kasih")
    assert r.status_code == 200, r.json
    assert r.json["status"] == "closed" and r.json["rating"] == 4

    timeline = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json["timeline"]
    assert [e["type"] for e in timeline] == ["file", "verify", "transfer", "start", "resolve", "rate"]
    assert [e["to_status"] for e in timeline] == ["received", "dispatched", "dispatched", "in_progress",
                                                  "resolved", "closed"]
    public = client.get(f"/api/v1/complaints/{tid}").json
    assert public["status"] == "closed"
    assert "Stok obat sudah dipenuhi." in [e["text"] for e in public["timeline"]]


def test_illegal_action_is_409_with_allowed_actions(client, seed):
    tid, code = file(client)
    r = act(client, tid, "resolve", seed.coordinator, text="x")
    assert r.status_code == 409
    assert set(r.json["allowed_actions"]) == {"verify", "reject", "comment"}
    r = act(client, tid, "rate", code=code, rating=5)
    assert r.status_code == 409 and r.json["allowed_actions"] == ["reply"]


def test_hold_reply_resumes_and_reopen_within_window(client, seed):
    tid, code = file(client)
    act(client, tid, "verify", seed.coordinator)
    r = act(client, tid, "hold", seed.officer_a, text="Mohon kirim foto lokasi.")
    assert r.json["status"] == "on_hold" and r.json["due"]["followup"] is None
    r = act(client, tid, "reply", code=code, text="Fotonya sudah saya kirim.")
    assert r.json["status"] == "in_progress" and r.json["due"]["followup"] is not None
    act(client, tid, "resolve", seed.officer_a, text="Sudah ditambal.")
    r = act(client, tid, "reopen", code=code, text="Lubangnya muncul lagi.")
    assert r.status_code == 200 and r.json["status"] == "in_progress"
    assert r.json["resolved_at"] is None


def test_reopen_after_window_is_refused(app, seed):
    with app.app_context(), database.connection_context():
        t0 = dt.datetime(2026, 3, 2, 2, 0)
        c, code = file_complaint({"body": "Lampu jalan mati", "category": "jalan"}, actor=Actor(role="reporter"),
                                 now=t0)
        coord = system("test")
        perform(c, "verify", coord, now=t0)
        perform(c, "resolve", coord, text="Sudah diganti", now=t0 + dt.timedelta(days=1))
        c = Complaint.get_by_id(c.id)
    client = app.test_client()
    r = act(client, c.tracking_id, "reopen", code=code, text="Masih mati")
    assert r.status_code == 409 and "Batas waktu tanggapan sudah lewat" in r.json["message"]


def test_auto_close_after_ten_working_days_across_holidays(app, seed):
    """Resolved Thu 17 Dec 2026 10:00 WITA; 24-25 Dec (cuti bersama, Christmas), 1 Jan and
    5 Jan 2027 (Isra Mi'raj) are not working days: the window ends Wed 6 Jan 2027 10:00 WITA,
    not on 31 Dec as counting weekdays alone would give."""
    with app.app_context(), database.connection_context():
        filed = dt.datetime(2026, 12, 16, 2, 0)
        c, _ = file_complaint({"body": "Drainase tersumbat", "category": "jalan"}, actor=Actor(role="reporter"),
                              now=filed)
        sysactor = system("test")
        perform(c, "verify", sysactor, now=filed + dt.timedelta(hours=1))
        resolved = dt.datetime(2026, 12, 17, 2, 0)  # 10:00 WITA
        perform(c, "resolve", sysactor, text="Sudah dibersihkan", now=resolved)
        c = Complaint.get_by_id(c.id)
        assert c.due_close == dt.datetime(2027, 1, 6, 2, 0)

        assert sla_sweep(now=dt.datetime(2026, 12, 31, 2, 0))["closed"] == 0
        assert sla_sweep(now=dt.datetime(2027, 1, 6, 1, 59))["closed"] == 0
        assert Complaint.get_by_id(c.id).status == "resolved"
        assert sla_sweep(now=dt.datetime(2027, 1, 6, 2, 0))["closed"] == 1
        c = Complaint.get_by_id(c.id)
        assert c.status == "closed"
        last = Event.select().where(Event.complaint == c).order_by(Event.id.desc()).first()
        assert (last.type, last.actor_role, last.data.get("auto")) == ("close", "system", True)
        assert sla_sweep(now=dt.datetime(2027, 1, 7))["closed"] == 0  # nothing twice


def test_deployment_holidays_are_configurable(make_app):
    app = make_app({"HOLIDAYS_EXTRA": ["2027-01-06"]})
    with app.app_context(), database.connection_context():
        cal = app.extensions["aduan"].calendar
        assert cal.add_working_days(dt.datetime(2026, 12, 17, 2, 0), 10) == dt.datetime(2027, 1, 7, 2, 0)


def test_sla_breaches_become_internal_events_once(app, seed):
    with app.app_context(), database.connection_context():
        t0 = dt.datetime(2026, 11, 2, 1, 0)  # Monday 09:00 WITA
        c, _ = file_complaint({"body": "Banjir di jalan utama", "category": "jalan", "urgency": "mendesak"},
                              actor=Actor(role="reporter"), now=t0)
        assert c.due_first_response == t0 + dt.timedelta(hours=1)
        assert c.due_verify == dt.datetime(2026, 11, 5, 1, 0)
        out = sla_sweep(now=t0 + dt.timedelta(hours=2))
        assert out["breaches"] == 1
        out = sla_sweep(now=t0 + dt.timedelta(days=4))
        assert out["breaches"] == 1  # verify; first_response already recorded
        assert sla_sweep(now=t0 + dt.timedelta(days=4))["breaches"] == 0
        breaches = Event.select().where((Event.complaint == c) & (Event.type == "sla_breach"))
        assert sorted(e.data["stage"] for e in breaches) == ["first_response", "verify"]
        assert {e.visibility for e in breaches} == {"internal"}
    client = app.test_client()
    public = client.get(f"/api/v1/complaints/{c.tracking_id}").json
    assert "sla_breach" not in [e["type"] for e in public["timeline"]]
    staff = client.get("/api/v1/complaints?overdue=true", headers=auth(seed.coordinator)).json
    assert c.tracking_id in [i["tracking_id"] for i in staff["items"]]


def test_first_response_clock_stops_on_public_answer(client, seed):
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    r = act(client, tid, "comment", seed.officer_a, text="catatan internal")
    assert r.json["first_response_at"] is None
    r = act(client, tid, "respond", seed.officer_a, text="Petugas menuju lokasi.")
    assert r.json["first_response_at"] is not None


def test_date_filters_use_the_deployment_time_zone(app, seed):
    """A complaint filed at 07:30 WITA on 3 Nov is 23:30 UTC on 2 Nov: it belongs to 3 Nov."""
    with app.app_context(), database.connection_context():
        c, _ = file_complaint({"body": "Pagi-pagi jalan banjir"}, actor=Actor(role="reporter"),
                              now=dt.datetime(2026, 11, 2, 23, 30))
    client = app.test_client()
    ids = lambda q: [i["tracking_id"] for i in client.get(f"/api/v1/complaints?{q}", headers=auth(seed.admin)).json["items"]]
    assert c.tracking_id in ids("created_from=2026-11-03&created_to=2026-11-03")
    assert c.tracking_id not in ids("created_to=2026-11-02")
