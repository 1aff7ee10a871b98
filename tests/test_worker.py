"""The outbox worker (aduan.jobs): transactional enqueue, retries, dead letters, leases,
graceful stop, and several workers sharing one queue.

Everything goes through the real code paths: complaints are filed through ``aduan.services`` or
the HTTP API, jobs are run by ``aduan.jobs.Worker`` (in-process, or in a subprocess that is
killed or stopped with a signal), and the admin API and the ``aduan`` CLI are called for real.
"""
from __future__ import annotations

import datetime as dt
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import peewee as pw
import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

import aduan
import aduan.cli
from aduan import JobRequest, Schedule
from aduan.auth import Actor
from aduan.db import database, is_postgres, utcnow
from aduan.jobs import PermanentFailure, RetryLater, Worker, enqueue, retry
from aduan.models import BaseModel, Complaint, Job, ScheduleState
from aduan.services import file_complaint
from aduan.testing import TEST_DB_ENV, auth, seed_basics

HELPER = Path(__file__).with_name("helpers_worker.py")
_spec = importlib.util.spec_from_file_location("aduan_tests_helpers_worker", HELPER)
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)

COMPLAINT = {"title": "Lampu jalan mati", "body": "Lampu jalan di Jl. Pejanggik mati sejak seminggu.",
             "category": "jalan", "region_code": "52.71.01"}


class WRun(BaseModel):
    """What a test handler did: one row per execution (no unique constraint, so duplicates show)."""

    job_id = pw.IntegerField()
    worker = pw.CharField(max_length=128)

    class Meta:
        table_name = "wtest_run"


class Recorder:
    """A plugin object whose hooks are driven by the test: handlers, enqueue rule, schedules."""

    def __init__(self, name="wtest", handlers=None, on_event=None, schedules=()):
        self.name = name
        self.handlers = dict(handlers or {})
        self.on_event = on_event
        self.schedules = list(schedules)
        self.seen_events = []

    @aduan.hookimpl
    def register_models(self):
        return [WRun]

    @aduan.hookimpl
    def register_jobs(self):
        return self.handlers

    @aduan.hookimpl
    def enqueue_jobs(self, event):
        self.seen_events.append(event)
        return self.on_event(event) if self.on_event else []

    @aduan.hookimpl
    def register_schedules(self):
        return self.schedules


def notify_on_file(event):
    if event.type == "file":
        return [JobRequest("wtest.notify", {"tracking_id": event.tracking_id}, key=f"wtest.notify:{event.event_id}")]
    return []


def job_rows():
    return list(Job.select().where(Job.kind.startswith("wtest")).order_by(Job.id))


def enqueue_now(kind, payload=None, key=None, **kw):
    with database.atomic():
        enqueue(JobRequest(kind, payload or {}, key=key, **kw))
    return Job.get(Job.key == key) if key else Job.select().order_by(Job.id.desc()).get()


def counts(c):
    return c["done"], c["retry"], c["dead"]


def make_due(job_id):
    """Let time pass for one job: its back-off is over (the worker reads ``run_at`` from the table)."""
    Job.update(run_at=utcnow() - dt.timedelta(seconds=1)).where(Job.id == job_id).execute()


# --- transactional outbox ------------------------------------------------------------------------

def test_job_from_a_complaint_runs_once_and_is_done(make_app):
    calls = []
    plugin = Recorder(handlers={"wtest.notify": lambda app, payload, job: calls.append((payload, job.id))},
                      on_event=notify_on_file)
    app = make_app(plugins=[plugin])
    with app.app_context(), database.connection_context():
        seed_basics()
    client = app.test_client()
    r = client.post("/api/v1/complaints", json=COMPLAINT)
    assert r.status_code == 201, r.json
    tid = r.json["tracking_id"]

    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        [job] = job_rows()
        assert (job.kind, job.status, job.attempts, job.complaint_id) == ("wtest.notify", "pending", 0, c.id)
        assert job.payload == {"tracking_id": tid}

        assert counts(Worker(app).run_once()) == (1, 0, 0)
        assert calls == [({"tracking_id": tid}, job.id)]
        job = Job.get_by_id(job.id)
        assert (job.status, job.attempts, job.last_error, job.locked_by) == ("done", 1, None, None)
        assert job.finished_at is not None

        # a second pass (or a second worker) finds nothing to do
        assert Worker(app).run_once()["done"] == 0
        assert len(calls) == 1

        # the same change through the service: one more job, also run exactly once
        c2, _ = file_complaint(COMPLAINT, actor=Actor(role="reporter"), channel="sms")
        assert Worker(app).run_once()["done"] == 1
        assert [p["tracking_id"] for p, _ in calls] == [tid, c2.tracking_id]


