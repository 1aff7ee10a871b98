"""SMS Gateway for Android: X-Signature HMAC over body + X-Timestamp, dedupe on the envelope id,
replies and notifications through the gateway's message API (a real local HTTP server)."""
import json
import re
import time

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint
from aduan.testing import auth


def _echo(request):
    """Like the gateway: accepts the message under the id the client chose."""
    from werkzeug import Response

    return Response(json.dumps({"id": json.loads(request.data)["id"], "state": "Pending"}), 202,
                    content_type="application/json")


def _app(sms_app, httpserver, **extra):
    return sms_app(SMS_ANDROID_SEND_URL=httpserver.url_for("/message"), SMS_ANDROID_USERNAME="sms",
                   SMS_ANDROID_PASSWORD="gateway-pass", **extra)


def test_signed_webhook_files_once_and_the_reply_goes_through_the_gateway(sms_app, seed, signers, httpserver):
    httpserver.expect_request("/message", method="POST").respond_with_handler(_echo)
    app = _app(sms_app, httpserver)
    client = app.test_client()
    for _ in range(3):  # the app retries when our answer is slow: same envelope id
        r = signers.android(client, signers.android_sms(1))
        assert r.status_code == 200
    # a different message whose content-derived messageId collides is still a new message
    r = signers.android(client, signers.android_sms(2, text="Lampu lalu lintas Cakranegara mati"))
    assert r.status_code == 200 and r.json["duplicate"] is False
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 2
    with app.app_context(), database.connection_context():  # the queued reply is not readable in the job table
        from aduan.models import Job

        payloads = [j.payload for j in Job.select().where(Job.kind == "sms.send")]
        assert len(payloads) == 2 and not any("kode" in json.dumps(p) for p in payloads)
    assert Worker(app).run_once()["done"] == 2
    assert len(httpserver.log) == 2
    # the two replies go out side by side (a worker runs jobs concurrently): take the first complaint's
    with app.app_context(), database.connection_context():
        tid = Complaint.select().order_by(Complaint.id).first().tracking_id
    req = next(req for req, _ in httpserver.log if f"lacak {tid}" in json.loads(req.data)["textMessage"]["text"])
    sent = json.loads(req.data)
    assert req.authorization.username == "sms" and req.authorization.password == "gateway-pass"
    assert sent["phoneNumbers"] == ["+6281234567890"]
    assert re.search(r"lacak \w{8}, kode akses \w{10}", sent["textMessage"]["text"])
    # the staff log never shows the access code
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert [m["direction"] for m in log] == ["in", "out"]
    code = re.search(r"kode akses (\w{10})", sent["textMessage"]["text"]).group(1)
    assert code not in log[1]["body"] and "**********" in log[1]["body"]
    assert log[1]["status"] == "sent" and log[1]["provider_message_id"] == sent["id"]

    # delivery report from the phone
    r = signers.android(client, {"deviceId": "dev1", "event": "sms:delivered", "id": "env-d1", "webhookId": "w2",
                                 "payload": {"messageId": sent["id"], "phoneNumber": "+6281234567890",
                                             "deliveredAt": "2026-11-23T10:01:00.000+08:00"}})
    assert r.status_code == 200
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.coordinator)).json
    assert log[1]["status"] == "delivered"


def test_bad_signatures_and_stale_timestamps_are_refused(sms_app, seed, signers, httpserver):
    app = _app(sms_app, httpserver)
    client = app.test_client()
    env = signers.android_sms(9)
    assert signers.android(client, env, key="wrong-key").status_code == 403
    assert signers.android(client, env, ts=int(time.time()) - 3600).status_code == 403  # replayed an hour later
    assert signers.android(client, env, ts="kemarin").status_code == 403
    body = json.dumps(env).encode()
    ts = str(int(time.time()))
    assert client.post("/hooks/sms/android", data=body, content_type="application/json",
                       headers={"X-Timestamp": ts}).status_code == 403
    # signature of another body
    import hashlib
    import hmac

    sig = hmac.new(b"android-signing-key", json.dumps(signers.android_sms(10)).encode() + ts.encode(),
                   hashlib.sha256).hexdigest()
    assert client.post("/hooks/sms/android", data=body, content_type="application/json",
                       headers={"X-Timestamp": ts, "X-Signature": sig}).status_code == 403
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0


def test_gateway_outage_is_retried_until_it_works(sms_app, seed, signers, httpserver):
    httpserver.expect_ordered_request("/message", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/message", method="POST").respond_with_handler(_echo)
    app = _app(sms_app, httpserver)
    client = app.test_client()
    signers.android(client, signers.android_sms(1, text="BANTUAN"))
    worker = Worker(app)
    first, second = worker.run_once(), worker.run_once()  # a job runs at most once per pass
    assert (first["retry"], first["done"], second["done"]) == (1, 0, 1)
    assert len(httpserver.log) == 2
    assert "LAPOR" in json.loads(httpserver.log[1][0].data)["textMessage"]["text"]


def test_simultaneous_deliveries_of_one_message_file_once(sms_app, seed, signers, httpserver):
    import threading

    app = _app(sms_app, httpserver)
    env = signers.android_sms(77, text="Lampu penerangan jalan di Jl. Langko padam")
    barrier = threading.Barrier(5)
    codes = []

    def deliver():
        client = app.test_client()
        barrier.wait()
        codes.append(signers.android(client, env).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 5
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 1
        from aduan_sms.models import SmsMessage

        assert SmsMessage.select().where(SmsMessage.direction == "out").count() == 1


def test_batch_received_files_every_message_once(sms_app, seed, signers, httpserver):
    """``sms:batch:received`` (the app's batch delivery, e.g. after an inbox refresh) carries several
    messages: each is filed, and the batch delivered again files nothing more."""
    httpserver.expect_request("/message", method="POST").respond_with_handler(_echo)
    app = _app(sms_app, httpserver)
    client = app.test_client()
    env = {"deviceId": "dev1", "event": "sms:batch:received", "id": "batch-1", "webhookId": "wh9",
           "payload": {"messages": [
               {"messageId": "m1", "message": "LAPOR Lampu jalan di Jl. Pejanggik mati", "phoneNumber": "+6281911110001",
                "simNumber": 1, "receivedAt": "2026-11-23T10:00:00.000+08:00"},
               {"messageId": "m2", "message": "Sampah menumpuk di Pasar Kebon Roek", "phoneNumber": "081911110002",
                "simNumber": 1, "receivedAt": "2026-11-23T10:01:00.000+08:00"}]}}
    r = signers.android(client, env)
    assert r.status_code == 200 and r.json["received"] == 2 and r.json["duplicates"] == 0
    r = signers.android(client, env)
    assert r.status_code == 200 and r.json["duplicates"] == 2
    with app.app_context(), database.connection_context():
        assert sorted(c.body for c in Complaint.select()) == ["Lampu jalan di Jl. Pejanggik mati",
                                                              "Sampah menumpuk di Pasar Kebon Roek"]
    assert Worker(app).run_once()["done"] == 2  # each sender gets its tracking id through the phone
    assert sorted(json.loads(req.data)["phoneNumbers"][0] for req, _ in httpserver.log) == [
        "+6281911110001", "+6281911110002"]
    bad = dict(env, id="batch-2", payload={"messages": [{"message": "tanpa nomor"}]})
    assert signers.android(client, bad).status_code == 422
