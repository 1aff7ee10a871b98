"""Durable outbox and the worker that drains it.

* :func:`enqueue` writes a job in the caller's transaction (so it exists if and only if the change
  that caused it committed). A job's ``key`` makes enqueueing idempotent.
* :class:`Worker` claims due jobs with one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) RETURNING``
  statement. On PostgreSQL the subquery is ``FOR UPDATE SKIP LOCKED`` so any number of workers share
  the queue; on SQLite the statement runs in an ``IMMEDIATE`` transaction (one writer at a time). A
  claim is a *lease*: a job whose worker died is claimed again once ``locked_until`` has passed.
  Finishing a job is one ``UPDATE``.
* Jobs run in up to ``WORKER_CONCURRENCY`` threads of one worker (they mostly wait on other
  systems); a kind registered as :class:`aduan.JobKind` may bound its group lower. A pass claims
  only jobs due when it started, so a job runs at most once per pass. On SQLite (one writer) a
  kind whose jobs lately took under :data:`INLINE_SECONDS` runs in the worker's own thread:
  handing it to a job thread would cost more than the job.
* Failures retry with exponential back-off and full jitter until ``max_attempts``, then the job is
  ``dead`` (visible in ``aduan jobs list`` and ``GET /api/v1/jobs``; ``retry`` revives it).
* Schedules (``register_schedules``) are claimed by a conditional update on ``schedule_state``, so
  two workers never run the same schedule at once.
* SIGTERM/SIGINT: the worker claims nothing more, finishes the jobs in hand, then exits.
"""
from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
import traceback
import uuid
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from typing import Any, Callable

import peewee as pw
from flask import current_app, has_app_context

from . import health
from .db import database, is_postgres, utcnow
from .events import JobKind, JobRequest
from .models import Job, ScheduleState

log = logging.getLogger("aduan.jobs")

#: On SQLite, a job kind whose handler took less than this on average (recent runs weighing most)
#: runs in the worker's own thread rather than a job thread. Such a job only works the database,
#: which takes one writer at a time: threads gain nothing, and the hand-over to a thread and back
#: (with the GIL) cost more than the job; 12 threads drained no-op jobs at a quarter of a bare
#: claim loop's rate. A kind runs in a job thread until it has been timed, and goes back to one as
#: soon as it turns slow (waiting on another system), so no slow job holds up the others.
INLINE_SECONDS = 0.002


class RetryLater(Exception):
    """Raise from a handler to run the job again later.

    By default this is a failed try: it uses one of the job's ``max_attempts`` and waits ``delay``
    seconds (or the exponential back-off). With ``count=False`` the job was *told to wait*
    (credentials not issued yet, another job must finish first): it is deferred by ``delay``
    seconds without spending an attempt, so waiting, however long, never kills it.
    """

    def __init__(self, message: str = "", delay: float | None = None, *, count: bool = True):
        super().__init__(message)
        self.delay = delay
        self.count = count


class PermanentFailure(Exception):
    """Raise from a handler when retrying cannot help: the job is marked dead at once."""


def enqueue(req: JobRequest, *, default_max_attempts: int | None = None) -> None:
    """Write a job in the current transaction. A job with the same key is left as it is.

    The attempt budget is ``req.max_attempts``, else ``default_max_attempts``, else the app's
    ``JOB_MAX_ATTEMPTS`` (12 outside an app context).
    """
    now = utcnow()
    if default_max_attempts is None:
        default_max_attempts = current_app.config.get("JOB_MAX_ATTEMPTS", 12) if has_app_context() else 12
    Job.insert(
        kind=req.kind, key=req.key or f"{req.kind}:{uuid.uuid4().hex}", payload=dict(req.payload),
        status="pending", attempts=0, max_attempts=req.max_attempts or default_max_attempts,
        run_at=req.run_at or now, complaint=req.complaint_id, created_at=now, updated_at=now,
    ).on_conflict_ignore().execute()


