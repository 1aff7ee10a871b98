#!/usr/bin/env python
"""aduan benchmarks: each measurement is a ratio against a baseline measured in the same run.

Run with ``make bench`` (``.venv/bin/python bench/run.py``). What each row means is in
``bench/README.md``. Absolute times depend on the machine and are printed for context only;
nothing here passes or fails on a time.

    bench/run.py [--quick] [--database-url postgresql://...] [--only filing,list,worker,lapor,threads,opendata,sms,serve,lists]
                 [--opendata-sizes 10000,100000,1000000] [--list-urls URL_SMALL,URL_LARGE] [--list-sizes 10000,1000000]

Default database: a temporary SQLite file (WAL, like a regency deployment). With
``--database-url`` (or ``ADUAN_BENCH_DATABASE_URL``) pointing at PostgreSQL, the *public schema
of that database is dropped and recreated*: give it a database of its own.
"""
from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager

import peewee as pw

import aduan

ROWS: list[tuple[str, str, str, str, str]] = []  # (section, measurement, baseline, detail, ratio)
PAGE = 10  # list page size: 100 stored complaints still fill a page for every filter measured


# --- set-up --------------------------------------------------------------------------------------

class BenchJobs:
    """One no-op job kind for the worker measurement."""

    name = "bench"

    @aduan.hookimpl
    def register_jobs(self):
        return {"bench.noop": lambda app, payload, job: None}


def reset_postgres(url: str) -> None:
    from aduan.db import make_database

    db = make_database(url, pool_size=1)
    db.connect()
    db.execute_sql("DROP SCHEMA IF EXISTS public CASCADE")
    db.execute_sql("CREATE SCHEMA public")
    db.close()
    db.close_all()


def build_app(url: str, instance: str):
    from aduan.app import create_app
    from aduan.cli import upgrade_database
    from aduan.db import database

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret",
                      "RATE_LIMIT_FILE": "100000000/hour", "RATE_LIMIT_TRACK": "100000000/hour",
                      "JOB_BACKOFF_BASE": 0, "DATABASE_POOL_SIZE": 16, "PLUGINS": []}, plugins=[BenchJobs()])
    with app.app_context(), database.connection_context():
        upgrade_database(app)
    return app


def seed(app) -> dict:
    from aduan.auth import create_token
    from aduan.db import database
    from aduan.models import Agency, Category, User
    from aduan.regions import load_regions

    with app.app_context(), database.connection_context():
        load_regions(["52.71"])
        a = Agency.create(code="PUPR", name="Dinas PUPR")
        b = Agency.create(code="DIKES", name="Dinas Kesehatan")
        cat = Category.create(code="jalan", name="Jalan", default_agency=a)
        coord = User.create(username="koord", name="Koordinator", role="coordinator")
        officer = User.create(username="off_a", name="Officer A", role="officer", agency=a)
        return {"agencies": [a.id, b.id], "category": cat.id,
                "coordinator": create_token(coord, "bench")[1], "officer": create_token(officer, "bench")[1]}


def complaint_payload(i: int) -> dict:
    return {"title": f"Jalan berlubang {i}", "body": f"Lubang besar di Jl. Pejanggik nomor {i}, sudah dua minggu.",
            "category": "jalan", "region_code": "52.71.01",
            "reporter": {"name": f"Warga {i}", "phone": f"0819{i % 10**8:08d}"}}


def timed(fn, n: int) -> float:
    """Seconds per call of ``fn`` over ``n`` calls."""
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n


def median_of(rounds: int, fn) -> float:
    return statistics.median(fn() for _ in range(rounds))


def interleaved(rounds: int, fns: dict) -> dict:
    """Median of ``rounds`` runs of each function, taken in turn (A B C A B C ...), so that a
    change in machine load during the run affects measurement and baseline alike."""
    samples: dict = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            samples[k].append(fn())
    return {k: statistics.median(v) for k, v in samples.items()}


def row(section: str, what: str, baseline: str, t: float, t_base: float, unit: str = "ms") -> None:
    scale = 1000.0 if unit == "ms" else 1.0
    detail = f"{t * scale:8.3f} vs {t_base * scale:8.3f} {unit}"
    ROWS.append((section, what, baseline, detail, f"{t / t_base:6.2f}x"))
    print(f"  {what:<44} {detail}  ratio {t / t_base:6.2f}", flush=True)


@contextmanager
def connected(app):
    from aduan.db import database

    with app.app_context(), database.connection_context():
        yield database


# --- 1. filing: HTTP API and service vs bare inserts -----------------------------------------------

