"""Who is acting: bearer tokens for staff and systems, access codes for reporters.

Tokens are 32 random bytes (URL-safe), shown once, stored as SHA-256. Access codes are random,
stored as an HMAC under a key derived from SECRET_KEY, and compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from . import keys
from .db import utcnow
from .models import Token, User

# Unambiguous alphabet: no 0/O, 1/I/L, U/V confusion; readable over the phone and by SMS.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"


@dataclass(frozen=True)
class Actor:
    """The authenticated party of a request or a job."""

    role: str  # admin, coordinator, officer, integration, reporter, system, public
    user_id: int | None = None
    agency_id: int | None = None
    username: str | None = None
    complaint_id: int | None = None  # reporter: the complaint their access code unlocks
    label: str | None = None  # free text, e.g. "lapor" for a system actor

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "coordinator", "officer")


PUBLIC = Actor(role="public")


def system(label: str = "system") -> Actor:
    return Actor(role="system", label=label)


def random_code(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def normalise_code(value: str) -> str:
    return "".join(ch for ch in (value or "").upper() if ch.isalnum())


def hash_access_code(tracking_id: str, code: str) -> str:
    """HMAC of the code under the ``access-code`` key derived from SECRET_KEY (:mod:`aduan.keys`):
    a stolen database alone does not allow guessing the codes offline."""
    return keys.hmac_hex("access-code", _access_message(tracking_id, code))


def _access_message(tracking_id: str, code: str) -> bytes:
    return tracking_id.encode() + b"|" + normalise_code(code).encode()


def _legacy_access_hash(tracking_id: str, code: str) -> str:
    # Releases up to 0.1 keyed the HMAC with the tracking id alone: codes given then still work.
    return hmac.new(tracking_id.encode(), normalise_code(code).encode(), hashlib.sha256).hexdigest()


def check_access_code(complaint, code: str | None) -> bool:
    """Constant-time check against the current key, every key in SECRET_KEYS_OLD, and the hash of
    releases before key derivation."""
    if not code:
        return False
    stored = complaint.access_code_hash
    ok = hmac.compare_digest(stored, _legacy_access_hash(complaint.tracking_id, code))
    for cand in keys.hmac_candidates("access-code", _access_message(complaint.tracking_id, code)):
        ok |= hmac.compare_digest(stored, cand)
    return ok


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(user: User, name: str = "", expires_at=None) -> tuple[Token, str]:
    raw = "adu_" + secrets.token_urlsafe(32)
    tok = Token.create(user=user, name=name, token_hash=hash_token(raw), prefix=raw[:10], expires_at=expires_at)
    return tok, raw


def actor_for_token(raw: str) -> Actor | None:
    now = utcnow()
    row = (Token.select(Token, User).join(User)
           .where(Token.token_hash == hash_token(raw), Token.revoked == False, User.active == True)  # noqa: E712
           .first())
    if row is None or (row.expires_at and row.expires_at < now):
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        Token.update(last_used_at=now).where(Token.id == row.id).execute()  # coarse, avoids a write per request
    u = row.user
    return Actor(role=u.role, user_id=u.id, agency_id=u.agency_id, username=u.username)
