"""What one inbound SMS costs in queries (machine-independent, unlike a time), and that the cheaper
path stays idempotent: the same gateway message delivered many times at once is filed once (on
PostgreSQL with ``ADUAN_TEST_DATABASE_URL`` the deliveries really race)."""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from aduan.db import database
from aduan.models import Complaint, Contact, Event, Reporter
from aduan_sms.models import SmsMessage

TEXT = "Lapor: lampu jalan di Jl. Udayana mati sejak seminggu, gelap sekali malam hari"

#: what the conversation engine adds to the filing itself for a number never seen: lock (or
#: create) the contact (which also looks the number up among reporters), log the message, mark it
#: processed, log the reply, update the contact
ENGINE_QUERIES = 5
#: a known number also reads its reporter (the filing then writes no reporter)
ENGINE_QUERIES_KNOWN = 6
#: the whole of an inbound message that files a complaint, filing included: the five above, and the
#: reporter (written, or read when known), the complaint and its ``file`` event, without savepoints
TOTAL = 8


class _Queries(logging.Handler):
    """Every statement peewee sends (it logs each one, as ``(sql, params)``, at DEBUG level)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record):
        if isinstance(record.msg, tuple):
            self.sql.append(record.msg[0])


@contextmanager
def counting():
    logger = logging.getLogger("peewee")
    handler, level = _Queries(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.sql
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _filing_queries(app, reporter=None, phone=None) -> int:
    """Queries of the same filing done by the service directly, inside a transaction as the engine does."""
    from aduan import services
    from aduan.auth import Actor

    data = {"body": TEXT, "language": "id"}
    if reporter is None:
        data["reporter"] = {"phone": phone, "language": "id"}
    with app.app_context(), database.connection_context():
        with counting() as sql, database.atomic():
            services.file_complaint(data, actor=Actor(role="reporter"), channel="sms", reporter=reporter,
                                    source="sms", external_id="generic:x")
        return len(sql)


def test_an_inbound_sms_costs_eight_statements_and_a_retry_two(sms_app, seed, signers):
    app = sms_app()
    client = app.test_client()
    sender = "+6281907071111"
    with counting() as first:
        r = signers.generic(client, {"from": sender, "text": TEXT, "id": "gw-1"})
    assert r.status_code == 200 and "lacak" in r.json["reply"]
    with counting() as second:  # the same number files again: the reporter is known now
        r = signers.generic(client, {"from": sender, "text": TEXT, "id": "gw-2"})
    assert r.status_code == 200 and "lacak" in r.json["reply"]
    with counting() as retry:  # the gateway retries gw-2
        r = signers.generic(client, {"from": sender, "text": TEXT, "id": "gw-2"})
    assert r.status_code == 200 and r.json["duplicate"] is True and r.json["reply"] is None

    with app.app_context(), database.connection_context():
        assert SmsMessage.select().where(SmsMessage.direction == "in").count() == 2
        assert Complaint.select().where(Complaint.channel == "sms").count() == 2
        rep = Reporter.get(Reporter.phone == sender)
    new_number = _filing_queries(app, phone="+6281907072222")
    known_number = _filing_queries(app, reporter=rep)
    assert len(first) <= new_number + ENGINE_QUERIES, first
    assert len(second) <= known_number + ENGINE_QUERIES_KNOWN, second
    assert len(first) <= TOTAL and len(second) <= TOTAL, (first, second)
    # inside the engine's transaction the filing takes no savepoint, and a new number is looked up
    # among reporters by the contact's own statement
    assert not [q for q in first + second if "SAVEPOINT" in q.upper()], first + second
    assert not [q for q in first if q.lstrip().upper().startswith("SELECT")], first
    assert len(retry) <= 2, retry  # lock the contact, try to log the message: nothing else


def _deliver_at_once(app, signers, payload: dict, n: int = 8) -> list[dict]:
    gate = threading.Barrier(n)

    def post(_):
        client = app.test_client()
        gate.wait()
        r = signers.generic(client, payload)
        assert r.status_code == 200, r.json
        return r.json

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(post, range(n)))


def test_the_same_message_delivered_eight_times_at_once_is_filed_once(sms_app, seed, signers):
    app = sms_app()
    answers = _deliver_at_once(app, signers, {"from": "+6281907073333", "text": TEXT, "id": "gw-race"})
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 7
    assert sum(1 for a in answers if a["reply"]) == 1  # one access code, to one answer
    with app.app_context(), database.connection_context():
        inbound = list(SmsMessage.select().where(SmsMessage.direction == "in"))
        assert [(m.provider_message_id, m.status) for m in inbound] == [("gw-race", "processed")]
        assert SmsMessage.select().where(SmsMessage.direction == "out").count() == 1
        assert Complaint.select().count() == 1
        assert Event.select().where(Event.type == "file").count() == 1
        contact = Contact.get(Contact.address == "+6281907073333")
        assert contact.inbound_count == 1 and contact.reply_count == 1  # retries do not use up the limits


def test_a_short_code_message_delivered_at_once_is_logged_once(sms_app, seed, signers):
    """No contact (so no contact lock) for a short code: the unique index alone recognises the retries."""
    app = sms_app()
    answers = _deliver_at_once(app, signers, {"from": "1708", "text": "Promo pulsa", "id": "gw-promo"})
    assert sorted(a["duplicate"] for a in answers) == [False] + [True] * 7
    with app.app_context(), database.connection_context():
        assert [m.status for m in SmsMessage.select()] == ["ignored"]
        assert Complaint.select().count() == 0


def test_a_blocked_number_is_recognised_from_the_contact_lock(sms_app, seed, signers):
    """The block list is read with the contact row: a blocked number files nothing and gets no answer,
    and a number blocked after its first message is blocked from its next one on."""
    from aduan import messaging

    app = sms_app()
    client = app.test_client()
    r = signers.generic(client, {"from": "+6281907074444", "text": TEXT, "id": "b-1"})
    assert r.json["reply"]
    with app.app_context(), database.connection_context():
        messaging.block("sms", "+6281907074444", "spam")
    r = signers.generic(client, {"from": "081907074444", "text": TEXT, "id": "b-2"})
    assert r.status_code == 200 and r.json["reply"] is None and r.json["duplicate"] is False
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 1
        assert SmsMessage.get(SmsMessage.provider_message_id == "b-2").status == "blocked"


def test_a_first_sms_from_a_number_known_from_the_web_files_under_that_reporter(sms_app, seed, signers):
    """The contact's statement looks the number up among reporters: a number that filed on the web
    before files its first SMS under the same reporter (read once, never written again)."""
    app = sms_app()
    client = app.test_client()
    r = client.post("/api/v1/complaints", json={"body": TEXT, "reporter": {"phone": "081907075555", "name": "Ani"}})
    assert r.status_code == 201, r.json
    with counting() as sql:
        r = signers.generic(client, {"from": "+6281907075555", "text": TEXT, "id": "w-1"})
    assert r.status_code == 200 and "lacak" in r.json["reply"]
    with app.app_context(), database.connection_context():
        assert Reporter.select().where(Reporter.phone == "+6281907075555").count() == 1
        rep = Reporter.get(Reporter.phone == "+6281907075555")
        assert [c.reporter_id for c in Complaint.select().order_by(Complaint.id)] == [rep.id, rep.id]
        assert Contact.get(Contact.address == "+6281907075555").reporter_id == rep.id
    assert len(sql) <= TOTAL, sql
    assert not [q for q in sql if q.lstrip().upper().startswith("INSERT INTO \"REPORTER\"")], sql