def bench_filing(app, n: int, rounds: int) -> None:
    from aduan.auth import Actor, hash_access_code, random_code
    from aduan.db import database, utcnow
    from aduan.models import Complaint, Event, Reporter
    from aduan.services import file_complaint

    print("filing a complaint", flush=True)
    client = app.test_client()
    counter = iter(range(10**9))

    def api_once():
        r = client.post("/api/v1/complaints", json=complaint_payload(next(counter)))
        assert r.status_code == 201, r.get_json()

    def service_once():
        file_complaint(complaint_payload(next(counter)), actor=Actor(role="reporter"))

    cat = 1

    def bare_once():
        i = next(counter)
        now = utcnow()
        tid, code = random_code(8), random_code(10)
        with database.atomic():
            rep = Reporter.insert(name=f"Warga {i}", phone=f"+62819{i % 10**8:08d}", phone_raw=f"0819{i:08d}",
                                  language="id", created_at=now).execute()
            cid = Complaint.insert(tracking_id=tid, access_code_hash=hash_access_code(tid, code),
                                   title=f"Jalan berlubang {i}", body=f"Lubang besar di Jl. Pejanggik nomor {i}.",
                                   category=cat, reporter=rep, region="52.71.01", channel="web",
                                   status="received", created_at=now, updated_at=now).execute()
            Event.insert(complaint=cid, type="file", actor_role="reporter", to_status="received",
                         source="web", data={"channel": "web"}, created_at=now).execute()

    def in_connection(fn):
        def batch():
            with connected(app):
                return timed(fn, n)
        return batch

    # The API round runs outside `connected`: a request returns the thread's connection at teardown.
    fns = {"api": lambda: timed(api_once, n), "service": in_connection(service_once), "bare": in_connection(bare_once)}
    for f in fns.values():  # warm up
        f()
    t = interleaved(rounds, fns)
    t_api, t_service, t_bare = t["api"], t["service"], t["bare"]
    row("filing", "HTTP API POST /complaints, per complaint", "bare peewee insert", t_api, t_bare)
    row("filing", "services.file_complaint, per complaint", "bare peewee insert", t_service, t_bare)


# --- 2. listing: 10k complaints vs 100 -------------------------------------------------------------

def grow_complaints(app, target: int, ids: dict) -> None:
    """Insert complaints (and reporters) in bulk until there are ``target`` of them."""
    from aduan.auth import random_code
    from aduan.db import database, is_postgres, utcnow
    from aduan.models import STATUSES, Complaint, Reporter

    rnd = random.Random(target)
    with connected(app):
        have = Complaint.select().count()
        start = utcnow()
        with database.atomic():
            for lo in range(have, target, 500):
                hi = min(target, lo + 500)
                reps = [{"name": f"Warga {i}", "phone": f"+62819{i:08d}", "language": "id", "created_at": start}
                        for i in range(lo, hi)]
                Reporter.insert_many(reps).execute()
                first_rep = Reporter.select(pw.fn.MAX(Reporter.id)).scalar() - (hi - lo) + 1
                rows = []
                for k, i in enumerate(range(lo, hi)):
                    status = STATUSES[i % len(STATUSES)]  # an equal share of each status
                    rows.append({
                        "tracking_id": random_code(8) + f"{i:x}"[-4:], "access_code_hash": "x" * 64,
                        "title": f"Aduan {i}", "body": f"Isi aduan nomor {i} tentang jalan dan drainase.",
                        "category": ids["category"], "agency": None if status == "received" else rnd.choice(ids["agencies"]),
                        "reporter": first_rep + k, "region": "52.71.01", "channel": rnd.choice(["web", "sms", "email"]),
                        "status": status, "created_at": start, "updated_at": start})
                Complaint.insert_many(rows).execute()
        if is_postgres():
            database.execute_sql("ANALYZE")  # what autovacuum would do after a bulk load


def list_cases(app, ids: dict) -> dict:
    """The list requests measured, as functions doing one request each."""
    from aduan.models import Complaint

    client = app.test_client()
    coord = {"Authorization": f"Bearer {ids['coordinator']}"}
    officer = {"Authorization": f"Bearer {ids['officer']}"}
    with connected(app):
        lo = Complaint.select(pw.fn.MIN(Complaint.id)).scalar()
    last = base64.urlsafe_b64encode(str(lo + PAGE).encode()).decode().rstrip("=")

    def get(url, headers):
        def once():
            r = client.get(url, headers=headers)
            assert r.status_code == 200, r.get_json()
            # a full page at both sizes: the same rendering work, only the stored rows differ
            assert len(r.get_json()["items"]) == PAGE, (url, len(r.get_json()["items"]))
        return once

    return {
        f"first page (coordinator, {PAGE})": get(f"/api/v1/complaints?limit={PAGE}", coord),
        "last full page by cursor (coordinator)": get(f"/api/v1/complaints?limit={PAGE}&cursor={last}", coord),
        "first page, status=resolved": get(f"/api/v1/complaints?limit={PAGE}&status=resolved", coord),
        "first page, officer (own agency)": get(f"/api/v1/complaints?limit={PAGE}", officer),
        "first page, public (no token)": get(f"/api/v1/complaints?limit={PAGE}", {}),
    }


