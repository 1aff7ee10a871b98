"""Worker cases of ``bench/run.py`` (section ``worker``): each a ratio to a baseline measured in the same run.

* no-op jobs through ``Worker.run_once`` (one thread, and ``WORKER_CONCURRENCY`` threads) vs the raw SQL
  claim-and-finish loop (``UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING id`` + ``UPDATE``);
* 4 worker processes vs 1 draining the same no-op jobs (wall time per job, start-up excluded);
* I/O-bound jobs (each waits 50 ms) with ``WORKER_CONCURRENCY`` 8 vs 1 in one worker process.

Run alone: ``.venv/bin/python bench/worker_bench.py [--quick] [--database-url postgresql://…]``.
A worker process of the scaling case is this file run with ``--drain``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import aduan
from aduan import JobRequest

HERE = os.path.dirname(os.path.abspath(__file__))
IO_WAIT = 0.05


class WorkerBenchJobs:
    name = "wbench"

    @aduan.hookimpl
    def register_jobs(self):
        from aduan import JobKind

        return {"wbench.noop": JobKind(lambda app, payload, job: None, ordered=False),
                "wbench.io": JobKind(lambda app, payload, job: time.sleep(IO_WAIT), ordered=False)}


def build_app(url: str, instance: str, **config):
    from aduan.app import create_app
    from aduan.cli import upgrade_database
    from aduan.db import database

    cfg = {"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret", "JOB_BACKOFF_BASE": 0,
           "DATABASE_POOL_SIZE": 16, "PLUGINS": []}
    cfg.update(config)
    app = create_app(cfg, plugins=[WorkerBenchJobs()])
    with app.app_context(), database.connection_context():
        upgrade_database(app)
    return app


def fill(app, kind: str, n: int) -> None:
    from aduan.db import database
    from aduan.jobs import enqueue
    from aduan.models import Job

    with app.app_context(), database.connection_context():
        Job.delete().execute()
        with database.atomic():
            for i in range(n):
                enqueue(JobRequest(kind, {"i": i}))


def drain(app, n: int, concurrency: int) -> float:
    """Seconds per job for one worker draining ``n`` due jobs."""
    from aduan.db import database
    from aduan.jobs import Worker

    w = Worker(app, worker_id=f"bench-{concurrency}", concurrency=concurrency)
    with app.app_context(), database.connection_context():
        t0 = time.perf_counter()
        done = 0
        while done < n:
            c = w.run_once(schedules=False, max_jobs=n)
            if not c["done"]:
                break
            done += c["done"]
        dt_ = time.perf_counter() - t0
    w.close()
    assert done == n, (done, n)
    return dt_ / n


def raw_loop(app, n: int) -> float:
    """The minimal SQL for the same work: one claim statement and one finish statement per job."""
    from aduan.db import database, is_postgres, utcnow

    lock = " FOR UPDATE SKIP LOCKED" if is_postgres(database.obj) else ""
    p = database.obj.param
    claim = ("UPDATE job SET status = 'running', attempts = attempts + 1, locked_by = {p}, locked_until = {p} "
             "WHERE id = (SELECT id FROM job WHERE status = 'pending' AND run_at <= {p} "
             "ORDER BY run_at, id LIMIT 1" + lock + ") RETURNING id").format(p=p)
    finish = ("UPDATE job SET status = 'done', locked_by = NULL, locked_until = NULL, finished_at = {p} "
              "WHERE id = {p}").format(p=p)
    with app.app_context(), database.connection_context():
        t0 = time.perf_counter()
        done = 0
        while True:
            now = utcnow()
            with database.atomic():
                got = database.execute_sql(claim, ("bench", now, now)).fetchone()
            if got is None:
                break
            database.execute_sql(finish, (utcnow(), got[0]))
            done += 1
        dt_ = time.perf_counter() - t0
    assert done == n, (done, n)
    return dt_ / n


def processes(url: str, instance: str, workers: int, n: int) -> float:
    """Seconds per job for ``workers`` worker processes draining ``n`` no-op jobs (from the moment all have
    started to the last one's end)."""
    go = os.path.join(instance, f"go-{time.monotonic_ns()}")
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--drain", "--database-url", url,
                               "--instance", instance, "--go", go], stdout=subprocess.PIPE, text=True)
             for _ in range(workers)]
    ready = [p.stdout.readline().strip() for p in procs]
    assert all(r == "ready" for r in ready), ready
    open(go, "w").close()
    results = [json.loads(p.stdout.readline()) for p in procs]
    for p in procs:
        p.wait(60)
    assert sum(r["done"] for r in results) == n, results
    return (max(r["end"] for r in results) - min(r["start"] for r in results)) / n