def backoff(attempt: int, base: float, cap: float) -> float:
    """Full-jitter exponential back-off: uniform in [base/2, min(cap, base * 2**(attempt-1))]."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return random.uniform(min(base / 2, ceiling), ceiling) if ceiling > 0 else 0.0


def _safe_error(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text[:2000]


class Worker:
    """Runs jobs and schedules until stopped. ``run_once`` is the unit tests drive."""

    def __init__(self, app, *, worker_id: str | None = None, concurrency: int | None = None):
        self.app = app
        st = app.extensions["aduan"]
        self.kinds: dict[str, JobKind] = {k: h if isinstance(h, JobKind) else JobKind(h)
                                          for k, h in st.job_handlers.items()}
        self.handlers: dict[str, Callable[..., Any]] = {k: jk.handler for k, jk in self.kinds.items()}
        self.schedules = st.schedules
        cfg = app.config
        self.lease = cfg["JOB_LEASE_SECONDS"]
        self.base, self.cap = cfg["JOB_BACKOFF_BASE"], cfg["JOB_BACKOFF_MAX"]
        self.poll = cfg["WORKER_POLL_SECONDS"]
        self.concurrency = max(1, int(concurrency or cfg.get("WORKER_CONCURRENCY", 1)))
        #: kind → group, and each group's bound (at most ``concurrency``)
        self._group = {k: jk.group or k for k, jk in self.kinds.items()}
        self._unordered = {k for k, jk in self.kinds.items() if not jk.ordered}
        self._limit: dict[str, int] = {}
        for k, jk in self.kinds.items():
            if jk.concurrency is not None:
                g = self._group[k]
                self._limit[g] = max(1, min(self._limit.get(g, self.concurrency), int(jk.concurrency)))
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stopping = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        #: kind → its handler's recent average time in seconds (an exponential moving average)
        self._took: dict[str, float] = {}
        if self.concurrency > 1:
            _make_room(self.concurrency + 2)

    # --- jobs -------------------------------------------------------------------------------
    def claim(self, exclude=(), *, since: datetime | None = None) -> Job | None:
        """Lease the next due job (pending and due, or running with an expired lease), or ``None``.

        ``exclude``: job kinds not to take. ``since``: the start of the current pass; only jobs due
        by then are taken, so a job that failed and was rescheduled at once waits for the next pass.
        """
        jobs = self.claim_many(1, exclude_kinds=exclude, since=since)
        return jobs[0] if jobs else None

    def _claim_in_pass(self, n: int, since: datetime, state: dict, **kw) -> list[Job]:
        """A claim within a pass: expired leases are looked at on the pass's first claim only."""
        jobs = self.claim_many(n, since=since, reclaim=not state.get("reclaimed"), **kw)
        state["reclaimed"] = True
        return jobs

    def claim_many(self, n: int, *, exclude_kinds=(), exclude_complaints=(), exclude_loose_kinds=(),
                   since: datetime | None = None, reclaim: bool = True) -> list[Job]:
        """Lease up to ``n`` due jobs (oldest first), none of the given kinds, of the given complaints,
        nor of the given kinds without a complaint (what a thread of this worker is busy with).

        One ``UPDATE … RETURNING`` for pending jobs, walking the ``(status, run_at)`` index in order;
        with ``reclaim``, first one for running jobs whose lease ran out (their worker died).
        """
        while True:
            now = utcnow()
            cut = since or now
            kinds, complaints, loose = list(exclude_kinds), list(exclude_complaints), list(exclude_loose_kinds)
            dt_ = Job.run_at.db_value
            head = [self.id, dt_(now + timedelta(seconds=self.lease)), dt_(now), dt_(cut)]
            tail = [*kinds, *complaints, *loose]
            shape = (len(kinds), len(complaints), len(loose), is_postgres())
            jobs = []
            if reclaim:  # leases run out rarely: looked at once per pass, not on every claim
                sql = _claim_sql("expired", *shape, n == 1)
                jobs = [_job_from_row(r) for r in database.execute_sql(sql, head + tail + [int(n)]).fetchall()]
            if len(jobs) < n:
                sql = _claim_sql("pending", *shape, n - len(jobs) == 1)
                # one statement: atomic on its own
                rows = database.execute_sql(sql, head + tail + [int(n - len(jobs))]).fetchall()
                jobs += [_job_from_row(r) for r in rows]
            if not jobs:
                return []
            jobs.sort(key=lambda j: (j.run_at, j.id))
            ok = [j for j in jobs if j.attempts <= j.max_attempts]
            for job in jobs:
                if job.attempts > job.max_attempts:
                    # Only a job reclaimed after its lease ran out gets here: the worker that held it
                    # died (or hung) on its last allowed attempt. Running it again would exceed its
                    # budget, and retry for ever a job that may be what kills workers: it is dead.
                    err = f"lease expired after {job.max_attempts} attempt(s): the worker running it died or hung"
                    log.warning("job %s (%s): %s", job.id, job.kind, err)
                    self._finish(job, status="dead", attempts=job.max_attempts, last_error=err,
                                 finished_at=utcnow())
            if ok:
                return ok

    def _finish(self, job: Job, **fields) -> None:
        """One statement (committed on its own): only while this worker still holds the job."""
        fields["updated_at"] = utcnow()
        fields.setdefault("locked_by", None)
        fields.setdefault("locked_until", None)
        names = tuple(sorted(fields))
        meta = Job._meta
        params = [meta.fields[k].db_value(fields[k]) for k in names] + [job.id, self.id]
        database.execute_sql(_finish_sql(names), params)

    def run_job(self, job: Job) -> str:
        handler = self.handlers.get(job.kind)
        if handler is None:
            self._finish(job, status="dead", last_error=f"no handler for job kind {job.kind!r} (plugin not enabled?)")
            return "dead"
        t0 = time.perf_counter()
        try:
            try:
                with self.app.app_context():
                    handler(self.app, job.payload or {}, job)
            finally:
                took, prev = time.perf_counter() - t0, self._took.get(job.kind)
                self._took[job.kind] = took if prev is None else 0.7 * prev + 0.3 * took
        except PermanentFailure as exc:
            log.warning("job %s (%s) failed permanently: %s", job.id, job.kind, _safe_error(exc))
            self._finish(job, status="dead", last_error=_safe_error(exc), finished_at=utcnow())
            return "dead"
        except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried
            err = _safe_error(exc)
            if not isinstance(exc, RetryLater):
                log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, err)
                if log.isEnabledFor(logging.DEBUG):
                    log.debug("%s", "".join(traceback.format_exception(exc)))
            if isinstance(exc, RetryLater) and not exc.count:
                # told to wait: deferred, and the attempt the claim took is given back
                delay = exc.delay if exc.delay is not None else backoff(max(1, job.attempts), self.base, self.cap)
                self._finish(job, status="pending", last_error=err, attempts=max(0, job.attempts - 1),
                             run_at=utcnow() + timedelta(seconds=delay))
                return "retry"
            if job.attempts >= job.max_attempts:
                self._finish(job, status="dead", last_error=err, finished_at=utcnow())
                return "dead"
            delay = exc.delay if isinstance(exc, RetryLater) and exc.delay is not None else \
                backoff(job.attempts, self.base, self.cap)
            self._finish(job, status="pending", last_error=err, run_at=utcnow() + timedelta(seconds=delay))
            return "retry"
        self._finish(job, status="done", last_error=None, finished_at=utcnow())
        return "done"

    # --- schedules --------------------------------------------------------------------------
    def ensure_schedules(self) -> None:
        """Create the state row of each schedule that has none (due at once).

        Reads first, so a polling worker does not take SQLite's write lock on every pass.
        """
        names = [s.name for s in self.schedules]
        if not names:
            return
        have = {r.name for r in ScheduleState.select(ScheduleState.name).where(ScheduleState.name.in_(names))}
        for name in names:
            if name not in have:
                ScheduleState.insert(name=name, next_run_at=utcnow()).on_conflict_ignore().execute()

    def claim_schedule(self, sched) -> bool:
        now = utcnow()
        with database.atomic():
            n = (ScheduleState.update(next_run_at=now + timedelta(seconds=sched.every), locked_by=self.id,
                                      locked_until=now + timedelta(seconds=self.lease), last_run_at=now)
                 .where((ScheduleState.name == sched.name) & (ScheduleState.next_run_at <= now) &
                        ((ScheduleState.locked_until.is_null()) | (ScheduleState.locked_until < now)))
                 .execute())
        return n == 1

    def run_schedules(self) -> int:
        ran = 0
        for s in self.schedules:
            if self.stopping.is_set() or not self.claim_schedule(s):
                continue
            ran += 1
            err = None
            try:
                with self.app.app_context():
                    s.handler(self.app)
            except Exception as exc:  # noqa: BLE001
                err = _safe_error(exc)
                log.warning("schedule %s failed: %s", s.name, err)
            with database.atomic():
                ScheduleState.update(locked_by=None, locked_until=None, last_error=err).where(
                    (ScheduleState.name == s.name) & (ScheduleState.locked_by == self.id)).execute()
        return ran

    # --- loop -------------------------------------------------------------------------------
    def run_once(self, *, schedules: bool = True, max_jobs: int = 1000) -> dict[str, int]:
        """Run due schedules, then the jobs due when the pass started until none is left (or
        ``max_jobs``), up to ``concurrency`` at once; each job at most once per pass. Returns when
        every job it claimed is finished."""
        counts = {"done": 0, "retry": 0, "dead": 0, "schedules": 0}
        with database.connection_context():
            if schedules:
                self.ensure_schedules()
                counts["schedules"] = self.run_schedules()
            since, state = utcnow(), {}
            if self.concurrency == 1 and not self._limit:
                for _ in range(max_jobs):
                    if self.stopping.is_set():
                        break
                    jobs = self._claim_in_pass(1, since, state)
                    if not jobs:
                        break
                    counts[self.run_job(jobs[0])] += 1
            elif max_jobs > 0:
                self._run_concurrently(since, max_jobs, counts, state)
        return counts

    def _run_concurrently(self, since: datetime, max_jobs: int, counts: dict[str, int], state: dict) -> None:
        """Jobs in up to ``concurrency`` threads. The jobs of one complaint never run at the same time:
        they run one after the other, oldest first, as they would in a worker of one thread (a
        follow-up is posted after the create it follows, in the order of the timeline). Jobs without a
        complaint (a message to a contact about a draft...) keep their order per kind the same way."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="aduan-job")
        running: dict[Any, list[Job]] = {}  # future → the jobs it runs in turn
        busy: dict[str, int] = {}  # group → jobs claimed and not finished
        complaints: set[int] = set()  # complaints with a job in hand
        loose: set[str] = set()  # kinds with a job without complaint in hand
        claimed, exhausted = 0, False
        # An empty claim while a group is full (a LAPOR! backlog filling LAPOR_CONCURRENCY, threads to spare)
        # walked every due job of that group to find none of another kind: with 10,000 due that is ~15 ms
        # (SQLite, holding the write lock) after every job. Such a claim is not repeated with the same
        # groups full for a moment (≤ WORKER_POLL_SECONDS, at most 1 s); a group with room claims at once.
        quiet_full, quiet_until = None, 0.0
        inline = not is_postgres()

        def settle(chain: list[Job], outcomes: list[str]) -> None:
            for job, outcome in zip(chain, outcomes):
                busy[self._group.get(job.kind, job.kind)] -= 1
                counts[outcome] += 1
                if job.complaint_id is not None:
                    complaints.discard(job.complaint_id)
                elif job.kind not in self._unordered:
                    loose.discard(job.kind)

        try:
            while True:
                free = self.concurrency - len(running)
                full = [k for k, g in self._group.items() if g in self._limit and busy.get(g, 0) >= self._limit[g]]
                if (free > 0 and not exhausted and claimed < max_jobs and not self.stopping.is_set()
                        and not (full and full == quiet_full and time.monotonic() < quiet_until)):
                    room = [self._limit[g] - busy.get(g, 0) for g in self._limit if busy.get(g, 0) < self._limit[g]]
                    n = min([free, max_jobs - claimed, *room])
                    jobs = self._claim_in_pass(n, since, state, exclude_kinds=full, exclude_complaints=complaints,
                                               exclude_loose_kinds=loose)
                    if full and not jobs:
                        quiet_full, quiet_until = full, time.monotonic() + min(self.poll, 1.0)
                    claimed += len(jobs)
                    chains: dict[Any, list[Job]] = {}
                    for job in jobs:
                        g = self._group.get(job.kind, job.kind)
                        busy[g] = busy.get(g, 0) + 1
                        if job.complaint_id is not None:
                            key = job.complaint_id
                            complaints.add(job.complaint_id)
                        elif job.kind in self._unordered:
                            key = ("job", job.id)
                        else:
                            key = ("kind", job.kind)
                            loose.add(job.kind)
                        chains.setdefault(key, []).append(job)
                    for chain in chains.values():
                        if inline and all(self._took.get(j.kind, INLINE_SECONDS) < INLINE_SECONDS for j in chain):
                            settle(chain, [self.run_job(job) for job in chain])  # quick: here (see INLINE_SECONDS)
                        else:
                            running[self._pool.submit(self._run_in_thread, chain)] = chain
                    if jobs:
                        continue
                    if not full and not complaints and not loose:
                        exhausted = True  # nothing due is left for this pass
                if not running:
                    return
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for f in finished:
                    chain = running.pop(f)
                    settle(chain, f.result())
        finally:
            if running:  # only on an error in this thread: the jobs in hand still finish
                wait(list(running))

    def _run_in_thread(self, chain: list[Job]) -> list[str]:
        with database.connection_context():
            return [self.run_job(job) for job in chain]

    def close(self) -> None:
        """Stop the job threads (after the jobs in hand)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _beat(self, started) -> None:
        """Record this worker's heartbeat; a database still being upgraded (no table yet) is no reason to stop."""
        try:
            with database.connection_context():
                health.beat(self.id, started)
        except (pw.DatabaseError, pw.InterfaceError) as exc:  # down, or the table not created yet
            log.warning("worker %s: heartbeat not recorded (%s)", self.id, type(exc).__name__)
            health.discard_broken_connection()

    def run_forever(self) -> None:
        def _stop(signum, frame):
            # Not self.stopping.set() here: Event.set() takes the lock that Event.wait() holds
            # for a moment in this same (main) thread, so a signal landing there would deadlock.
            # Another thread can wait for that lock.
            threading.Thread(target=_request_stop, args=(signum,), name="aduan-worker-stop", daemon=True).start()

        def _request_stop(signum):
            log.info("worker %s: signal %s, finishing the jobs in hand", self.id, signum)
            self.stopping.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        log.info("worker %s started: %d job kinds, %d schedules, %d at once", self.id, len(self.handlers),
                 len(self.schedules), self.concurrency)
        started, last_beat = utcnow(), 0.0
        beat_every = self.app.config.get("WORKER_HEARTBEAT_SECONDS", 15)
        while not self.stopping.is_set():
            try:
                if time.monotonic() - last_beat >= beat_every:
                    last_beat = time.monotonic()
                    self._beat(started)
                counts = self.run_once()
            except (pw.OperationalError, pw.InterfaceError) as exc:  # database restarting: wait and carry on
                log.warning("worker %s: database error %s", self.id, type(exc).__name__)
                health.discard_broken_connection()
                counts = {}
            if not any(counts.get(k) for k in ("done", "retry", "dead")):
                self.stopping.wait(min(self.poll, beat_every))
        try:
            with database.connection_context():
                health.forget_worker(self.id)
        except (pw.DatabaseError, pw.InterfaceError):
            pass  # the row ages out; /ready only looks at recent heartbeats
        self.close()
        log.info("worker %s stopped (signal or stop request); the jobs in hand were finished", self.id)


