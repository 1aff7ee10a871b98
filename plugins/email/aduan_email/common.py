"""Shared helpers: reply tokens, our own addresses, keyed address hashes, failing-address state."""
from __future__ import annotations

import hashlib
import hmac
import re

from cryptography.fernet import InvalidToken, MultiFernet
from flask import current_app

from aduan import keys
from aduan.db import utcnow

from .models import EmailAddress

SUBJECT_TAG = re.compile(r"\[ADUAN-([A-Za-z0-9]{4,16})\]")


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
    mac = keys.hmac_hex("email-reply", tid.encode())[:20]
    return f"{tid.lower()}-{mac}"


def _legacy_mac(secret: str, message: bytes) -> str:
    # Releases up to 0.1 keyed these HMACs with SECRET_KEY itself and a text prefix.
    return hmac.new(secret.encode(), b"aduan-email-reply|" + message, hashlib.sha256).hexdigest()


def _reply_token_valid(tid: str, tok: str) -> bool:
    """Addresses handed out under an old key (SECRET_KEYS_OLD) or an older release still work."""
    mac = tok.split("-", 1)[1] if "-" in tok else ""
    return len(mac) == 20 and keys.hmac_matches("email-reply", tid.encode(), mac, length=20, legacy=_legacy_mac)


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
        if tok.split("-", 1)[0] == tid.lower() and _reply_token_valid(tid, tok):
            return tid
    return None


def address_hash(address: str) -> str:
    return keys.hmac_hex("email-address", address.strip().lower().encode())


def _legacy_address_hash(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), b"aduan-email-address|" + message, hashlib.sha256).hexdigest()


def address_hashes(address: str) -> list[str]:
    """The hash under every key in use and the one of releases up to 0.1 (rows written then)."""
    return keys.hmac_candidates("email-address", address.strip().lower().encode(), legacy=_legacy_address_hash)


def is_failing(address: str | None) -> bool:
    if not address:
        return False
    hashes = address_hashes(address)
    rows = {r.address_hash: r for r in EmailAddress.select().where(EmailAddress.address_hash.in_(hashes))}
    row = next((rows[h] for h in hashes if h in rows), None)
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


def _legacy_code_key(secret: str) -> bytes:
    return hashlib.sha256(b"aduan-email-code|" + secret.encode()).digest()


def _fernet() -> MultiFernet:
    return keys.fernet("email-code", legacy=_legacy_code_key)


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
    """``EMAIL_TRACK_URL`` filled in, or (empty, the default) the core's link (:func:`aduan.links.track_url`:
    the portal's tracking page when the portal is enabled, else the API's public view)."""
    template = cfg("TRACK_URL")
    if not template:
        from aduan.links import track_url as core_track_url

        return core_track_url(tracking_id)
    base = current_app.config["BASE_URL"].rstrip("/")
    return template.format(base_url=base, tracking_id=tracking_id)
