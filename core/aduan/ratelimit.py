"""Fixed-window rate limits stored in the database, shared by every web process.

The key is an HMAC (key derived from SECRET_KEY) of the client address and the limit name: no raw
address is stored, and the stored keys cannot be reversed by hashing every IPv4 address.

A hit is **one statement** in autocommit (``INSERT … ON CONFLICT DO UPDATE … RETURNING count``):
the database increments the counter and hands back the new value atomically, so concurrent
requests from several processes each see their own count (PostgreSQL locks the row for the
upsert; SQLite runs one writer at a time), without a transaction of its own or a re-read.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import time

from .db import database, is_postgres
from .keys import derive_from
from .models import RateLimit

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}

_UPSERT = ('INSERT INTO "rate_limit" ("key", "window", "count") VALUES ({p}, {p}, 1) '
           'ON CONFLICT ("key", "window") DO UPDATE SET "count" = "rate_limit"."count" + 1 RETURNING "count"')


@functools.lru_cache(maxsize=64)
def parse(spec: str) -> tuple[int, int]:
    """``"30/hour"`` → (30, 3600); a period may have a count: ``"5/15minutes"`` → (5, 900)."""
    n, _, unit = spec.partition("/")
    unit = unit.strip()
    digits = len(unit) - len(unit.lstrip("0123456789"))
    times = int(unit[:digits]) if digits else 1
    return int(n), times * PERIODS[unit[digits:].strip().rstrip("s")]


@functools.lru_cache(maxsize=8)
def _key_secret(secret: str) -> bytes:
    return derive_from(secret, "rate-limit")


def _returning_supported(db) -> bool:
    if is_postgres(db):
        return True
    import sqlite3

    return sqlite3.sqlite_version_info >= (3, 35, 0)


def _key(name: str, client: str, secret: str) -> str:
    return hmac.new(_key_secret(secret), f"{name}|{client}".encode(), hashlib.sha256).hexdigest()[:40]


def current(name: str, client: str, spec: str, secret: str) -> tuple[bool, int]:
    """Would one more hit be allowed? (allowed, seconds until the window resets), counting nothing:
    for limits that count only failures (the staff sign-in), checked before the attempt."""
    limit, period = parse(spec)
    now = int(time.time())
    window = now - now % period
    count = (RateLimit.select(RateLimit.count)
             .where(RateLimit.key == _key(name, client, secret), RateLimit.window == window).scalar()) or 0
    return count < limit, window + period - now


def hit(name: str, client: str, spec: str, secret: str) -> tuple[bool, int]:
    """Count one request; returns (allowed, seconds until the window resets)."""
    limit, period = parse(spec)
    now = int(time.time())
    window = now - now % period
    key = _key(name, client, secret)
    db = database.obj
    if _returning_supported(db):
        # autocommit: the statement is its own transaction (inside a caller's, it commits with it)
        count = db.execute_sql(_UPSERT.format(p=db.param), (key, window)).fetchone()[0]
        return count <= limit, window + period - now
    with database.atomic():  # pragma: no cover - SQLite older than 3.35 (no RETURNING)
        (RateLimit.insert(key=key, window=window, count=1)
         .on_conflict(conflict_target=[RateLimit.key, RateLimit.window],
                      update={RateLimit.count: RateLimit.count + 1})
         .execute())
        count = RateLimit.select(RateLimit.count).where(RateLimit.key == key, RateLimit.window == window).scalar()
    return count <= limit, window + period - now

