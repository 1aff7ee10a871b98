#!/usr/bin/env python
"""Bench case ``opendata``: the record CSV of the open data against the database's own dump.

For each size (complaints generated in SQL, in every state, with transfer and reopen events), in turn
(A B A B ...):

* candidate: what ``aduan opendata publish`` does for ``complaints.csv`` and its year files (one
  query whose CSV lines the database writes: ``COPY (SELECT …) TO STDOUT`` on PostgreSQL, a
  cursor on SQLite; each day's lines re-ordered by public id), run in a fresh process so that its
  peak RSS (``ru_maxrss``) is its own;
* baseline: the database's own CSV dump of the very same SELECT: the ``sqlite3`` CLI
  (``.mode csv``) or ``psql -c "COPY (…) TO STDOUT WITH CSV HEADER"``.

It prints the time ratio per size and the candidate's peak memory per size (flat means the
export does not hold rows). Run through ``bench/run.py --only opendata`` (``--opendata-sizes``).
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def build_app(url: str, instance: str):
    from aduan.app import create_app
    from aduan.cli import upgrade_database
    from aduan.db import database

    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret",
                      "PLUGINS": ["opendata"], "OPENDATA_FORMATS": ["csv"], "DATABASE_POOL_SIZE": 2})
    with app.app_context(), database.connection_context():
        upgrade_database(app)
    return app


def generate(app, n: int) -> float:
    """n complaints written by the database itself (recursive CTE / generate_series); returns the
    seconds spent filling the public-id cache (the incremental HMAC step of a first publication)."""
    from aduan.db import database, is_postgres
    from aduan.models import Agency, Category
    from aduan.regions import load_regions
    from aduan_opendata import data

    with app.app_context(), database.connection_context():
        load_regions(["52.71"])
        for i in range(6):
            Agency.create(code=f"OPD{i}", name=f"Dinas {i}")
        for i in range(5):
            Category.create(code=f"kat{i}", name=f"Kategori {i}")
        pg = is_postgres()
        if pg:
            seq = f"FROM generate_series(1::bigint, {n}) AS s(i)"
            ts = (lambda secs: f"(TIMESTAMP '2024-01-01' + ({secs}) * INTERVAL '1 second')")
            flag = (lambda cond: f"({cond})")
        else:
            seq = f"FROM (WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s)"
            ts = (lambda secs: f"DATETIME('2024-01-01', '+' || ({secs}) || ' seconds')")
            flag = (lambda cond: f"CASE WHEN {cond} THEN 1 ELSE 0 END")
        off = "((i * 7919) % 63072000)"  # two years of filings
        status = ("CASE i % 20 WHEN 0 THEN 'received' WHEN 1 THEN 'rejected' WHEN 2 THEN 'archived' "
                  "WHEN 3 THEN 'on_hold' WHEN 4 THEN 'dispatched' WHEN 5 THEN 'dispatched' WHEN 6 THEN 'in_progress' "
                  "WHEN 7 THEN 'in_progress' WHEN 8 THEN 'in_progress' WHEN 9 THEN 'resolved' WHEN 10 THEN 'resolved' "
                  "ELSE 'closed' END")
        verified = "i % 20 NOT IN (0, 1)"
        resolved = "i % 20 IN (2, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19)"
        region = "CASE i % 6 WHEN 0 THEN '52.71.01' WHEN 1 THEN '52.71.02' WHEN 2 THEN '52.71.03' " \
                 "WHEN 3 THEN '52.71.04' WHEN 4 THEN '52.71.05' ELSE '52.71.06.1001' END"
        channel = "CASE i % 7 WHEN 0 THEN 'sms' WHEN 1 THEN 'sms' WHEN 2 THEN 'email' WHEN 3 THEN 'whatsapp' " \
                  "ELSE 'web' END"
        run = (lambda sql: database.execute_sql(sql.replace("%", "%%") if pg else sql))  # psycopg2 placeholders
        run(
            "INSERT INTO complaint (tracking_id, access_code_hash, kind, title, body, category_id, agency_id, "
            "urgency, anonymous, secret, share_identity, region_id, channel, status, created_at, updated_at, "
            "verified_at, first_response_at, resolved_at, closed_at, due_first_response, due_resolution, breached, "
            "rating) "
            f"SELECT 'B' || i, 'x', 'pengaduan', 'Jalan berlubang di depan pasar nomor ' || i, "
            f"'Isi pengaduan yang panjang, tidak pernah diekspor, nomor ' || i, 1 + i % 5, "
            f"CASE WHEN {verified} THEN 1 + i % 6 END, 'biasa', {flag('i % 3 = 0')}, {flag('i % 17 = 0')}, "
            f"{flag('1 = 0')}, {region}, {channel}, {status}, {ts(off)}, {ts(off)}, "
            f"CASE WHEN {verified} THEN {ts(off + ' + 10800')} END, "
            f"CASE WHEN {verified} AND i % 7 <> 0 THEN {ts(off + ' + 3600 * (i % 97)')} END, "
            f"CASE WHEN {resolved} THEN {ts(off + ' + 86400 * (2 + i % 40)')} END, "
            f"CASE WHEN i % 20 IN (2, 11, 12, 13, 14, 15, 16, 17, 18, 19) THEN {ts(off + ' + 86400 * (5 + i % 40)')} "
            f"END, {ts(off + ' + 172800')}, {ts(off + ' + 5184000')}, CASE WHEN i % 23 = 0 THEN 'followup' ELSE '' END, "
            f"CASE WHEN i % 20 > 14 THEN 1 + i % 5 END {seq}")
        run(
            "INSERT INTO event (complaint_id, type, actor_role, text, visibility, source, created_at) "
            "SELECT id, CASE WHEN id % 2 = 0 THEN 'transfer' ELSE 'reopen' END, 'system', '', 'internal', 'core', "
            "created_at FROM complaint WHERE id % 19 = 0")
        database.execute_sql("ANALYZE")
        if not pg:  # write the generated rows into the database file, as a running deployment has them
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        t0 = time.perf_counter()
        data.ensure_public_ids(data.Context(app))
        return time.perf_counter() - t0


def child(url: str, instance: str, out: str) -> None:
    """The candidate, in its own process: the record CSV exactly as a publication writes it."""
    import logging

    from aduan.app import create_app
    from aduan.db import database
    from aduan_opendata import data
    from aduan_opendata.publish import write_records

    logging.getLogger("aduan").setLevel(logging.ERROR)
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": instance, "SECRET_KEY": "bench-secret",
                      "PLUGINS": ["opendata"], "OPENDATA_FORMATS": ["csv"], "DATABASE_POOL_SIZE": 2})
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with app.app_context(), database.connection_context():
        ctx = data.Context(app)
        t0 = time.perf_counter()
        files = write_records(app, ctx, out, ["csv"], False)
        seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB (Linux)
    print(json.dumps({"seconds": seconds, "rss_mib": rss, "rows": files[0]["rows"],
                      "bytes": files[0]["bytes"]}))


def run_child(url: str, instance: str, out: str) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", url, instance, out],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dump_command(app, url: str, out: str) -> list[str]:
    """The database's own CSV dump of the same SELECT (the whole table, no year split)."""
    from aduan.db import database, is_postgres
    from aduan_opendata import data

    with app.app_context(), database.connection_context():
        ctx = data.Context(app)
        sql, params = data.record_sql(ctx)
        query = data.literal_sql(ctx, sql, params)
        pg = is_postgres()
    if pg:
        return ["psql", "-X", "-q", url, "-o", out, "-c", f"COPY ({query}) TO STDOUT WITH CSV HEADER"]
    path = url.split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path
    return ["sqlite3", "-csv", "-header", path, query]


