"""Twilio: signatures checked with twilio's own validator, TwiML replies, retries file once."""
import re
import xml.etree.ElementTree as ET

from aduan.db import database
from aduan.models import Complaint, Reporter
from aduan.testing import auth


def _msg(sid, body="Lampu jalan di Jl. Pejanggik mati sejak seminggu", sender="+6281234567890"):
    return {"MessageSid": sid, "AccountSid": "AC00000000000000000000000000000000", "From": sender,
            "To": "+15005550006", "Body": body, "NumMedia": "0"}


def _reply(resp):
    root = ET.fromstring(resp.data)
    assert root.tag == "Response"
    msgs = root.findall("Message")
    return msgs[0].text if msgs else None


def test_signed_message_files_a_complaint_and_replies_with_tracking_id_and_code(sms_app, seed, signers):
    app = sms_app()
    client = app.test_client()
    r = signers.twilio(client, "/hooks/sms/twilio", _msg("SM1"))
    assert r.status_code == 200 and r.mimetype == "application/xml"
    text = _reply(r)
    tid = re.search(r"lacak (\w{8})", text).group(1)
    code = re.search(r"kode akses (\w{10})", text).group(1)
    # the reporter can use the code on the web API like any other reporter
    view = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json
    assert view["channel"] == "sms" and view["status"] == "received"
    assert view["reporter"]["phone"] == "+6281234567890"
    assert view["lat"] is None and view["region"] is None  # no location guessed
    staff = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert staff["body"].startswith("Lampu jalan")


def test_tampered_or_unsigned_requests_are_refused_and_change_nothing(sms_app, seed, signers):
    app = sms_app()
    client = app.test_client()
    r = signers.twilio(client, "/hooks/sms/twilio", _msg("SM2"), tamper={"Body": "LAPOR palsu"})
    assert r.status_code == 403
    r = signers.twilio(client, "/hooks/sms/twilio", _msg("SM3"), tamper={"From": "+6289999999999"})
    assert r.status_code == 403
    r = signers.twilio(client, "/hooks/sms/twilio", _msg("SM4"), token="another-accounts-token")
    assert r.status_code == 403
    r = client.post("/hooks/sms/twilio", data=_msg("SM5"))
    assert r.status_code == 403
    # signed for the local URL instead of the configured public one (proxy): refused
    r = signers.twilio(client, "/hooks/sms/twilio", _msg("SM6"), url="http://localhost/hooks/sms/twilio")
    assert r.status_code == 403
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0 and Reporter.select().count() == 0


def test_the_same_webhook_three_times_files_one_complaint(sms_app, seed, signers):
    app = sms_app()
    client = app.test_client()
    replies = [_reply(signers.twilio(client, "/hooks/sms/twilio", _msg("SMdup"))) for _ in range(3)]
    assert "lacak" in replies[0]
    assert replies[1] is None and replies[2] is None  # a retry gets no second text
    items = client.get("/api/v1/complaints?limit=50", headers=auth(seed.admin)).json["items"]
    assert len(items) == 1


def test_known_number_is_matched_to_its_reporter(sms_app, seed, signers):
    app = sms_app()
    client = app.test_client()
    signers.twilio(client, "/hooks/sms/twilio", _msg("SMa", sender="+6281234567890"))
    # the same number written the Indonesian way files under the same reporter
    signers.twilio(client, "/hooks/sms/twilio", _msg("SMb", body="LAPOR jembatan retak", sender="081234567890"))
    signers.twilio(client, "/hooks/sms/twilio", _msg("SMc", body="lapor: sampah menumpuk", sender="0062812-3456-7890"))
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 3
        assert Reporter.select().count() == 1
        rep = Reporter.get()
        assert rep.phone == "+6281234567890"
        bodies = sorted(c.body for c in Complaint.select())
        assert bodies == ["Lampu jalan di Jl. Pejanggik mati sejak seminggu", "jembatan retak", "sampah menumpuk"]


def test_delivery_report_updates_the_message(sms_app, seed, signers, httpserver):
    httpserver.expect_request("/2010-04-01/Accounts/AC00000000000000000000000000000000/Messages.json",
                              method="POST").respond_with_json({"sid": "SMout1", "status": "queued"}, status=201)
    app = sms_app(SMS_OUTBOUND="twilio", SMS_TWILIO_API_URL=httpserver.url_for("/"))
    client = app.test_client()
    tid = re.search(r"lacak (\w{8})", _reply(signers.twilio(client, "/hooks/sms/twilio", _msg("SMx")))).group(1)
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id,
                                                                      "text": "Diteruskan ke Dinas PUPR"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200, r.json
    from aduan.jobs import Worker

    assert Worker(app).run_once()["done"] >= 1
    req, _ = httpserver.log[0]
    assert req.form["To"] == "+6281234567890" and tid in req.form["Body"]
    assert req.form["StatusCallback"] == "https://aduan.ntbprov.go.id/hooks/sms/twilio/status"
    assert req.authorization.username == "AC00000000000000000000000000000000"
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert log[-1]["status"] == "sent" and log[-1]["command"] == "notify"
    r = signers.twilio(client, "/hooks/sms/twilio/status", {"MessageSid": "SMout1", "MessageStatus": "delivered"})
    assert r.status_code == 204
    r = signers.twilio(client, "/hooks/sms/twilio/status", {"MessageSid": "SMout1", "MessageStatus": "sent"})
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert log[-1]["status"] == "delivered"  # a late "sent" does not undo "delivered"
    r = client.post("/hooks/sms/twilio/status", data={"MessageSid": "SMout1", "MessageStatus": "failed"})
    assert r.status_code == 403