# The worker's two statements, written once: building them with peewee on every claim and finish cost
# more than running them (bench/worker_bench.py).
_SQL_CACHE: dict[tuple, str] = {}


def _claim_sql(which: str, n_kinds: int, n_complaints: int, n_loose: int, postgres: bool, one: bool) -> str:
    """``which``: ``pending`` (due by the cut) or ``expired`` (running, lease over by the cut)."""
    key = ("claim", which, n_kinds, n_complaints, n_loose, postgres, one, database.obj.param)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        p = database.obj.param
        cols = ", ".join(f'"{f.column_name}"' for f in Job._meta.sorted_fields)
        if which == "pending":
            where, order = f"\"status\" = 'pending' AND \"run_at\" <= {p}", '"run_at", "id"'
        else:
            where, order = f"\"status\" = 'running' AND \"locked_until\" < {p}", '"locked_until", "id"'
        if n_kinds:
            where += f' AND "kind" NOT IN ({", ".join([p] * n_kinds)})'
        if n_complaints:
            where += f' AND ("complaint_id" IS NULL OR "complaint_id" NOT IN ({", ".join([p] * n_complaints)}))'
        if n_loose:
            where += f' AND ("complaint_id" IS NOT NULL OR "kind" NOT IN ({", ".join([p] * n_loose)}))'
        lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
        pick = f'SELECT "id" FROM "job" WHERE {where} ORDER BY {order} LIMIT {p}{lock}'
        sql = (f'UPDATE "job" SET "status" = \'running\', "locked_by" = {p}, "locked_until" = {p}, '
               f'"attempts" = "attempts" + 1, "updated_at" = {p} '
               f'WHERE "id" {"=" if one else "IN"} ({pick}) RETURNING {cols}')
        _SQL_CACHE[key] = sql
    return sql


def _finish_sql(names: tuple[str, ...]) -> str:
    key = ("finish", names, database.obj.param)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        p = database.obj.param
        sets = ", ".join(f'"{Job._meta.fields[k].column_name}" = {p}' for k in names)
        sql = _SQL_CACHE[key] = f'UPDATE "job" SET {sets} WHERE "id" = {p} AND "locked_by" = {p}'
    return sql


def _job_from_row(row) -> Job:
    job = Job()
    job.__data__ = {f.name: f.python_value(v) for f, v in zip(Job._meta.sorted_fields, row)}
    job._dirty.clear()
    return job


def _make_room(n: int) -> None:
    """A worker running ``n`` jobs at once needs as many pooled connections: raise the pool's cap."""
    db = database.obj
    cap = getattr(db, "_max_connections", None)
    if cap is not None and cap < n:
        db._max_connections = n


def retry(job_id: int) -> bool:
    """Make a dead (or pending) job due now with a fresh attempt budget."""
    now = utcnow()
    with database.atomic():
        n = (Job.update(status="pending", run_at=now, attempts=0, updated_at=now, locked_by=None, locked_until=None,
                        finished_at=None)
             .where((Job.id == job_id) & (Job.status.in_(["dead", "pending"]))).execute())
    return n == 1
