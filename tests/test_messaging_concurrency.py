"""Per-contact limits of the conversation engine hold under concurrent webhooks, across channels:
500 signed webhooks from 50 contacts (25 on WhatsApp, 25 on Telegram), 8 at a time, retries
included. On PostgreSQL (``ADUAN_TEST_DATABASE_URL``) this is a real race between connections; the
contact's row lock serialises each contact while different contacts proceed in parallel."""
import hashlib
import hmac
import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from aduan.db import database
from aduan.models import Contact, Job

pytest.importorskip("aduan_whatsapp")
pytest.importorskip("aduan_telegram")

APP_SECRET, TG_SECRET = "wa-app-secret", "tg-secret"
INBOUND, REPLIES = 7, 4


def _wa(number: str, i: int) -> tuple[str, bytes, dict]:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": "2"},
                  "contacts": [{"profile": {"name": "Warga"}, "wa_id": number, "user_id": f"ID.{number[-10:]}"}],
                  "messages": [{"from": number, "id": f"wamid.{number}.{i}", "timestamp": "1764576000",
                                "type": "text", "text": {"body": f"bagian {i} laporan"}}]}}]}]}).encode()
    sig = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return "/hooks/whatsapp", body, {"X-Hub-Signature-256": sig}


def _tg(chat: int, i: int) -> tuple[str, bytes, dict]:
    body = json.dumps({"update_id": chat * 100 + i, "message": {
        "message_id": i + 1, "date": 1764576000, "text": f"bagian {i} laporan",
        "from": {"id": chat, "is_bot": False, "first_name": "Warga"},
        "chat": {"id": chat, "type": "private", "first_name": "Warga"}}}).encode()
    return "/hooks/telegram", body, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}


def test_500_webhooks_from_50_contacts_keep_every_limit(make_app):
    app = make_app({"PLUGINS": ["whatsapp", "telegram"],
                    "WHATSAPP_ACCESS_TOKEN": "t", "WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "v",
                    "WHATSAPP_PHONE_NUMBER_ID": "2", "WHATSAPP_INBOUND_PER_HOUR": INBOUND,
                    "WHATSAPP_REPLIES_PER_HOUR": REPLIES,
                    "TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
                    "TELEGRAM_INBOUND_PER_HOUR": INBOUND, "TELEGRAM_REPLIES_PER_HOUR": REPLIES})
    requests = []
    for k in range(25):
        number, chat = f"62819070{k:05d}", 5550000 + k
        for i in range(9):
            requests += [_wa(number, i), _tg(chat, i)]
        requests += [_wa(number, 0), _tg(chat, 0)]  # each contact's first message delivered again
    assert len(requests) == 500
    random.Random(14).shuffle(requests)

    def post(req):
        path, body, headers = req
        return app.test_client().post(path, data=body, content_type="application/json", headers=headers).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(post, requests)) == {200}

    from aduan_telegram.models import TelegramMessage
    from aduan_whatsapp.models import WhatsappMessage

    with app.app_context(), database.connection_context():
        contacts = list(Contact.select())
        assert len(contacts) == 50
        for model, field, channel in ((WhatsappMessage, WhatsappMessage.address, "whatsapp"),
                                      (TelegramMessage, TelegramMessage.chat_id, "telegram")):
            for c in (c for c in contacts if c.channel == channel):
                rows = list(model.select().where(field == c.address))
                inbound = sorted(r.status for r in rows if r.direction == "in")
                replies = sorted(r.status for r in rows if r.direction == "out")
                assert inbound == ["processed"] * INBOUND + ["rate_limited"] * (9 - INBOUND), (channel, inbound)
                assert replies == ["queued"] * REPLIES + ["suppressed"] * (INBOUND - REPLIES), (channel, replies)
                assert (c.inbound_count, c.reply_count) == (INBOUND, REPLIES)
                # the draft holds exactly the processed parts, none lost to a concurrent update
                assert c.state["draft"]["body"].count("laporan") == INBOUND
        assert Job.select().count() == 50 * REPLIES
