"""Fixtures for the Telegram plugin's tests: a local Bot API stand-in (pytest-httpserver) and
updates built after the Bot API documentation's examples, each parsed by python-telegram-bot's
``Update.de_json`` before we send it (an independent check that they are real updates)."""
from __future__ import annotations

import itertools
import json

import pytest
from werkzeug import Response

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
SECRET = "aduan-telegram-webhook-secret_0123"
CHAT = 777000111
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 200 + b"\xff\xd9"


class BotApi:
    """The Bot API stand-in: records every call, answers like Telegram."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.calls: list[tuple[str, dict]] = []
        self.ids = itertools.count(500)
        self.files = {}
        self.fail_next: list[tuple[int, dict]] = []
        httpserver.expect_request(f"/bot{TOKEN}/sendMessage").respond_with_handler(self._send)
        httpserver.expect_request(f"/bot{TOKEN}/getFile").respond_with_handler(self._get_file)
        httpserver.expect_request(f"/bot{TOKEN}/setWebhook").respond_with_handler(self._ok(True))
        httpserver.expect_request(f"/bot{TOKEN}/getWebhookInfo").respond_with_handler(
            self._ok({"url": "https://aduan.example/hooks/telegram", "has_custom_certificate": False,
                      "pending_update_count": 0}))
        httpserver.expect_request(__import__("re").compile(rf"/file/bot{TOKEN}/.*")).respond_with_handler(self._file)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def _ok(self, result):
        def handler(request):
            self.calls.append((request.path.rsplit("/", 1)[-1], json.loads(request.data or b"{}")))
            return Response(json.dumps({"ok": True, "result": result}), content_type="application/json")
        return handler

    def _send(self, request):
        body = json.loads(request.data)
        self.calls.append(("sendMessage", body))
        if self.fail_next:
            code, answer = self.fail_next.pop(0)
            return Response(json.dumps(answer), code, content_type="application/json")
        return Response(json.dumps({"ok": True, "result": {
            "message_id": next(self.ids), "date": 1700000000, "text": body["text"],
            "chat": {"id": body["chat_id"], "type": "private", "first_name": "Baiq"}}}),
            content_type="application/json")

    def _get_file(self, request):
        body = json.loads(request.data)
        self.calls.append(("getFile", body))
        fid = body["file_id"]
        if fid not in self.files:
            return Response(json.dumps({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"}),
                            400, content_type="application/json")
        return Response(json.dumps({"ok": True, "result": {"file_id": fid, "file_unique_id": "u" + fid,
                                                            "file_size": len(self.files[fid]),
                                                            "file_path": f"photos/{fid}.jpg"}}),
                        content_type="application/json")

    def _file(self, request):
        fid = request.path.rsplit("/", 1)[-1][:-4]
        return Response(self.files[fid], content_type="image/jpeg")

    def sent(self):
        return [body for name, body in self.calls if name == "sendMessage"]


@pytest.fixture
def bot(httpserver):
    return BotApi(httpserver)


@pytest.fixture
def tg_app(make_app, bot):
    def factory(**extra):
        cfg = {"PLUGINS": ["telegram"], "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET,
               "TELEGRAM_API_URL": bot.url, "TELEGRAM_PUBLIC_URL": "https://aduan.example"}
        cfg.update(extra)
        return make_app(cfg)

    return factory


class Updates:
    """Updates shaped like the Bot API documentation's (Update, Message, PhotoSize, Location,
    CallbackQuery), checked with python-telegram-bot before use."""

    def __init__(self):
        self.n = itertools.count(100000)
        self.mid = itertools.count(10)

    def _user(self, chat):
        return {"id": chat, "is_bot": False, "first_name": "Baiq", "last_name": "Nurul", "language_code": "id"}

    def message(self, chat=CHAT, **fields):
        upd = {"update_id": next(self.n), "message": {
            "message_id": next(self.mid), "from": self._user(chat), "date": 1700000000,
            "chat": {"id": chat, "type": "private", "first_name": "Baiq", "last_name": "Nurul"}, **fields}}
        return self.check(upd)

    def text(self, text, chat=CHAT):
        ents = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
        return self.message(chat, text=text, **({"entities": ents} if ents else {}))

    def photo(self, file_id, caption=None, chat=CHAT):
        sizes = [{"file_id": file_id + "-s", "file_unique_id": "s" + file_id, "width": 90, "height": 67,
                  "file_size": 1200},
                 {"file_id": file_id, "file_unique_id": "b" + file_id, "width": 1280, "height": 960,
                  "file_size": 98000}]
        return self.message(chat, photo=sizes, **({"caption": caption} if caption else {}))

    def location(self, lat, lng, chat=CHAT):
        return self.message(chat, location={"latitude": lat, "longitude": lng})

    def sticker(self, chat=CHAT):
        return self.message(chat, sticker={"file_id": "stk", "file_unique_id": "ustk", "type": "regular",
                                           "width": 512, "height": 512, "is_animated": False, "is_video": False})

    def callback(self, data, chat=CHAT):
        upd = {"update_id": next(self.n), "callback_query": {
            "id": f"43{next(self.n)}", "from": self._user(chat),
            "chat_instance": "-123456789", "data": data,
            "message": {"message_id": 9, "date": 1700000000, "text": "Pilih kategori",
                        "chat": {"id": chat, "type": "private", "first_name": "Baiq"},
                        "from": {"id": 123456, "is_bot": True, "first_name": "AduanBot", "username": "AduanBot"}}}}
        return self.check(upd)

    @staticmethod
    def check(upd: dict) -> dict:
        from telegram import Update

        parsed = Update.de_json(upd, None)
        assert parsed.update_id == upd["update_id"]
        if "message" in upd:
            assert parsed.message.chat.id == upd["message"]["chat"]["id"]
            assert parsed.message.text == upd["message"].get("text")
            if "photo" in upd["message"]:
                assert parsed.message.photo[-1].file_id == upd["message"]["photo"][-1]["file_id"]
            if "location" in upd["message"]:
                assert parsed.message.location.latitude == upd["message"]["location"]["latitude"]
        else:
            assert parsed.callback_query.data == upd["callback_query"]["data"]
        return upd


@pytest.fixture
def updates():
    return Updates()


def post(client, update, *, secret=SECRET, raw=None):
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    return client.post("/hooks/telegram", data=raw if raw is not None else json.dumps(update),
                       content_type="application/json", headers=headers)


@pytest.fixture
def tg():
    """Constants and the webhook poster, for the tests."""
    class T:
        CHAT, JPEG, SECRET, TOKEN = CHAT, JPEG, SECRET, TOKEN
        post = staticmethod(post)
    return T
