"""IMAP polling: resume by UIDVALIDITY + UID, move (or flag) what was handled, survive a drop.

Each message is handled in its own transaction (recorded by Message-ID) *before* it is moved and
before the resume point advances; a connection lost in between only means the next poll fetches the
message again and finds it already recorded.
"""
from __future__ import annotations

import imaplib
import logging
import socket
import ssl

import peewee as pw

from aduan.db import database, utcnow

from . import common
from .inbound import handle_raw
from .models import EmailImapState

log = logging.getLogger("aduan.email")
PROCESSED_KEYWORD = "$AduanProcessed"


class ImapError(RuntimeError):
    """IMAP trouble, described without any message content or address."""


def _connect() -> imaplib.IMAP4:
    host, port, sec = common.cfg("IMAP_HOST"), common.cfg("IMAP_PORT"), common.cfg("IMAP_SECURITY")
    timeout = common.cfg("IMAP_TIMEOUT")
    ctx = ssl.create_default_context(cafile=common.cfg("SMTP_CA_FILE") or None)
    if sec == "ssl":
        conn = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=timeout)
    else:
        conn = imaplib.IMAP4(host, port, timeout=timeout)
        if sec == "starttls":
            conn.starttls(ssl_context=ctx)
    try:  # small commands answered line by line: do not let Nagle + delayed ACK stall each one
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass
    conn.login(common.cfg("IMAP_USERNAME"), common.cfg("IMAP_PASSWORD"))
    return conn


def _capabilities(conn: imaplib.IMAP4) -> set[str]:
    """Capabilities after login (servers often announce MOVE and UIDPLUS only then)."""
    caps = {c.upper() for c in conn.capabilities}
    typ, data = conn.capability()
    if typ == "OK" and data and data[0]:
        caps |= {c.decode().upper() for c in data[0].split()}
    return caps


def _quote(mailbox: str) -> str:
    return '"' + mailbox.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(typ, what: str):
    if typ != "OK":
        raise ImapError(f"IMAP {what} failed")


def _state(mailbox: str) -> EmailImapState:
    with database.atomic():
        EmailImapState.insert(mailbox=mailbox, uidvalidity=0, last_uid=0, updated_at=utcnow()) \
            .on_conflict_ignore().execute()
    return EmailImapState.get(EmailImapState.mailbox == mailbox)


def _advance(mailbox: str, uidvalidity: int, uid: int) -> None:
    with database.atomic():
        EmailImapState.update(uidvalidity=uidvalidity, last_uid=uid, updated_at=utcnow()) \
            .where(EmailImapState.mailbox == mailbox).execute()


def _record_error(raw: bytes, reason: str) -> None:
    from .models import EmailMessage
    from .parse import message_key

    try:
        with database.atomic():
            EmailMessage.insert(message_key=message_key(None, raw), outcome="error", reason=reason[:64], source="imap",
                                created_at=utcnow()).on_conflict_ignore().execute()
    except pw.PeeweeException:
        pass


def poll(app=None) -> dict[str, int]:
    """Fetch new mail once. Returns counts per outcome. Raises :class:`ImapError` when the server
    cannot be reached or the connection drops (what was handled before stays handled)."""
    if not common.cfg("IMAP_HOST"):
        return {}
    mailbox = common.cfg("IMAP_MAILBOX")
    target = common.cfg("IMAP_PROCESSED_FOLDER")
    counts: dict[str, int] = {}
    conn = None
    try:
        conn = _connect()
        typ, _ = conn.select(_quote(mailbox))
        _ok(typ, "SELECT")
        uidvalidity = int((conn.response("UIDVALIDITY")[1] or [b"0"])[0] or 0)
        st = _state(mailbox)
        last = st.last_uid if st.uidvalidity == uidvalidity else 0  # a new UIDVALIDITY: start over (dedupe by Message-ID)
        if st.uidvalidity != uidvalidity:
            _advance(mailbox, uidvalidity, 0)
        typ, data = conn.uid("SEARCH", None, f"UID {last + 1}:*")
        _ok(typ, "SEARCH")
        uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > last)[:common.cfg("IMAP_BATCH")]
        if uids and target:
            conn.create(_quote(target))  # fails harmlessly when it exists
        caps = _capabilities(conn)
        for uid in uids:
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            _ok(typ, "FETCH")
            raw = next((part[1] for part in data if isinstance(part, tuple)), None)
            if raw is None:  # expunged meanwhile
                _advance(mailbox, uidvalidity, uid)
                continue
            try:
                outcome = handle_raw(raw, "imap").outcome
            except (pw.OperationalError, pw.InterfaceError):
                raise  # the database is away: stop here, this message is fetched again next time
            except Exception as exc:  # noqa: BLE001 - one message that breaks must not block the mailbox
                log.error("imap: message uid %s could not be handled (%s); left flagged in %s",
                          uid, type(exc).__name__, mailbox)
                _record_error(raw, type(exc).__name__)
                conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Flagged)")
                _advance(mailbox, uidvalidity, uid)
                counts["error"] = counts.get("error", 0) + 1
                continue
            counts[outcome] = counts.get(outcome, 0) + 1
            if target:
                if "MOVE" in caps:
                    _ok(conn.uid("MOVE", str(uid), _quote(target))[0], "MOVE")
                else:
                    _ok(conn.uid("COPY", str(uid), _quote(target))[0], "COPY")
                    _ok(conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")[0], "STORE")
                    if "UIDPLUS" in caps:
                        conn.uid("EXPUNGE", str(uid))
                    else:
                        conn.expunge()
            else:
                _ok(conn.uid("STORE", str(uid), "+FLAGS.SILENT", r"(\Seen)")[0], "STORE")
                conn.uid("STORE", str(uid), "+FLAGS.SILENT", f"({PROCESSED_KEYWORD})")  # where keywords are allowed
            _advance(mailbox, uidvalidity, uid)
    except (imaplib.IMAP4.abort, imaplib.IMAP4.error, OSError, socket.timeout, ssl.SSLError, EOFError) as exc:
        done = sum(counts.values())
        raise ImapError(f"IMAP connection failed after {done} message(s): {type(exc).__name__}") from None
    finally:
        if conn is not None:
            try:
                conn.logout()
            except Exception:  # noqa: BLE001 - already gone
                pass
    if counts:
        log.info("imap poll: %s", ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    return counts