def test_no_job_when_the_causing_transaction_rolls_back(make_app):
    tracked = []
    plugin = Recorder(handlers={"wtest.notify": lambda app, payload, job: None}, on_event=notify_on_file)
    plugin.track_event = aduan.hookimpl(lambda app, event: tracked.append(event))
    app = make_app(plugins=[plugin])

    class Boom(Exception):
        pass

    with app.app_context(), database.connection_context():
        seed_basics()
        with pytest.raises(Boom):
            with database.atomic():
                file_complaint(COMPLAINT, actor=Actor(role="reporter"))
                # inside the transaction the job exists (same transaction as the complaint)...
                assert [j.kind for j in job_rows()] == ["wtest.notify"]
                raise Boom()
        # ...and after the rollback neither the complaint nor its job does
        assert [e.type for e in plugin.seen_events] == ["file"]
        assert Complaint.select().count() == 0
        assert job_rows() == []
        assert tracked == []  # track_event only sees committed changes
        assert Worker(app).run_once()["done"] == 0

        # control: the same call committed writes the job and notifies after commit
        file_complaint(COMPLAINT, actor=Actor(role="reporter"))
        assert len(job_rows()) == 1 and [e.type for e in tracked] == ["file"]


def test_enqueue_is_idempotent_by_key(app):
    with app.app_context(), database.connection_context():
        enqueue_now("wtest.x", {"n": 1}, key="same")
        enqueue_now("wtest.x", {"n": 2}, key="same")
        [job] = job_rows()
        assert job.payload == {"n": 1}


# --- failures, back-off, dead letters ---------------------------------------------------------------

def test_failing_job_backs_off_then_dies_then_is_revived(make_app):
    state = {"fail": True, "calls": 0}

    def flaky(app, payload, job):
        state["calls"] += 1
        if state["fail"]:
            raise ConnectionError("gateway unreachable")

    app = make_app({"JOB_MAX_ATTEMPTS": 3, "JOB_BACKOFF_BASE": 60, "JOB_BACKOFF_MAX": 3600},
                   plugins=[Recorder(handlers={"wtest.flaky": flaky})])
    with app.app_context(), database.connection_context():
        job = enqueue_now("wtest.flaky", key="flaky-1")
        assert job.max_attempts == 3  # JOB_MAX_ATTEMPTS is the default budget
        w = Worker(app)
        delays = []
        for attempt in (1, 2):
            before = utcnow()
            assert counts(w.run_once()) == (0, 1, 0)
            job = Job.get_by_id(job.id)
            assert (job.status, job.attempts) == ("pending", attempt)
            assert job.last_error == "ConnectionError: gateway unreachable"
            assert job.locked_by is None and job.locked_until is None
            delay = (job.run_at - before).total_seconds()
            # full-jitter exponential back-off: at least base/2, at most base * 2**(attempt-1)
            assert 30 - 1 <= delay <= 60 * 2 ** (attempt - 1) + 1, delay
            delays.append(delay)
            # not due yet: another pass does not touch it
            assert w.run_once()["retry"] == 0 and state["calls"] == attempt
            make_due(job.id)

        assert w.run_once()["dead"] == 1
        job = Job.get_by_id(job.id)
        assert (job.status, job.attempts, job.last_error) == ("dead", 3, "ConnectionError: gateway unreachable")
        assert job.finished_at is not None
        make_due(job.id)
        assert counts(w.run_once()) == (0, 0, 0)  # dead stays dead
        assert state["calls"] == 3

        # revived through the library function: a fresh budget, runs at once
        assert retry(job.id) is True
        job = Job.get_by_id(job.id)
        assert (job.status, job.attempts) == ("pending", 0) and job.run_at <= utcnow()
        assert job.finished_at is None and job.locked_by is None
        state["fail"] = False
        assert w.run_once()["done"] == 1
        assert Job.get_by_id(job.id).status == "done"
        assert retry(job.id) is False  # a done job is not run again


