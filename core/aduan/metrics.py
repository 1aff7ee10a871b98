"""Prometheus metrics at ``/metrics``.

Two kinds:

* **per request**, counted by every web process: ``aduan_http_requests_total{method,route,status}``
  and ``aduan_http_request_duration_seconds{method,route,status}`` (route is the URL *pattern*). With
  several processes set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared by the processes of
  one host (prometheus-client's multiprocess mode); every process then answers with the sum of all.
* **state of the deployment**, read from the database when Prometheus scrapes (so any web process
  on any host gives the same answer, and workers need no HTTP port): complaints by status and
  agency, open complaints past each SLA clock, jobs by kind and status, the oldest due job's age,
  dead jobs, workers alive, and each plugin's own figures (hook ``collect_metrics``).

``/metrics`` answers to ``Authorization: Bearer <METRICS_TOKEN>`` or, without a token configured,
only to clients in ``METRICS_ALLOW`` (loopback by default).
"""
from __future__ import annotations

import ipaddress
import logging
import datetime as dt
import os

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

log = logging.getLogger("aduan.metrics")

def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


if multiprocess_dir():  # prometheus-client writes each process's figures there: the folder must exist
    os.makedirs(multiprocess_dir(), exist_ok=True)

REQUESTS = Counter("aduan_http_requests_total", "HTTP requests answered, by method, route pattern and status.",
                   ["method", "route", "status"])
LATENCY = Histogram("aduan_http_request_duration_seconds",
                    "Time to answer a request, by method, route pattern and status.", ["method", "route", "status"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route, str(status)).observe(seconds)


class StateCollector:
    """Figures read from the database at scrape time."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        from .db import database

        up = GaugeMetricFamily("aduan_database_up", "1 when the database answered this scrape.")
        try:
            with database.connection_context():
                families = list(self._families())
        except Exception as exc:  # noqa: BLE001 - a scrape must still answer (database down, table missing)
            log.warning("metrics: database figures unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self):
        import peewee as pw

        from .db import utcnow
        from .models import OPEN_STATUSES, Agency, Complaint, Job, WorkerHeartbeat
        from .sla import overdue_conditions

        now = utcnow()
        g = GaugeMetricFamily("aduan_complaints", "Complaints by status and current agency (code; none when not "
                              "yet disposed).", labels=["status", "agency"])
        q = (Complaint.select(Complaint.status, Agency.code, pw.fn.COUNT(Complaint.id).alias("n"))
             .join(Agency, pw.JOIN.LEFT_OUTER, on=(Complaint.agency == Agency.id))
             .group_by(Complaint.status, Agency.code).tuples())
        for status, code, n in q:
            g.add_metric([status, code or "none"], n)
        yield g

        g = GaugeMetricFamily("aduan_complaints_overdue", "Open complaints past each SLA clock.", labels=["clock"])
        for clock, cond in overdue_conditions(now).items():
            g.add_metric([clock], Complaint.select().where(cond).count())
        yield g
        g = GaugeMetricFamily("aduan_complaints_open", "Complaints not yet resolved, rejected or closed.")
        g.add_metric([], Complaint.select().where(Complaint.status.in_(OPEN_STATUSES)).count())
        yield g

        g = GaugeMetricFamily("aduan_jobs", "Outbox jobs by kind and status.", labels=["kind", "status"])
        for kind, status, n in Job.select(Job.kind, Job.status, pw.fn.COUNT(Job.id)).group_by(Job.kind, Job.status).tuples():
            g.add_metric([kind, status], n)
        yield g
        dead = Job.select().where(Job.status == "dead").count()
        g = GaugeMetricFamily("aduan_jobs_dead", "Jobs that exhausted their attempts (aduan jobs retry).")
        g.add_metric([], dead)
        yield g
        oldest = Job.select(pw.fn.MIN(Job.run_at)).where((Job.status == "pending") & (Job.run_at <= now)).scalar()
        if isinstance(oldest, str):  # SQLite aggregates come back as text
            oldest = dt.datetime.fromisoformat(oldest)
        g = GaugeMetricFamily("aduan_jobs_oldest_due_seconds",
                              "Age of the oldest job that is due and waiting for a worker (0: none waiting).")
        g.add_metric([], (now - oldest).total_seconds() if oldest else 0)
        yield g

        max_age = self.app.config["READY_WORKER_MAX_AGE"] or 120
        cutoff = now - dt.timedelta(seconds=max_age)
        g = GaugeMetricFamily("aduan_workers_alive", "Workers that reported within READY_WORKER_MAX_AGE.")
        g.add_metric([], WorkerHeartbeat.select().where(WorkerHeartbeat.seen_at >= cutoff).count())
        yield g

        hooks = self.app.extensions["aduan"].hooks
        for plugin, metric in hooks.collect_metrics(self.app):
            name = f"aduan_{plugin}_{metric.name}"
            fam = (CounterMetricFamily if metric.kind == "counter" else GaugeMetricFamily)(
                name, metric.help, labels=list(metric.labels))
            for labels, value in metric.samples:
                fam.add_metric([str(v) for v in labels], value)
            yield fam


def allowed(app, request) -> bool:
    token = app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token:
        import hmac

        return header[:7].lower() == "bearer " and hmac.compare_digest(header[7:].strip().encode(), token.encode())
    try:
        addr = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    for net in app.config["METRICS_ALLOW"]:
        try:
            if addr in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


class _Default:
    """This process's own registry (request metrics, process and GC figures) as one collector."""

    def collect(self):
        yield from REGISTRY.collect()


def render(app, accept: str | None = None) -> tuple[bytes, str]:
    """The exposition (format chosen from ``Accept``: Prometheus text or OpenMetrics): request metrics
    (every process's in multiprocess mode) and the deployment's state."""
    reg = CollectorRegistry(auto_describe=False)
    mp = multiprocess_dir()
    if mp:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(reg, path=mp)
    else:
        reg.register(_Default())
    reg.register(StateCollector(app))
    encoder, content_type = choose_encoder(accept)
    return encoder(reg), content_type
