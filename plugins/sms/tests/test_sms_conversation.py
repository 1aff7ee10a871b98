"""A whole conversation by SMS: file → tracking id → CEK → the agency answers through the core API →
the reporter is told by SMS (worker → a real HTTP gateway) → BALAS adds to the timeline."""
import re
from urllib.parse import parse_qs

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint, Event
from aduan.testing import auth

ZENZIVA_BODY = "userkey=U1&passkey=P1&to={to}&message={text}"


def _gateway_app(sms_app, httpserver, **extra):
    httpserver.expect_request("/reguler/api/sendsms/", method="POST").respond_with_json(
        {"messageId": "z-1", "to": "x", "status": "1", "text": "Success"})
    return sms_app(SMS_OUTBOUND="http", SMS_HTTP_URL=httpserver.url_for("/reguler/api/sendsms/"),
                   SMS_HTTP_CONTENT_TYPE="application/x-www-form-urlencoded", SMS_HTTP_BODY=ZENZIVA_BODY,
                   SMS_HTTP_NUMBER_FORMAT="national", **extra)


def _sent(httpserver):
    return [parse_qs(req.get_data(as_text=True)) for req, _ in httpserver.log]


def test_full_conversation(sms_app, seed, signers, httpserver):
    app = _gateway_app(sms_app, httpserver)
    client = app.test_client()
    me = "0819 0707 1234"
    n = iter(range(100))

    def say(text, sender=me):
        r = signers.generic(client, {"from": sender, "text": text, "id": f"gw-{next(n)}"})
        assert r.status_code == 200, r.json
        return r.json["reply"]

    reply = say("Lapor: pipa PDAM bocor di Jl. Majapahit, air terbuang sejak kemarin!")
    tid = re.search(r"lacak (\w{8})", reply).group(1)
    assert "kode akses" in reply

    reply = say(f"cek {tid.lower()}")
    assert reply == f"NTBCare: Laporan {tid}: Belum terverifikasi."
    # someone else asking about it learns the public status only
    assert say(f"CEK {tid}", sender="+6281300001111") == f"NTBCare: Laporan {tid}: Belum terverifikasi."

    # the coordinator verifies, the officer answers through the core HTTP API
    assert client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                       headers=auth(seed.coordinator)).status_code == 200
    answer = "Petugas akan memperbaiki pipa besok pagi. Mohon kirim patokan lokasi yang lebih jelas."
    assert client.post(f"/api/v1/complaints/{tid}/actions/hold", json={"text": answer},
                       headers=auth(seed.officer_a)).status_code == 200
    # an internal note is never sent
    assert client.post(f"/api/v1/complaints/{tid}/actions/comment", json={"text": "catatan internal: cek anggaran"},
                       headers=auth(seed.officer_a)).status_code == 200
    assert Worker(app).run_once()["done"] == 2
    sent = _sent(httpserver)
    assert [s["to"] for s in sent] == [["081907071234"], ["081907071234"]]
    assert sent[0]["userkey"] == ["U1"]
    assert "Diverifikasi" in sent[0]["message"][0]
    assert answer in sent[1]["message"][0] and "Status: Tunda" in sent[1]["message"][0]
    assert not any("internal" in s["message"][0] for s in sent)

    reply = say(f"CEK {tid}")
    assert "Tunda" in reply and "Petugas akan memperbaiki" in reply

    reply = say(f"BALAS {tid} Patokannya depan masjid Al-Falah, sebelah warung biru.")
    assert "Balasan Anda" in reply
    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        assert c.status == "in_progress"  # a reply to a held complaint resumes it
        ev = Event.select().where(Event.complaint == c, Event.type == "reply").get()
        assert ev.source == "sms" and ev.actor_role == "reporter" and ev.text.startswith("Patokannya")
        assert ev.external_id.startswith("generic:gw-")
    # another number cannot reply on the reporter's behalf
    reply = say(f"BALAS {tid} ini palsu", sender="081300001111")
    assert "hanya dapat dikirim dari nomor" in reply

    # the reporter opts out: the final answer is not texted
    assert "tidak akan menerima" in say("berhenti")
    httpserver.clear_log()
    assert client.post(f"/api/v1/complaints/{tid}/actions/resolve", json={"text": "Pipa sudah diperbaiki."},
                       headers=auth(seed.officer_a)).status_code == 200
    Worker(app).run_once()
    assert _sent(httpserver) == []
    # ...until they opt back in
    say("MULAI")
    assert client.post(f"/api/v1/complaints/{tid}/actions/close", json={},
                       headers=auth(seed.coordinator)).status_code == 200
    Worker(app).run_once()
    assert len(_sent(httpserver)) == 1 and "Ditutup" in _sent(httpserver)[0]["message"][0]
    # the timeline shows the SMS channel to staff
    staff = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert staff["extra"]["sms"]["messages"] >= 10


