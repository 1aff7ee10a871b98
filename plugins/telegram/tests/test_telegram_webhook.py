"""The webhook: secret token, replays, bad bodies, updates we do not serve, set-webhook."""
import json

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint, Contact
from aduan_telegram.models import TelegramMessage


def _nothing_stored(app):
    with app.app_context(), database.connection_context():
        return (TelegramMessage.select().count(), Contact.select().count(), Complaint.select().count()) == (0, 0, 0)


def test_unsigned_and_tampered_updates_change_nothing(tg_app, updates, tg):
    app = tg_app()
    client = app.test_client()
    upd = updates.text("/lapor Jalan rusak")
    assert tg.post(client, upd, secret=None).status_code == 403
    assert tg.post(client, upd, secret="wrong").status_code == 403
    assert tg.post(client, upd, secret=tg.SECRET + "x").status_code == 403
    assert tg.post(client, upd, secret=tg.SECRET.upper()).status_code == 403
    assert _nothing_stored(app)


def test_replayed_updates_are_processed_once(tg_app, bot, updates, tg):
    app = tg_app()
    client = app.test_client()
    upd = updates.text("/lapor Lampu jalan mati di Jl. Airlangga")
    assert tg.post(client, upd).json["duplicate"] is False
    for _ in range(3):  # Telegram redelivers until it gets a 2xx
        assert tg.post(client, upd).json["duplicate"] is True
    Worker(app).run_once()
    assert len(bot.sent()) == 1
    with app.app_context(), database.connection_context():
        assert TelegramMessage.select().where(TelegramMessage.direction == "in").count() == 1


def test_bad_bodies_are_4xx(tg_app, updates, tg):
    app = tg_app()
    client = app.test_client()
    assert tg.post(client, None, raw=b"{oops").status_code == 400
    assert tg.post(client, None, raw=b"[1]").status_code == 422
    assert tg.post(client, None, raw=b'{"update_id": "x"}').status_code == 422
    assert tg.post(client, None, raw=b'{"update_id": -1}').status_code == 422
    r = tg.post(client, None, raw=json.dumps({"update_id": 5, "message": {"message_id": 1, "date": 1,
                                                                         "chat": {"type": "private"}}}).encode())
    assert r.status_code == 422
    # updates we do not serve are acknowledged (or Telegram would redeliver them forever)
    group = {"update_id": 6, "message": {"message_id": 1, "date": 1, "text": "halo",
                                         "chat": {"id": -1001, "type": "supergroup", "title": "Warga"}}}
    assert tg.post(client, group).json == {"ok": True, "ignored": True}
    assert tg.post(client, {"update_id": 7, "edited_message": group["message"]}).json["ignored"] is True
    assert _nothing_stored(app)


def test_an_unconfigured_bot_does_not_stop_start_up(make_app, caplog, tg):
    app = make_app({"PLUGINS": ["telegram"]})
    assert "TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET" in caplog.text
    r = app.test_client().post("/hooks/telegram", json={"update_id": 1})
    assert r.status_code == 404 and "TELEGRAM_BOT_TOKEN" in r.json["message"]


def test_set_webhook_registers_the_url_and_secret(tg_app, bot, tg):
    from aduan_telegram.cli import telegram_cli

    app = tg_app()
    out = app.test_cli_runner().invoke(telegram_cli, ["set-webhook"])
    assert out.exit_code == 0 and "https://aduan.example/hooks/telegram" in out.output
    name, body = [c for c in bot.calls if c[0] == "setWebhook"][0]
    assert body["url"] == "https://aduan.example/hooks/telegram" and body["secret_token"] == tg.SECRET
    assert body["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    assert tg.TOKEN not in out.output and tg.SECRET not in out.output
    info = app.test_cli_runner().invoke(telegram_cli, ["webhook-info"])
    assert "pending updates: 0" in info.output


def test_blocking_the_bot_stops_notifications(tg_app, updates, tg):
    from telegram import Update

    app = tg_app()
    client = app.test_client()
    tg.post(client, updates.text("/start"))

    def member(uid, old, new):
        upd = {"update_id": uid, "my_chat_member": {
            "chat": {"id": tg.CHAT, "type": "private", "first_name": "Baiq"},
            "from": {"id": tg.CHAT, "is_bot": False, "first_name": "Baiq"}, "date": 1764576000,
            "old_chat_member": {"user": {"id": 123456, "is_bot": True, "first_name": "AduanBot"}, "status": old,
                                **({"until_date": 0} if old == "kicked" else {})},
            "new_chat_member": {"user": {"id": 123456, "is_bot": True, "first_name": "AduanBot"}, "status": new,
                                **({"until_date": 0} if new == "kicked" else {})}}}
        assert Update.de_json(upd, None).my_chat_member.new_chat_member.status == new
        return upd

    assert tg.post(client, member(900001, "member", "kicked")).status_code == 200
    with app.app_context(), database.connection_context():
        assert Contact.get(Contact.channel == "telegram").opted_out is True
    tg.post(client, member(900002, "kicked", "member"))
    with app.app_context(), database.connection_context():
        assert Contact.get(Contact.channel == "telegram").opted_out is False
