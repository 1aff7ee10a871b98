"""Mail we must never answer (RFC 3834): auto-replies, bulk and list mail, mailer daemons."""
from __future__ import annotations

import re

from .parse import InboundMail

_OOO = re.compile(
    r"\b(out of (the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|away from (the )?office|"
    r"on vacation|balasan otomatis|balas otomatis|jawaban otomatis|sedang cuti|di luar kantor|"
    r"tidak di kantor|sedang tidak di kantor|abwesenheit)\b", re.I)
_DAEMONS = ("mailer-daemon", "postmaster", "mail-daemon", "maildaemon")
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autoreply-From", "X-Mail-Autoreply",
                 "X-Auto-Reply")


def _h(mail: InboundMail, name: str) -> str | None:
    try:
        v = mail.headers.get(name)
    except Exception:  # noqa: BLE001
        return None
    return None if v is None else str(v)


def is_daemon(address: str) -> bool:
    local = (address or "").split("@", 1)[0].lower()
    return local in _DAEMONS or local.startswith("mailer-daemon")


def no_answer_reason(mail: InboundMail, own_addresses: set[str]) -> str | None:
    """Why this mail must not be answered nor filed, or ``None`` when a person wrote it."""
    auto = _h(mail, "Auto-Submitted")
    if auto is not None and auto.split(";", 1)[0].strip().lower() not in ("no", ""):
        return "auto-submitted"
    prec = (_h(mail, "Precedence") or "").strip().lower()
    if prec in ("bulk", "junk", "list", "auto_reply", "auto-reply"):
        return "precedence"
    if _h(mail, "List-Id") is not None or _h(mail, "List-Unsubscribe") is not None:
        return "mailing-list"
    if any(_h(mail, h) is not None for h in _AUTO_HEADERS):
        return "auto-responder"
    if (_h(mail, "X-Auto-Response-Suppress") or "").strip().lower() in ("oof", "all") and \
            _OOO.search(mail.subject or ""):
        return "auto-responder"
    if mail.return_path == "":
        return "null-sender"
    if is_daemon(mail.from_addr) or (mail.return_path and is_daemon(mail.return_path)):
        return "mailer-daemon"
    if not mail.from_addr or "@" not in mail.from_addr:
        return "no-sender"
    if _OOO.search(mail.subject or ""):
        return "out-of-office"
    base = mail.from_addr.split("@", 1)
    bare = base[0].split("+", 1)[0] + "@" + base[1] if len(base) == 2 else mail.from_addr
    if bare in own_addresses or _h(mail, "X-Aduan-Tracking-Id") is not None:
        return "own-mail"
    return None