def test_retry_through_api_and_cli(make_app):
    state = {"fail": True}

    def flaky(app, payload, job):
        if state["fail"]:
            raise PermanentFailure("number not reachable")

    app = make_app(plugins=[Recorder(handlers={"wtest.flaky": flaky})])
    with app.app_context(), database.connection_context():
        s = seed_basics()
        a = enqueue_now("wtest.flaky", key="a")
        b = enqueue_now("wtest.flaky", key="b")
        assert Worker(app).run_once()["dead"] == 2
    client = app.test_client()

    assert client.post(f"/api/v1/jobs/{a.id}/retry", headers=auth(s.officer_a)).status_code == 403
    assert client.post(f"/api/v1/jobs/{a.id}/retry").status_code == 401
    r = client.post(f"/api/v1/jobs/{a.id}/retry", headers=auth(s.admin))
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["attempts"]) == ("pending", 0)
    assert client.post("/api/v1/jobs/999999/retry", headers=auth(s.admin)).status_code == 404

    runner = CliRunner()
    res = runner.invoke(aduan.cli.main, ["jobs", "retry", str(b.id)], obj=ScriptInfo(create_app=lambda: app))
    assert res.exit_code == 0, res.output
    assert "1 job(s) queued again" in res.output

    with app.app_context(), database.connection_context():
        assert {j.key: j.status for j in job_rows()} == {"a": "pending", "b": "pending"}
        state["fail"] = False
        assert Worker(app).run_once()["done"] == 2
        assert {j.key: j.status for j in job_rows()} == {"a": "done", "b": "done"}
    # a done job cannot be retried
    assert client.post(f"/api/v1/jobs/{a.id}/retry", headers=auth(s.admin)).status_code == 409


def test_permanent_failure_is_dead_at_once(make_app):
    calls = []

    def hopeless(app, payload, job):
        calls.append(job.attempts)
        raise PermanentFailure("LAPOR! says the ticket does not exist")

    app = make_app({"JOB_MAX_ATTEMPTS": 10}, plugins=[Recorder(handlers={"wtest.hopeless": hopeless})])
    with app.app_context(), database.connection_context():
        job = enqueue_now("wtest.hopeless", key="h")
        assert Worker(app).run_once()["dead"] == 1
        job = Job.get_by_id(job.id)
        assert (job.status, job.attempts) == ("dead", 1)
        assert job.last_error == "PermanentFailure: LAPOR! says the ticket does not exist"
        make_due(job.id)
        Worker(app).run_once()
        assert calls == [1]


def test_retry_later_delay_is_honoured(make_app):
    def later(app, payload, job):
        raise RetryLater("rate limited by the SMS gateway", delay=payload["delay"])

    # JOB_BACKOFF_BASE is 0 in tests: any wait comes from RetryLater(delay=...)
    app = make_app({"JOB_MAX_ATTEMPTS": 5}, plugins=[Recorder(handlers={"wtest.later": later})])
    with app.app_context(), database.connection_context():
        job = enqueue_now("wtest.later", {"delay": 900}, key="l")
        before = utcnow()
        assert Worker(app).run_once()["retry"] == 1
        after = utcnow()
        job = Job.get_by_id(job.id)
        assert job.status == "pending" and job.attempts == 1
        assert before + dt.timedelta(seconds=900) <= job.run_at <= after + dt.timedelta(seconds=900)
        assert job.last_error == "RetryLater: rate limited by the SMS gateway"
        assert Worker(app).run_once()["retry"] == 0  # waits for its delay


def test_a_job_told_to_wait_spends_no_attempt_and_runs_once_it_may(make_app):
    state = {"ready": False, "ran": 0}

    def waits(app, payload, job):
        if not state["ready"]:
            raise RetryLater("credentials not issued yet", delay=300, count=False)
        state["ran"] += 1

    app = make_app({"JOB_MAX_ATTEMPTS": 2}, plugins=[Recorder(handlers={"wtest.waits": waits})])
    with app.app_context(), database.connection_context():
        job = enqueue_now("wtest.waits", {}, key="w")
        for _ in range(5):  # far more tries than its budget
            make_due(job.id)
            assert Worker(app).run_once()["retry"] == 1
        job = Job.get_by_id(job.id)
        assert job.status == "pending" and job.attempts == 0
        assert job.run_at > utcnow() + dt.timedelta(seconds=250)
        assert job.last_error == "RetryLater: credentials not issued yet"
        state["ready"] = True
        make_due(job.id)
        assert Worker(app).run_once()["done"] == 1
        assert state["ran"] == 1 and Job.get_by_id(job.id).status == "done"


