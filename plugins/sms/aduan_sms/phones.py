"""Phone numbers: normalisation, masking for logs, blocklist and opt-outs (all in the core's
:mod:`aduan.messaging`, on channel ``sms``)."""
from __future__ import annotations

from aduan import messaging
from aduan.messaging import block_key, mask  # noqa: F401
from aduan.messaging import normalise_address as normalise  # noqa: F401


def is_blocked(phone: str | None, raw: str | None = None) -> bool:
    from .inbound import CHANNEL

    return messaging.is_blocked(CHANNEL, phone, raw)


def opted_out(phone: str | None) -> bool:
    return messaging.opted_out("sms", phone)