def bench_list(fresh, engine: str, small: int, large: int, n: int, rounds: int) -> None:
    from aduan.db import database
    from aduan.models import Complaint

    print(f"listing complaints: {large} stored vs {small}", flush=True)
    if engine == "sqlite":
        # two databases side by side, measured in turn
        apps = {}
        for size in (small, large):
            app = fresh()
            ids = seed(app)
            grow_complaints(app, size, ids)
            apps[size] = (app, database.obj, list_cases(app, ids))

        def on(size, fn):
            def batch():
                database.initialize(apps[size][1])
                return timed(fn, n)
            return batch

        for size in (small, large):
            for f in apps[size][2].values():
                on(size, f)()  # warm up
        for k in apps[small][2]:
            t = interleaved(rounds, {"small": on(small, apps[small][2][k]), "large": on(large, apps[large][2][k])})
            row("list", f"{k} @{large}", f"same @{small}", t["large"], t["small"])
        app = apps[large][0]
        database.initialize(apps[large][1])
    else:
        # PostgreSQL: one database; measure, grow, measure again
        app = fresh()
        ids = seed(app)
        at = {}
        for size in (small, large):
            grow_complaints(app, size, ids)
            cases = list_cases(app, ids)
            for f in cases.values():
                timed(f, 3)
            at[size] = {k: median_of(rounds, lambda f=f: timed(f, n)) for k, f in cases.items()}
        for k in at[small]:
            row("list", f"{k} @{large}", f"same @{small}", at[large][k], at[small][k])

    # Why keyset: the same last page by OFFSET (bare peewee, no HTTP) vs by cursor.
    with connected(app):
        total = Complaint.select().count()
        lo = Complaint.select(pw.fn.MIN(Complaint.id)).scalar()

        def by_offset():
            list(Complaint.select(Complaint.id, Complaint.title).order_by(Complaint.id.desc())
                 .offset(total - 50).limit(50))

        def by_cursor():
            list(Complaint.select(Complaint.id, Complaint.title).where(Complaint.id < lo + 50)
                 .order_by(Complaint.id.desc()).limit(50))

        timed(by_offset, 3), timed(by_cursor, 3)
        t = interleaved(rounds, {"offset": lambda: timed(by_offset, n), "cursor": lambda: timed(by_cursor, n)})
    row("list", f"last page by OFFSET, bare query @{large}", "same page by keyset", t["offset"], t["cursor"])


# --- 3. worker: see bench/worker_bench.py -------------------------------------------------------


# --- 4. concurrent filing: 8 threads vs 1 ----------------------------------------------------------

