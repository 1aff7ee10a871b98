"""Pushes to SP4N-LAPOR! run concurrently in one worker (LAPOR_CONCURRENCY), against the simulator over real
HTTP with latency: still exactly once each, a create that times out mid-way is never resent, requests are
spaced by LAPOR_RATE_LIMIT, and connections are kept alive and reused."""
import threading
import time

from aduan.db import database
from aduan.jobs import Worker
from aduan.models import Complaint, Job
from aduan.testing import waitress_in_thread
from aduan_lapor.client import Throttle
from aduan_lapor.models import LaporTicket
from aduan_lapor.testing import drain, file


def _backlog(client, n):
    return [file(client, title=f"Jalan berlubang nomor {i}")[0] for i in range(n)]


def test_concurrent_pushes_create_each_complaint_exactly_once(lapor, sim):
    sim.latency = 0.05
    app, client, seed = lapor(LAPOR_PUSH_ON="file", WORKER_CONCURRENCY=8, LAPOR_CONCURRENCY=4,
                              LAPOR_RATE_LIMIT=0)
    tids = _backlog(client, 12)
    counts = Worker(app).run_once(schedules=False)
    assert counts["done"] == 12 and counts["retry"] == counts["dead"] == 0
    # several creates waited on LAPOR! at the same time, never more than LAPOR_CONCURRENCY
    assert 2 <= sim.peak_in_flight <= 4
    drain(app)
    assert len(sim.calls("E4")) == 12
    for tid in tids:
        assert len(sim.complaints_with(tid)) == 1
    with app.app_context(), database.connection_context():
        tickets = list(LaporTicket.select())
        assert {t.state for t in tickets} == {"created"}
        assert len({t.lapor_id for t in tickets}) == 12
        assert Job.select().where((Job.kind == "lapor.push") & (Job.attempts != 1)).count() == 0


def test_a_create_timing_out_mid_way_among_concurrent_pushes_is_not_resent(lapor, sim):
    sim.latency = 0.02
    sim.faults.timeout = 2.5  # LAPOR! does the work, then answers after the client gave up (read timeout 1 s)
    app, client, seed = lapor(LAPOR_PUSH_ON="file", WORKER_CONCURRENCY=4, LAPOR_CONCURRENCY=4, LAPOR_RATE_LIMIT=0)
    tids = _backlog(client, 6)
    sim.fail_next("E4", "timeout")  # the first create to arrive, while the others are in flight
    for _ in range(3):
        drain(app)
    calls = sim.calls("E4")
    assert len(calls) == 6 and [c.fault for c in calls].count("timeout") == 1
    for tid in tids:
        assert len(sim.complaints_with(tid)) == 1  # created once each, the timed-out one included
    with app.app_context(), database.connection_context():
        states = {Complaint.get_by_id(t.complaint_id).tracking_id: t for t in LaporTicket.select()}
        uncertain = [tid for tid, t in states.items() if t.state == "uncertain"]
        assert len(uncertain) == 1 and states[uncertain[0]].lapor_id is None
        assert "outcome unknown" in states[uncertain[0]].last_error
        assert sorted(t.state for t in states.values()) == ["created"] * 5 + ["uncertain"]
        (dead,) = Job.select().where((Job.kind == "lapor.push") & (Job.status == "dead"))
        assert dead.complaint_id == Complaint.get(Complaint.tracking_id == uncertain[0]).id


def test_requests_are_spaced_by_the_rate_limit_across_threads(lapor, sim):
    app, client, seed = lapor(LAPOR_PUSH_ON="file", WORKER_CONCURRENCY=4, LAPOR_CONCURRENCY=4, LAPOR_RATE_LIMIT=10,
                              LAPOR_RATE_BURST=1)
    _backlog(client, 6)
    assert Worker(app).run_once(schedules=False)["done"] == 6
    arrivals = sorted(c.at for c in sim.calls("E4"))
    # 10 a second whatever the threads: six requests take at least half a second (the first may arrive a
    # little late, after its connection was set up)
    assert len(arrivals) == 6 and arrivals[-1] - arrivals[0] >= 0.35, arrivals


def test_the_throttle_plans_requests_from_many_threads_one_interval_apart():
    throttle, planned, lock = Throttle(), [], threading.Lock()

    def plan():
        for _ in range(5):
            at = time.monotonic() + throttle.reserve(20, 2)
            with lock:
                planned.append(at)

    threads = [threading.Thread(target=plan) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    planned.sort()
    gaps = [b - a for a, b in zip(planned, planned[1:])]
    # a burst of two, then one every 50 ms
    assert len(planned) == 20 and sum(g < 0.049 for g in gaps) <= 1, gaps
    assert planned[-1] - planned[0] >= 18 * 0.05 - 0.001


def test_a_429_pauses_every_thread_for_its_retry_after():
    throttle = Throttle()
    throttle.pause(2.0)
    assert 1.9 < throttle.reserve(0, 1) <= 2.0  # no rate limit, but LAPOR! asked us to wait
    assert 1.9 < throttle.reserve(100, 5) <= 2.0


def test_connections_are_kept_alive_and_reused(lapor):
    """Against a server that keeps connections alive (waitress; the simulator's werkzeug server closes
    each one), the client's five creates travel on one connection: no handshake per request."""
    import json

    from aduan_lapor.client import LaporClient

    ports = []

    def app(environ, start_response):
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        ports.append(environ.get("REMOTE_PORT"))
        body = json.dumps({"success": True, "complaint_id": 70000 + len(ports)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    with waitress_in_thread(app, threads=2) as server:
        flask_app, _, _ = lapor(LAPOR_BASE_URL=f"http://127.0.0.1:{server.effective_port}", LAPOR_RATE_LIMIT=0)
        with flask_app.app_context():
            api = LaporClient(flask_app.config)
            got = [api.create({"title": "Jalan", "content": "Berlubang", "disposition_id": 1001}) for _ in range(5)]
    assert got == [str(70001 + i) for i in range(5)]
    assert len(ports) == 5 and len(set(ports)) == 1, ports
