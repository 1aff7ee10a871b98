"""Prometheus ``/metrics``: request counts and latencies by route pattern, the deployment's state read
from the database, the plugins' own figures, protection, and multiprocess mode across two real web
processes. Every scrape is parsed with prometheus-client's own exposition parser."""
from __future__ import annotations

import datetime as dt
import importlib.util
import os
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from aduan.db import database, utcnow
from aduan.models import Complaint, Job
from aduan.testing import auth

_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)


def samples(text: str) -> dict[tuple, float]:
    """``{(name, (("label", "value"), ...)): value}`` from the exposition text (validated by parsing)."""
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_requests_state_and_plugin_figures(make_app, seed):
    from aduan_email.models import EmailAddress, EmailMessage
    from aduan_lapor.models import LaporTicket
    from aduan_sms.models import SmsMessage

    app = make_app({"PLUGINS": ["lapor", "sms", "email"]})
    client = app.test_client()
    tids = [client.post("/api/v1/complaints", json={"body": f"Jalan rusak nomor {i}", "category": "jalan"}).json["tracking_id"]
            for i in range(3)]
    assert client.post(f"/api/v1/complaints/{tids[0]}/actions/verify", json={},
                       headers=auth(seed.coordinator)).status_code == 200
    client.get("/api/v1/complaints/NOSUCH99")
    with app.app_context(), database.connection_context():
        past = utcnow() - dt.timedelta(days=30)
        Complaint.update(due_verify=past).where(Complaint.tracking_id == tids[1]).execute()
        Job.insert(kind="test.stuck", key="stuck", payload={}, status="pending", attempts=0, max_attempts=3,
                   run_at=utcnow() - dt.timedelta(seconds=600), created_at=past, updated_at=past).execute()
        Job.insert(kind="test.dead", key="dead", payload={}, status="dead", attempts=3, max_attempts=3,
                   run_at=past, created_at=past, updated_at=past).execute()
        c = Complaint.get(Complaint.tracking_id == tids[0])
        LaporTicket.create(complaint=c, state="uncertain")
        SmsMessage.create(direction="out", provider="twilio", status="failed", body="")
        SmsMessage.create(direction="out", provider="twilio", status="sent", body="")
        EmailMessage.create(message_key="k1", outcome="bounce", source="imap")
        EmailAddress.create(address_hash="h1", failing=True)

    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    m = samples(r.get_data(as_text=True))
    # requests by route pattern (never the raw path with its tracking id) and status
    assert m[("aduan_http_requests_total", (("method", "POST"), ("route", "/api/v1/complaints"), ("status", "201")))] >= 3
    assert m[("aduan_http_requests_total", (("method", "GET"), ("route", "/api/v1/complaints/<tracking_id>"),
                                            ("status", "404")))] >= 1
    assert m[("aduan_http_request_duration_seconds_count", (("method", "POST"), ("route", "/api/v1/complaints"),
                                                            ("status", "201")))] >= 3
    assert not any("NOSUCH99" in str(k) for k in m)
    # the deployment's state
    assert m[("aduan_database_up", ())] == 1
    assert m[("aduan_complaints", (("agency", "PUPR"), ("status", "dispatched")))] == 1
    assert m[("aduan_complaints", (("agency", "none"), ("status", "received")))] == 2
    assert m[("aduan_complaints_overdue", (("clock", "verify"),))] == 1
    assert m[("aduan_complaints_open", ())] == 3
    assert m[("aduan_jobs", (("kind", "test.stuck"), ("status", "pending")))] == 1
    assert m[("aduan_jobs_dead", ())] == 1
    assert 590 <= m[("aduan_jobs_oldest_due_seconds", ())] < 3600
    assert m[("aduan_workers_alive", ())] == 0
    # each plugin's figures (hook collect_metrics)
    assert m[("aduan_lapor_tickets", (("state", "uncertain"),))] == 1
    assert m[("aduan_sms_messages", (("direction", "out"), ("status", "failed")))] == 1
    assert m[("aduan_sms_messages", (("direction", "out"), ("status", "sent")))] == 1
    assert m[("aduan_email_inbound", (("outcome", "bounce"),))] == 1
    assert m[("aduan_email_failing_addresses", ())] == 1
    # OpenMetrics for a scraper that asks for it
    om = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert om.headers["Content-Type"].startswith("application/openmetrics-text")
    assert om.get_data(as_text=True).rstrip().endswith("# EOF")


def test_metrics_are_protected(make_app):
    app = make_app()
    client = app.test_client()
    outside = {"REMOTE_ADDR": "203.0.113.9"}
    r = client.get("/metrics", environ_base=outside)
    assert r.status_code == 403 and r.json["message"].startswith("metrik memerlukan")
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200
    app.config["METRICS_ALLOW"] = ["203.0.113.0/24"]
    assert client.get("/metrics", environ_base=outside).status_code == 200

    app.config["METRICS_TOKEN"] = "scrape-token-123"  # with a token, the address alone is not enough
    assert client.get("/metrics", environ_base=outside).status_code == 403
    assert client.get("/metrics", headers=auth("wrong"), environ_base=outside).status_code == 403
    assert client.get("/metrics", headers=auth("scrape-token-123"), environ_base=outside).status_code == 200


def test_multiprocess_metrics_sum_two_web_processes(tmp_path):
    """Two ``aduan serve`` processes sharing PROMETHEUS_MULTIPROC_DIR: either one reports both's requests."""
    mp = tmp_path / "prom"  # not created beforehand: the processes create it
    db = f"sqlite:///{tmp_path / 'aduan.db'}"
    env = ops.aduan_env(db, str(tmp_path / "inst"), PROMETHEUS_MULTIPROC_DIR=str(mp), ADUAN_READY_WORKER_MAX_AGE=0)
    assert ops.aduan("init", "--no-regions", env=env).returncode == 0
    ports = [ops.free_port(), ops.free_port()]
    procs = [ops.start("serve", "--port", str(p), "--threads", "2", env=env, log_path=str(tmp_path / f"web{p}.log"))
             for p in ports]
    try:
        for p in ports:
            ops.wait_http(f"http://127.0.0.1:{p}/ready")
        for p, n in zip(ports, (3, 5)):
            for _ in range(n):
                assert requests.get(f"http://127.0.0.1:{p}/api/v1/regions", timeout=10).status_code == 200
        key = ("aduan_http_requests_total", (("method", "GET"), ("route", "/api/v1/regions"), ("status", "200")))
        for p in ports:
            m = samples(requests.get(f"http://127.0.0.1:{p}/metrics", timeout=10).text)
            assert m[key] == 8, m.get(key)
    finally:
        for proc in procs:
            ops.stop(proc)
    assert os.listdir(mp), "no multiprocess files were written"
