"""The webhook: subscription check, signatures, replays and concurrent duplicates, bad bodies."""
import json
import threading

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint, Contact
from aduan_whatsapp.models import WhatsappMessage


def _stored(app):
    with app.app_context(), database.connection_context():
        return WhatsappMessage.select().count() + Contact.select().count() + Complaint.select().count()


def test_subscription_check(wa_app, wa):
    client = wa_app().test_client()
    r = client.get("/hooks/whatsapp", query_string={"hub.mode": "subscribe", "hub.verify_token": wa.VERIFY_TOKEN,
                                                    "hub.challenge": "1158201444"})
    assert r.status_code == 200 and r.get_data(as_text=True) == "1158201444"
    for args in ({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"},
                 {"hub.mode": "unsubscribe", "hub.verify_token": wa.VERIFY_TOKEN, "hub.challenge": "1"}, {}):
        assert client.get("/hooks/whatsapp", query_string=args).status_code == 403


def test_unsigned_tampered_and_wrongly_signed_webhooks_change_nothing(wa_app, hooks, wa):
    app = wa_app()
    client = app.test_client()
    upd = hooks.text("LAPOR jalan rusak")
    body = json.dumps(upd).encode()
    assert wa.post(client, upd, signature=False).status_code == 403
    assert wa.post(client, upd, secret="another-app-secret").status_code == 403
    tampered = body.replace(b"jalan rusak", b"jalan bagus")
    assert wa.post(client, None, raw=tampered, signature=wa.sign(body)).status_code == 403
    assert wa.post(client, None, raw=body, signature=wa.sign(body)[7:]).status_code == 403  # no "sha256="
    assert _stored(app) == 0


def test_replayed_and_concurrent_duplicates_file_once(wa_app, seed, graph, hooks, wa):
    app = wa_app()
    upd = hooks.text("LAPOR Sampah menumpuk di Pasar Cakranegara")
    send = hooks.text("KIRIM")
    client = app.test_client()
    assert wa.post(client, upd).json["messages"] == 1
    barrier = threading.Barrier(6)
    answers = []

    def deliver():
        c = app.test_client()
        barrier.wait()
        answers.append(wa.post(c, send).json)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["messages"] for a in answers) == [0, 0, 0, 0, 0, 1]
    assert wa.post(client, upd).json["duplicates"] == 1  # a retry hours later
    Worker(app).run_once()
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 1
        assert WhatsappMessage.select().where(WhatsappMessage.direction == "out").count() == 2
    assert len(graph.sent) == 2


def test_bad_bodies_and_other_fields(wa_app, hooks, wa):
    app = wa_app()
    client = app.test_client()
    assert wa.post(client, None, raw=b"{oops").status_code == 400
    assert wa.post(client, None, raw=b"[]").status_code == 422
    assert wa.post(client, None, raw=b'{"object": "whatsapp_business_account"}').status_code == 422
    odd = {"object": "whatsapp_business_account", "entry": [
        {"id": "1", "changes": [{"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
                                {"field": "messages", "value": {"messages": [{"type": "text"}, "x", None]}},
                                "nope"]}, 5]}
    r = wa.post(client, odd)
    assert r.status_code == 200 and r.json["messages"] == 0
    assert _stored(app) == 0
    # a sticker: answered, nothing filed
    sticker = hooks.message("sticker", {"mime_type": "image/webp", "sha256": "x", "id": "55", "animated": False})
    assert wa.post(client, sticker).json["messages"] == 1


def test_an_unconfigured_channel_does_not_stop_start_up(make_app, caplog):
    app = make_app({"PLUGINS": ["whatsapp"]})
    assert "WHATSAPP_ACCESS_TOKEN" in caplog.text and "WHATSAPP_APP_SECRET" in caplog.text
    client = app.test_client()
    assert client.post("/hooks/whatsapp", json={}).status_code == 404
    assert client.get("/hooks/whatsapp").status_code == 404


def test_check_command(wa_app, graph):
    from aduan_whatsapp.cli import whatsapp_cli

    out = wa_app().test_cli_runner().invoke(whatsapp_cli, ["check"])
    assert out.exit_code == 0 and "NTB Care" in out.output and "GREEN" in out.output


def test_a_username_user_is_answered_by_business_scoped_id(wa_app, graph, hooks, wa):
    """Users who hide their number behind a username come with a BSUID only; replies use ``recipient``."""
    app = wa_app()
    client = app.test_client()
    upd = hooks.text("BANTUAN")
    msg = upd["entry"][0]["changes"][0]["value"]["messages"][0]
    del msg["from"]
    contact = upd["entry"][0]["changes"][0]["value"]["contacts"][0]
    del contact["wa_id"]
    contact["user_id"] = "ID.1349120865530274"
    from pywa.types import Message

    assert Message.from_update(hooks.wa, upd).from_user.bsuid == "ID.1349120865530274"
    assert wa.post(client, upd).json["messages"] == 1
    Worker(app).run_once()
    sent = graph.sent[-1]
    assert sent["recipient"] == "ID.1349120865530274" and "to" not in sent and "LAPOR" in sent["text"]["body"]
