"""LAPOR! backlog case of ``bench/run.py`` (section ``lapor``): a ratio to a baseline measured in the same run.

A backlog of N complaints waiting to be pushed to SP4N-LAPOR! (``lapor.push`` jobs) is drained by one
worker process (this one: ``Worker.run_once`` with ``WORKER_CONCURRENCY``/``LAPOR_CONCURRENCY`` threads
and the client's default ``LAPOR_RATE_LIMIT``) against the simulator run as a separate process
(``python -m aduan_lapor.simulator --latency 100``: every answer takes 100 ms). Baseline: raw HTTP posts
of the same E4 bodies to the same simulator from as many threads, with a kept-alive session each.
Also, for context, the same backlog with ``LAPOR_CONCURRENCY=1`` (pushes one at a time, as before).

Run alone: ``.venv/bin/python bench/lapor_bench.py [--quick] [--n 1000] [--latency 100] [--database-url …]``.

The backlog of issue #11, measured whole (not extrapolated)::

    .venv/bin/python bench/lapor_bench.py --backlog 10000 [--latency 100] [--concurrency 8]

files 10,000 complaints (not timed), then times once, end to end: raw posts of 10,000 E4 bodies, then one
worker process draining the 10,000 ``lapor.push`` jobs (the app's defaults for ``LAPOR_RATE_LIMIT``
and ``LAPOR_RATE_BURST``; ``WORKER_CONCURRENCY`` = ``LAPOR_CONCURRENCY`` = ``--concurrency``). It prints
both wall times, their ratio, the rate limit's floor (N / ``LAPOR_RATE_LIMIT``) and whether the worker
met the target (≤ 5 min).
"""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PORTS = range(5250, 5300)  # this bench's own port range


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def start_simulator(latency_ms: float, jitter_ms: float = 0.0):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aduan_lapor.simulator", "--port", str(port),
                             "--latency", str(latency_ms), "--jitter", str(jitter_ms)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the simulator did not start")


def build_app(url: str, instance: str, sim_url: str, concurrency: int, **extra):
    from aduan.app import create_app
    from aduan.cli import upgrade_database
    from aduan.db import database
    from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN

    cfg = {"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret", "PLUGINS": ["lapor"],
           "RATE_LIMIT_FILE": "100000000/hour", "RATE_LIMIT_TRACK": "100000000/hour", "DATABASE_POOL_SIZE": 24,
           "LAPOR_BASE_URL": sim_url, "LAPOR_BEARER_TOKEN": DEFAULT_TOKEN, "LAPOR_TOKEN_GUID": DEFAULT_GUID,
           "LAPOR_INSTITUTION_ID": 1001, "LAPOR_PUSH_ON": "file", "LAPOR_POLL_SECONDS": 86400,
           "LAPOR_INSTITUTION_SYNC_SECONDS": 86400, "WORKER_CONCURRENCY": concurrency,
           "LAPOR_CONCURRENCY": concurrency}
    cfg.update(extra)
    app = create_app(cfg)
    with app.app_context(), database.connection_context():
        upgrade_database(app)
    return app


def file_backlog(app, n: int, start: int) -> None:
    """``n`` complaints filed (not timed): each leaves a ``lapor.push`` job (``LAPOR_PUSH_ON=file``)."""
    from aduan.auth import Actor
    from aduan.db import database
    from aduan.services import file_complaint

    with app.app_context(), database.connection_context():
        for i in range(start, start + n):
            file_complaint({"title": f"Jalan berlubang {i}", "body": f"Lubang besar di Jl. Pejanggik nomor {i}.",
                            "category": "jalan", "region_code": "52.71.01",
                            "reporter": {"name": f"Warga {i}", "phone": f"0819{i % 10**8:08d}"}},
                           actor=Actor(role="reporter"))


