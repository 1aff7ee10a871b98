"""Fixtures for the WhatsApp plugin's tests: a local Graph API stand-in (pytest-httpserver) and
webhooks built after Meta's documented examples, each parsed by ``pywa``'s types before we send it
(an independent check that they are real Cloud API webhooks), signed as Meta documents
(``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the app secret>``)."""
from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re

import pytest
from werkzeug import Response

APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "aduan-verify-token"
ACCESS_TOKEN = "EAAG-test-access-token"
PHONE_ID = "106540352242922"
WABA_ID = "102290129340398"
NUMBER = "6281907071234"  # wa_id: the citizen's number without "+"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 300 + b"\xff\xd9"


class Graph:
    """The Graph API stand-in: records every message sent, serves media, answers like the Cloud API."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.sent: list[dict] = []
        self.ids = itertools.count(1)
        self.media: dict[str, bytes] = {}
        self.fail_next: list[tuple[int, dict]] = []
        httpserver.expect_request(f"/v21.0/{PHONE_ID}/messages", method="POST").respond_with_handler(self._send)
        httpserver.expect_request(f"/v21.0/{PHONE_ID}", method="GET").respond_with_json(
            {"display_phone_number": "+62 370 123456", "verified_name": "NTB Care", "quality_rating": "GREEN",
             "id": PHONE_ID})
        httpserver.expect_request(re.compile(r"/v21\.0/\d+$"), method="GET").respond_with_handler(self._media_info)
        httpserver.expect_request(re.compile(r"/media/.+"), method="GET").respond_with_handler(self._media)

    @property
    def url(self) -> str:
        return self.server.url_for("").rstrip("/")

    def _auth(self, request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {ACCESS_TOKEN}"

    def _send(self, request):
        if not self._auth(request):
            return Response(json.dumps({"error": {"code": 190, "message": "Invalid OAuth access token"}}), 401)
        body = json.loads(request.data)
        self.sent.append(body)
        if self.fail_next:
            code, answer = self.fail_next.pop(0)
            return Response(json.dumps(answer), code, content_type="application/json")
        wamid = f"wamid.HBgN{next(self.ids):08d}"
        return Response(json.dumps({"messaging_product": "whatsapp",
                                    "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                                    "messages": [{"id": wamid}]}), content_type="application/json")

    def _media_info(self, request):
        mid = request.path.rsplit("/", 1)[-1]
        if not self._auth(request) or mid not in self.media:
            return Response(json.dumps({"error": {"code": 100, "message": "Invalid media id"}}), 400)
        data = self.media[mid]
        return Response(json.dumps({"messaging_product": "whatsapp", "url": self.server.url_for(f"/media/{mid}"),
                                    "mime_type": "image/jpeg", "sha256": hashlib.sha256(data).hexdigest(),
                                    "file_size": len(data), "id": mid}), content_type="application/json")

    def _media(self, request):
        if not self._auth(request):
            return Response("unauthorised", 401)
        return Response(self.media[request.path.rsplit("/", 1)[-1]], content_type="image/jpeg")

    def texts(self):
        out = []
        for b in self.sent:
            if b["type"] == "text":
                out.append(b["text"]["body"])
            elif b["type"] == "interactive":
                out.append(b["interactive"]["body"]["text"])
            else:
                out.append(b)
        return out


@pytest.fixture
def graph(httpserver):
    return Graph(httpserver)


@pytest.fixture
def wa_app(make_app, graph):
    def factory(**extra):
        cfg = {"PLUGINS": ["whatsapp"], "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_APP_SECRET": APP_SECRET,
               "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
               "WHATSAPP_GRAPH_URL": graph.url}
        cfg.update(extra)
        return make_app(cfg)

    return factory


class Hooks:
    """Cloud API webhooks shaped like Meta's examples, checked with pywa's types."""

    def __init__(self):
        self.n = itertools.count(1)
        from pywa import WhatsApp

        self.wa = WhatsApp(phone_id=PHONE_ID, token="unused")  # only to parse, never to send

    def _envelope(self, value):
        return {"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "changes": [{
            "value": {"messaging_product": "whatsapp",
                      "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_ID}, **value},
            "field": "messages"}]}]}

    def message(self, kind, content, number=NUMBER, name="Baiq Nurul"):
        wamid = f"wamid.HBgNNjI4MTkwNzA3MTIzNBUCABIYFDNB{next(self.n):06d}"
        msg = {"from": number, "id": wamid, "timestamp": "1764576000", "type": kind, kind: content}
        if kind == "interactive":  # a reply to our interactive message
            msg["context"] = {"from": "15550783881", "id": "wamid.HBgNNjI4MTkwNzA3MTIzNBUCABEYEjdBQjFDRDJFM0Y0"}
        upd = self._envelope({"contacts": [{"profile": {"name": name}, "wa_id": number,
                                            "user_id": f"ID.{number[-10:]}"}], "messages": [msg]})
        from pywa.types import CallbackButton, CallbackSelection, Message

        if kind == "interactive":
            cls = CallbackButton if content["type"] == "button_reply" else CallbackSelection
            parsed = cls.from_update(self.wa, upd)
            assert parsed.data == (content.get("button_reply") or content.get("list_reply"))["id"]
        else:
            parsed = Message.from_update(self.wa, upd)
            assert parsed.id == wamid and parsed.from_user.wa_id == number and parsed.type.value == kind
        return upd

    def text(self, body, **kw):
        return self.message("text", {"body": body}, **kw)

    def image(self, media_id, caption=None, **kw):
        return self.message("image", {"mime_type": "image/jpeg", "sha256": "x" * 44, "id": media_id,
                                      **({"caption": caption} if caption else {})}, **kw)

    def location(self, lat, lng, name=None, address=None, **kw):
        return self.message("location", {"latitude": lat, "longitude": lng,
                                         **({"name": name} if name else {}), **({"address": address} if address else {})},
                            **kw)

    def button(self, rid, title, **kw):
        return self.message("interactive", {"type": "button_reply", "button_reply": {"id": rid, "title": title}}, **kw)

    def row(self, rid, title, **kw):
        return self.message("interactive", {"type": "list_reply", "list_reply": {"id": rid, "title": title}}, **kw)

    def status(self, wamid, status, number=NUMBER, error_code=None):
        st = {"id": wamid, "status": status, "timestamp": "1764576100", "recipient_id": number,
              "recipient_user_id": f"ID.{number[-10:]}"}
        if status in ("sent", "delivered", "read"):
            st["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
            st["pricing"] = {"billable": False, "pricing_model": "PMP", "category": "service"}
        if error_code:
            st["errors"] = [{"code": error_code, "title": "Re-engagement message", "message": "Re-engagement message",
                             "error_data": {"details": "Message failed to send because more than 24 hours have "
                                                       "passed since the customer last replied to this number."}}]
        upd = self._envelope({"contacts": [{"wa_id": number, "user_id": f"ID.{number[-10:]}"}], "statuses": [st]})
        from pywa.types import MessageStatus

        parsed = MessageStatus.from_update(self.wa, upd)
        assert parsed.id == wamid and parsed.status.value == status
        return upd


@pytest.fixture
def hooks():
    return Hooks()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(client, update, *, secret=APP_SECRET, raw=None, signature=None):
    body = raw if raw is not None else json.dumps(update).encode()
    headers = {}
    if signature is not False:
        headers["X-Hub-Signature-256"] = signature or sign(body, secret)
    return client.post("/hooks/whatsapp", data=body, content_type="application/json", headers=headers)


@pytest.fixture
def wa():
    class W:
        APP_SECRET, VERIFY_TOKEN, PHONE_ID, NUMBER, JPEG = APP_SECRET, VERIFY_TOKEN, PHONE_ID, NUMBER, JPEG
        post = staticmethod(post)
        sign = staticmethod(sign)
    return W