def test_stale_worker_cannot_overwrite_the_new_owner(make_app):
    """Worker A's lease runs out mid-job; B reclaims and finishes it; A's late failure is ignored."""
    def handler(app, payload, job):
        if job.locked_by == "A":
            raise ConnectionError("A was too slow")

    app = make_app({"JOB_LEASE_SECONDS": 0.2}, plugins=[Recorder(handlers={"wtest.slow": handler})])
    with app.app_context(), database.connection_context():
        job = enqueue_now("wtest.slow", key="s")
        a, b = Worker(app, worker_id="A"), Worker(app, worker_id="B")
        held_by_a = a.claim()
        assert held_by_a.id == job.id and b.claim() is None  # A's lease holds
        _wait_for(lambda: utcnow() > held_by_a.locked_until, "A's lease to run out")
        held_by_b = b.claim()
        assert held_by_b.id == job.id and held_by_b.attempts == 2
        assert b.run_job(held_by_b) == "done"
        a.run_job(held_by_a)  # A finally fails: it no longer owns the job
        job = Job.get_by_id(job.id)
        assert (job.status, job.last_error, job.locked_by) == ("done", None, None)


def test_unknown_kind_goes_dead_with_a_reason(app):
    with app.app_context(), database.connection_context():
        job = enqueue_now("wtest.nobody", key="n")
        assert Worker(app).run_once()["dead"] == 1
        job = Job.get_by_id(job.id)
        assert job.status == "dead" and "no handler for job kind 'wtest.nobody'" in job.last_error


def test_dead_jobs_listed_for_admins_only(make_app):
    def boom(app, payload, job):
        raise PermanentFailure(f"refused {payload['n']}")

    app = make_app(plugins=[Recorder(handlers={"wtest.boom": boom, "wtest.ok": lambda app, p, j: None})])
    with app.app_context(), database.connection_context():
        s = seed_basics()
        enqueue_now("wtest.boom", {"n": 1}, key="d1")
        enqueue_now("wtest.ok", {}, key="ok")
        enqueue_now("wtest.boom", {"n": 2}, key="d2")
        Worker(app).run_once()
        enqueue_now("wtest.ok", {}, key="pending", run_at=utcnow() + dt.timedelta(hours=1))
    client = app.test_client()
    r = client.get("/api/v1/jobs?status=dead", headers=auth(s.admin))
    assert r.status_code == 200, r.json
    assert sorted((j["key"], j["status"], j["last_error"], j["attempts"]) for j in r.json) == [
        ("d1", "dead", "PermanentFailure: refused 1", 1), ("d2", "dead", "PermanentFailure: refused 2", 1)]
    everything = client.get("/api/v1/jobs", headers=auth(s.admin)).json
    assert [j["status"] for j in everything][:2] == ["dead", "dead"]  # dead ones first
    assert {j["key"] for j in everything} >= {"d1", "d2", "ok", "pending"}
    assert client.get("/api/v1/jobs?status=dead", headers=auth(s.officer_a)).status_code == 403
    assert client.get("/api/v1/jobs?status=dead", headers=auth(s.coordinator)).status_code == 403
    assert client.get("/api/v1/jobs?status=dead").status_code == 401


# --- real worker processes ----------------------------------------------------------------------