def push_backlog(app, n: int) -> float:
    """Seconds per complaint for one worker process to push the backlog."""
    from aduan.db import database
    from aduan.jobs import Worker
    from aduan.models import Job

    w = Worker(app, worker_id="lapor-bench")
    with app.app_context(), database.connection_context():
        t0 = time.perf_counter()
        done = 0
        while True:
            c = w.run_once(schedules=False, max_jobs=10_000)
            done += c["done"]
            if not any(c[k] for k in ("done", "retry", "dead")):
                break
        dt_ = time.perf_counter() - t0
        left = Job.select().where((Job.kind == "lapor.push") & (Job.status != "done")).count()
    w.close()
    assert done >= n and left == 0, (done, n, left)
    return dt_ / n


def raw_posts(sim_url: str, n: int, threads: int, body: dict) -> float:
    """Seconds per complaint for bare ``requests`` posts of the E4 body from ``threads`` threads."""
    import requests

    from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN

    headers = {"Accept": "application/json", "auth": f"Bearer {DEFAULT_TOKEN}", "token": DEFAULT_GUID}
    left = iter(range(n))
    lock = threading.Lock()
    errors = []

    def run():
        s = requests.Session()
        while True:
            with lock:
                if next(left, None) is None:
                    return
            r = s.post(sim_url + "/complaints/complaint", json=body, headers=headers, timeout=30)
            if r.status_code != 200:
                errors.append(r.status_code)

    t0 = time.perf_counter()
    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors[:5]
    return (time.perf_counter() - t0) / n


def e4_body(app) -> dict:
    from aduan.db import database
    from aduan.models import Complaint
    from aduan_lapor.sync import create_body

    with app.app_context(), database.connection_context():
        return create_body(Complaint.select().order_by(Complaint.id).first(), [])


def bench(url: str, instance: str, rounds: int, row, quick: bool = False, reset=None, n: int | None = None,
          latency_ms: float = 100.0, concurrency: int = 16) -> None:
    from aduan.db import database
    from aduan.testing import seed_basics

    from run import interleaved  # noqa: E402 - bench/ is on sys.path

    n = n or (300 if quick else 1000)
    sim, sim_url = start_simulator(latency_ms)
    try:
        if reset:
            reset()
        app = build_app(url, instance, sim_url, concurrency)
        with app.app_context(), database.connection_context():
            seed_basics()
        rate = app.config["LAPOR_RATE_LIMIT"]
        print(f"lapor: backlog of {n} complaints, simulator answering in {latency_ms:g} ms; one worker process, "
              f"{concurrency} threads, LAPOR_RATE_LIMIT {rate:g}/s; vs raw posts from {concurrency} threads",
              flush=True)
        filed = [0]

        def worker_once():
            file_backlog(app, n, filed[0])
            filed[0] += n
            return push_backlog(app, n)

        file_backlog(app, 1, 10**7)  # a complaint for the E4 body of the baseline
        push_backlog(app, 1)
        body = e4_body(app)
        t = interleaved(max(1, rounds - 3), {"raw": lambda: raw_posts(sim_url, n, concurrency, body),
                                             "worker": worker_once})
        row("lapor", f"LAPOR! backlog, per complaint @{latency_ms:g} ms", f"raw posts, {concurrency} threads",
            t["worker"], t["raw"])
        print(f"  ({1 / t['worker']:,.1f} complaints/s pushed, {1 / t['raw']:,.1f}/s raw posts; a 10,000 backlog "
              f"extrapolated from N={n}: {10_000 * t['worker'] / 60:.1f} min)", flush=True)

        k = 60 if quick else 150
        app1 = build_app(url, instance, sim_url, 1)
        file_backlog(app1, k, 2 * 10**7)
        t1 = push_backlog(app1, k)
        row("lapor", f"same, LAPOR_CONCURRENCY=1 (N={k})", f"raw posts, {concurrency} threads", t1, t["raw"])
        print(f"  ({1 / t1:,.1f} complaints/s one at a time)", flush=True)
    finally:
        sim.terminate()
        sim.wait(10)


