"""Staff passwords: argon2id hashes, the sign-in lockout and temporary passwords.

Staff (admin, coordinator, officer) may sign in to web pages with a password; API tokens
(:mod:`aduan.auth`) keep working beside it. Integration accounts never get a password.

* **Hashes**: argon2id (``argon2-cffi``'s RFC 9106 low-memory profile), PHC strings on
  ``user.password_hash``; a hash made with older parameters is rehashed at the next sign-in.
* **Lockout**: after ``LOGIN_MAX_FAILURES`` consecutive failures the account is locked for
  ``LOGIN_LOCKOUT_MINUTES``. Every attempt first *reserves* itself with one atomic ``UPDATE`` on
  the user's row (count + 1, and the lock when the count reaches the limit) before the password is
  checked, and a success resets the count. However many attempts arrive at once, from however
  many processes, at most ``LOGIN_MAX_FAILURES`` passwords are tried before the lock holds.
* **Unknown users** cost the same as known ones: the password is checked against a dummy hash, and
  the answer is the same :data:`INVALID`; after ``LOGIN_MAX_FAILURES`` failures within
  ``LOGIN_LOCKOUT_MINUTES`` an unknown name is "locked" too (a fixed window in the shared rate-limit
  table), so the lockout does not tell which names are accounts.
* **Per address**: at most ``LOGIN_FAILURES_PER_ADDRESS`` failed sign-ins an hour from one client
  address, whatever the names tried (password spraying); then :data:`THROTTLED` until the hour's
  end. Successful sign-ins do not count, so an office behind one address is not locked out.
* **Temporary passwords** (``aduan user password NAME --temporary``, or an admin's reset) are random,
  shown once, and must be changed at the first sign-in (``user.password_temporary``).
* **Sessions**: a password change bumps ``user.session_epoch``; web sessions remember the epoch
  they started in and end when it changes (see the portal plugin).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import peewee as pw
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .auth import ALPHABET
from .db import database, utcnow
from .models import User

#: Roles that may have a password (integration accounts use tokens only).
PASSWORD_ROLES = ("admin", "coordinator", "officer")
MAX_LENGTH = 1024

OK = "ok"
INVALID = "invalid"  # unknown user, no password, inactive account or wrong password: one answer
LOCKED = "locked"
THROTTLED = "throttled"  # too many failed sign-ins from this client address

_hasher = PasswordHasher()
_dummy_hash: str | None = None


@dataclass(frozen=True)
class SignIn:
    """The outcome of :func:`authenticate`."""

    status: str  # OK, INVALID, LOCKED, THROTTLED
    user: User | None = None  # on OK
    locked_until: datetime | None = None  # on LOCKED and THROTTLED: when to try again (naive UTC)
    must_change: bool = False  # on OK: a temporary password, to be changed before anything else

    @property
    def ok(self) -> bool:
        return self.status == OK


class PasswordError(ValueError):
    """A password refused by the policy; ``errors`` are messages in the current language."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))


def _config(key: str, default):
    from flask import current_app, has_app_context

    return current_app.config.get(key, default) if has_app_context() else default


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_hash(stored: str | None, password: str) -> bool:
    """Check ``password`` against a stored hash (never raises on a malformed hash)."""
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy_verify(password: str) -> None:
    # Same work as checking a real hash, so an unknown username takes as long as a wrong password.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    verify_hash(_dummy_hash, password)


def policy_errors(password: str, user: User | None = None) -> list[str]:
    """What is wrong with a new password (empty when it is acceptable)."""
    from .i18n import _

    minimum = int(_config("PASSWORD_MIN_LENGTH", 10))
    errors = []
    if len(password or "") < minimum:
        errors.append(_("The password must be at least %(n)d characters long.", n=minimum))
    elif len(password) > MAX_LENGTH:
        errors.append(_("The password must be at most %(n)d characters long.", n=MAX_LENGTH))
    elif "\x00" in password:
        errors.append(_("The password contains a character that cannot be used."))
    elif user is not None and password.strip().casefold() in {(user.username or "").casefold(),
                                                               (user.name or "").casefold()}:
        errors.append(_("The password must not be your name or username."))
    return errors


