"""Phone numbers: normalisation (core ``normalise_phone``), masking for logs, blocklist and opt-outs."""
from __future__ import annotations

import re

from flask import current_app

from aduan.services import normalise_phone

from .models import SmsBlock, SmsOptOut


def normalise(raw: str | None) -> str | None:
    """E.164 for a number a citizen can be reached at; ``None`` for short codes and alphanumeric ids."""
    if not raw:
        return None
    raw = str(raw).strip()
    if re.search(r"[A-Za-z]", raw):
        return None  # alphanumeric sender id ("TELKOMSEL", "INFO")
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 8:
        return None  # short code (1708, 3636...)
    return normalise_phone(raw)


def mask(phone: str | None) -> str:
    """+62812****7890: enough to tell numbers apart in a log, not to call them."""
    if not phone:
        return "-"
    s = str(phone)
    if len(s) <= 8:
        return s[:2] + "****"
    return s[:6] + "****" + s[-4:]


def block_key(phone: str | None, raw: str | None) -> str:
    return phone or (raw or "").strip()[:64]


def is_blocked(phone: str | None, raw: str | None = None) -> bool:
    key = block_key(phone, raw)
    if not key:
        return False
    listed = {normalise(x) or x.strip() for x in current_app.config.get("SMS_BLOCKLIST") or []}
    if key in listed:
        return True
    return SmsBlock.select().where(SmsBlock.phone == key).exists()


def opted_out(phone: str | None) -> bool:
    return bool(phone) and SmsOptOut.select().where(SmsOptOut.phone == phone).exists()
