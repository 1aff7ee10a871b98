"""Every key the application uses is derived from ``SECRET_KEY``, each with its own context.

One operator secret, many independent keys: HKDF-SHA256 (RFC 5869, from ``cryptography``) expands
``SECRET_KEY`` into a separate key per purpose (``nik``, ``access-code``, ``rate-limit``,
``email-reply``...), so a key leaked or misused in one place tells nothing about another, and no
purpose ever uses the raw secret.

**Rotation.** Put the new value in ``SECRET_KEY`` and the previous one(s) in ``SECRET_KEYS_OLD``
(comma-separated or a JSON list, newest first). New data is always encrypted and signed with keys
derived from ``SECRET_KEY``; what was made with an old key still decrypts and verifies
(:func:`fernet` is a ``MultiFernet``; :func:`hmac_matches` tries every key). ``aduan keys rotate``
re-encrypts the stored NIK numbers with the current key, after which the old key can be dropped.

**Upgrades.** Releases up to 0.1 derived keys ad hoc (``sha256("nik|" + SECRET_KEY)``...). Callers
pass that old derivation as ``legacy`` so data written before the upgrade keeps working.

Plugins use the same helpers with a context named after themselves (``derive("email-reply")``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache
from typing import Callable, Iterable, Mapping

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

#: The value ``SECRET_KEY`` has when nobody set it. ``aduan serve`` and ``aduan worker`` refuse to
#: start with it unless ``DEVELOPMENT`` is true (``make run`` sets it).
DEV_SECRET_KEY = "dev-insecure-change-me"
#: Values published in this repository (the default, the placeholder of deploy/aduan.env.example):
#: a server refuses all of them, since anyone can read them.
PUBLISHED_SECRET_KEYS = frozenset({DEV_SECRET_KEY, "change-me-to-the-output-of-the-command-above"})

_SALT = b"aduan-key-derivation-v1"


def _config(config: Mapping | None) -> Mapping:
    if config is not None:
        return config
    from flask import current_app

    return current_app.config


def secrets_in_use(config: Mapping | None = None) -> list[str]:
    """``SECRET_KEY`` first, then ``SECRET_KEYS_OLD`` (keys that still decrypt and verify)."""
    cfg = _config(config)
    out = [cfg["SECRET_KEY"]]
    for old in cfg.get("SECRET_KEYS_OLD") or []:
        if old and old not in out:
            out.append(old)
    return out


@lru_cache(maxsize=256)
def derive_from(secret: str, context: str, length: int = 32) -> bytes:
    """The key for ``context`` derived from one secret (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=_SALT,
                info=b"aduan:" + context.encode()).derive(secret.encode())


def derive(context: str, config: Mapping | None = None, length: int = 32) -> bytes:
    """The current key for ``context`` (from ``SECRET_KEY``)."""
    return derive_from(secrets_in_use(config)[0], context, length)


def derive_all(context: str, config: Mapping | None = None, length: int = 32) -> list[bytes]:
    """The current key for ``context`` then the one from each old secret."""
    return [derive_from(s, context, length) for s in secrets_in_use(config)]


def fernet(context: str, config: Mapping | None = None, *, primary: Iterable[str] = (),
           legacy: Callable[[str], bytes] | None = None) -> MultiFernet:
    """A ``MultiFernet`` that encrypts with the current derived key and decrypts with any of them.

    :param primary: explicit Fernet keys (e.g. ``NIK_KEY``) that come before the derived ones.
    :param legacy: ``secret -> 32 raw bytes``: the derivation of an older release, accepted for
        decryption only, for every secret in use.
    """
    secrets_ = secrets_in_use(config)
    keys = [Fernet(k) for k in primary if k]
    keys += [Fernet(base64.urlsafe_b64encode(derive_from(s, context))) for s in secrets_]
    if legacy is not None:
        keys += [Fernet(base64.urlsafe_b64encode(legacy(s))) for s in secrets_]
    return MultiFernet(keys)


def hmac_hex(context: str, message: bytes, config: Mapping | None = None) -> str:
    """HMAC-SHA256 of ``message`` with the current key for ``context``, as hex."""
    return hmac.new(derive(context, config), message, hashlib.sha256).hexdigest()


def hmac_candidates(context: str, message: bytes, config: Mapping | None = None, *,
                    legacy: Callable[[str, bytes], str] | None = None) -> list[str]:
    """Every hex HMAC ``message`` may have been stored or sent with: current key, old keys, then
    ``legacy(secret, message)`` for each secret. For lookups by keyed hash."""
    out = [hmac.new(k, message, hashlib.sha256).hexdigest() for k in derive_all(context, config)]
    if legacy is not None:
        out += [legacy(s, message) for s in secrets_in_use(config)]
    return out


def hmac_matches(context: str, message: bytes, given: str, config: Mapping | None = None, *,
                 length: int | None = None, legacy: Callable[[str, bytes], str] | None = None) -> bool:
    """Whether ``given`` is the (possibly truncated) HMAC of ``message`` under any key in use.
    Constant-time per comparison."""
    given = (given or "").lower()
    ok = False
    for cand in hmac_candidates(context, message, config, legacy=legacy):
        ok |= hmac.compare_digest(cand[:length] if length else cand, given)
    return ok
