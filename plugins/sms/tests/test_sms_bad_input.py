"""Whatever arrives, the answer is a clear 4xx or a handled message, never a 500; abuse is contained."""
import json

import pytest

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint
from aduan.testing import auth
from aduan_sms.models import SmsMessage


MALFORMED = [
    (b"{not json", "application/json", 400),
    (b"[1, 2]", "application/json", 422),
    (b"null", "application/json", 422),
    (b"\x00\x01\x02\xff", "application/json", 400),
    (json.dumps({"from": "081234567890", "text": "halo"}).encode(), "application/json", 422),  # no id
    (json.dumps({"id": "1", "text": "halo"}).encode(), "application/json", 422),  # no sender
    (json.dumps({"id": "1", "from": ["x"], "text": "halo"}).encode(), "application/json", 422),
    (json.dumps({"id": "1", "from": "0812", "text": {"a": 1}}).encode(), "application/json", 422),
    (b"from=081234567890&text=halo", "application/x-www-form-urlencoded", 422),  # no id
]


def test_generic_malformed_bodies(sms_app, signers):
    app = sms_app()
    client = app.test_client()
    for raw, ctype, expect in MALFORMED:
        r = signers.generic(client, None, raw=raw, content_type=ctype)
        assert r.status_code == expect and r.is_json and r.json["message"], raw
        if expect == 422 and "errors" in r.json:
            assert set(r.json["errors"]) <= {"from", "id", "text", "_body"}
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0


def test_android_malformed_bodies(sms_app, signers):
    client = sms_app().test_client()
    assert signers.android(client, None, raw=b"{oops").status_code == 400
    assert signers.android(client, None, raw=b'{"event": "sms:received"}').status_code == 422
    r = signers.android(client, {"event": "sms:received", "id": "e1", "payload": {"message": "x"}})
    assert r.status_code == 422 and "payload" in r.json["errors"]
    assert signers.android(client, {"event": "system:ping", "id": "p", "payload": {"health": {}}}).status_code == 200


def test_twilio_missing_fields(sms_app, signers):
    client = sms_app().test_client()
    r = signers.twilio(client, "/hooks/sms/twilio", {"Body": "halo"})
    assert r.status_code == 422 and set(r.json["errors"]) == {"MessageSid", "From"}


def test_disabled_webhooks_answer_404(make_app):
    client = make_app({"PLUGINS": ["sms"]}).test_client()
    for path in ("/hooks/sms/twilio", "/hooks/sms/android", "/hooks/sms/generic", "/hooks/sms/smssync"):
        assert client.post(path, data={"x": "1"}).status_code == 404


ODD_TEXTS = [
    ("", False),
    ("   \n\t ", False),
    ("LAPOR", False),
    ("🙏🏽 Tolong jalan di Gunung Sari rusak parah 😭🚧", True),
    ("Jalan rusak. " * 160, True),  # ~2,000 characters
    ("x" * 12_000, False),  # beyond the core's limit: a clear reply, no complaint
    ("\u202eReversed\u200b text\x00 with controls", True),
]


def test_odd_texts_are_handled(sms_app, signers):
    app = sms_app()
    client = app.test_client()
    for i, (text, files) in enumerate(ODD_TEXTS):
        r = signers.generic(client, {"from": f"+62819070711{i:02d}", "text": text, "id": f"odd-{i}"})
        assert r.status_code == 200 and r.json["reply"], text[:20]
        with app.app_context(), database.connection_context():
            c = (Complaint.select().join(SmsMessage, on=(SmsMessage.complaint == Complaint.id))
                 .where(SmsMessage.provider_message_id == f"odd-{i}").first())
            assert (c is not None) == files, text[:20]
            if files:
                assert "\u202e" not in c.body and "\x00" not in c.body
                if "🙏🏽" in text:
                    assert c.body.startswith("🙏🏽")
            else:
                assert "LAPOR" in r.json["reply"] or "10000" in r.json["reply"]


def test_short_codes_and_alphanumeric_senders_are_never_answered(sms_app, signers):
    app = sms_app()
    client = app.test_client()
    for sender in ["TELKOMSEL", "1708", "3636", "+1", "Info-PLN", " ", "+62 812 ABC"]:
        r = signers.generic(client, {"from": sender, "text": "LAPOR promo", "id": f"s-{sender}"})
        assert r.status_code == 200 and r.json["reply"] is None, sender
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0


def test_unknown_tracking_ids_and_bare_commands(sms_app, seed, signers):
    client = sms_app().test_client()
    ask = lambda t, i: signers.generic(client, {"from": "+6281907072222", "text": t, "id": i}).json["reply"]  # noqa
    assert "tidak ditemukan" in ask("CEK ZZZZ9999", "a")
    assert "Format: CEK" in ask("cek", "b")
    assert "tidak ditemukan" in ask("BALAS QQQQ2222 halo", "c")
    assert "Format: BALAS" in ask("balas", "d")
    assert "LAPOR" in ask("info", "e")
    # "Info ..." followed by a story is a report, not a help request
    assert "lacak" in ask("Info: jembatan di Narmada retak", "f")


