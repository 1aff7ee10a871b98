"""Inbound mail pushed by a provider: Mailgun routes, SendGrid Inbound Parse, or raw MIME.

Each endpoint authenticates the request before it reads anything else; an unsigned, wrongly signed,
stale or replayed request is a 403 and changes nothing. The nonce of an accepted request is stored
in the same transaction as the message, so a provider's retry after a failure is still accepted.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from email.message import EmailMessage as Msg
from email.parser import BytesHeaderParser
from email import policy

import peewee as pw
from flask import Blueprint, abort, jsonify, request

from aduan.db import database, utcnow
from aduan.i18n import gettext as _

from . import common
from .inbound import handle_raw
from .models import EmailNonce

log = logging.getLogger("aduan.email")
bp = Blueprint("email_hooks", __name__, url_prefix="/hooks/email")

_SKIP_HEADERS = {"content-type", "content-transfer-encoding", "mime-version"}


class _Replay(Exception):
    pass


def _fresh(timestamp: str) -> None:
    try:
        ts = int(float(timestamp))
    except (TypeError, ValueError):
        abort(403, _("Bad or missing timestamp."))
    if abs(time.time() - ts) > common.cfg("WEBHOOK_MAX_AGE"):
        abort(403, _("Stale request (timestamp outside the accepted window)."))


def _once(provider: str, token: str) -> None:
    """Record a nonce inside the caller's transaction; a second use raises :class:`_Replay`."""
    if EmailNonce.select().where((EmailNonce.provider == provider) & (EmailNonce.token == token)).exists():
        raise _Replay()
    try:
        with database.atomic():
            EmailNonce.create(provider=provider, token=token[:128], seen_at=utcnow())
    except pw.IntegrityError:
        raise _Replay() from None


def _process(provider: str, nonce: str | None, raw: bytes, **envelope):
    try:
        with database.atomic():
            if nonce:
                _once(provider, nonce)
            result = handle_raw(raw, provider, **envelope)
    except _Replay:
        abort(403, _("Replayed request."))
    except pw.PeeweeException:
        raise  # the database is away: a 5xx, so the provider retries later
    except Exception as exc:  # noqa: BLE001 - a message we cannot read is the sender's problem, not a 500
        log.error("email webhook %s: message could not be handled (%s)", provider, type(exc).__name__)
        abort(422, _("The message could not be read."))
    with database.atomic():  # forget nonces older than the window: they fail the timestamp check anyway
        EmailNonce.delete().where(EmailNonce.seen_at < utcnow().replace(microsecond=0) -
                                  _window()).execute()
    return jsonify(outcome=result.outcome, skipped_attachments=len(result.skipped)), 200


def _window():
    import datetime as dt

    return dt.timedelta(seconds=2 * common.cfg("WEBHOOK_MAX_AGE"))


def _build(headers: list[tuple[str, str]], text: str | None, html: str | None, files) -> bytes:
    """A MIME message from a provider's parsed fields, so every source takes the same path."""
    msg = Msg(policy=policy.default.clone(raise_on_defect=False))
    for name, value in headers:
        if name.lower() in _SKIP_HEADERS:
            continue
        try:
            msg[name] = value
        except Exception:  # noqa: BLE001 - a header the library refuses is dropped
            continue
    msg.set_content(text or "")
    if html:
        msg.add_alternative(html, subtype="html")
    for f in files:
        data = f.read()
        mtype = (f.mimetype or "application/octet-stream").split("/", 1)
        if len(mtype) != 2:
            mtype = ["application", "octet-stream"]
        msg.add_attachment(data, maintype=mtype[0], subtype=mtype[1], filename=f.filename or "lampiran")
    try:
        return msg.as_bytes()
    except Exception:  # noqa: BLE001 - headers the library cannot serialise
        abort(400, _("The message fields could not be assembled into a message."))


