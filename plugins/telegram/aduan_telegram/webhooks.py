"""``POST /hooks/telegram``: Bot API updates (webhook mode).

Authenticated by ``X-Telegram-Bot-Api-Secret-Token`` (the ``secret_token`` given to setWebhook,
compared in constant time) before anything is read: a missing or wrong token is a 403 and changes
nothing. Updates are idempotent on ``update_id`` (Telegram redelivers until it gets a 2xx).
Only private chats are served; a tapped inline-keyboard button is answered in the webhook's own
response (``answerCallbackQuery``), replies go out through the outbox (``telegram.send``).
"""
from __future__ import annotations

import hmac
import json

from flask import Blueprint, current_app, jsonify, request

from aduan import messaging
from aduan.i18n import _

from .channel import CHANNEL

bp = Blueprint("telegram_hooks", __name__, url_prefix="/hooks/telegram")

MEDIA_KINDS = (("document", "document"), ("video", "video"), ("audio", "audio"), ("voice", "audio"),
               ("video_note", "video"))
UNSUPPORTED = ("sticker", "contact", "poll", "dice", "game", "animation")


def _error(code: int, message: str, errors: dict | None = None):
    body = {"code": code, "status": code, "message": str(message)}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = code
    return resp


def _str(v) -> str | None:
    return v if isinstance(v, str) else None


def to_inbound(update: dict) -> messaging.Inbound | None:
    """The message a citizen sent in an update (``message`` or ``callback_query``); None for updates we
    do not serve (edits, channel posts, group chats)."""
    uid = update["update_id"]
    cq = update.get("callback_query")
    if isinstance(cq, dict):
        msg = cq.get("message") if isinstance(cq.get("message"), dict) else {}
        chat = msg.get("chat") if isinstance(msg.get("chat"), dict) else {}
        user = cq.get("from") if isinstance(cq.get("from"), dict) else {}
        if chat and chat.get("type") != "private":
            return None
        return messaging.Inbound("telegram", str(uid), str(chat.get("id") or user.get("id") or "") if isinstance(chat.get("id") or user.get("id"), int) else "", "",
                                 choice=_str(cq.get("data")) or None, sender_name=_str(user.get("first_name")),
                                 language=_str(user.get("language_code")))
    msg = update.get("message")
    if not isinstance(msg, dict):
        return None
    chat = msg.get("chat") if isinstance(msg.get("chat"), dict) else {}
    if chat.get("type") != "private":
        return None
    user = msg.get("from") if isinstance(msg.get("from"), dict) else {}
    text = _str(msg.get("text")) or _str(msg.get("caption")) or ""
    media: list[messaging.Media] = []
    photos = [p for p in msg.get("photo") or [] if isinstance(p, dict) and _str(p.get("file_id"))]
    if photos:  # sizes of one photo, smallest first: keep the largest
        big = max(photos, key=lambda p: (p.get("width") or 0) * (p.get("height") or 0))
        media.append(messaging.Media(big["file_id"], "image", "image/jpeg", "foto.jpg", big.get("file_size")))
    for key, kind in MEDIA_KINDS:
        m = msg.get(key)
        if isinstance(m, dict) and _str(m.get("file_id")):
            media.append(messaging.Media(m["file_id"], kind, _str(m.get("mime_type")),
                                         _str(m.get("file_name")) or key, m.get("file_size")))
    location, place = None, None
    venue = msg.get("venue") if isinstance(msg.get("venue"), dict) else None
    loc = (venue or {}).get("location") if venue else msg.get("location")
    if isinstance(loc, dict):
        try:
            location = (float(loc["latitude"]), float(loc["longitude"]))
        except (KeyError, TypeError, ValueError):
            location = None
        if venue:
            place = ", ".join(x for x in (_str(venue.get("title")), _str(venue.get("address"))) if x)
    unsupported = not (text or media or location) and any(k in msg for k in UNSUPPORTED)
    cid = chat.get("id")
    return messaging.Inbound("telegram", str(uid), str(cid) if isinstance(cid, int) else "", text, media=media, location=location,
                             location_text=place, sender_name=_str(user.get("first_name")),
                             language=_str(user.get("language_code")), unsupported=unsupported)


@bp.post("")
def telegram_update():
    cfg = current_app.config
    secret = cfg.get("TELEGRAM_WEBHOOK_SECRET")
    if not secret or not cfg.get("TELEGRAM_BOT_TOKEN"):
        return _error(404, _("the Telegram webhook is not enabled (TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET)"))
    given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
    if not given or not hmac.compare_digest(given.encode(), secret.encode()):
        return _error(403, _("missing or invalid X-Telegram-Bot-Api-Secret-Token"))
    try:
        update = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error(400, _("the body is not JSON"))
    if not isinstance(update, dict):
        return _error(422, _("invalid input"), {"_body": [_("a JSON object (an Update) is required")]})
    uid = update.get("update_id")
    if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
        return _error(422, _("invalid input"), {"update_id": [_("a non-negative integer is required")]})
    mcm = update.get("my_chat_member")
    if isinstance(mcm, dict):  # the citizen blocked (kicked) or restarted the bot: that is STOP / MULAI
        chat = mcm.get("chat") if isinstance(mcm.get("chat"), dict) else {}
        new = mcm.get("new_chat_member") if isinstance(mcm.get("new_chat_member"), dict) else {}
        if chat.get("type") == "private" and isinstance(chat.get("id"), int) and new.get("status") in ("kicked", "member"):
            messaging.set_opted_out("telegram", str(chat["id"]), new["status"] == "kicked")
            return jsonify(ok=True)
        return jsonify(ok=True, ignored=True)
    msg = to_inbound(update)
    if msg is None:
        return jsonify(ok=True, ignored=True)
    if not msg.sender:
        return _error(422, _("invalid input"), {"message": {"chat": [_("a chat id is required")]}})
    outcome = messaging.receive(CHANNEL, msg, inline=False)
    cq = update.get("callback_query")
    if isinstance(cq, dict) and _str(cq.get("id")):
        # Stop the button's spinner, in the webhook answer itself (no extra request).
        return jsonify(method="answerCallbackQuery", callback_query_id=cq["id"])
    return jsonify(ok=True, duplicate=outcome.duplicate)
