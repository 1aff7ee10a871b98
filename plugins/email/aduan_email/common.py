"""Shared helpers: reply tokens, our own addresses, keyed address hashes, failing-address state."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from aduan.db import utcnow

from .models import EmailAddress

SUBJECT_TAG = re.compile(r"\[ADUAN-([A-Za-z0-9]{4,16})\]")


def _secret() -> bytes:
    return current_app.config["SECRET_KEY"].encode()


def cfg(key: str):
    return current_app.config["EMAIL_" + key]


def from_address() -> str:
    return cfg("FROM_ADDRESS").strip().lower()


def reply_base() -> str:
    return (cfg("REPLY_ADDRESS") or cfg("FROM_ADDRESS")).strip().lower()


def own_addresses() -> set[str]:
    return {from_address(), reply_base()}


def domain() -> str:
    return cfg("MESSAGE_ID_DOMAIN") or from_address().rsplit("@", 1)[-1] or "localhost"


def reply_token(tracking_id: str) -> str:
    """``<tracking id>-<HMAC>``: unguessable without SECRET_KEY, so nobody can write into another
    person's complaint by guessing an address. Lower case: some servers fold the local part."""
    tid = tracking_id.upper()
    mac = hmac.new(_secret(), b"aduan-email-reply|" + tid.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{tid.lower()}-{mac}"


def reply_address(tracking_id: str) -> str:
    local, _, dom = reply_base().partition("@")
    return f"{local}+{reply_token(tracking_id)}@{dom}"


def tracking_id_from_recipients(recipients: list[str]) -> str | None:
    """The tracking id of the first recipient ``lapor+<valid token>@...``; forged tokens are ignored."""
    base_local = reply_base().partition("@")[0]
    for rcpt in recipients:
        local = rcpt.partition("@")[0].lower()
        if "+" not in local:
            continue
        base, tok = local.split("+", 1)
        if base != base_local or "-" not in tok:
            continue
        tid = tok.split("-", 1)[0].upper()
        if hmac.compare_digest(reply_token(tid), tok):
            return tid
    return None


def address_hash(address: str) -> str:
    return hmac.new(_secret(), b"aduan-email-address|" + address.strip().lower().encode(),
                    hashlib.sha256).hexdigest()


def is_failing(address: str | None) -> bool:
    if not address:
        return False
    row = EmailAddress.get_or_none(EmailAddress.address_hash == address_hash(address))
    return bool(row and row.failing)


def set_failing(address: str, failing: bool, reason: str = "") -> None:
    now = utcnow()
    h = address_hash(address)
    (EmailAddress.insert(address_hash=h, failing=failing, reason=reason[:64], failed_at=now if failing else None,
                         updated_at=now)
     .on_conflict(conflict_target=[EmailAddress.address_hash],
                  update={EmailAddress.failing: failing, EmailAddress.reason: reason[:64],
                          EmailAddress.failed_at: now if failing else None, EmailAddress.updated_at: now})
     .execute())


def _fernet() -> Fernet:
    key = base64.urlsafe_b64encode(hashlib.sha256(b"aduan-email-code|" + _secret()).digest())
    return Fernet(key)


def seal(value: str) -> str:
    """Encrypt a one-time secret (the access code) for the job payload."""
    return _fernet().encrypt(value.encode()).decode()


def unseal(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        return None


def track_url(tracking_id: str) -> str:
    base = current_app.config["BASE_URL"].rstrip("/")
    return cfg("TRACK_URL").format(base_url=base, tracking_id=tracking_id)
