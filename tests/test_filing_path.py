"""The filing path stays cheap and keeps its guarantees.

* a filing is a fixed, small set of statements: the rate-limit upsert, then one transaction with
  the reporter, the complaint and its ``file`` event (and the plugins' outbox jobs), no savepoint;
* a tracking id already taken is skipped (another is drawn) inside the same transaction;
* categories and regions are cached per process for ``LOOKUP_CACHE_SECONDS``: an admin's change
  through the API is seen at once by that process; a change made elsewhere (another process, a
  direct write) once the entry expires.
"""
from __future__ import annotations

import time

from aduan import services
from aduan.db import database
from aduan.models import Category, Complaint, Event, Reporter
from aduan.testing import auth, seed_basics


def _counting(db, seen):
    original = db.execute_sql

    def execute_sql(sql, params=None, *a, **kw):
        seen.append(sql)
        return original(sql, params, *a, **kw)

    db.execute_sql = execute_sql


def payload(i):
    return {"title": f"Jalan berlubang {i}", "body": f"Lubang besar nomor {i}", "category": "jalan",
            "region_code": "52.71.01", "reporter": {"name": f"Warga {i}", "phone": f"0819{i:08d}"}}


def test_a_filing_is_a_few_statements_and_one_transaction(app, seed):
    client = app.test_client()
    assert client.post("/api/v1/complaints", json=payload(0)).status_code == 201  # warm the lookup cache
    seen: list[str] = []
    _counting(database.obj, seen)
    try:
        r = client.post("/api/v1/complaints", json=payload(1))
    finally:
        del database.obj.execute_sql
    assert r.status_code == 201, r.json
    writes = [s.split()[0].upper() + " " + s.split()[2].strip('"') for s in seen if s.lstrip().upper().startswith("INSERT")]
    assert writes == ["INSERT rate_limit", "INSERT reporter", "INSERT complaint", "INSERT event"], seen
    assert not [s for s in seen if "SAVEPOINT" in s.upper()], seen
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT")], seen  # category, region: cached


def test_a_taken_tracking_id_is_skipped(app, seed, monkeypatch):
    client = app.test_client()
    first = client.post("/api/v1/complaints", json=payload(0)).json["tracking_id"]
    real = services.random_code
    drawn = iter([first, first, "HJKM2345"])

    def random_code(n):
        return next(drawn) if n == services.TRACKING_LEN else real(n)

    monkeypatch.setattr(services, "random_code", random_code)
    r = client.post("/api/v1/complaints", json=payload(1))
    assert r.status_code == 201 and r.json["tracking_id"] == "HJKM2345", r.json
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 2 and Reporter.select().count() == 2 and Event.select().count() == 2
        assert Complaint.get(Complaint.tracking_id == first).title == "Jalan berlubang 0"


def test_an_admins_category_change_is_seen_at_once(app, seed):
    client = app.test_client()
    assert client.post("/api/v1/complaints", json=payload(0)).status_code == 201
    r = client.patch(f"/api/v1/categories/{seed.category.id}", json={"active": False}, headers=auth(seed.admin))
    assert r.status_code == 200, r.json
    r = client.post("/api/v1/complaints", json=payload(1))
    assert r.status_code == 422 and "category" in r.json["errors"], r.json


def test_a_change_made_elsewhere_is_seen_once_the_entry_expires(make_app):
    app = make_app({"LOOKUP_CACHE_SECONDS": 0.5})
    with app.app_context(), database.connection_context():
        seed_basics()
    client = app.test_client()
    assert client.post("/api/v1/complaints", json=payload(0)).status_code == 201
    with app.app_context(), database.connection_context():  # as another process would: not through this one
        Category.update(active=False).where(Category.code == "jalan").execute()
    time.sleep(0.6)
    r = client.post("/api/v1/complaints", json=payload(1))
    assert r.status_code == 422 and "category" in r.json["errors"], r.json
