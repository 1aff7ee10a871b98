"""Staff API: the message log per complaint and per number; officers see only their agency's
complaints, and never an anonymous reporter's number."""
import re

from aduan.auth import Actor
from aduan.db import database
from aduan.models import Complaint
from aduan.services import file_complaint
from aduan.testing import auth


def test_message_log_per_complaint_and_per_number(sms_app, seed, signers):
    app = sms_app()
    client = app.test_client()
    r = signers.generic(client, {"from": "0819-0707-8888", "text": "LAPOR trotoar rusak", "id": "a1"})
    tid = re.search(r"lacak (\w{8})", r.json["reply"]).group(1)
    signers.generic(client, {"from": "0819-0707-8888", "text": f"CEK {tid}", "id": "a2"})
    url = f"/api/v1/plugins/sms/complaints/{tid}/messages"
    assert client.get(url).status_code == 401
    log = client.get(url, headers=auth(seed.coordinator)).json
    assert [(m["direction"], m["command"]) for m in log] == [("in", "lapor"), ("out", "reply"), ("in", "cek"),
                                                             ("out", "reply")]
    assert log[0]["phone"] == "+6281907078888" and log[0]["body"] == "LAPOR trotoar rusak"
    # officers: only once the complaint is disposed to their agency
    assert client.get(url, headers=auth(seed.officer_a)).status_code == 404
    client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                headers=auth(seed.coordinator))
    assert client.get(url, headers=auth(seed.officer_a)).status_code == 200
    assert client.get(url, headers=auth(seed.officer_b)).status_code == 404
    assert client.get("/api/v1/plugins/sms/complaints/NOPE2345/messages",
                      headers=auth(seed.admin)).status_code == 404

    by_number = client.get("/api/v1/plugins/sms/messages?phone=6281907078888", headers=auth(seed.admin)).json
    assert len(by_number) == 4 and by_number[0]["id"] > by_number[-1]["id"]
    assert len(client.get("/api/v1/plugins/sms/messages?phone=081907078888",
                          headers=auth(seed.officer_a)).json) == 4
    assert client.get("/api/v1/plugins/sms/messages?phone=081907078888",
                      headers=auth(seed.officer_b)).json == []
    r = client.get("/api/v1/plugins/sms/messages", headers=auth(seed.admin))
    assert r.status_code == 422 and "phone" in r.json["errors"]
    r = client.get("/api/v1/plugins/sms/messages?phone=0812&limit=0", headers=auth(seed.admin))
    assert r.status_code == 422 and "limit" in r.json["errors"]


def test_anonymous_reporter_number_is_hidden_from_officers(sms_app, seed, signers, httpserver):
    httpserver.expect_request("/send").respond_with_json({"ok": True})
    app = sms_app(SMS_OUTBOUND="http", SMS_HTTP_URL=httpserver.url_for("/send"))
    client = app.test_client()
    with app.app_context(), database.connection_context():
        c, _ = file_complaint({"body": "Pungli di kantor desa", "anonymous": True,
                               "reporter": {"phone": "081907079999"}}, actor=Actor(role="reporter"), channel="web")
        tid = c.tracking_id
    client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                headers=auth(seed.coordinator))
    from aduan.jobs import Worker

    Worker(app).run_once()
    # an anonymous reporter who gave a phone still hears about their complaint, and only they do
    import json

    assert json.loads(httpserver.log[0][0].data)["to"] == "+6281907079999"
    officer = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.officer_a)).json
    assert officer and all(m["phone"] is None for m in officer)
    coord = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert coord[0]["phone"] == "+6281907079999"
    assert client.get("/api/v1/plugins/sms/messages?phone=081907079999", headers=auth(seed.officer_a)).json == []
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 1


def test_web_reporters_are_not_texted_when_notify_all_phones_is_off(sms_app, seed, httpserver):
    app = sms_app(SMS_OUTBOUND="http", SMS_HTTP_URL=httpserver.url_for("/send"), SMS_NOTIFY_ALL_PHONES=False)
    client = app.test_client()
    r = client.post("/api/v1/complaints", json={"body": "Sampah", "reporter": {"phone": "081907070001"}})
    tid = r.json["tracking_id"]
    client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                headers=auth(seed.coordinator))
    from aduan.jobs import Worker

    assert Worker(app).run_once()["done"] == 0 and httpserver.log == []
