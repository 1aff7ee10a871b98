"""Timeline entries are dated once the complaint's row is locked (issue #9 item 21).

An action that waits for another transaction on the same complaint is dated when it takes effect,
not when it was requested, so the timeline's order (by time) is the order in which the actions
were applied: a note written before a transfer never appears after it, and the other way round.
"""
from __future__ import annotations

import os
import threading

import pytest

import aduan
from aduan.db import database, utcnow
from aduan.models import Event
from aduan.testing import TEST_DB_ENV, auth, seed_basics

ON_POSTGRES = os.environ.get(TEST_DB_ENV, "").startswith("postgres")


class HoldTheLock:
    """Test plugin: a comment reading HOLD blocks inside its transaction (after the row lock was
    taken and its entry written) until the test releases it."""

    name = "holdlock"

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    @aduan.hookimpl
    def enqueue_jobs(self, event):
        if event.type == "comment" and event.text == "HOLD":
            self.entered.set()
            assert self.release.wait(60), "the test never released the lock"
        return []


def setup(make_app, plugins=()):
    app = make_app({"DATABASE_POOL_SIZE": 8}, plugins=plugins)
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    r = client.post("/api/v1/complaints", json={"body": "Jalan berlubang di depan pasar.", "category": "jalan"})
    tid = r.json["tracking_id"]
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200
    return app, seed, tid


def waiting_on_a_lock(app) -> int:
    with app.app_context(), database.connection_context():
        return database.execute_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchone()[0]


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL (set ADUAN_TEST_DATABASE_URL)")
def test_an_action_waiting_for_the_row_is_dated_after_the_one_holding_it(make_app):
    plugin = HoldTheLock()
    app, seed, tid = setup(make_app, plugins=[plugin])
    results = {}

    def post(name, action, body):
        results[name] = app.test_client().post(f"/api/v1/complaints/{tid}/actions/{action}", json=body,
                                               headers=auth(seed.coordinator))

    note = threading.Thread(target=post, args=("note", "comment", {"text": "HOLD"}))
    note.start()
    assert plugin.entered.wait(30)
    # the note holds the row; a transfer now waits for it
    transfer = threading.Thread(target=post, args=("transfer", "transfer",
                                                   {"agency_id": seed.agency_b.id, "text": "bukan wewenang"}))
    transfer.start()
    for _ in range(3000):
        if waiting_on_a_lock(app):
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the transfer never waited for the row lock")
    released_at = utcnow()
    plugin.release.set()
    note.join(30)
    transfer.join(30)
    assert results["note"].status_code == 200 and results["transfer"].status_code == 200, results
    with app.app_context(), database.connection_context():
        events = {e.type: e for e in Event.select().where(Event.type.in_(["comment", "transfer"]))}
    assert events["transfer"].created_at >= released_at > events["comment"].created_at
    timeline = app.test_client().get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json["timeline"]
    assert [e["type"] for e in timeline] == ["file", "verify", "comment", "transfer"]


@pytest.mark.skipif(not ON_POSTGRES, reason="row locks: PostgreSQL (set ADUAN_TEST_DATABASE_URL)")
def test_the_deadline_sweep_dates_a_breach_after_the_row_lock(make_app):
    """The worker's SLA sweep, too: a breach recorded on a complaint another transaction held is
    dated when the sweep got the row, after that transaction's entries."""
    import datetime as dt

    from aduan.models import Complaint
    from aduan.services import sla_sweep

    plugin = HoldTheLock()
    app, seed, tid = setup(make_app, plugins=[plugin])
    with app.app_context(), database.connection_context():
        Complaint.update(due_followup=utcnow() - dt.timedelta(days=1)).execute()
    results = {}

    def note():
        results["note"] = app.test_client().post(f"/api/v1/complaints/{tid}/actions/comment",
                                                 json={"text": "HOLD"}, headers=auth(seed.coordinator))

    def sweep():
        with app.app_context(), database.connection_context():
            results["sweep"] = sla_sweep()

    t_note = threading.Thread(target=note)
    t_note.start()
    assert plugin.entered.wait(30)
    t_sweep = threading.Thread(target=sweep)
    t_sweep.start()
    for _ in range(3000):
        if waiting_on_a_lock(app):
            break
        threading.Event().wait(0.01)
    else:
        pytest.fail("the sweep never waited for the row lock")
    released_at = utcnow()
    plugin.release.set()
    t_note.join(30)
    t_sweep.join(30)
    assert results["note"].status_code == 200 and results["sweep"]["breaches"] >= 1
    with app.app_context(), database.connection_context():
        breach = Event.get(Event.type == "sla_breach")
        note_ev = Event.get(Event.type == "comment")
    assert breach.created_at >= released_at > note_ev.created_at


def test_concurrent_actions_are_dated_in_the_order_they_were_applied(make_app):
    """Notes and transfers race on one complaint; entry ids are given under the row lock, so the
    timeline's order by time must be the order of ids."""
    app, seed, tid = setup(make_app)
    errors = []
    start = threading.Barrier(5)

    def notes(n):
        client = app.test_client()
        start.wait()
        for i in range(8):
            r = client.post(f"/api/v1/complaints/{tid}/actions/comment", json={"text": f"catatan {n}-{i}"},
                            headers=auth(seed.coordinator))
            if r.status_code != 200:
                errors.append(r.json)

    def transfers():
        client = app.test_client()
        start.wait()
        for i in range(8):
            target = seed.agency_b if i % 2 == 0 else seed.agency_a
            r = client.post(f"/api/v1/complaints/{tid}/actions/transfer",
                            json={"agency_id": target.id, "text": f"pindah {i}"}, headers=auth(seed.coordinator))
            if r.status_code != 200:
                errors.append(r.json)

    threads = [threading.Thread(target=notes, args=(n,)) for n in range(4)] + [threading.Thread(target=transfers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    with app.app_context(), database.connection_context():
        rows = list(Event.select(Event.id, Event.created_at).where(Event.type.in_(["comment", "transfer"]))
                    .order_by(Event.id))
    assert len(rows) == 40
    assert [r.id for r in sorted(rows, key=lambda r: (r.created_at, r.id))] == [r.id for r in rows]
