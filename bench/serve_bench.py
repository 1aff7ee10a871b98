#!/usr/bin/env python
"""Filing through the real ``aduan serve`` over sockets, against a bare Flask route on the same server.

* **candidate**: ``aduan serve`` started as its own process (the installed command), every plugin
  enabled as ``make run`` enables them (LAPOR! wired to a simulator address; no worker in the web
  process, as in production where workers run apart), production settings (access log on, JSON
  logs to a file, the database rate limiter on every public filing);
* **baseline**: this file run as ``serve_bench.py --bare PORT URL``: a Flask app with one route
  that parses the same JSON and writes the same rows (reporter, complaint, ``file`` event) with bare
  peewee inserts in one transaction, served by the same waitress settings (``aduan.serving``).

Two measurements, baseline and candidate taken in turn over several rounds (medians):

* **throughput**: ``CLIENTS`` keep-alive connections posting as fast as answers come, req/s;
* **latency at a fixed rate**: 100 requests a second on a schedule (open loop: latency counts from
  the moment a request was due, so a stall is not hidden), p50 and p99, and how many got no answer
  within 60 s.

Ports: ``BENCH_PORT_BASE`` (default 5100) and the next two.
"""
from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.path.dirname(sys.executable)
PORT_BASE = int(os.environ.get("BENCH_PORT_BASE", "5100"))
CLIENTS = 8
SECRET = "bench-serve-secret-long-enough-for-the-start-up-check-0123456789"


def payload(i: int) -> bytes:
    return json.dumps({"title": f"Jalan berlubang {i}", "body": f"Lubang besar di Jl. Pejanggik nomor {i}, sudah dua minggu.",
                       "category": "jalan", "region_code": "52.71.01",
                       "reporter": {"name": f"Warga {i}", "phone": f"0819{i % 10**8:08d}"}}).encode()


# --- the baseline server -------------------------------------------------------------------------

def bare_app(url: str):
    from flask import Flask, jsonify, request

    from aduan.auth import hash_access_code, random_code
    from aduan.db import database, make_database, utcnow
    from aduan.models import Category, Complaint, Event, Reporter

    database.initialize(make_database(url, pool_size=16))
    app = Flask("bare")
    app.config["SECRET_KEY"] = SECRET  # the access-code HMAC key, as aduan derives it
    with database.connection_context():
        cat = Category.get(Category.code == "jalan").id

    @app.before_request
    def _connect():
        database.connect(reuse_if_open=True)

    @app.teardown_request
    def _close(exc):
        if not database.is_closed():
            database.close()

    @app.post("/bare")
    def bare():
        d = request.get_json()
        now = utcnow()
        tid, code = random_code(8), random_code(10)
        rep = d["reporter"]
        with database.atomic():
            rid = Reporter.insert(name=rep["name"], phone="+62" + rep["phone"][1:], phone_raw=rep["phone"],
                                  language="id", created_at=now).execute()
            cid = Complaint.insert(tracking_id=tid, access_code_hash=hash_access_code(tid, code), title=d["title"],
                                   body=d["body"], category=cat, reporter=rid, region=d["region_code"], channel="web",
                                   status="received", created_at=now, updated_at=now).execute()
            Event.insert(complaint=cid, type="file", actor_role="reporter", to_status="received", source="web",
                         data={"channel": "web"}, created_at=now).execute()
        return jsonify(tracking_id=tid, access_code=code, status="received"), 201

    return app


def run_bare(port: int, url: str) -> None:
    from aduan.serving import GracefulServer

    app = bare_app(url)
    # aduan serve's defaults (aduan.serving.adjustments), spelt out so that the same baseline runs
    # against an older aduan (a "before" measurement)
    adj = {"connection_limit": 1000, "backlog": 2048, "channel_timeout": 60, "asyncore_use_poll": True,
           "cleanup_interval": 30}
    srv = GracefulServer(app, host="127.0.0.1", port=port, threads=8, grace=5, **adj)
    srv.install_signal_handlers()
    srv.run()


# --- load ----------------------------------------------------------------------------------------

def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> int:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status