def backlog(url: str, instance: str, n: int, latency_ms: float = 100.0, concurrency: int = 8,
            reset=None, target_s: float = 300.0, lapor_concurrency: int | None = None) -> dict:
    """One backlog of ``n`` complaints timed end to end (see the module's docstring); returns the figures."""
    from aduan.db import database
    from aduan.testing import seed_basics

    sim, sim_url = start_simulator(latency_ms)
    try:
        if reset:
            reset()
        lc = lapor_concurrency or concurrency
        app = build_app(url, instance, sim_url, concurrency, LAPOR_CONCURRENCY=lc)
        with app.app_context(), database.connection_context():
            seed_basics()
        rate = float(app.config["LAPOR_RATE_LIMIT"] or 0)
        file_backlog(app, 1, 10**7)  # a complaint for the E4 body of the baseline (and a warm worker)
        push_backlog(app, 1)
        body = e4_body(app)
        t0 = time.perf_counter()
        file_backlog(app, n, 0)
        filed = time.perf_counter() - t0
        load = os.getloadavg()
        print(f"lapor backlog: {n:,} complaints filed in {filed:.0f} s (not timed); simulator answering in "
              f"{latency_ms:g} ms; one worker process, {concurrency} threads, LAPOR_CONCURRENCY {lc}, "
              f"LAPOR_RATE_LIMIT {rate:g}/s; "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
        raw = raw_posts(sim_url, n, concurrency, body) * n
        print(f"  raw posts, {concurrency} threads: {raw:.1f} s ({n / raw:,.1f}/s)", flush=True)
        cpu0 = time.process_time()
        wall = push_backlog(app, n) * n
        cpu = time.process_time() - cpu0  # this process: the worker and its threads (the simulator runs apart)
        floor = n / rate if rate else 0.0
        load = os.getloadavg()
        print(f"  worker, {n:,} pushes: {wall:.1f} s = {wall / 60:.2f} min ({n / wall:,.1f}/s); "
              f"ratio to raw posts {wall / raw:.2f}x; rate-limit floor {floor:.0f} s ({wall / floor if floor else 0:.2f}x "
              f"of it); target {target_s / 60:g} min: {'met' if wall <= target_s else 'MISSED'}; "
              f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}", flush=True)
        print(f"  the worker process's CPU: {cpu:.1f} s, {cpu / n * 1000:.2f} ms per push (at "
              f"{rate:g}/s a push may use at most {1000 / rate if rate else 0:.0f} ms of one core)", flush=True)
        return {"n": n, "worker_s": wall, "raw_s": raw, "floor_s": floor, "ratio": wall / raw, "cpu_s": cpu}
    finally:
        sim.terminate()
        sim.wait(10)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--latency", type=float, default=100.0)
    ap.add_argument("--concurrency", type=int, default=None,
                    help="worker threads = LAPOR_CONCURRENCY (default 16 for the ratio rows, 8 with --backlog)")
    ap.add_argument("--lapor-concurrency", type=int, default=None,
                    help="LAPOR_CONCURRENCY when it should differ from the worker's threads (--backlog only)")
    ap.add_argument("--backlog", type=int, default=None, metavar="N",
                    help="time one backlog of N complaints end to end (issue #11: --backlog 10000)")
    ap.add_argument("--database-url", default=os.environ.get("ADUAN_BENCH_DATABASE_URL"))
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    import logging

    import run

    logging.getLogger("aduan").setLevel(logging.ERROR)
    logging.getLogger("aduan_lapor").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="aduan-lbench-")
    url = args.database_url or "sqlite:///" + os.path.join(tmp, "bench.db")
    reset = (lambda: run.reset_postgres(url)) if url.startswith("postgres") else None
    if args.backlog:
        backlog(url, tmp, args.backlog, args.latency, args.concurrency or 8, reset=reset,
                lapor_concurrency=args.lapor_concurrency)
        return 0
    bench(url, tmp, 4 if args.quick else 5, run.row, args.quick, reset=reset, n=args.n, latency_ms=args.latency,
          concurrency=args.concurrency or 16)
    return 0


if __name__ == "__main__":
    sys.exit(main())
