"""The database rate limiter: one statement per hit, exact under concurrent requests.

Threads fire at the same instant (a barrier), each with its own connection from the pool (on
PostgreSQL: separate server sessions, as separate web processes would have). Exactly the limit
gets through; every other request gets 429 with Retry-After; the stored counter saw every hit.
"""
from __future__ import annotations

import threading

from aduan import ratelimit
from aduan.db import database
from aduan.models import Complaint, RateLimit

THREADS = 24
LIMIT = 7


def test_filing_limit_holds_when_requests_arrive_at_once(make_app):
    app = make_app({"RATE_LIMIT_FILE": f"{LIMIT}/hour", "DATABASE_POOL_SIZE": THREADS + 2})
    start = threading.Barrier(THREADS)
    statuses: list[int] = []
    retry_after: list[str] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def fire(i: int):
        client = app.test_client()
        try:
            start.wait()
            r = client.post("/api/v1/complaints", json={"body": f"Lampu jalan mati nomor {i}"},
                            environ_base={"REMOTE_ADDR": "203.0.113.9"})
            with lock:
                statuses.append(r.status_code)
                if r.status_code == 429:
                    retry_after.append(r.headers.get("Retry-After"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(statuses) == [201] * LIMIT + [429] * (THREADS - LIMIT), statuses
    assert all(ra and int(ra) > 0 for ra in retry_after)
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == LIMIT
        assert [r.count for r in RateLimit.select()] == [THREADS]  # every hit counted, one row
    # another address has its own budget
    r = app.test_client().post("/api/v1/complaints", json={"body": "Sampah"}, environ_base={"REMOTE_ADDR": "198.51.100.1"})
    assert r.status_code == 201


def test_a_hit_is_one_statement(app):
    with app.app_context(), database.connection_context():
        db = database.obj
        seen = []
        original = db.execute_sql

        def execute_sql(sql, params=None, *a, **kw):
            seen.append(sql)
            return original(sql, params, *a, **kw)

        db.execute_sql = execute_sql
        try:
            results = [ratelimit.hit("file", "192.0.2.7", "3/hour", "k") for _ in range(5)]
        finally:
            del db.execute_sql
    assert [ok for ok, _ in results] == [True, True, True, False, False]
    assert len(seen) == 5, seen  # no BEGIN/COMMIT, no re-read
    assert all(s.lstrip().upper().startswith("INSERT") and "RETURNING" in s.upper() for s in seen)
