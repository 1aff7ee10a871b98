"""Who is acting: bearer tokens for staff and systems, access codes for reporters.

Tokens are 32 random bytes (URL-safe), shown once, stored as SHA-256. Access codes are random,
stored as an HMAC under a key derived from SECRET_KEY, and compared in constant time.

**Integration token scopes.** A token of an ``integration`` account can do only what an admin
granted it (least privilege: a token issued with no scope can do nothing a member of the public
cannot). A scope is a name:

* a permission from :data:`PERMISSIONS` (``complaints:read``, ``secret:read``, ``action:respond``…);
* a *reach* restriction: ``channel:<name>`` (only complaints that came through that channel; the
  complaints the token files get that channel) and ``agency:<code>`` (only complaints currently
  disposed to that agency). Several of one kind widen the reach; the two kinds intersect. With
  none, the reach is every complaint.

Plugins check scopes by name with :meth:`Actor.has_scope` (e.g. an Open311 plugin serves only
tokens holding ``channel:open311``). Tokens issued before migration 0003 kept working with
:data:`LEGACY_SCOPES`: everything they could do except reading secret content and reporters'
contacts.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

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
    scopes: frozenset[str] = field(default_factory=frozenset)  # integration: what its token was granted
    agency_ids: frozenset[int] = field(default_factory=frozenset)  # integration: resolved agency:<code> scopes

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "coordinator", "officer")

    def has_scope(self, name: str) -> bool:
        """Was this integration token granted ``name``? (Other roles hold no scopes.)"""
        return self.role == "integration" and name in self.scopes

    @property
    def channels(self) -> frozenset[str]:
        """The channels an integration token is limited to (empty: no channel limit)."""
        return frozenset(s.split(":", 1)[1] for s in self.scopes if s.startswith("channel:"))

    @property
    def agency_limited(self) -> bool:
        return any(s.startswith("agency:") for s in self.scopes)

    def reaches(self, complaint) -> bool:
        """Is the complaint within an integration token's channel and agency limits?"""
        if self.role != "integration":
            return True
        chans = self.channels
        if chans and complaint.channel not in chans:
            return False
        if self.agency_limited and complaint.agency_id not in self.agency_ids:
            return False
        return True


PUBLIC = Actor(role="public")


def system(label: str = "system") -> Actor:
    return Actor(role="system", label=label)


#: Bytes below this map evenly onto ALPHABET (``b % 29``); the rest are drawn again.
_CODE_BYTE_LIMIT = 256 - 256 % len(ALPHABET)


def random_code(n: int) -> str:
    """``n`` characters of :data:`ALPHABET`, uniformly from the OS's CSPRNG (one read for the whole
    code instead of one per character: it runs twice for every filing)."""
    out: list[str] = []
    while len(out) < n:
        out += [ALPHABET[b % len(ALPHABET)] for b in secrets.token_bytes(n + 4) if b < _CODE_BYTE_LIMIT]
    return "".join(out[:n])


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


#: What an admin may grant an integration token, with what each allows (within the token's reach).
PERMISSIONS: dict[str, str] = {
    "complaints:file": "file complaints on behalf of citizens",
    "complaints:read": "list and read complaints (content of non-secret ones; no reporter identity)",
    "notes:read": "read internal timeline notes (needs complaints:read)",
    "secret:read": "read the content, texts, location and attachments of secret (rahasia) complaints",
    "contacts:read": "read the name and contacts of reporters who are not anonymous (NIK stays masked)",
    "action:respond": "give a public answer (tindak lanjut)",
    "action:resolve": "give the final answer (selesai)",
    "action:comment": "add a timeline note",
    "attachments:add": "upload attachments",
}
#: Scopes that restrict where a token reaches: ``channel:<name>``, ``agency:<code>``.
REACH_PREFIXES = ("channel", "agency")
#: What integration tokens issued before scopes existed (migration 0003) were given.
LEGACY_SCOPES = ("complaints:file", "complaints:read", "notes:read", "action:respond", "action:resolve",
                 "action:comment", "attachments:add")
_SCOPE_ARG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$", re.IGNORECASE)


class ScopeError(ValueError):
    """A scope an admin asked for does not exist; ``errors`` lists each problem."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


def validate_scopes(scopes, role: str) -> list[str]:
    """Check and normalise scope names for a token of ``role``; raises :class:`ScopeError`.

    Only integration tokens take scopes. ``agency:<code>`` must name an existing agency.
    """
    from .i18n import _
    from .models import Agency

    out: list[str] = []
    errors: list[str] = []
    for raw in scopes or ():
        name = str(raw).strip()
        if not name or name in out:
            continue
        kind, _sep, arg = name.partition(":")
        if name in PERMISSIONS:
            out.append(name)
        elif kind in REACH_PREFIXES and _SCOPE_ARG.match(arg):
            if kind == "channel":
                name = "channel:" + arg.lower()
            elif Agency.get_or_none(Agency.code == arg) is None:
                errors.append(_("Unknown agency in scope: %(name)s.", name=name))
                continue
            out.append(name)
        else:
            errors.append(_("Unknown scope: %(name)s.", name=name))
    if out and role != "integration":
        errors.append(_("Only tokens of integration accounts take scopes; this account is %(role)s.", role=role))
    if errors:
        raise ScopeError(errors)
    return out


def create_token(user: User, name: str = "", expires_at=None, scopes=None) -> tuple[Token, str]:
    """Issue a token (the secret is returned once). ``scopes`` are validated by
    :func:`validate_scopes`; an integration token without scopes may do nothing beyond the public."""
    scopes = validate_scopes(scopes, user.role)
    raw = "adu_" + secrets.token_urlsafe(32)
    tok = Token.create(user=user, name=name, token_hash=hash_token(raw), prefix=raw[:10], expires_at=expires_at,
                       scopes=scopes)
    return tok, raw


def actor_for_token(raw: str) -> Actor | None:
    now = utcnow()
    from .db import select_row

    # every authenticated request runs this: one statement whose SQL is built once (select_row)
    row = select_row(Token, related=("user",), token_hash=hash_token(raw))
    if row is not None and (row.revoked or row.user is None or not row.user.active):
        row = None
    if row is None or (row.expires_at and row.expires_at < now):
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 300:
        Token.update(last_used_at=now).where(Token.id == row.id).execute()  # coarse, avoids a write per request
    u = row.user
    if u.role != "integration":
        return Actor(role=u.role, user_id=u.id, agency_id=u.agency_id, username=u.username)
    scopes = frozenset(row.scopes or ())
    codes = [s.split(":", 1)[1] for s in scopes if s.startswith("agency:")]
    agency_ids = frozenset()
    if codes:
        from .models import Agency

        agency_ids = frozenset(a.id for a in Agency.select(Agency.id).where(Agency.code.in_(codes)))
    return Actor(role=u.role, user_id=u.id, agency_id=u.agency_id, username=u.username, scopes=scopes,
                 agency_ids=agency_ids)
