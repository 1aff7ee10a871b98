"""Jobs running concurrently inside one worker (``WORKER_CONCURRENCY``, :class:`aduan.JobKind` bounds):
each job still runs once per pass, retries and dead letters still hold, SIGTERM still lets every job in
hand finish, and on PostgreSQL several concurrent workers still never share a job.

Jobs are run by the real ``aduan.jobs.Worker`` (in-process, or a subprocess sent a real signal).
"""
from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import peewee as pw
import pytest

import aduan
from aduan import JobKind, JobRequest
from aduan.db import database, is_postgres
from aduan.jobs import RetryLater, Worker, enqueue
from aduan.models import BaseModel, Job
from aduan.testing import TEST_DB_ENV, recording_queries

HELPER = Path(__file__).with_name("helpers_worker.py")
_spec = importlib.util.spec_from_file_location("aduan_tests_helpers_worker_c", HELPER)
helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(helpers)


class CRun(BaseModel):
    """One row per execution of a test job (no unique constraint, so a second run shows)."""

    job_id = pw.IntegerField()
    worker = pw.CharField(max_length=128)
    thread = pw.CharField(max_length=128)

    class Meta:
        table_name = "wtest_crun"


class Gauge:
    """How many handlers are inside at once, overall and at the peak, per group."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now: Counter = Counter()
        self.peak: Counter = Counter()

    def enter(self, group):
        with self.lock:
            self.now[group] += 1
            self.peak[group] = max(self.peak[group], self.now[group])

    def leave(self, group):
        with self.lock:
            self.now[group] -= 1


class Plugin:
    name = "wtestc"

    def __init__(self, jobs):
        self.jobs = jobs

    @aduan.hookimpl
    def register_models(self):
        return [CRun]

    @aduan.hookimpl
    def register_jobs(self):
        return self.jobs


def _waiting_handler(gauge, group, release: threading.Event, *, fail_until=None):
    """Records its run, then waits for ``release`` (I/O-bound: it holds no lock and no CPU)."""

    def handler(app, payload, job):
        gauge.enter(group)
        gauge.enter("all")
        try:
            CRun.create(job_id=job.id, worker=job.locked_by, thread=threading.current_thread().name)
            release.wait(30)
            if fail_until is not None and job.attempts < fail_until:
                raise RetryLater("not yet", delay=0)
        finally:
            gauge.leave(group)
            gauge.leave("all")

    return handler


def _enqueue(kind, n, prefix):
    with database.atomic():
        for i in range(n):
            enqueue(JobRequest(kind, {"i": i}, key=f"{prefix}-{i}"))


def _release_when(gauge, group, n, release, timeout=30.0):
    """Open the gate once ``n`` handlers of ``group`` are inside at once (or on timeout)."""

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and gauge.now[group] < n:
            time.sleep(0.01)
        release.set()

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


def test_jobs_run_concurrently_inside_one_worker_each_once(make_app):
    gauge, release = Gauge(), threading.Event()
    app = make_app({"WORKER_CONCURRENCY": 4},
                   plugins=[Plugin({"wtestc.io": JobKind(_waiting_handler(gauge, "io", release), ordered=False)})])
    with app.app_context(), database.connection_context():
        _enqueue("wtestc.io", 10, "io")
    watcher = _release_when(gauge, "all", 4, release)
    counts = Worker(app, worker_id="one").run_once(schedules=False)
    watcher.join()
    assert counts["done"] == 10 and counts["retry"] == counts["dead"] == 0
    # four handlers were waiting at the same time: the jobs ran side by side, never more than allowed
    assert gauge.peak["all"] == 4
    with app.app_context(), database.connection_context():
        runs = list(CRun.select())
        assert sorted(r.job_id for r in runs) == sorted(j.id for j in Job.select())  # each exactly once
        assert len({r.thread for r in runs}) > 1
        assert Job.select().where((Job.status == "done") & (Job.attempts == 1)).count() == 10


def test_a_job_kind_bound_is_kept_while_other_kinds_use_the_free_threads(make_app):
    gauge, release = Gauge(), threading.Event()
    jobs = {"wtestc.slow": JobKind(_waiting_handler(gauge, "service", release), concurrency=2, group="service",
                                   ordered=False),
            "wtestc.slow2": JobKind(_waiting_handler(gauge, "service", release), concurrency=2, group="service",
                                    ordered=False),
            "wtestc.other": JobKind(_waiting_handler(gauge, "other", release), ordered=False)}
    app = make_app({"WORKER_CONCURRENCY": 5}, plugins=[Plugin(jobs)])
    with app.app_context(), database.connection_context():
        _enqueue("wtestc.slow", 4, "s")
        _enqueue("wtestc.slow2", 4, "t")
        _enqueue("wtestc.other", 3, "o")
    watcher = _release_when(gauge, "all", 5, release)
    counts = Worker(app).run_once(schedules=False)
    watcher.join()
    assert counts["done"] == 11
    assert gauge.peak["service"] == 2  # the kinds' shared bound, although threads were free
    assert gauge.peak["all"] == 5  # the other kind filled the rest
    with app.app_context(), database.connection_context():
        assert CRun.select().count() == 11


def test_retries_and_dead_letters_hold_with_concurrency(make_app):
    release = threading.Event()
    release.set()
    gauge = Gauge()
    jobs = {"wtestc.flaky": JobKind(_waiting_handler(gauge, "f", release, fail_until=3), ordered=False)}
    app = make_app({"WORKER_CONCURRENCY": 4, "JOB_MAX_ATTEMPTS": 2}, plugins=[Plugin(jobs)])
    with app.app_context(), database.connection_context():
        _enqueue("wtestc.flaky", 6, "f")
    w = Worker(app)
    # each job runs once per pass even though a failure makes it due again at once (delay=0)
    assert (lambda c: (c["done"], c["retry"], c["dead"]))(w.run_once(schedules=False)) == (0, 6, 0)
    with app.app_context(), database.connection_context():
        assert CRun.select().count() == 6
    assert (lambda c: (c["done"], c["retry"], c["dead"]))(w.run_once(schedules=False)) == (0, 0, 6)
    assert w.run_once(schedules=False)["dead"] == 0  # dead stays dead
    with app.app_context(), database.connection_context():
        assert CRun.select().count() == 12
        assert {(j.status, j.attempts) for j in Job.select()} == {("dead", 2)}
        assert all("not yet" in j.last_error for j in Job.select())


def _start(app, tmp_path, log, release, concurrency):
    cmd = [sys.executable, str(HELPER), "--db-url", app.config["DATABASE_URL"], "--instance",
           str(tmp_path / "worker-instance"), "--log", str(log), "--release", str(release),
           "--concurrency", str(concurrency)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    with open(tmp_path / "worker.err", "a") as errlog:
        return subprocess.Popen(cmd, env=env, stdout=errlog, stderr=subprocess.STDOUT, cwd=str(tmp_path))


def _wait_for(pred, what, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode} before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigterm_finishes_every_job_in_hand_and_takes_no_new_one(make_app, tmp_path):
    log, release = tmp_path / "side-effect.log", tmp_path / "release"
    app = make_app(plugins=[helpers.FileJobs(str(log))])
    with app.app_context(), database.connection_context():
        with database.atomic():
            for i in range(5):
                enqueue(JobRequest(helpers.KIND, {}, key=f"k{i}"))
        ids = [j.id for j in Job.select().order_by(Job.id)]
    proc = _start(app, tmp_path, log, release, concurrency=3)
    try:
        _wait_for(lambda: len(helpers.read_lines(str(log))) == 3, "three jobs to start", proc)
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the signal is handled while the three handlers still wait
        assert [ln[0] for ln in helpers.read_lines(str(log))] == ["start"] * 3
        release.touch()
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    assert rc == 0, (tmp_path / "worker.err").read_text()
    lines = helpers.read_lines(str(log))
    started = [ln[1] for ln in lines if ln[0] == "start"]
    ended = [ln[1] for ln in lines if ln[0] == "end"]
    assert sorted(started) == sorted(ended) == sorted(str(i) for i in ids[:3])
    with app.app_context(), database.connection_context():
        assert [Job.get_by_id(i).status for i in ids[:3]] == ["done"] * 3
        assert [(Job.get_by_id(i).status, Job.get_by_id(i).attempts) for i in ids[3:]] == [("pending", 0)] * 2


def _is_postgres_url():
    return (os.environ.get(TEST_DB_ENV) or "").startswith(("postgres://", "postgresql://"))


@pytest.mark.postgres
@pytest.mark.skipif(not _is_postgres_url(), reason=f"several workers share a queue on PostgreSQL only; set {TEST_DB_ENV}")
def test_two_concurrent_workers_on_postgres_never_share_a_job(make_app):
    n_jobs, per_worker = 120, 4

    def record(app, payload, job):
        CRun.create(job_id=job.id, worker=job.locked_by, thread=threading.current_thread().name)
        time.sleep(0.005)

    app = make_app({"WORKER_CONCURRENCY": per_worker, "DATABASE_POOL_SIZE": 2 * per_worker + 4},
                   plugins=[Plugin({"wtestc.rec": JobKind(record, ordered=False)})])
    with app.app_context(), database.connection_context():
        assert is_postgres()
        _enqueue("wtestc.rec", n_jobs, "r")
    barrier, errors, done_by = threading.Barrier(2), [], {}

    def drain(i):
        w = Worker(app, worker_id=f"w{i}")
        try:
            barrier.wait()
            total = 0
            while True:
                n = w.run_once(schedules=False, max_jobs=25)
                total += n["done"]
                assert n["retry"] == n["dead"] == 0, n
                if not n["done"]:
                    break
            done_by[w.id] = total
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            w.close()

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    with app.app_context(), database.connection_context():
        runs = list(CRun.select())
        assert len(runs) == n_jobs and len({r.job_id for r in runs}) == n_jobs  # every job ran exactly once
        assert Job.select().where((Job.status == "done") & (Job.attempts == 1)).count() == n_jobs
        assert sum(done_by.values()) == n_jobs
        assert Counter(r.worker for r in runs) == Counter({k: v for k, v in done_by.items() if v})


def test_jobs_of_one_complaint_run_one_after_the_other_in_order(make_app):
    from aduan.auth import Actor
    from aduan.services import file_complaint
    from aduan.testing import seed_basics

    gauge, order, lock = Gauge(), [], threading.Lock()

    def handler(app, payload, job):
        gauge.enter(payload["c"])
        gauge.enter("all")
        try:
            time.sleep(0.02)
            with lock:
                order.append((payload["c"], payload["n"]))
        finally:
            gauge.leave(payload["c"])
            gauge.leave("all")

    app = make_app({"WORKER_CONCURRENCY": 6}, plugins=[Plugin({"wtestc.step": handler})])
    with app.app_context(), database.connection_context():
        seed_basics()
        cids = [file_complaint({"body": f"Lampu jalan mati {i}", "category": "jalan"}, actor=Actor(role="reporter"))[0].id
                for i in range(3)]
        with database.atomic():
            for n in range(4):  # step n of every complaint, in the order a timeline would write them
                for cid in cids:
                    enqueue(JobRequest("wtestc.step", {"c": cid, "n": n}, key=f"step-{cid}-{n}", complaint_id=cid))
    counts = Worker(app).run_once(schedules=False)
    assert counts["done"] == 12
    for cid in cids:
        assert gauge.peak[cid] == 1  # never two steps of one complaint at once
        assert [n for c, n in order if c == cid] == [0, 1, 2, 3]
    assert gauge.peak["all"] > 1  # while different complaints went side by side


def test_jobs_without_a_complaint_keep_their_order_per_kind_unless_unordered(make_app):
    order, lock = [], threading.Lock()
    gauge = Gauge()

    def step(name):
        def handler(app, payload, job):
            gauge.enter(name)
            try:
                time.sleep(0.01)
                with lock:
                    order.append((name, payload["n"]))
            finally:
                gauge.leave(name)
        return handler

    app = make_app({"WORKER_CONCURRENCY": 4},
                   plugins=[Plugin({"wtestc.msg": step("msg"), "wtestc.free": JobKind(step("free"), ordered=False)})])
    with app.app_context(), database.connection_context():
        with database.atomic():
            for n in range(5):
                enqueue(JobRequest("wtestc.msg", {"n": n}, key=f"m{n}"))
                enqueue(JobRequest("wtestc.free", {"n": n}, key=f"f{n}"))
    assert Worker(app).run_once(schedules=False)["done"] == 10
    assert [n for k, n in order if k == "msg"] == [0, 1, 2, 3, 4] and gauge.peak["msg"] == 1
    assert gauge.peak["free"] > 1


def test_a_full_groups_backlog_is_not_walked_again_after_every_job(make_app):
    """A bounded group's backlog (a LAPOR! backlog at LAPOR_CONCURRENCY, threads to spare): once a claim for the
    other kinds found nothing, it is not repeated after each of the group's jobs (each such claim walks every
    due job of the group); a job of another kind still runs in the same pass."""
    gauge, release = Gauge(), threading.Event()
    release.set()  # jobs finish at once
    jobs = {"wtestc.slow": JobKind(_waiting_handler(gauge, "service", release), concurrency=2, group="service",
                                   ordered=False),
            "wtestc.other": JobKind(_waiting_handler(gauge, "other", release), ordered=False)}
    # the pause after an empty claim is WORKER_POLL_SECONDS (at most 1 s); the tests' 0.05 s would end it between jobs
    app = make_app({"WORKER_CONCURRENCY": 4, "WORKER_POLL_SECONDS": 1}, plugins=[Plugin(jobs)])
    with app.app_context(), database.connection_context():
        _enqueue("wtestc.slow", 60, "s")
        _enqueue("wtestc.other", 1, "o")
    with recording_queries() as run:
        counts = Worker(app).run_once(schedules=False)
    seen = [sql for sql, _params in run if "IN (SELECT" in sql or "= (SELECT" in sql]
    assert counts["done"] == 61
    with app.app_context(), database.connection_context():
        assert CRun.select().count() == 61
    walking = [s for s in seen if '"kind" NOT IN' in s]  # claims made while the group was full
    assert len(walking) < 10, len(walking)  # 38 before: one after nearly every job of the group


def test_quick_jobs_run_in_the_workers_own_thread_on_sqlite(make_app):
    """On SQLite (one writer) a kind whose jobs take under ``INLINE_SECONDS`` runs in the worker's
    own thread once it has been timed: handing each job to a job thread and back cost more than the
    job (12 threads drained no-op jobs at a quarter of a bare claim loop's rate). A kind that waits
    on other systems keeps running in job threads, side by side; a quick kind that turns slow goes
    back to them after one such job."""
    from aduan.jobs import INLINE_SECONDS

    slow_now = threading.Event()
    gauge = Gauge()

    def quick(app, payload, job):
        CRun.create(job_id=job.id, worker="quick", thread=threading.current_thread().name)
        if slow_now.is_set():
            time.sleep(10 * INLINE_SECONDS)

    def waits(app, payload, job):
        gauge.enter("wait")
        try:
            CRun.create(job_id=job.id, worker="wait", thread=threading.current_thread().name)
            time.sleep(0.05)
        finally:
            gauge.leave("wait")

    app = make_app({"WORKER_CONCURRENCY": 4}, plugins=[Plugin({
        "wtestc.quick": JobKind(quick, ordered=False), "wtestc.wait": JobKind(waits, ordered=False)})])
    with app.app_context(), database.connection_context():
        if is_postgres():
            pytest.skip("SQLite only: on PostgreSQL every job runs in a job thread (writers run side by side)")
        _enqueue("wtestc.quick", 30, "q")
        _enqueue("wtestc.wait", 8, "w")
    here = threading.current_thread().name
    worker = Worker(app, worker_id="inline")
    counts = worker.run_once(schedules=False)
    assert counts["done"] == 38
    with app.app_context(), database.connection_context():
        quick_threads = [r.thread for r in CRun.select().where(CRun.worker == "quick")]
        wait_threads = [r.thread for r in CRun.select().where(CRun.worker == "wait")]
    # all but the first few (timed in a job thread); a loaded machine may send a few more there
    assert len(quick_threads) == 30 and quick_threads.count(here) >= 20, quick_threads
    assert here not in wait_threads and gauge.peak["wait"] >= 2, (wait_threads, gauge.peak)

    slow_now.set()  # the quick kind now waits on something: back to job threads after one job
    with app.app_context(), database.connection_context():
        CRun.delete().execute()
        _enqueue("wtestc.quick", 6, "q2")
    assert worker.run_once(schedules=False)["done"] == 6
    worker.close()
    with app.app_context(), database.connection_context():
        threads = [r.thread for r in CRun.select().order_by(CRun.id)]
    assert threads.count(here) <= 1 and len(threads) == 6, threads
