"""The SLA sweep records each breach once and does not re-read complaints already in breach."""
import contextlib
import datetime as dt
import logging

from aduan import services
from aduan.auth import Actor
from aduan.db import database
from aduan.models import Complaint, Event
from aduan.services import file_complaint, sla_sweep

T0 = dt.datetime(2026, 11, 2, 1, 0)  # Monday 09:00 WITA


class _Queries(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record):
        sql = record.msg[0] if isinstance(record.msg, tuple) else str(record.msg)
        self.sql.append(sql)


@contextlib.contextmanager
def queries():
    """Every statement peewee sends while the block runs."""
    h, logger = _Queries(), logging.getLogger("peewee")
    old = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(h)
    try:
        yield h.sql
    finally:
        logger.removeHandler(h)
        logger.setLevel(old)


def _file(n):
    for i in range(n):
        file_complaint({"body": f"Lampu jalan mati nomor {i}", "category": "jalan", "urgency": "mendesak"},
                       actor=Actor(role="reporter"), now=T0)


def test_second_sweep_over_breached_complaints_reads_little_and_writes_nothing(app, seed):
    with app.app_context(), database.connection_context():
        _file(25)
        first = sla_sweep(now=T0 + dt.timedelta(days=4))  # first answer and verification both missed
        assert first["breaches"] == 50
        for later in (T0 + dt.timedelta(days=4, minutes=5), T0 + dt.timedelta(days=5)):
            with queries() as sql:
                assert sla_sweep(now=later) == {"breaches": 0, "closed": 0}
            # one read for breaches not yet recorded, one for complaints to close: whatever N
            assert len(sql) <= 3, sql
            assert not [s for s in sql if s.lstrip().split()[0].upper() in ("INSERT", "UPDATE", "DELETE")], sql
            assert not [s for s in sql if "FOR UPDATE" in s.upper()], sql
        assert Event.select().where(Event.type == "sla_breach").count() == 50


def test_sweep_records_a_new_clock_of_a_complaint_already_in_breach(app, seed):
    with app.app_context(), database.connection_context():
        _file(3)
        assert sla_sweep(now=T0 + dt.timedelta(hours=2))["breaches"] == 3  # first answer only
        with queries() as sql:
            assert sla_sweep(now=T0 + dt.timedelta(hours=3))["breaches"] == 0
        assert len(sql) <= 3, sql
        # verification is due three working days later: each complaint is read again once for it
        assert sla_sweep(now=T0 + dt.timedelta(days=4))["breaches"] == 3
        assert {c.breached for c in Complaint.select()} == {"first_response,verify"}
        assert sla_sweep(now=T0 + dt.timedelta(days=4))["breaches"] == 0


def test_sweep_walks_candidates_in_batches(app, seed, monkeypatch):
    monkeypatch.setattr(services, "SLA_SWEEP_BATCH", 4)
    with app.app_context(), database.connection_context():
        _file(10)
        with queries() as sql:
            assert sla_sweep(now=T0 + dt.timedelta(hours=2))["breaches"] == 10
        candidate_reads = [s for s in sql if s.startswith('SELECT "t1"."id" FROM "complaint"') and "LIMIT" in s]
        assert len(candidate_reads) == 3  # 4 + 4 + 2
        stages = [e.data["stage"] for e in Event.select().where(Event.type == "sla_breach")]
        assert stages == ["first_response"] * 10