def bench_threads(app, n: int, threads: int) -> None:
    print(f"concurrent filing: {threads} threads vs 1", flush=True)
    counter = iter(range(10**8, 2 * 10**8))
    lock = threading.Lock()

    def file_many(k: int, errors: list):
        client = app.test_client()
        for _ in range(k):
            with lock:
                i = next(counter)
            r = client.post("/api/v1/complaints", json=complaint_payload(i))
            if r.status_code != 201:
                errors.append(r.status_code)

    def run(nthreads: int) -> float:
        errors: list = []
        per = n // nthreads
        ts = [threading.Thread(target=file_many, args=(per, errors)) for _ in range(nthreads)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        dt_ = time.perf_counter() - t0
        assert not errors, errors[:5]
        return dt_ / (per * nthreads)  # seconds per complaint (inverse throughput)

    run(1)
    t = interleaved(2, {"one": lambda: run(1), "many": lambda: run(threads)})
    t1, tn = t["one"], t["many"]
    row("threads", f"{threads} threads, wall time per complaint", "1 thread", tn, t1)


# --- main --------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run, noisier ratios)")
    ap.add_argument("--database-url", default=os.environ.get("ADUAN_BENCH_DATABASE_URL"),
                    help="PostgreSQL URL (its public schema is DROPPED); default: a temporary SQLite file")
    ap.add_argument("--only", default="filing,list,worker,lapor,threads,opendata,sms,serve,lists")
    ap.add_argument("--opendata-sizes", default="10000,100000,1000000",
                    help="complaint counts for the open-data export case (comma-separated)")
    ap.add_argument("--list-urls", default=os.environ.get("ADUAN_BENCH_LIST_URLS"),
                    help="lists: two PostgreSQL URLs, small and large (their public schemas are DROPPED unless "
                         "--keep finds them filled); default: two SQLite files")
    ap.add_argument("--list-sizes", default="10000,1000000", help="lists: complaints in the small and large database")
    ap.add_argument("--keep", action="store_true", help="lists: reuse databases already holding the sizes asked")
    args = ap.parse_args(argv)
    only = set(args.only.split(","))
    q = args.quick
    rounds = 3 if q else 5

    import logging

    logging.getLogger("aduan").setLevel(logging.ERROR)
    tmp = tempfile.mkdtemp(prefix="aduan-bench-")
    url = args.database_url or "sqlite:///" + os.path.join(tmp, "bench.db")
    engine = "postgresql" if url.startswith("postgres") else "sqlite"
    print(f"aduan {aduan.__version__} bench on {engine}, python {sys.version.split()[0]}, peewee {pw.__version__}")
    t_start = time.perf_counter()

    def fresh():
        if engine == "postgresql":
            reset_postgres(url)
            return build_app(url, tmp)
        path = os.path.join(tmp, f"bench-{random.randrange(10**9)}.db")
        return build_app("sqlite:///" + path, tmp)

    if "filing" in only:
        app = fresh()
        seed(app)
        bench_filing(app, n=30 if q else 80, rounds=rounds)
    if "list" in only:
        bench_list(fresh, engine, small=100, large=10_000, n=10 if q else 25, rounds=rounds)
    if "worker" in only or "lapor" in only:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        reset = (lambda: reset_postgres(url)) if engine == "postgresql" else None
        if "worker" in only:
            import worker_bench

            worker_bench.bench(url if reset else "sqlite:///" + os.path.join(tmp, "worker.db"), tmp, rounds, row, q,
                               reset=reset)
        if "lapor" in only:
            import lapor_bench

            lapor_bench.bench(url if reset else "sqlite:///" + os.path.join(tmp, "lapor.db"), tmp, rounds, row, q,
                              reset=reset)
    if "threads" in only:
        app = fresh()
        seed(app)
        bench_threads(app, n=160 if q else 320, threads=8)

    if "opendata" in only:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import opendata_export

        def fresh_od():
            if engine == "postgresql":
                reset_postgres(url)
                return opendata_export.build_app(url, tmp), url, tmp
            u = "sqlite:///" + os.path.join(tmp, f"od-{random.randrange(10**9)}.db")
            return opendata_export.build_app(u, tmp), u, tmp

        sizes = [int(x) for x in args.opendata_sizes.split(",")]
        if q:
            sizes = [s for s in sizes if s <= 100_000] or sizes[:1]
        opendata_export.bench(fresh_od, sizes, 2 if q else 3, row, ROWS)

    if "sms" in only:  # inbound SMS through the real webhook (aduan serve) vs a bare Flask route
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import sms_bench

        def fresh_url():
            if engine == "postgresql":
                reset_postgres(url)
                return url
            return "sqlite:///" + os.path.join(tmp, f"sms-{random.randrange(10**9)}.db")

        sms_bench.bench(fresh_url, n=100 if q else 300, rounds=rounds, row=row)
    if "serve" in only or "lists" in only:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if "serve" in only:
        import serve_bench

        app = fresh()
        seed(app)
        serve_bench.bench(app.config["DATABASE_URL"], rounds=rounds, n=400 if q else 1200, seconds=4 if q else 8, rows_out=ROWS)
    if "lists" in only:
        import lists_bench

        sizes = tuple(int(x) for x in args.list_sizes.split(","))
        list_urls = args.list_urls.split(",") if args.list_urls else [
            "sqlite:///" + os.path.join(tmp, f"lists-{size}.db") for size in sizes]
        lists_bench.bench(list_urls, sizes, rounds, 5 if q else 10, args.keep, ROWS)

    print()
    print(f"{'measurement':<46} {'baseline':<28} {'time vs baseline':<28} ratio")
    print("-" * 112)
    for section, what, base, detail, ratio in ROWS:
        print(f"{what:<46} {base:<28} {detail:<28} {ratio}")
    print(f"\n{engine}; {time.perf_counter() - t_start:.0f} s in all. Ratios compare runs on this machine in this "
          f"process; absolute times are context only (see bench/README.md).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