def _start_worker(app, tmp_path, log, release=None, lease=300.0, concurrency=1):
    cmd = [sys.executable, str(HELPER), "--db-url", app.config["DATABASE_URL"],
           "--instance", str(tmp_path / "worker-instance"), "--log", str(log), "--lease", str(lease),
           "--concurrency", str(concurrency)]
    if release:
        cmd += ["--release", str(release)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    errlog = open(tmp_path / "worker.err", "a")
    proc = subprocess.Popen(cmd, env=env, stdout=errlog, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    errlog.close()
    return proc


def _wait_for(pred, what, proc=None, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _drive(worker, pred, what, timeout=60.0):
    """Run the worker's passes until ``pred()`` holds (leases and delays run on the real clock)."""
    def step():
        worker.run_once(schedules=False)
        return pred()
    _wait_for(step, what, timeout=timeout)


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def test_killed_worker_job_is_reclaimed_after_its_lease_and_completes_once(make_app, tmp_path):
    log = tmp_path / "side-effect.log"
    lease = 3.0
    app = make_app({"JOB_LEASE_SECONDS": lease}, plugins=[helpers.FileJobs(str(log))])
    with app.app_context(), database.connection_context():
        job = enqueue_now(helpers.KIND, key="reclaim")

    proc = _start_worker(app, tmp_path, log, release=tmp_path / "never", lease=lease)
    try:
        _wait_for(lambda: helpers.read_lines(str(log)), "the job to start", proc)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        _stop(proc)
    assert helpers.read_lines(str(log)) == [["start", str(job.id), str(proc.pid)]]

    with app.app_context(), database.connection_context():
        held = Job.get_by_id(job.id)
        assert held.status == "running" and held.attempts == 1 and str(proc.pid) in held.locked_by
        w = Worker(app)
        if utcnow() + dt.timedelta(seconds=0.5) < held.locked_until:
            # the dead worker's lease still holds: nobody may take the job yet
            assert w.run_once(schedules=False)["done"] == 0
            assert Job.get_by_id(job.id).status == "running"
        _wait_for(lambda: w.run_once(schedules=False)["done"] == 1, "the job to be reclaimed and finished")
        done = Job.get_by_id(job.id)
        assert (done.status, done.attempts, done.locked_by) == ("done", 2, None)
        assert w.run_once(schedules=False)["done"] == 0

    lines = helpers.read_lines(str(log))
    me = str(os.getpid())
    assert lines == [["start", str(job.id), str(proc.pid)], ["start", str(job.id), me], ["end", str(job.id), me]]
    assert sum(1 for ln in lines if ln[0] == "end") == 1


def test_job_whose_worker_died_on_its_last_attempt_is_dead_not_rerun(make_app, tmp_path):
    log = tmp_path / "side-effect.log"
    lease = 2.0
    app = make_app({"JOB_LEASE_SECONDS": lease}, plugins=[helpers.FileJobs(str(log))])
    with app.app_context(), database.connection_context():
        job = enqueue_now(helpers.KIND, key="poison", max_attempts=1)
        other = enqueue_now(helpers.KIND, key="healthy", run_at=utcnow() + dt.timedelta(seconds=1))

    proc = _start_worker(app, tmp_path, log, release=tmp_path / "never", lease=lease)
    try:
        _wait_for(lambda: helpers.read_lines(str(log)), "the job to start", proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        _stop(proc)

    with app.app_context(), database.connection_context():
        w = Worker(app)
        _drive(w, lambda: Job.get_by_id(job.id).status == "dead", "the orphaned job to be declared dead")
        dead = Job.get_by_id(job.id)
        assert dead.attempts == 1 and "lease expired" in dead.last_error and dead.finished_at is not None
        # the worker carried on with the next job
        _drive(w, lambda: Job.get_by_id(other.id).status == "done", "the next job to run")
    starts = [ln for ln in helpers.read_lines(str(log)) if ln[0] == "start"]
    assert [ln[1] for ln in starts].count(str(job.id)) == 1  # never started a second time


def test_sigterm_lets_the_job_in_hand_finish_then_exits_0(make_app, tmp_path):
    log, release = tmp_path / "side-effect.log", tmp_path / "release"
    app = make_app(plugins=[helpers.FileJobs(str(log))])
    with app.app_context(), database.connection_context():
        first = enqueue_now(helpers.KIND, key="first")
        second = enqueue_now(helpers.KIND, key="second")

    proc = _start_worker(app, tmp_path, log, release=release)
    try:
        _wait_for(lambda: helpers.read_lines(str(log)), "the job to start", proc)
        proc.send_signal(signal.SIGTERM)
        # the handler is still waiting: the signal arrived in the middle of the job
        assert helpers.read_lines(str(log)) == [["start", str(first.id), str(proc.pid)]]
        release.touch()
        rc = proc.wait(timeout=60)
    finally:
        _stop(proc)
    assert rc == 0, (tmp_path / "worker.err").read_text()
    assert helpers.read_lines(str(log)) == [["start", str(first.id), str(proc.pid)],
                                            ["end", str(first.id), str(proc.pid)]]
    with app.app_context(), database.connection_context():
        assert Job.get_by_id(first.id).status == "done"
        # it took no new job after the signal
        assert (Job.get_by_id(second.id).status, Job.get_by_id(second.id).attempts) == ("pending", 0)


# --- several workers ---------------------------------------------------------------------------

def _is_postgres_url():
    return (os.environ.get(TEST_DB_ENV) or "").startswith(("postgres://", "postgresql://"))


@pytest.mark.postgres
@pytest.mark.skipif(not _is_postgres_url(), reason=f"several workers share a queue on PostgreSQL only "
                                                   f"(FOR UPDATE SKIP LOCKED); set {TEST_DB_ENV}")
def test_workers_on_postgres_never_run_the_same_job(make_app):
    n_jobs, n_workers = 200, 4

    def record(app, payload, job):
        WRun.create(job_id=job.id, worker=job.locked_by)

    app = make_app({"DATABASE_POOL_SIZE": n_workers + 2}, plugins=[Recorder(handlers={"wtest.rec": record})])
    with app.app_context(), database.connection_context():
        assert is_postgres()
        with database.atomic():
            for i in range(n_jobs):
                enqueue(JobRequest("wtest.rec", {"i": i}, key=f"rec-{i}"))
    barrier = threading.Barrier(n_workers)
    errors, done_by = [], {}

    def drain(i):
        w = Worker(app, worker_id=f"w{i}")
        try:
            barrier.wait()
            total = 0
            while True:
                n = w.run_once(schedules=False, max_jobs=10)
                total += n["done"]
                assert n["retry"] == n["dead"] == 0, n
                if not any(n[k] for k in ("done", "retry", "dead")):
                    break
            done_by[w.id] = total
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(n_workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with app.app_context(), database.connection_context():
        runs = list(WRun.select())
        assert len(runs) == n_jobs
        assert len({r.job_id for r in runs}) == n_jobs  # every job ran exactly once
        assert Job.select().where(Job.status == "done").count() == n_jobs
        assert Job.select().where(Job.attempts != 1).count() == 0
        assert sum(done_by.values()) == n_jobs
        by_worker = {}
        for r in runs:
            by_worker[r.worker] = by_worker.get(r.worker, 0) + 1
        assert by_worker == {k: v for k, v in done_by.items() if v}


def test_two_workers_racing_for_a_due_schedule_run_it_once_per_period(make_app):
    ticks, lock = [], threading.Lock()

    def tick(app):
        with lock:
            ticks.append(threading.current_thread().name)
        time.sleep(0.02)  # widen the window in which the other worker looks at the schedule

    app = make_app(plugins=[Recorder(schedules=[Schedule("wtest.tick", 3600, tick)])])
    rounds, n_workers = 8, 2
    workers = [Worker(app, worker_id=f"w{i}") for i in range(n_workers)]
    errors = []

    def race(w, barrier):
        try:
            barrier.wait()
            w.run_once(max_jobs=0)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    for r in range(rounds):
        if r:
            # the period has passed: the schedule is due again
            with app.app_context(), database.connection_context():
                ScheduleState.update(next_run_at=utcnow() - dt.timedelta(seconds=1)).where(
                    ScheduleState.name == "wtest.tick").execute()
        barrier = threading.Barrier(n_workers)
        threads = [threading.Thread(target=race, args=(w, barrier), name=w.id) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        assert len(ticks) == r + 1, (r, ticks)
        # within the same period neither worker runs it again
        for w in workers:
            w.run_once(max_jobs=0)
        assert len(ticks) == r + 1

    with app.app_context(), database.connection_context():
        st = ScheduleState.get_by_id("wtest.tick")
        assert st.locked_by is None and st.last_error is None
        assert st.next_run_at > utcnow() + dt.timedelta(seconds=3000)


def test_a_failing_job_runs_once_per_pass_even_without_back_off(make_app):
    """With JOB_BACKOFF_BASE=0 a failed job is due again at once; one pass must not spin on it."""
    calls = []

    class Flaky:
        name = "flaky"

        @aduan.hookimpl
        def register_jobs(self):
            def handler(app, payload, job):
                calls.append(job.attempts)
                raise RuntimeError("gateway down")

            return {"flaky.send": handler}

    app = make_app({"JOB_MAX_ATTEMPTS": 5}, plugins=[Flaky()])
    with app.app_context(), database.connection_context():
        with database.atomic():
            enqueue(aduan.JobRequest("flaky.send", {}))
    worker = Worker(app)
    assert worker.run_once(schedules=False)["retry"] == 1
    assert calls == [1]
    assert worker.run_once(schedules=False)["retry"] == 1
    assert calls == [1, 2]
