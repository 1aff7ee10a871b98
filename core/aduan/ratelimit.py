"""Fixed-window rate limits stored in the database, shared by every web process.

The key is an HMAC (key derived from SECRET_KEY) of the client address and the limit name: no raw
address is stored, and the stored keys cannot be reversed by hashing every IPv4 address.
"""
from __future__ import annotations

import hashlib
import hmac
import time

from .db import database
from .keys import derive_from
from .models import RateLimit

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse(spec: str) -> tuple[int, int]:
    n, _, unit = spec.partition("/")
    return int(n), PERIODS[unit.strip().rstrip("s")]


def hit(name: str, client: str, spec: str, secret: str) -> tuple[bool, int]:
    """Count one request; returns (allowed, seconds until the window resets)."""
    limit, period = parse(spec)
    now = int(time.time())
    window = now - now % period
    key = hmac.new(derive_from(secret, "rate-limit"), f"{name}|{client}".encode(), hashlib.sha256).hexdigest()[:40]
    with database.atomic():
        (RateLimit.insert(key=key, window=window, count=1)
         .on_conflict(conflict_target=[RateLimit.key, RateLimit.window],
                      update={RateLimit.count: RateLimit.count + 1})
         .execute())
        count = RateLimit.select(RateLimit.count).where(RateLimit.key == key, RateLimit.window == window).scalar()
    return count <= limit, window + period - now
