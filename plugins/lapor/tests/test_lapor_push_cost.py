"""What one push (``lapor.push``: E4 create, ticket, timeline note) costs the database, and that the cheaper
path keeps what it wrote. A backlog of pushes is CPU-bound in the worker (bench/HISTORY.md, LAPOR! backlog):
each statement, and peewee building it, is paid 10,000 times."""
from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint, Event, Job
from aduan.testing import recording_queries
from aduan_lapor.models import LaporTicket
from aduan_lapor.testing import file


def _table(sql: str) -> str:
    words = sql.replace(",", " ").split()
    up = [w.upper() for w in words]
    for marker in ("FROM", "INTO", "UPDATE"):
        if marker in up:
            return words[up.index(marker) + 1].strip('"')
    return "?"


def test_one_push_is_eleven_statements_and_reads_the_complaint_once(lapor, sim):
    app, client, seed = lapor(LAPOR_PUSH_ON="file", LAPOR_RATE_LIMIT=0)
    file(client, title="Pemanasan")  # the first push of the process builds its statements
    Worker(app).run_once(schedules=False)
    tid, _code = file(client, title="Jalan berlubang di Ampenan")
    with recording_queries() as run:
        counts = Worker(app, worker_id="w").run_once(schedules=False)
    seen = [sql for sql, _params in run]
    assert counts["done"] == 1, counts
    (e4,) = sim.complaints_with(tid)
    assert "Kota Mataram" in e4["content"] and e4["body"]["nameUser"] == "Baiq Nurul"  # region, reporter were read

    # the worker's own statements (its claims, empty ones included, and the finish) are another bench's concern
    claims = [s for s in seen if s.startswith('UPDATE "job" SET "status" = \'running\'')]
    finish = [s for s in seen if s.startswith('UPDATE "job"') and s.endswith('WHERE "id" = ? AND "locked_by" = ?')
              or s.endswith('WHERE "id" = %s AND "locked_by" = %s')]
    push = [s for s in seen if s not in claims and s not in finish]
    kinds = [(s.split()[0].upper(), _table(s)) for s in push]
    # the complaint with its category, region, agency and reporter in one read, then locked once for the
    # note; no re-read after the note's update, no separate category, region, reporter or ticket reads
    assert kinds.count(("SELECT", "complaint")) == 2, kinds
    assert not {t for k, t in kinds if k == "SELECT"} & {"category", "region", "reporter", "lapor_ticket"}, kinds
    # the ticket created, claimed, marked created; replies that waited woken (one statement); the note's
    # duplicate check, complaint update and event
    assert [k for k in kinds if k[0] != "SELECT"] == [
        ("INSERT", "lapor_ticket"), ("UPDATE", "lapor_ticket"), ("UPDATE", "lapor_ticket"), ("UPDATE", "job"),
        ("UPDATE", "complaint"), ("INSERT", "event")], kinds
    assert len(push) == 11, kinds  # 19 before (bench/HISTORY.md)

    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        t = LaporTicket.get(LaporTicket.complaint == c.id)
        assert t.state == "created" and t.lapor_id and t.attempts == 1 and t.attachment_ids == []
        (ev,) = Event.select().where((Event.complaint == c.id) & (Event.source == "lapor"))
        assert ev.type == "comment" and ev.visibility == "internal" and t.lapor_id in ev.text
        assert ev.external_id == f"created:{t.lapor_id}"
        assert c.status == "received" and c.updated_at == ev.created_at  # the note's update, as written
        assert Job.get(Job.complaint == c.id, Job.kind == "lapor.push").status == "done"
