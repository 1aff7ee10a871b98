"""Webhooks under ``/hooks/sms/``: Twilio, SMS Gateway for Android, SMSSync and a generic signed JSON/form hook.

Every request is authenticated before anything is read or written: unsigned or wrongly signed
requests get 403 and change nothing. A webhook whose secret is not configured answers 404.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, jsonify, request

from aduan.edge import loads as edge_loads  # bounded depth, NUL and lone surrogates cleaned

from .inbound import Inbound, receive
from .outbound import public_url, update_status

bp = Blueprint("sms_hooks", __name__, url_prefix="/hooks/sms")


def _error(code: int, message: str, errors: dict | None = None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = code
    return resp


def _secret(key: str) -> str | None:
    return current_app.config.get(key) or None


def _fresh(ts: str | None) -> bool:
    try:
        t = int(str(ts).strip())
    except (TypeError, ValueError):
        return False
    return abs(time.time() - t) <= current_app.config["SMS_MAX_SKEW_SECONDS"]


# --- Twilio --------------------------------------------------------------------------------------

def twilio_signature(token: str, url: str, params) -> str:
    """X-Twilio-Signature: base64 HMAC-SHA1 over the URL and the sorted POST parameters."""
    s = url
    for name in sorted(set(params.keys())):
        for value in sorted(set(params.getlist(name))):
            s += name + value
    return base64.b64encode(hmac.new(token.encode(), s.encode("utf-8"), hashlib.sha1).digest()).decode()


def _url_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    out = [url]
    host = parts.hostname or ""
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if parts.port is not None and parts.port == default:
        out.append(urlunsplit(parts._replace(netloc=host)))
    elif parts.port is None and default:
        out.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
    return out


def _twilio_ok() -> bool:
    token = _secret("SMS_TWILIO_AUTH_TOKEN")
    sig = request.headers.get("X-Twilio-Signature", "")
    if not sig:
        return False
    url = public_url(request.path)
    if request.query_string:
        url += "?" + request.query_string.decode("utf-8", "replace")
    return any(hmac.compare_digest(twilio_signature(token, u, request.form), sig) for u in _url_variants(url))


def twiml(text: str | None) -> Response:
    body = '<?xml version="1.0" encoding="UTF-8"?><Response>'
    if text:
        body += f"<Message>{escape(text)}</Message>"
    body += "</Response>"
    return Response(body, mimetype="application/xml")


@bp.post("/twilio")
def twilio_inbound():
    if not _secret("SMS_TWILIO_AUTH_TOKEN"):
        return _error(404, "the Twilio webhook is not enabled")
    if not _twilio_ok():
        return _error(403, "missing or invalid X-Twilio-Signature")
    f = request.form
    errors = {k: ["required"] for k in ("MessageSid", "From") if not f.get(k)}
    if errors:
        return _error(422, "invalid input", errors)
    outcome = receive(Inbound("twilio", f["MessageSid"], f["From"], f.get("Body", "")), inline=True)
    return twiml(outcome.reply)


@bp.post("/twilio/status")
def twilio_status():
    if not _secret("SMS_TWILIO_AUTH_TOKEN"):
        return _error(404, "the Twilio webhook is not enabled")
    if not _twilio_ok():
        return _error(403, "missing or invalid X-Twilio-Signature")
    sid, state = request.form.get("MessageSid"), request.form.get("MessageStatus")
    if not sid or not state:
        return _error(422, "invalid input", {k: ["required"] for k, v in (("MessageSid", sid),
                                                                          ("MessageStatus", state)) if not v})
    update_status("twilio", sid, state, request.form.get("ErrorCode"))
    return Response(status=204)


# --- SMS Gateway for Android ---------------------------------------------------------------------

def android_signature(key: str, body: bytes, timestamp: str) -> str:
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


@bp.post("/android")
def android_inbound():
    key = _secret("SMS_ANDROID_SIGNING_KEY")
    if not key:
        return _error(404, "the Android gateway webhook is not enabled")
    raw = request.get_data(cache=True)
    ts, sig = request.headers.get("X-Timestamp", ""), request.headers.get("X-Signature", "")
    if not sig or not _fresh(ts) or not hmac.compare_digest(android_signature(key, raw, ts.strip()), sig.lower()):
        return _error(403, "missing, stale or invalid X-Signature")
    try:
        env = edge_loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "the body is not JSON")
    if not isinstance(env, dict) or not isinstance(env.get("payload"), dict):
        return _error(422, "invalid input", {"payload": ["an object is required"]})
    event, payload = env.get("event"), env["payload"]
    if event == "sms:received":
        errors = {}
        if not env.get("id"):
            errors["id"] = ["required"]
        if not payload.get("phoneNumber"):
            errors["payload"] = {"phoneNumber": ["required"]}
        if errors:
            return _error(422, "invalid input", errors)
        outcome = receive(Inbound("android", str(env["id"]), str(payload["phoneNumber"]),
                                  payload.get("message") if isinstance(payload.get("message"), str) else ""),
                          inline=False)
        return jsonify(ok=True, duplicate=outcome.duplicate)
    if event == "sms:batch:received":
        # The app's batch delivery (inbox refresh, or "batch" webhook mode): payload.messages holds the
        # same objects as sms:received. Each is filed on its own, deduplicated on envelope id + position.
        items = payload.get("messages")
        if not env.get("id") or not isinstance(items, list):
            return _error(422, "invalid input", {**({"id": ["required"]} if not env.get("id") else {}),
                                                 **({"payload": {"messages": ["a list is required"]}}
                                                    if not isinstance(items, list) else {})})
        bad = {str(i): {"phoneNumber": ["required"]} for i, m in enumerate(items)
               if not isinstance(m, dict) or not (m.get("phoneNumber") or m.get("sender"))}
        if bad:
            return _error(422, "invalid input", {"payload": {"messages": bad}})
        results = []
        for i, m in enumerate(items):
            text = m.get("message") if isinstance(m.get("message"), str) else ""
            outcome = receive(Inbound("android", f"{env['id']}#{i}", str(m.get("phoneNumber") or m.get("sender")),
                                      text), inline=False)
            results.append(outcome.duplicate)
        return jsonify(ok=True, received=len(results), duplicates=sum(results))
    if event in ("sms:sent", "sms:delivered", "sms:failed"):
        if not payload.get("messageId"):
            return _error(422, "invalid input", {"payload": {"messageId": ["required"]}})
        update_status("android", str(payload["messageId"]), event, payload.get("reason"))
        return jsonify(ok=True)
    return jsonify(ok=True, ignored=str(event)[:32])


# --- SMSSync -------------------------------------------------------------------------------------

def _smssync_answer(success: bool, error: str | None = None, status: int = 200, **extra):
    resp = jsonify(payload={"success": success, "error": error, **extra})
    resp.status_code = status
    return resp


@bp.post("/smssync")
def smssync_inbound():
    secret = _secret("SMS_SMSSYNC_SECRET")
    if not secret:
        return _error(404, "the SMSSync webhook is not enabled")
    f = request.form
    if not hmac.compare_digest(str(f.get("secret", "")).encode(), secret.encode()):
        return _smssync_answer(False, "invalid secret", 403)
    missing = [k for k in ("from", "message_id") if not f.get(k)]
    if missing:
        return _smssync_answer(False, "missing: " + ", ".join(missing), 422)
    outcome = receive(Inbound("smssync", f["message_id"], f["from"], f.get("message", "")), inline=True)
    if outcome.reply:
        return _smssync_answer(True, None, task="send", secret=secret, messages=[
            {"to": f["from"], "message": outcome.reply, "uuid": f"aduan-{outcome.reply_message.id}"}])
    return _smssync_answer(True)


# --- generic signed webhook ----------------------------------------------------------------------

def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _generic_ok() -> bool:
    secret = _secret("SMS_GENERIC_SECRET")
    ts = request.headers.get("X-Aduan-Timestamp", "").strip()
    sig = request.headers.get("X-Aduan-Signature", "").strip().lower()
    if sig.startswith("sha256="):
        sig = sig[7:]
    return bool(sig) and _fresh(ts) and hmac.compare_digest(
        generic_signature(secret, ts, request.get_data(cache=True)), sig)


def _generic_fields() -> tuple[dict | None, Response | None]:
    if request.mimetype == "application/json":
        try:
            data = edge_loads(request.get_data(cache=True) or b"null")
        except (ValueError, UnicodeDecodeError):
            return None, _error(400, "the body is not JSON")
        if not isinstance(data, dict):
            return None, _error(422, "invalid input", {"_body": ["a JSON object is required"]})
    else:
        data = request.form.to_dict()
    return data, None


def _generic_request() -> tuple[dict | None, Response | None]:
    """The fields of a verified generic-webhook request, or the error answer (404 when the webhook
    is not enabled, 403 when the signature is missing, stale or wrong, 4xx for a bad body)."""
    if not _secret("SMS_GENERIC_SECRET"):
        return None, _error(404, "the generic webhook is not enabled")
    if not _generic_ok():
        return None, _error(403, "missing, stale or invalid X-Aduan-Signature")
    return _generic_fields()


def _pick(data: dict, *names):
    for n in names:
        v = data.get(n)
        if v not in (None, ""):
            return v if isinstance(v, str) else (str(v) if isinstance(v, (int, float)) else None)
    return None


@bp.post("/generic")
def generic_inbound():
    data, err = _generic_request()
    if err:
        return err
    sender, mid = _pick(data, "from", "sender", "phone"), _pick(data, "id", "message_id")
    text = data.get("text", data.get("message", data.get("body", "")))
    errors = {}
    if not sender:
        errors["from"] = ["required (a string)"]
    if not mid:
        errors["id"] = ["required: the gateway's message id, used to recognise retries"]
    if text is not None and not isinstance(text, str):
        errors["text"] = ["must be a string"]
    if errors:
        return _error(422, "invalid input", errors)
    outcome = receive(Inbound("generic", mid, sender, text or ""), inline=True)
    return jsonify(ok=True, duplicate=outcome.duplicate, to=sender if outcome.reply else None, reply=outcome.reply)


@bp.post("/generic/status")
def generic_status():
    data, err = _generic_request()
    if err:
        return err
    mid, state = _pick(data, "id", "message_id"), _pick(data, "status")
    if not mid or state not in ("sent", "delivered", "failed"):
        return _error(422, "invalid input", {**({"id": ["required"]} if not mid else {}),
                                             **({"status": ["one of sent, delivered, failed"]}
                                                if state not in ("sent", "delivered", "failed") else {})})
    found = update_status("http", mid, state) or update_status("generic", mid, state)
    return jsonify(ok=True, found=found)