def temporary_password() -> str:
    """A random password to hand over once: 16 characters of an unambiguous alphabet (≈77 bits)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(16))
    return "-".join(raw[i:i + 4] for i in range(0, 16, 4))


def set_password(user: User, password: str, *, temporary: bool = False) -> None:
    """Store a new password for ``user`` (checked by :func:`policy_errors`, raising
    :class:`PasswordError`). It unlocks the account, and bumps the session epoch so every web
    session started before it ends. ``temporary``: the user must change it at the next sign-in."""
    from .i18n import _

    if user.role not in PASSWORD_ROLES:
        raise PasswordError([_("Only staff accounts (admin, coordinator, officer) sign in with a password.")])
    errors = policy_errors(password, user)
    if errors:
        raise PasswordError(errors)
    now = utcnow()
    fields = dict(password_hash=hash_password(password), password_temporary=temporary, password_changed_at=now,
                  failed_logins=0, locked_until=None)
    with database.atomic():
        User.update(session_epoch=User.session_epoch + 1, **fields).where(User.id == user.id).execute()
    for k, v in fields.items():
        setattr(user, k, v)
    user.session_epoch = User.get_by_id(user.id).session_epoch


def _reserve_attempt(user_id: int, now: datetime) -> bool:
    """Count one attempt before the password is checked, in a single atomic UPDATE: refused
    (False) while the account is locked; the attempt that reaches the limit sets the lock. An
    expired lock starts the count again."""
    limit = int(_config("LOGIN_MAX_FAILURES", 5))
    until = now + timedelta(minutes=float(_config("LOGIN_LOCKOUT_MINUTES", 15)))
    count = pw.Case(None, [(User.locked_until.is_null(False), 1)], User.failed_logins + 1)
    n = (User.update(failed_logins=count,
                     locked_until=pw.Case(None, [(count >= limit, User.locked_until.to_value(until))], None))
         .where(User.id == user_id, User.locked_until.is_null() | (User.locked_until <= now))
         .execute())
    return n == 1


def _limits():
    """(secret, per-address spec, unknown-name spec) for :mod:`aduan.ratelimit`; None outside an app."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return None
    cfg = current_app.config
    minutes = max(1, round(float(cfg.get("LOGIN_LOCKOUT_MINUTES", 15))))
    return (cfg["SECRET_KEY"], f"{int(cfg.get('LOGIN_FAILURES_PER_ADDRESS', 30))}/hour",
            f"{int(cfg.get('LOGIN_MAX_FAILURES', 5))}/{minutes}minutes")


def _until(seconds: int) -> datetime:
    return (utcnow() + timedelta(seconds=seconds)).replace(microsecond=0)


def authenticate(username: str, password: str, client: str | None = None) -> SignIn:
    """Check a staff member's username and password, with the lockout (see the module).

    ``client``: the request's address, for the per-address limit (none for a signed-in user
    confirming their own password)."""
    from . import ratelimit

    username = (username or "").strip()
    password = password or ""
    limits = _limits()
    if client and limits:
        allowed, reset = ratelimit.current("login-address", client, limits[1], limits[0])
        if not allowed:
            return SignIn(THROTTLED, locked_until=_until(reset))

    def failed() -> None:
        if client and limits:
            ratelimit.hit("login-address", client, limits[1], limits[0])

    user = None
    if username and len(username) <= 64 and len(password) <= MAX_LENGTH:
        user = (User.select().where(User.username == username, User.active == True,  # noqa: E712
                                    User.role.in_(PASSWORD_ROLES), User.password_hash.is_null(False)).first())
    if user is None:
        _dummy_verify(password[:MAX_LENGTH])
        if limits and username:  # an unknown name locks like an account (see the module)
            name = username.lower()[:64]
            allowed, reset = ratelimit.current("login-name", name, limits[2], limits[0])
            if not allowed:
                return SignIn(LOCKED, locked_until=_until(reset))
            ratelimit.hit("login-name", name, limits[2], limits[0])
        failed()
        return SignIn(INVALID)
    now = utcnow()
    if not _reserve_attempt(user.id, now):
        return SignIn(LOCKED, locked_until=User.get_by_id(user.id).locked_until)
    if not verify_hash(user.password_hash, password):
        failed()
        return SignIn(INVALID)  # this attempt was counted; the next one finds the lock if it reached the limit
    User.update(failed_logins=0, locked_until=None).where(User.id == user.id).execute()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
    user.failed_logins, user.locked_until = 0, None
    return SignIn(OK, user=user, must_change=bool(user.password_temporary))


def change_password(user: User, current: str, new: str) -> None:
    """A user changing their own password: the current one must match (checked like a sign-in,
    lockout included; raises :class:`PasswordError`), and the new one must differ from it."""
    from .i18n import _

    result = authenticate(user.username, current or "")  # counted by the lockout, like a sign-in
    if result.status == LOCKED:
        raise PasswordError([_("Too many failed attempts: try again later.")])
    if not result.ok or result.user.id != user.id:
        raise PasswordError([_("The current password is wrong.")])
    if new == current:
        raise PasswordError([_("The new password must differ from the current one.")])
    set_password(user, new)
