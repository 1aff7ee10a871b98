"""``/hooks/whatsapp``: the WhatsApp Business Cloud API webhook.

* ``GET``: the subscription check (``hub.mode=subscribe``, ``hub.verify_token``, answered with
  ``hub.challenge``).
* ``POST``: ``X-Hub-Signature-256`` must be ``sha256=`` + hex HMAC-SHA256 of the raw body with the
  app secret (compared in constant time) before anything is read; otherwise 403 and nothing is
  stored. Messages (text, image, document, audio, video, location, interactive replies) go through
  the core conversation, idempotent on their ``wamid``; statuses (sent, delivered, read, failed)
  update the message log and only move forward.

Cloud API webhooks carry no timestamp header: a replayed body carries the same signature, and is
recognised by its message ids (nothing is filed or sent twice; statuses never move backwards).
"""
from __future__ import annotations

import hashlib
import hmac
import json

from flask import Blueprint, Response, current_app, jsonify, request

from aduan import messaging
from aduan.i18n import _

from .channel import CHANNEL
from .outbound import apply_status

bp = Blueprint("whatsapp_hooks", __name__, url_prefix="/hooks/whatsapp")
MEDIA = {"image": "image", "document": "document", "audio": "audio", "video": "video", "voice": "audio"}


def _error(code: int, message: str, errors: dict | None = None):
    body = {"code": code, "status": code, "message": str(message)}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = code
    return resp


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@bp.get("")
def verify_subscription():
    token = current_app.config.get("WHATSAPP_VERIFY_TOKEN")
    if not token:
        return _error(404, _("the WhatsApp webhook is not enabled (WHATSAPP_VERIFY_TOKEN)"))
    args = request.args
    given = args.get("hub.verify_token", "")
    if args.get("hub.mode") != "subscribe" or not given or not hmac.compare_digest(given.encode(), token.encode()):
        return _error(403, _("wrong hub.mode or hub.verify_token"))
    return Response(args.get("hub.challenge", ""), mimetype="text/plain")


def _s(v) -> str | None:
    return v if isinstance(v, str) else None


def to_inbound(msg: dict, contacts: list) -> messaging.Inbound | None:
    """One Cloud API message object as the engine's :class:`~aduan.messaging.Inbound`."""
    mtype = _s(msg.get("type")) or ""
    sender = _s(msg.get("from")) or _s(msg.get("from_user_id"))
    contact = next((c for c in contacts if isinstance(c, dict) and sender in (c.get("wa_id"), c.get("user_id"))),
                   contacts[0] if len(contacts) == 1 and isinstance(contacts[0], dict) else {})
    if not sender:  # a user behind a WhatsApp username: only the business-scoped user id is given
        sender = _s(contact.get("wa_id")) or _s(contact.get("user_id"))
    profile = contact.get("profile") if isinstance(contact.get("profile"), dict) else {}
    text, media, location, place, choice = "", [], None, None, None
    if mtype == "text":
        text = _s((msg.get("text") or {}).get("body")) or ""
    elif mtype in MEDIA:
        m = msg.get(mtype) if isinstance(msg.get(mtype), dict) else {}
        if _s(m.get("id")):
            media.append(messaging.Media(m["id"], MEDIA[mtype], _s(m.get("mime_type")),
                                         _s(m.get("filename")) or mtype, None))
        text = _s(m.get("caption")) or ""
    elif mtype == "location":
        loc = msg.get("location") if isinstance(msg.get("location"), dict) else {}
        try:
            location = (float(loc["latitude"]), float(loc["longitude"]))
        except (KeyError, TypeError, ValueError):
            location = None
        place = ", ".join(x for x in (_s(loc.get("name")), _s(loc.get("address"))) if x) or None
    elif mtype == "interactive":
        inter = msg.get("interactive") if isinstance(msg.get("interactive"), dict) else {}
        reply = inter.get("button_reply") or inter.get("list_reply") or {}
        choice = _s(reply.get("id")) if isinstance(reply, dict) else None
    elif mtype == "button":  # a quick-reply button of a template
        text = _s((msg.get("button") or {}).get("text")) or ""
    return messaging.Inbound("cloud", _s(msg.get("id")), sender, text, media=media, location=location,
                             location_text=place, choice=choice, sender_name=_s(profile.get("name")),
                             unsupported=mtype not in ("text", "location", "interactive", "button", *MEDIA))


@bp.post("")
def receive_webhook():
    cfg = current_app.config
    secret = cfg.get("WHATSAPP_APP_SECRET")
    if not secret:
        return _error(404, _("the WhatsApp webhook is not enabled (WHATSAPP_APP_SECRET)"))
    raw = request.get_data(cache=True)
    given = request.headers.get("X-Hub-Signature-256", "").strip()
    if not given or not hmac.compare_digest(signature(secret, raw).encode(), given.lower().encode()):
        return _error(403, _("missing or invalid X-Hub-Signature-256"))
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error(400, _("the body is not JSON"))
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return _error(422, _("invalid input"), {"entry": [_("a list of entries is required")]})
    counts = {"messages": 0, "duplicates": 0, "statuses": 0, "ignored": 0}
    for entry in body["entry"]:
        for change in (entry.get("changes") if isinstance(entry, dict) else None) or []:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                counts["ignored"] += 1
                continue
            contacts = value.get("contacts") if isinstance(value.get("contacts"), list) else []
            for msg in value.get("messages") or []:
                inbound = to_inbound(msg, contacts) if isinstance(msg, dict) else None
                if inbound is None or not inbound.provider_message_id or not inbound.sender:
                    counts["ignored"] += 1
                    continue
                out = messaging.receive(CHANNEL, inbound, inline=False)
                counts["duplicates" if out.duplicate else "messages"] += 1
            for st in value.get("statuses") or []:
                if isinstance(st, dict) and apply_status(st):
                    counts["statuses"] += 1
    return jsonify(ok=True, **counts)
