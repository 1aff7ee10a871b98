"""Reading a MIME message (from IMAP, a webhook or a raw POST) into what the plugin needs."""
from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage as Msg
from email.utils import getaddresses, parseaddr

from .text import html_to_text

_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass
class Part:
    filename: str
    data: bytes
    content_type: str


@dataclass
class InboundMail:
    key: str  # message_key: the normalised Message-ID, or sha256:... when missing or long
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    from_name: str
    from_addr: str
    recipients: list[str]
    subject: str
    text: str  # the body as text (HTML converted), quoted history still in
    attachments: list[Part]
    headers: Msg
    return_path: str | None  # None: no Return-Path; "": the null sender <>
    language: str | None
    failed_recipients: list[str] = field(default_factory=list)  # a DSN's failed addresses
    bounced_ids: list[str] = field(default_factory=list)  # Message-IDs the DSN reports on
    is_bounce: bool = False


def message_key(message_id: str | None, fallback: bytes) -> str:
    if message_id and len(message_id) <= 120:
        return message_id
    return "sha256:" + hashlib.sha256((message_id or "").encode() or fallback).hexdigest()


def msg_ids(value: str | None) -> list[str]:
    """Message-IDs in a header value, without angle brackets (bare ids accepted too)."""
    if not value:
        return []
    found = _MSGID.findall(str(value))
    if not found and str(value).strip():
        found = [str(value).strip().split()[0]]
    return [f for f in found if len(f) < 1000]


def _hdr(msg: Msg, name: str) -> str | None:
    try:
        v = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header reads as missing
        return None
    return None if v is None else str(v)


def _all(msg: Msg, name: str) -> list[str]:
    try:
        return [str(v) for v in (msg.get_all(name) or [])]
    except Exception:  # noqa: BLE001
        return []


def _content(part: Msg) -> str:
    try:
        c = part.get_content()
        return c if isinstance(c, str) else c.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - unknown charset or broken encoding: decode leniently
        payload = part.get_payload(decode=True) or b""
        return payload.decode(part.get_content_charset() or "utf-8", "replace") \
            if _known_charset(part.get_content_charset()) else payload.decode("utf-8", "replace")


def _known_charset(cs: str | None) -> bool:
    import codecs

    if not cs:
        return False
    try:
        codecs.lookup(cs)
        return True
    except LookupError:
        return False


def body_text(msg: Msg) -> tuple[str, Msg | None, Msg | None]:
    """The text of the message: text/plain when it says something, else the HTML turned into text."""
    plain = html = None
    try:
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001
        pass
    if plain is not None:
        t = _content(plain).strip()
        if t:
            return t, plain, html
    if html is not None:
        return html_to_text(_content(html)), plain, html
    if msg.get_content_maintype() == "text":
        return _content(msg).strip(), msg, None
    return "", plain, html


def _dsn(msg: Msg) -> tuple[list[str], list[str]]:
    """Failed recipients and original Message-IDs of a delivery status notification (RFC 3464)."""
    failed: list[str] = []
    ids: list[str] = []
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            blocks = part.get_payload()
            if not isinstance(blocks, list):
                blocks = [email.message_from_string(str(blocks))]
            for block in blocks:
                action = (_hdr(block, "Action") or "").strip().lower()
                status = (_hdr(block, "Status") or "").strip()
                rcpt = _hdr(block, "Final-Recipient") or _hdr(block, "Original-Recipient") or ""
                addr = rcpt.split(";", 1)[-1].strip().strip("<>")
                if addr and (action == "failed" or status.startswith("5")):
                    failed.append(addr.lower())
        elif ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                ids += msg_ids(_hdr(inner[0], "Message-ID"))
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            inner = email.message_from_string(_content(part), policy=email.policy.default)
            ids += msg_ids(_hdr(inner, "Message-ID"))
    return failed, ids


def _attachments(msg: Msg, skip: tuple) -> list[Part]:
    out = []
    for part in msg.walk():
        if part.is_multipart() or any(part is s for s in skip):
            continue
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status",):
            continue
        try:
            filename = part.get_filename()
        except Exception:  # noqa: BLE001
            filename = None
        disp = part.get_content_disposition()
        if not filename and disp != "attachment" and part.get_content_maintype() in ("text", "multipart"):
            continue
        if ctype == "message/rfc822":
            data = part.as_bytes() if not isinstance(part.get_payload(), list) else \
                part.get_payload()[0].as_bytes()
        else:
            data = part.get_payload(decode=True) or b""
        out.append(Part(filename or "lampiran", data, ctype))
    return out


def parse_message(raw: bytes, *, envelope_to: list[str] | None = None,
                  envelope_from: str | None = None) -> InboundMail:
    msg: Msg = email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[assignment]
    ids = msg_ids(_hdr(msg, "Message-ID"))
    message_id = ids[0] if ids else None
    name, addr = parseaddr(_hdr(msg, "From") or "")
    if not addr:
        name, addr = parseaddr(_hdr(msg, "Sender") or "")
    rcpts = []
    for h in ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "X-Forwarded-To"):
        rcpts += [a for _, a in getaddresses(_all(msg, h)) if a]
    rcpts += list(envelope_to or [])
    rp = _hdr(msg, "Return-Path")
    if envelope_from is not None:
        rp = envelope_from
    return_path = None if rp is None else parseaddr(rp)[1] if rp.strip() not in ("<>", "") else ""
    text, plain, html = body_text(msg)
    is_bounce = msg.get_content_type() == "multipart/report" and \
        (msg.get_param("report-type") or "").lower() == "delivery-status"
    failed, bounced = _dsn(msg) if is_bounce else ([], [])
    lang = (_hdr(msg, "Content-Language") or "").strip().lower()[:2] or None
    return InboundMail(
        key=message_key(message_id, hashlib.sha256(raw).hexdigest().encode()),
        message_id=message_id,
        in_reply_to=msg_ids(_hdr(msg, "In-Reply-To")),
        references=msg_ids(_hdr(msg, "References")),
        from_name=name.strip(), from_addr=addr.strip().lower(), recipients=[r.lower() for r in rcpts],
        subject=" ".join((_hdr(msg, "Subject") or "").split()), text=text,
        attachments=[] if is_bounce else _attachments(msg, tuple(p for p in (plain, html) if p is not None)),
        headers=msg, return_path=return_path, language=lang, failed_recipients=failed, bounced_ids=bounced,
        is_bounce=is_bounce)
