"""Durable outbox and the worker that drains it.

* :func:`enqueue` writes a job in the caller's transaction (so it exists if and only if the change
  that caused it committed). A job's ``key`` makes enqueueing idempotent.
* :class:`Worker` claims due jobs one at a time. On PostgreSQL the claim is
  ``SELECT ... FOR UPDATE SKIP LOCKED`` so any number of workers share the queue; on SQLite the
  claim runs in an ``IMMEDIATE`` transaction (one writer at a time). A claim is a *lease*: a job
  whose worker died is claimed again once ``locked_until`` has passed.
* Failures retry with exponential back-off and full jitter until ``max_attempts``, then the job is
  ``dead`` (visible in ``aduan jobs list`` and ``GET /api/v1/jobs``; ``retry`` revives it).
* Schedules (``register_schedules``) are claimed by a conditional update on ``schedule_state``, so
  two workers never run the same schedule at once.
* SIGTERM/SIGINT: the worker finishes the job in hand, then exits.
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
from datetime import timedelta
from typing import Any, Callable

import peewee as pw
from flask import current_app, has_app_context

from . import health
from .db import database, is_postgres, utcnow
from .events import JobRequest
from .models import Job, ScheduleState

log = logging.getLogger("aduan.jobs")


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

    def __init__(self, app, *, worker_id: str | None = None):
        self.app = app
        st = app.extensions["aduan"]
        self.handlers: dict[str, Callable[..., Any]] = st.job_handlers
        self.schedules = st.schedules
        cfg = app.config
        self.lease = cfg["JOB_LEASE_SECONDS"]
        self.base, self.cap = cfg["JOB_BACKOFF_BASE"], cfg["JOB_BACKOFF_MAX"]
        self.poll = cfg["WORKER_POLL_SECONDS"]
        self.id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stopping = threading.Event()

    # --- jobs -------------------------------------------------------------------------------
    def claim(self, exclude=()) -> Job | None:
        """Lease the next due job (pending and due, or running with an expired lease), or ``None``.

        ``exclude``: job ids not to take (``run_once`` passes those it already ran, so a job that
        failed and was rescheduled at once waits for the next pass instead of spinning).
        """
        while True:
            now = utcnow()
            due = ((Job.status == "pending") & (Job.run_at <= now)) | \
                  ((Job.status == "running") & (Job.locked_until < now))
            if exclude:
                due = due & Job.id.not_in(list(exclude))
            with database.atomic():
                q = Job.select(Job.id).where(due).order_by(Job.run_at, Job.id).limit(1)
                if is_postgres():
                    q = q.for_update(skip_locked=True)
                row = q.first()
                if row is None:
                    return None
                n = (Job.update(status="running", locked_by=self.id, locked_until=now + timedelta(seconds=self.lease),
                                attempts=Job.attempts + 1, updated_at=now)
                     .where((Job.id == row.id) & due).execute())
                if n != 1:
                    return None
            job = Job.get_by_id(row.id)
            if job.attempts <= job.max_attempts:
                return job
            # Only a job reclaimed after its lease ran out gets here: the worker that held it died
            # (or hung) on its last allowed attempt. Running it again would exceed its budget, and
            # retry for ever a job that may be what kills workers: it is dead instead.
            err = f"lease expired after {job.max_attempts} attempt(s): the worker running it died or hung"
            log.warning("job %s (%s): %s", job.id, job.kind, err)
            self._finish(job, status="dead", attempts=job.max_attempts, last_error=err, finished_at=utcnow())

    def _finish(self, job: Job, **fields) -> None:
        fields["updated_at"] = utcnow()
        fields.setdefault("locked_by", None)
        fields.setdefault("locked_until", None)
        with database.atomic():
            Job.update(**fields).where((Job.id == job.id) & (Job.locked_by == self.id)).execute()

    def run_job(self, job: Job) -> str:
        handler = self.handlers.get(job.kind)
        if handler is None:
            self._finish(job, status="dead", last_error=f"no handler for job kind {job.kind!r} (plugin not enabled?)")
            return "dead"
        try:
            with self.app.app_context():
                handler(self.app, job.payload or {}, job)
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
        """Run due schedules, then due jobs until none is due (or ``max_jobs``); each job at most
        once per pass."""
        counts = {"done": 0, "retry": 0, "dead": 0, "schedules": 0}
        ran: set[int] = set()
        with database.connection_context():
            if schedules:
                self.ensure_schedules()
                counts["schedules"] = self.run_schedules()
            for _ in range(max_jobs):
                if self.stopping.is_set():
                    break
                job = self.claim(exclude=ran)
                if job is None:
                    break
                ran.add(job.id)
                counts[self.run_job(job)] += 1
        return counts

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
            log.info("worker %s: signal %s, finishing the job in hand", self.id, signum)
            self.stopping.set()

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
            signal.signal(signal.SIGINT, _stop)
        log.info("worker %s started: %d job kinds, %d schedules", self.id, len(self.handlers), len(self.schedules))
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
        log.info("worker %s stopped (signal or stop request); the job in hand was finished", self.id)


def retry(job_id: int) -> bool:
    """Make a dead (or pending) job due now with a fresh attempt budget."""
    now = utcnow()
    with database.atomic():
        n = (Job.update(status="pending", run_at=now, attempts=0, updated_at=now, locked_by=None, locked_until=None,
                        finished_at=None)
             .where((Job.id == job_id) & (Job.status.in_(["dead", "pending"]))).execute())
    return n == 1