@bp.post("/mailgun")
def mailgun():
    """Mailgun route ``forward()`` target: form fields ``timestamp``, ``token``, ``signature`` (HMAC-SHA256
    of timestamp+token with the webhook signing key), then ``body-mime`` or the parsed fields."""
    key = common.cfg("MAILGUN_SIGNING_KEY")
    if not key:
        abort(403, _("The Mailgun webhook is not configured."))
    f = request.form
    ts, token, sig = f.get("timestamp", ""), f.get("token", ""), f.get("signature", "")
    expected = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    if not (ts and token and sig) or not hmac.compare_digest(expected, sig.lower()):
        abort(403, _("Bad signature."))
    _fresh(ts)
    envelope = {"envelope_to": [r.strip() for r in f.get("recipient", "").split(",") if r.strip()]}
    if f.get("sender") is not None:
        envelope["envelope_from"] = f.get("sender", "")
    if f.get("body-mime"):
        raw = f["body-mime"].encode("utf-8", "surrogateescape")
    else:
        try:
            headers = [(str(k), str(v)) for k, v in json.loads(f.get("message-headers") or "[]")]
        except (ValueError, TypeError):
            abort(400, _("message-headers must be a JSON list of [name, value] pairs."))
        if not headers and not f.get("body-plain") and not f.get("body-html"):
            abort(400, _("No message in the request (body-mime or message-headers/body-plain expected)."))
        if not any(k.lower() == "from" for k, _ in headers) and f.get("from"):
            headers.append(("From", f["from"]))
        if not any(k.lower() == "subject" for k, _ in headers) and f.get("subject"):
            headers.append(("Subject", f["subject"]))
        files = [request.files[k] for k in sorted(request.files) if k.startswith("attachment")]
        raw = _build(headers, f.get("body-plain"), f.get("body-html"), files)
    return _process("mailgun", token, raw, **envelope)


def _sendgrid_authorised() -> bool:
    secret = common.cfg("SENDGRID_SECRET")
    if not secret:
        return False
    given = request.authorization.password if request.authorization else None
    given = given or request.args.get("key") or ""
    return hmac.compare_digest(given.encode(), secret.encode())


@bp.post("/sendgrid")
def sendgrid():
    """SendGrid Inbound Parse target: multipart form with ``email`` (raw MIME, when "POST the raw, full
    MIME message" is ticked) or ``headers``/``text``/``html``/``attachmentN``; authenticated by the
    shared secret in the Parse URL (basic-auth password or ``?key=``)."""
    if not _sendgrid_authorised():
        abort(403, _("Bad or missing credentials."))
    f = request.form
    envelope = {}
    if f.get("envelope"):
        try:
            env = json.loads(f["envelope"])
            envelope["envelope_to"] = [str(x) for x in (env.get("to") or [])]
        except (ValueError, TypeError, AttributeError):
            abort(400, _("envelope must be JSON."))
    if f.get("email"):
        raw = f["email"].encode("utf-8", "surrogateescape")
    elif f.get("headers") or f.get("text") or f.get("html"):
        parsed = BytesHeaderParser(policy=policy.default).parsebytes((f.get("headers") or "").encode())
        headers = [(k, str(v)) for k, v in parsed.items()]
        if not any(k.lower() == "from" for k, _ in headers) and f.get("from"):
            headers.append(("From", f["from"]))
        files = [request.files[k] for k in sorted(request.files) if k.startswith("attachment")]
        raw = _build(headers, f.get("text"), f.get("html"), files)
    else:
        abort(400, _("No message in the request (email or headers/text expected)."))
    return _process("sendgrid", None, raw, **envelope)


@bp.post("/raw")
def raw_mime():
    """Raw RFC 5322 message as the body (``Content-Type: message/rfc822``), signed with
    ``X-Aduan-Timestamp`` and ``X-Aduan-Signature`` = hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed
    with EMAIL_RAW_SECRET (for an MTA pipe such as ``curl`` from Postfix, or a relay)."""
    secret = common.cfg("RAW_SECRET")
    if not secret:
        abort(403, _("The raw webhook is not configured."))
    ts = request.headers.get("X-Aduan-Timestamp", "")
    sig = request.headers.get("X-Aduan-Signature", "").removeprefix("sha256=").lower()
    body = request.get_data(cache=False)
    expected = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    if not (ts and sig) or not hmac.compare_digest(expected, sig):
        abort(403, _("Bad signature."))
    _fresh(ts)
    if not body.strip():
        abort(400, _("Empty message."))
    return _process("raw", sig, body)