def test_english_keywords_get_english_replies_and_notifications(sms_app, seed, signers, httpserver):
    app = _gateway_app(sms_app, httpserver)
    client = app.test_client()
    r = signers.generic(client, {"from": "+6281907070000", "text": "REPORT street light broken near the harbour",
                                 "id": "e1"})
    reply = r.json["reply"]
    assert reply.startswith("NTBCare: Report received") and "access code" in reply
    tid = re.search(r"Tracking no\. (\w{8})", reply).group(1)
    with app.app_context(), database.connection_context():
        assert Complaint.get(Complaint.tracking_id == tid).language == "en"  # recorded for every later text
    assert signers.generic(client, {"from": "+6281907070000", "text": f"check {tid}", "id": "e2"}).json["reply"] \
        == f"NTBCare: Report {tid}: Not yet verified."
    assert "REPLY" in signers.generic(client, {"from": "+6281907070000", "text": "HELP", "id": "e3"}).json["reply"]
    client.post(f"/api/v1/complaints/{tid}/actions/reject", json={"text": "Outside our remit."},
                headers=auth(seed.coordinator))
    Worker(app).run_once()
    msg = _sent(httpserver)[-1]["message"][0]
    assert "Rejected" in msg and "Outside our remit." in msg


def test_smssync_gets_its_reply_in_the_answer(sms_app, seed):
    app = sms_app()
    client = app.test_client()
    form = {"from": "+6281907079999", "message": "Sekolah rusak di Lingsar", "message_id": "u-1",
            "sent_timestamp": "1700000000000", "sent_to": "+628123", "device_id": "1", "secret": "smssync-secret"}
    r = client.post("/hooks/sms/smssync", data=form)
    p = r.json["payload"]
    assert r.status_code == 200 and p["success"] is True and p["task"] == "send"
    assert p["messages"][0]["to"] == "+6281907079999" and "lacak" in p["messages"][0]["message"]
    r = client.post("/hooks/sms/smssync", data=form)
    assert r.json["payload"] == {"success": True, "error": None}  # retried: no second complaint, no second text
    r = client.post("/hooks/sms/smssync", data={**form, "message_id": "u-2", "secret": "nope"})
    assert r.status_code == 403 and r.json["payload"]["success"] is False
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 1


def test_generic_gateway_json_body_and_delivery_report(sms_app, seed, signers, httpserver):
    httpserver.expect_request("/api/send", method="POST", headers={"X-Api-Key": "k1"}).respond_with_json(
        {"data": {"messageId": "gw-777"}})
    app = sms_app(SMS_OUTBOUND="http", SMS_HTTP_URL=httpserver.url_for("/api/send"),
                  SMS_HTTP_BODY='{"msisdn": {to}, "content": {text}, "ref": {id}}', SMS_HTTP_NUMBER_FORMAT="digits",
                  SMS_HTTP_HEADERS={"X-Api-Key": "k1"}, SMS_HTTP_ID_FIELD="data.messageId")
    client = app.test_client()
    reply = signers.generic(client, {"from": "+6281907071212", "text": 'Lapor "jalan" \\ rusak {x}', "id": "j1"})
    tid = re.search(r"lacak (\w{8})", reply.json["reply"]).group(1)
    client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id,
                                                                  "text": 'Ditangani "PUPR" {segera}'},
                headers=auth(seed.coordinator))
    assert Worker(app).run_once()["done"] == 1
    import json

    sent = json.loads(httpserver.log[0][0].data)  # the template stays valid JSON whatever the text holds
    assert sent["msisdn"] == "6281907071212" and 'Ditangani "PUPR" {segera}' in sent["content"]
    assert sent["ref"].startswith("aduan-")
    r = signers.generic(client, {"id": "gw-777", "status": "delivered"}, path="/hooks/sms/generic/status")
    assert r.status_code == 200 and r.json["found"] is True
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert log[-1]["status"] == "delivered" and log[-1]["provider_message_id"] == "gw-777"
    r = signers.generic(client, {"id": "gw-777", "status": "read"}, path="/hooks/sms/generic/status")
    assert r.status_code == 422 and "status" in r.json["errors"]
    r = signers.generic(client, {"id": "gw-777", "status": "failed"}, path="/hooks/sms/generic/status",
                        secret="wrong")
    assert r.status_code == 403
    assert client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages",
                      headers=auth(seed.coordinator)).json[-1]["status"] == "delivered"
