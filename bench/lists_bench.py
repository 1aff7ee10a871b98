#!/usr/bin/env python
"""Staff list pages at 10,000 and 1,000,000 complaints, every filter, every plugin enabled.

Two databases are filled by :func:`generate.generate` (same seed, same skew): a small one
(``--small``, 10,000) and a large one (``--large``, 1,000,000). Each case is one
``GET /api/v1/complaints?limit=50&…`` through the Flask app (all first-party plugins, as
``make run`` enables them), taken in turn on both databases over several rounds; the table gives
the large database's p95 and its ratio to the small one's, and the number of SQL statements the
page ran (the same at both sizes, and for 5 or 50 complaints: ``tests/test_list_queries.py``).

On PostgreSQL pass two URLs of databases of their own (``--list-urls URL_SMALL,URL_LARGE``): their
``public`` schema is dropped and filled, unless it already holds exactly the complaints asked
(``--keep``: reuse a generated database between runs, a million complaints take minutes). With
no URLs: two SQLite files in a temporary folder.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PAGE = 50


def plugins() -> list[str]:
    root = os.path.join(HERE, "..", "plugins")
    return sorted(d for d in os.listdir(root) if os.path.exists(os.path.join(root, d, "pyproject.toml")))


def prepare(url: str, n: int, keep: bool):
    """A migrated database at ``url`` holding ``n`` generated complaints; returns (app, tokens)."""
    import peewee as pw

    from aduan.app import create_app
    from aduan.auth import create_token
    from aduan.cli import upgrade_database
    from aduan.db import database, make_database
    from aduan.models import Agency, Complaint, User

    from generate import generate

    have = None
    if keep:
        db = make_database(url, pool_size=1)
        try:
            db.connect()
            have = db.execute_sql("SELECT COUNT(*) FROM complaint").fetchone()[0]
        except pw.DatabaseError:
            have = None
        finally:
            db.close()
            if hasattr(db, "close_all"):
                db.close_all()
    fresh = have != n
    if fresh and url.startswith("postgres"):
        from run import reset_postgres

        reset_postgres(url)
    tmp = tempfile.mkdtemp(prefix="aduan-lists-")
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": tmp, "SECRET_KEY": "bench-lists-secret",
                      "PLUGINS": plugins(), "SMS_GENERIC_SECRET": "bench", "DATABASE_POOL_SIZE": 4,
                      "ACCESS_LOG": False})
    with app.app_context(), database.connection_context():
        upgrade_database(app)
    if fresh:
        t0 = time.perf_counter()
        print(f"  generating {n:,} complaints ...", flush=True)
        generate(url, n, seed=11, quiet=True)
        print(f"  generated {n:,} complaints in {time.perf_counter() - t0:.0f} s", flush=True)
    with app.app_context(), database.connection_context():
        top = (Complaint.select(Complaint.agency, pw.fn.COUNT(Complaint.id).alias("n"))
               .where(Complaint.agency.is_null(False)).group_by(Complaint.agency)
               .order_by(pw.fn.COUNT(Complaint.id).desc()).tuples())
        ranked = [a for a, _ in top]
        User.delete().where(User.username.in_(["bench_koord", "bench_off"])).execute()
        koord = User.create(username="bench_koord", name="Koordinator", role="coordinator")
        officer = User.create(username="bench_off", name="Officer", role="officer", agency=ranked[0])
        tokens = {"coordinator": create_token(koord, "bench")[1], "officer": create_token(officer, "bench")[1],
                  "top_agency": ranked[0], "rare_agency": ranked[-1],
                  "category": Complaint.select(Complaint.category).where(Complaint.id == Complaint.select(
                      pw.fn.MIN(Complaint.id))).scalar()}
        Agency.get_by_id(ranked[0])
    return app, tokens


def cases(ids: dict) -> dict:
    """name → (query string, who): every filter of the list."""
    mid_from, mid_to = "2025-06-01", "2025-06-14"
    return {
        "first page": ("", "coordinator"),
        "second page (cursor)": ("CURSOR", "coordinator"),
        "status=resolved": ("status=resolved", "coordinator"),
        "status=on_hold (3%)": ("status=on_hold", "coordinator"),
        "agency_id (largest)": (f"agency_id={ids['top_agency']}", "coordinator"),
        "agency_id (smallest)": (f"agency_id={ids['rare_agency']}", "coordinator"),
        "category_id": (f"category_id={ids['category']}", "coordinator"),
        "urgency=mendesak": ("urgency=mendesak", "coordinator"),
        "channel=lapor (3%)": ("channel=lapor", "coordinator"),
        "kind=permintaan_informasi": ("kind=permintaan_informasi", "coordinator"),
        "region=52.71 (prefix)": ("region=52.71", "coordinator"),
        "created 2 weeks (2025-06)": (f"created_from={mid_from}&created_to={mid_to}", "coordinator"),
        "overdue=true": ("overdue=true", "coordinator"),
        "q=banjir": ("q=banjir", "coordinator"),
        "q=jembatan gantung": ("q=jembatan%20gantung", "coordinator"),
        "q=gantung di Senaru (rare)": ("q=gantung%20di%20Senaru", "coordinator"),
        # 7 matches at 10,000 and a full page at 1,000,000: the pair renders 7 items against 50
        "q + status + 2 weeks": (f"q=sampah&status=closed&created_from={mid_from}&created_to={mid_to}", "coordinator"),
        # the same filters over a quarter: 39 matches at 10,000, so the pair compares nearly the same work
        "q + status + 3 months": ("q=sampah&status=closed&created_from=2025-05-01&created_to=2025-07-31",
                                  "coordinator"),
        "officer (own agency)": ("", "officer"),
        "public (no token)": ("", None),
    }


def bench(urls: list[str], sizes: tuple[int, int], rounds: int, n: int, keep: bool, rows_out: list,
          only: str | None = None) -> None:
    from aduan.db import database

    small, large = sizes
    built = {}
    for url, size in zip(urls, sizes):
        print(f"lists: preparing {size:,} complaints", flush=True)
        app, ids = prepare(url, size, keep)
        built[size] = (app, database.obj, ids)

    def runner(size, qs, who):
        app, db, ids = built[size]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {ids[who]}"} if who else {}
        url = f"/api/v1/complaints?limit={PAGE}"
        if qs == "CURSOR":
            database.initialize(db)
            cur = client.get(url, headers=headers).get_json()["next_cursor"]
            url += f"&cursor={cur}"
        elif qs:
            url += "&" + qs

        def once() -> float:
            t0 = time.perf_counter()
            r = client.get(url, headers=headers)
            dt_ = time.perf_counter() - t0
            assert r.status_code == 200, (url, r.get_json())
            return dt_

        def batch() -> list:
            database.initialize(db)
            return [once() for _ in range(n)]

        def count_queries() -> tuple[int, int, tuple]:
            """Statements the page ran, its items, and its list query (SQL and parameters)."""
            from aduan.testing import recording_queries

            database.initialize(db)
            with recording_queries() as seen:
                r = client.get(url, headers=headers)
            page_sql = next(x for x in seen if "ORDER BY" in x[0] and '"created_at"' in x[0] and " DESC" in x[0]
                            and "LIMIT" in x[0])
            return len(seen), len(r.get_json()["items"]), page_sql

        def sql_batch(page_sql) -> list:
            """The page's list query alone, as the database runs it (no Python around it)."""
            database.initialize(db)
            out = []
            with app.app_context(), database.connection_context():
                for _ in range(n):
                    t0 = time.perf_counter()
                    database.execute_sql(*page_sql).fetchall()
                    out.append(time.perf_counter() - t0)
            return out

        return batch, count_queries, sql_batch

    print(f"lists: {PAGE} a page, {large:,} vs {small:,} complaints, {rounds} rounds of {n}", flush=True)
    p95 = lambda xs: statistics.quantiles(xs, n=20)[18]  # noqa: E731
    for name, (qs, who) in cases(built[small][2]).items():
        if only and not any(o.strip() and o.strip() in name for o in only.split(",")):
            continue
        b_small, count_small, sql_small = runner(small, qs, who)
        # the large database's ids (agency, category) for the same case
        qs_large = cases(built[large][2])[name][0]
        b_large, count_large, sql_large = runner(large, qs_large, who)
        b_small(), b_large()  # warm up (plans, caches)
        nq, items, page_large = count_large()
        _, items_small, page_small = count_small()
        s_small, s_large, q_small, q_large = [], [], [], []
        for _ in range(rounds):
            s_small += b_small()
            s_large += b_large()
            q_small += sql_small(page_small)
            q_large += sql_large(page_large)
        med_s, med_l = statistics.median(s_small), statistics.median(s_large)
        ratio = med_l / med_s
        detail = f"{med_l * 1000:7.1f} vs {med_s * 1000:7.1f} ms"
        sql_ratio = statistics.median(q_large) / statistics.median(q_small)
        sql_detail = f"{statistics.median(q_large) * 1000:6.2f} vs {statistics.median(q_small) * 1000:6.2f} ms"
        print(f"  {name:<28} page p50 {detail} p95 {p95(s_large) * 1000:6.1f} ms ({ratio:4.2f}x) | "
              f"list SQL p50 {sql_detail} p95 {p95(q_large) * 1000:6.2f} ms ({sql_ratio:4.2f}x) | {nq} queries, "
              f"{items} vs {items_small} items", flush=True)
        rows_out.append(("lists", f"{name} @{large:,}", f"same @{small:,}",
                         f"{detail} (p95 {p95(s_large) * 1000:.1f})", f"{ratio:6.2f}x"))
        rows_out.append(("lists", f"  its list SQL @{large:,}", f"same @{small:,}",
                         f"{sql_detail} (p95 {p95(q_large) * 1000:.2f})", f"{sql_ratio:6.2f}x"))


def main(argv=None) -> int:
    import argparse
    import logging

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--list-urls", default=os.environ.get("ADUAN_BENCH_LIST_URLS"),
                    help="URL_SMALL,URL_LARGE (their public schemas are DROPPED); default: two SQLite files")
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--large", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-n", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="reuse databases that already hold the sizes asked")
    ap.add_argument("--only", help="run only the cases whose name contains one of these (comma-separated), "
                                   "e.g. --only q  (the text-search cases: 'q=…' and 'q + …')")
    args = ap.parse_args(argv)
    logging.getLogger("aduan").setLevel(logging.ERROR)
    if args.list_urls:
        urls = args.list_urls.split(",")
    else:
        tmp = tempfile.mkdtemp(prefix="aduan-lists-")
        urls = [f"sqlite:///{tmp}/small.db", f"sqlite:///{tmp}/large.db"]
    rows: list = []
    bench(urls, (args.small, args.large), args.rounds, args.n, args.keep, rows, only=args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
