"""Many clients filing at once, with a worker draining the outbox at the same time.

20 threads each file 50 complaints through the HTTP API (their own ``app.test_client()``; the
app is the real one: rate limiting, the service transaction, the outbox write). Meanwhile a
worker thread runs the jobs those filings enqueue. On SQLite (the default) this exercises WAL,
the busy timeout and ``BEGIN IMMEDIATE`` write transactions; on PostgreSQL (when
``ADUAN_TEST_DATABASE_URL`` is set) the connection pool and row locks. Same test, both engines.
"""
from __future__ import annotations

import logging
import threading

import aduan
from aduan import JobRequest
from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint, Event, Job, RateLimit

THREADS, PER_THREAD = 20, 50


class NotifyEveryFiling:
    name = "ctest"

    def __init__(self):
        self.lock = threading.Lock()
        self.ran: list[str] = []

    @aduan.hookimpl
    def enqueue_jobs(self, event):
        if event.type == "file":
            return [JobRequest("ctest.ack", {"tracking_id": event.tracking_id}, key=f"ctest.ack:{event.tracking_id}")]
        return []

    @aduan.hookimpl
    def register_jobs(self):
        return {"ctest.ack": self.ack}

    def ack(self, app, payload, job):
        with self.lock:
            self.ran.append(payload["tracking_id"])


def test_concurrent_filing_over_http(make_app, caplog):
    plugin = NotifyEveryFiling()
    app = make_app({"RATE_LIMIT_FILE": "1000000/hour", "DATABASE_POOL_SIZE": 10}, plugins=[plugin])
    results: dict[int, list[tuple[int, dict | None]]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)
    filing_done = threading.Event()

    def filer(n: int):
        client = app.test_client()
        out = results.setdefault(n, [])
        try:
            start.wait()
            for i in range(PER_THREAD):
                r = client.post("/api/v1/complaints", json={
                    "title": f"Aduan {n}-{i}", "body": f"Sampah menumpuk di gang {n}, laporan ke-{i}.",
                    "reporter": {"name": f"Warga {n}", "phone": f"0819{n:02d}{i:06d}"}})
                out.append((r.status_code, r.get_json(silent=True)))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    worker = Worker(app, worker_id="concurrent-worker")
    worker_counts = {"done": 0, "retry": 0, "dead": 0}

    def work():
        try:
            start.wait()
            while not filing_done.is_set():
                c = worker.run_once(schedules=False, max_jobs=50)
                for k in worker_counts:
                    worker_counts[k] += c[k]
                filing_done.wait(0.01)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=filer, args=(n,), name=f"filer-{n}") for n in range(THREADS)]
    wt = threading.Thread(target=work, name="worker")
    with caplog.at_level(logging.WARNING):
        for t in threads + [wt]:
            t.start()
        for t in threads:
            t.join(300)
        filing_done.set()
        wt.join(120)
        assert not any(t.is_alive() for t in threads + [wt]), "a thread is stuck"

    assert not errors, errors
    statuses = [s for rows in results.values() for s, _ in rows]
    assert len(statuses) == THREADS * PER_THREAD
    assert [s for s in statuses if s >= 500] == []
    bad = [(s, body) for rows in results.values() for s, body in rows if s != 201]
    assert bad == []
    logged = "\n".join(f"{r.name} {r.levelname} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "database is locked" not in logged.lower()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], logged

    tids = [body["tracking_id"] for rows in results.values() for _, body in rows]
    assert len(set(tids)) == THREADS * PER_THREAD

    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == THREADS * PER_THREAD
        stored = {c.tracking_id for c in Complaint.select(Complaint.tracking_id)}
        assert stored == set(tids)
        assert Event.select().where(Event.type == "file").count() == THREADS * PER_THREAD
        # every filing passed the (shared, database-backed) rate limiter exactly once
        assert sum(r.count for r in RateLimit.select()) == THREADS * PER_THREAD
        # the outbox: one job per filing; the worker ran some of them while filing went on
        assert Job.select().where(Job.kind == "ctest.ack").count() == THREADS * PER_THREAD
        rest = Worker(app).run_once(schedules=False, max_jobs=5000)
        assert worker_counts["retry"] == worker_counts["dead"] == rest["retry"] == rest["dead"] == 0
        assert worker_counts["done"] + rest["done"] == THREADS * PER_THREAD
        assert Job.select().where(Job.status != "done").count() == 0
    assert sorted(plugin.ran) == sorted(tids)  # each job ran exactly once