def child(url: str, instance: str, go: str) -> None:
    import logging

    from aduan.db import database
    from aduan.jobs import Worker

    logging.getLogger("aduan").setLevel(logging.ERROR)
    app = build_app(url, instance)
    w = Worker(app, concurrency=1)
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.002)
    done = 0
    with app.app_context(), database.connection_context():
        start = time.time()
        while True:
            c = w.run_once(schedules=False, max_jobs=100)
            if not c["done"]:
                break
            done += c["done"]
        end = time.time()
    print(json.dumps({"done": done, "start": start, "end": end}), flush=True)


def bench(url: str, instance: str, rounds: int, row, quick: bool = False, reset=None) -> None:
    from aduan.db import database

    n = 300 if quick else 1000
    if reset:
        reset()
    app = build_app(url, instance)
    threads = app.config["WORKER_CONCURRENCY"]
    print(f"worker: {n} no-op jobs; worker (1 thread, {threads} threads) vs the raw claim-and-finish loop", flush=True)
    from run import interleaved  # noqa: E402 - bench/ is on sys.path when run from run.py or alone

    def case(fn):
        def once():
            fill(app, "wbench.noop", n)
            return fn()
        return once

    case(lambda: raw_loop(app, n))(), case(lambda: drain(app, n, 1))()  # warm up
    t = interleaved(rounds, {"raw": case(lambda: raw_loop(app, n)), "one": case(lambda: drain(app, n, 1)),
                             "many": case(lambda: drain(app, n, threads))})
    row("worker", "Worker.run_once, no-op job, 1 thread", "raw claim + finish loop", t["one"], t["raw"])
    row("worker", f"Worker.run_once, no-op job, {threads} threads", "raw claim + finish loop", t["many"], t["raw"])
    print(f"  ({1 / t['one']:,.0f} jobs/s with 1 thread, {1 / t['many']:,.0f}/s with {threads}, "
          f"{1 / t['raw']:,.0f}/s raw)", flush=True)

    m = 400 if quick else 2000
    print(f"worker: {m} no-op jobs drained by 4 worker processes vs 1", flush=True)

    def procs(k):
        def once():
            fill(app, "wbench.noop", m)
            database.close_all() if hasattr(database, "close_all") else None
            return processes(url, instance, k, m)
        return once

    t = interleaved(max(2, rounds - 2), {"one": procs(1), "four": procs(4)})
    row("worker", "4 worker processes, per no-op job", "1 worker process", t["four"], t["one"])
    print(f"  ({1 / t['one']:,.0f} jobs/s with 1 process, {1 / t['four']:,.0f}/s with 4: "
          f"x{t['one'] / t['four']:.2f})", flush=True)

    k = 80 if quick else 200
    conc = 8
    print(f"worker: {k} I/O-bound jobs (each waits {IO_WAIT * 1000:.0f} ms), {conc} threads vs 1", flush=True)

    def io(c):
        def once():
            fill(app, "wbench.io", k)
            return drain(app, k, c)
        return once

    t = interleaved(max(2, rounds - 2), {"one": io(1), "many": io(conc)})
    row("worker", f"I/O-bound jobs (50 ms), {conc} threads, per job", "same, 1 thread", t["many"], t["one"])
    print(f"  ({1 / t['one']:,.1f} jobs/s with 1 thread, {1 / t['many']:,.1f}/s with {conc})", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--database-url", default=os.environ.get("ADUAN_BENCH_DATABASE_URL"))
    ap.add_argument("--drain", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--instance", help=argparse.SUPPRESS)
    ap.add_argument("--go", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.drain:
        child(args.database_url, args.instance, args.go)
        return 0
    sys.path.insert(0, HERE)
    import logging

    import run

    logging.getLogger("aduan").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="aduan-wbench-")
    url = args.database_url or "sqlite:///" + os.path.join(tmp, "bench.db")
    reset = (lambda: run.reset_postgres(url)) if url.startswith("postgres") else None
    bench(url, tmp, 3 if args.quick else 5, run.row, args.quick, reset=reset)
    run.print_rows() if hasattr(run, "print_rows") else None
    return 0


if __name__ == "__main__":
    sys.exit(main())