def run_dump(cmd: list[str], out: str) -> float:
    t0 = time.perf_counter()
    if cmd[0] == "sqlite3":
        with open(out, "w") as fh:
            subprocess.run(cmd, stdout=fh, check=True)
    else:
        subprocess.run(cmd, check=True)
    return time.perf_counter() - t0


def bench(fresh, sizes: list[int], rounds: int, row, rows: list) -> None:
    """Adds one time row per size and one memory row (largest vs smallest) to the bench table."""
    print("opendata: record CSV vs the database's own dump", flush=True)
    memory = {}
    for n in sizes:
        app, url, instance = fresh()
        t_ids = generate(app, n)
        out = tempfile.mkdtemp(prefix="aduan-od-")
        cmd = dump_command(app, url, os.path.join(out, "dump.csv"))
        cand, base, rss = [], [], []
        for _ in range(rounds):
            r = run_child(url, instance, os.path.join(out, "candidate"))
            cand.append(r["seconds"])
            rss.append(r["rss_mib"])
            base.append(run_dump(cmd, os.path.join(out, "dump.csv")))
        size_c = os.path.getsize(os.path.join(out, "candidate", "complaints.csv"))
        size_b = os.path.getsize(os.path.join(out, "dump.csv"))
        memory[n] = max(rss)
        engine = "psql COPY" if cmd[0] == "psql" else "sqlite3 CLI"
        row("opendata", f"record CSV @{n:,} ({r['rows']:,} rows)", f"{engine}, same SELECT",
            statistics.median(cand), statistics.median(base), unit="s")
        print(f"    files {size_c:,} vs {size_b:,} bytes; candidate peak RSS {max(rss):.1f} MiB; "
              f"public-id cache filled in {t_ids:.2f} s (once per complaint)", flush=True)
        shutil.rmtree(out, ignore_errors=True)
    lo, hi = min(sizes), max(sizes)
    rows.append(("opendata", f"peak RSS @{hi:,} vs @{lo:,}", "same export, smaller table",
                 f"{memory[hi]:8.1f} vs {memory[lo]:8.1f} MiB", f"{memory[hi] / memory[lo]:6.2f}x"))
    print(f"  peak RSS @{hi:,} vs @{lo:,}: {memory[hi]:.1f} vs {memory[lo]:.1f} MiB "
          f"(+{memory[hi] - memory[lo]:.1f} MiB)", flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