def test_rate_limit_blocklist_and_reply_cap(sms_app, seed, signers, httpserver):
    app = sms_app(SMS_INBOUND_PER_HOUR=3, SMS_REPLIES_PER_HOUR=2)
    client = app.test_client()
    send = lambda i, sender="+6281907073333": signers.generic(  # noqa: E731
        client, {"from": sender, "text": f"LAPOR keluhan nomor {i}", "id": f"r-{sender}-{i}"}).json
    replies = [send(i)["reply"] for i in range(5)]
    assert [bool(r) for r in replies] == [True, True, False, False, False]  # reply cap 2/hour
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 3  # inbound limit 3/hour
        statuses = [m.status for m in SmsMessage.select().where(SmsMessage.direction == "in").order_by(SmsMessage.id)]
        assert statuses == ["processed"] * 3 + ["rate_limited"] * 2
    # coordinators block an abusive number through the API
    r = client.post("/api/v1/plugins/sms/blocklist", json={"phone": "0819-0707-4444", "reason": "spam"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 201 and r.json["phone"] == "+6281907074444"
    assert client.post("/api/v1/plugins/sms/blocklist", json={"phone": ""},
                       headers=auth(seed.coordinator)).status_code == 422
    assert client.post("/api/v1/plugins/sms/blocklist", json={"phone": "x"},
                       headers=auth(seed.officer_a)).status_code == 403
    assert send(1, sender="+6281907074444")["reply"] is None
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 3
    assert client.delete("/api/v1/plugins/sms/blocklist/+6281907074444",
                         headers=auth(seed.coordinator)).status_code == 204
    assert send(2, sender="+6281907074444")["reply"]


def test_configured_blocklist(sms_app, signers):
    app = sms_app(SMS_BLOCKLIST="081907075555,SPAMMER")
    client = app.test_client()
    for sender in ("+6281907075555", "SPAMMER"):
        assert signers.generic(client, {"from": sender, "text": "LAPOR x", "id": sender}).json["reply"] is None
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0
        assert {m.status for m in SmsMessage.select()} == {"blocked"}


def test_http_gateway_refusing_a_number_does_not_retry_forever(sms_app, seed, signers, httpserver):
    httpserver.expect_request("/send").respond_with_json({"error": "invalid number"}, status=400)
    app = sms_app(SMS_OUTBOUND="http", SMS_HTTP_URL=httpserver.url_for("/send"))
    client = app.test_client()
    tid = None
    r = signers.generic(client, {"from": "+6281907076666", "text": "LAPOR x", "id": "h1"})
    import re
    tid = re.search(r"lacak (\w{8})", r.json["reply"]).group(1)
    client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                headers=auth(seed.coordinator))
    counts = Worker(app).run_once()
    assert counts["dead"] == 1 and len(httpserver.log) == 1
    sent = json.loads(httpserver.log[0][0].data)
    assert sent["to"] == "+6281907076666" and tid in sent["text"]
    log = client.get(f"/api/v1/plugins/sms/complaints/{tid}/messages", headers=auth(seed.admin)).json
    assert log[-1]["status"] == "failed" and "HTTP 400" in log[-1]["error"]
    assert "+628" not in log[-1]["error"]


def test_an_outbound_gateway_without_its_settings_stops_start_up(make_app):
    from aduan.config import ConfigError

    with pytest.raises(ConfigError, match="SMS_HTTP_URL"):
        make_app({"PLUGINS": ["sms"], "SMS_OUTBOUND": "http"})
    with pytest.raises(ConfigError, match="SMS_TWILIO_ACCOUNT_SID"):
        make_app({"PLUGINS": ["sms"], "SMS_OUTBOUND": "twilio"})
    with pytest.raises(ConfigError, match="SMS_OUTBOUND"):
        make_app({"PLUGINS": ["sms"], "SMS_OUTBOUND": "pigeon"})


def test_cli_block_and_unblock(sms_app, signers):
    from aduan_sms.cli import sms_cli

    app = sms_app()
    client = app.test_client()
    runner = app.test_cli_runner()
    out = runner.invoke(sms_cli, ["block", "0819-0707-3131", "--reason", "spam"]).output
    assert out.strip() == "blocked +62819****3131"  # numbers are masked in output
    assert signers.generic(client, {"from": "+6281907073131", "text": "LAPOR x", "id": "c1"}).json["reply"] is None
    assert runner.invoke(sms_cli, ["unblock", "+6281907073131"]).output.strip() == "unblocked +62819****3131"
    assert signers.generic(client, {"from": "+6281907073131", "text": "LAPOR x", "id": "c2"}).json["reply"]