def throughput(port: int, path: str, n: int, counter) -> float:
    """req/s with CLIENTS keep-alive connections posting ``n`` filings in all."""
    per = n // CLIENTS
    errors: list = []

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for _ in range(per):
                st = _post(conn, path, payload(next(counter)))
                if st != 201:
                    errors.append(st)
        except Exception as exc:  # noqa: BLE001 - counted
            errors.append(repr(exc))
        finally:
            conn.close()

    ts = [threading.Thread(target=client) for _ in range(CLIENTS)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    dt_ = time.perf_counter() - t0
    assert not errors, errors[:5]
    return per * CLIENTS / dt_


def fixed_rate(port: int, path: str, rate: float, seconds: float, counter) -> dict:
    """Open loop: request i is due at t0 + i/rate; latency is measured from that moment. Each request
    on its own connection from a pool of sender threads (a load balancer's view)."""
    n = int(rate * seconds)
    lat: list = [None] * n
    lock = threading.Lock()
    nxt = iter(range(n))
    t0 = time.perf_counter() + 0.2

    def sender():
        conn = None
        while True:
            with lock:
                i = next(nxt, None)
            if i is None:
                break
            due = t0 + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                st = _post(conn, path, payload(next(counter)))
                lat[i] = (time.perf_counter() - due) if st == 201 else None
            except Exception:  # noqa: BLE001 - an unanswered request
                lat[i] = None
                conn = None
        if conn is not None:
            conn.close()

    ts = [threading.Thread(target=sender) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    ok = sorted(x for x in lat if x is not None)
    q = statistics.quantiles(ok, n=100) if len(ok) > 2 else [float("nan")] * 99
    return {"p50": q[49], "p99": q[98], "unanswered": n - len(ok), "n": n}


# --- set-up --------------------------------------------------------------------------------------

def demo_env(url: str, instance: str) -> dict:
    """The environment of ``make run`` (every plugin, LAPOR! pointed at a simulator), production logs."""
    plugins = sorted(d for d in os.listdir(os.path.join(HERE, "..", "plugins"))
                     if os.path.exists(os.path.join(HERE, "..", "plugins", d, "pyproject.toml")))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": url, "ADUAN_INSTANCE_PATH": instance, "ADUAN_SECRET_KEY": SECRET,
                "ADUAN_PLUGINS": ",".join(plugins), "ADUAN_LOG_FORMAT": "json", "ADUAN_DATABASE_POOL_SIZE": "16",
                "ADUAN_RATE_LIMIT_FILE": "100000000/hour", "ADUAN_RATE_LIMIT_TRACK": "100000000/hour",
                "ADUAN_BASE_URL": f"http://127.0.0.1:{PORT_BASE}",
                "ADUAN_LAPOR_BASE_URL": f"http://127.0.0.1:{PORT_BASE + 2}", "ADUAN_LAPOR_AUTH_HEADER": "auth",
                "ADUAN_LAPOR_BEARER_TOKEN": "demo-token",
                "ADUAN_LAPOR_TOKEN_GUID": "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}",
                "ADUAN_LAPOR_INSTITUTION_ID": "1001", "ADUAN_SMS_GENERIC_SECRET": "bench-sms-secret"})
    return env


def wait_port(port: int, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}")


def bench(url: str, rounds: int, n: int, seconds: float, rows_out) -> None:
    """Start both servers on ``url`` (already migrated and seeded with category ``jalan`` and region
    52.71.01), measure, stop them; the result rows are appended to ``rows_out``."""
    from itertools import count

    tmp = tempfile.mkdtemp(prefix="aduan-serve-bench-")
    env = demo_env(url, tmp)
    cand_port, bare_port = PORT_BASE, PORT_BASE + 1
    # the plugins' tables, as `make run` (aduan demo) would have made them
    up = subprocess.run([os.path.join(BIN, "aduan"), "db", "upgrade"], env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stdout + up.stderr
    log = open(os.path.join(tmp, "serve.log"), "ab")
    cand = subprocess.Popen([os.path.join(BIN, "aduan"), "serve", "--port", str(cand_port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    bare = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--bare", str(bare_port), url], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_port(cand_port)
            wait_port(bare_port)
        except RuntimeError:
            log.flush()
            print(open(os.path.join(tmp, "serve.log")).read()[-3000:])
            raise
        counter = count(10**6)
        targets = {"serve": (cand_port, "/api/v1/complaints"), "bare": (bare_port, "/bare")}
        for port, path in targets.values():  # warm up
            throughput(port, path, CLIENTS * 5, counter)
        tput: dict = {k: [] for k in targets}
        lat: dict = {k: [] for k in targets}
        for _ in range(rounds):
            for k, (port, path) in targets.items():
                tput[k].append(throughput(port, path, n, counter))
            for k, (port, path) in targets.items():
                lat[k].append(fixed_rate(port, path, 100, seconds, counter))
        med = {k: statistics.median(v) for k, v in tput.items()}
        rows_out.append(("serve", "aduan serve POST /complaints, req/s", "bare Flask route, same waitress",
                         f"{med['serve']:8.0f} vs {med['bare']:8.0f} req/s", f"{med['serve'] / med['bare']:6.2f}x"))
        print(f"  throughput: aduan serve {med['serve']:.0f} req/s, bare route {med['bare']:.0f} req/s "
              f"({med['serve'] / med['bare']:.2f}x)", flush=True)
        for k in targets:
            p50 = statistics.median(x["p50"] for x in lat[k]) * 1000
            p99 = statistics.median(x["p99"] for x in lat[k]) * 1000
            lost = sum(x["unanswered"] for x in lat[k])
            sent = sum(x["n"] for x in lat[k])
            line = f"  at 100 req/s, {k}: p50 {p50:.1f} ms, p99 {p99:.1f} ms, {lost} of {sent} unanswered"
            print(line, flush=True)
            rows_out.append(("serve", f"{k} at 100 req/s: p50 / p99 ms", "", f"{p50:8.1f} / {p99:8.1f}",
                             f"{lost} lost"))
    finally:
        for p in (cand, bare):
            p.send_signal(signal.SIGTERM)
        for p in (cand, bare):
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--bare":
        run_bare(int(sys.argv[2]), sys.argv[3])
