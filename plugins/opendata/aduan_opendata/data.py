"""Rows of the published tables, computed in the database.

* Record level (``complaints``): one SQL query, streamed (the CSV through ``COPY … TO STDOUT`` and
  the other formats through a server-side cursor on PostgreSQL, SQLite's own cursor otherwise),
  every value already formatted as text by the database: no model
  object is built and no title, body or personal data column is read. Which complaints and which
  fields is the core's export rule (:func:`aduan.privacy.export_record`: never a secret complaint,
  no personal data, no free text, days in the deployment's time zone, regions cut to the kecamatan);
  ``tests/test_opendata_records.py`` checks every row against it.
* Aggregates: computed by the core's statistics service (:mod:`aduan.stats`, shared with
  ``/api/v1/stats``) for one closed month at a time, suppressed (:func:`aduan.stats.suppress`)
  and then **frozen** (:mod:`.periods`): a month is published once it has ended (plus
  ``OPENDATA_FREEZE_DAYS``) and never recomputed, so comparing releases reveals nothing.

Suppression rules (the guarantee, tested in ``tests/test_opendata_privacy.py``), with *k* =
``OPENDATA_MIN_CELL_SIZE``:

1. a published cell counts at least *k* complaints;
2. a published cell holds either no complaint that is missing from the record table (secret,
   unverified, rejected) or at least *k* of them, so comparing a cell with the record table never
   singles out fewer than *k* unpublished complaints;
3. in every group whose total a reader knows (a month of each marginal table, whose total is in
   ``totals``; for the fine cross also each kabupaten of the month and each published marginal cell
   it subdivides), the suppressed cells are none or at least two, adding up to at least *k*
   complaints. With only a lower bound per suppressed cell (its record count), the unpublished
   complaints of a group can then sit in any of its suppressed cells: the group's equation places
   none of them;
4. a fine-cross cell inside a withheld marginal cell is withheld too, so the fine table never
   rebuilds a withheld marginal cell.
"""
from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import hmac
import operator
import os
import re
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

import peewee as pw
from aduan import stats
from aduan.db import database, is_postgres, utcnow
from aduan.models import Complaint

Progress = Callable[[int], None]


def no_progress(n: int) -> None:
    pass


class Context:
    """What one build needs from the app, read once."""

    def __init__(self, app, now: dt.datetime | None = None):
        cfg = app.config
        self.tz_name = cfg["TIMEZONE"]
        self.tz = ZoneInfo(self.tz_name)
        self.k = cfg.get("OPENDATA_MIN_CELL_SIZE") or cfg["STATS_MIN_CELL_SIZE"]
        self.statuses = list(cfg["OPENDATA_RECORD_STATUSES"])
        key = cfg.get("OPENDATA_ID_KEY") or ("opendata-public-id|" + cfg["SECRET_KEY"])
        self.id_key = key.encode()
        self.now = now or utcnow()
        self.calendar = app.extensions["aduan"].calendar
        self.freeze_days = cfg["OPENDATA_FREEZE_DAYS"]
        self.region_dim = {1: "province", 2: "kabupaten", 3: "kecamatan"}[cfg["OPENDATA_AGGREGATE_REGION_LEVEL"]]
        self.sql = stats.Sql(self.tz_name)

    def public_id(self, complaint_id: int) -> str:
        return hmac.new(self.id_key, str(complaint_id).encode(), hashlib.sha256).hexdigest()[:16]

    def local_date(self, utc: dt.datetime | None) -> dt.date | None:
        return self.calendar.to_local(utc).date() if utc is not None else None

    def month_start_utc(self, month: str) -> dt.datetime:
        y, m = map(int, month.split("-"))
        return self.calendar.day_start_utc(dt.date(y, m, 1))

    def next_month(self, month: str) -> str:
        y, m = map(int, month.split("-"))
        return f"{y + (m == 12):04d}-{m % 12 + 1:02d}"

    def closed_months(self) -> list[str]:
        """Months with complaints that have ended at least ``freeze_days`` ago, oldest first (and
        the empty months between them)."""
        first = Complaint.select(Complaint.created_at).order_by(Complaint.created_at).limit(1).scalar()
        if first is None:
            return []
        month = self.calendar.to_local(first).strftime("%Y-%m")
        out = []
        while True:
            end = self.month_start_utc(self.next_month(month))
            if end + dt.timedelta(days=self.freeze_days) > self.now:
                return out
            out.append(month)
            month = self.next_month(month)


# --- which complaints are records ---------------------------------------------------------------

def record_where(ctx: Context, *, scan_by_time: bool = False) -> str:
    """SQL predicate on ``c``: the complaint is a row of the record table (never a secret one).
    ``scan_by_time``: keep SQLite off the status index (``+c.status``, SQLite's documented way), so
    that it walks the ``created_at`` index in order and needs no sort."""
    statuses = ", ".join(f"'{s}'" for s in ctx.statuses)  # validated against STATUSES at start-up
    status = "+c.status" if scan_by_time and not ctx.sql.pg else "c.status"
    parts = ["c.secret = :false", f"{status} IN ({statuses})"]
    if "rejected" not in ctx.statuses:  # archived after a rejection = archived without a resolution
        parts.append("NOT (c.status = 'archived' AND c.resolved_at IS NULL)")
    return " AND ".join(parts)


def ensure_public_ids(ctx: Context, batch: int = 5000) -> int:
    """Fill ``opendata_public_id`` for complaints that have none yet, ``batch`` at a time (memory
    stays flat however many are missing): each id is an HMAC computed once. Returns how many."""
    from .models import OpendataPublicId

    added, last = 0, 0
    while True:
        missing = (Complaint.select(Complaint.id)
                   .join(OpendataPublicId, on=(OpendataPublicId.complaint == Complaint.id), join_type=pw.JOIN.LEFT_OUTER)
                   .where(OpendataPublicId.complaint.is_null() & (Complaint.id > last))
                   .order_by(Complaint.id).limit(batch).tuples())
        chunk = [i for (i,) in missing]
        if not chunk:
            return added
        last = chunk[-1]
        with database.atomic():
            OpendataPublicId.insert_many([(i, ctx.public_id(i)) for i in chunk],
                                         fields=[OpendataPublicId.complaint, OpendataPublicId.public_id]
                                         ).on_conflict_ignore().execute()
        added += len(chunk)


# --- record level --------------------------------------------------------------------------------

RECORD_FIELDS = (
    "public_id", "created_date", "kind", "category", "category_name", "agency", "agency_name", "region",
    "region_name", "kabupaten", "channel", "urgency", "status", "verified_date", "first_response_date",
    "first_response_days", "first_response_due_date", "first_response_on_time", "resolved_date",
    "resolution_days", "resolution_due_date", "resolved_on_time", "closed_date", "transfers", "reopens",
    "sla_met", "rating",
)


#: columns whose values come from administrators (names, codes, channels): quoted in CSV when needed
_FREE_TEXT = {"category", "category_name", "agency", "agency_name", "region_name", "channel"}


def record_sql(ctx: Context, *, year: str | None = None, lines: bool = False,
               line_end: bool = True) -> tuple[str, dict[str, Any]]:
    """The record table as one SELECT whose columns are :data:`RECORD_FIELDS`, every value text
    (or NULL), ordered by filing day and, within a day, by public id (not by filing time).

    With ``lines=True`` the database writes each CSV line itself (RFC 4180 minimal quoting, CRLF
    unless ``line_end=False``): one text column per row, so the export only copies strings to
    the file."""
    s = ctx.sql
    region = "CASE WHEN LENGTH(c.region_id) > 8 THEN SUBSTR(c.region_id, 1, 8) ELSE c.region_id END"
    kab = stats.DIMENSIONS["kabupaten"]
    txt = (lambda e: f"CAST({e} AS TEXT)")
    fr_on_time = ("CASE WHEN c.due_first_response IS NULL THEN NULL "
                  "WHEN c.first_response_at IS NOT NULL THEN "
                  "(CASE WHEN c.first_response_at <= c.due_first_response THEN 'true' ELSE 'false' END) "
                  "WHEN c.due_first_response < :now THEN 'false' END")
    res_on_time = ("CASE WHEN c.due_resolution IS NULL OR c.status = 'rejected' THEN NULL "
                   "WHEN c.resolved_at IS NOT NULL THEN "
                   "(CASE WHEN c.resolved_at <= c.due_resolution THEN 'true' ELSE 'false' END) "
                   "WHEN c.due_resolution < :now THEN 'false' END")
    missed = (f"(c.breached <> '' OR ({stats.CONDITIONS['overdue']}) OR ({fr_on_time}) = 'false' "
              f"OR ({res_on_time}) = 'false')")
    sla_met = (f"CASE WHEN {missed} THEN 'false' "
               f"WHEN c.status IN ('resolved', 'closed', 'archived', 'rejected') THEN 'true' END")
    created = s.local_date("c.created_at")
    cols = [
        "p.public_id", created, "c.kind", "cat.code", "cat.name", "a.code", "a.name", region, "r.name", kab,
        "c.channel", "c.urgency", "c.status", s.local_date("c.verified_at"), s.local_date("c.first_response_at"),
        txt(s.days2("c.created_at", "c.first_response_at")), s.local_date("c.due_first_response"), fr_on_time,
        s.local_date("c.resolved_at"), txt(s.days2("c.created_at", "c.resolved_at")),
        s.local_date("c.due_resolution"), res_on_time, s.local_date("c.closed_at"),
        txt("COALESCE(ev.transfers, 0)"), txt("COALESCE(ev.reopens, 0)"), sla_met, txt("c.rating"),
    ]
    where = record_where(ctx, scan_by_time=True)
    params: dict[str, Any] = {"now": ctx.now, "false": False}
    if year is not None:
        where += " AND c.created_at >= :lo AND c.created_at < :hi"
        params["lo"] = ctx.calendar.day_start_utc(dt.date(int(year), 1, 1))
        params["hi"] = ctx.calendar.day_start_utc(dt.date(int(year) + 1, 1, 1))
    sql = (f"SELECT {', '.join(cols)} FROM complaint c "
           "JOIN opendata_public_id p ON p.complaint_id = c.id "
           "LEFT JOIN category cat ON cat.id = c.category_id "
           "LEFT JOIN agency a ON a.id = c.agency_id "
           f"LEFT JOIN region r ON r.code = ({region}) "
           "LEFT JOIN (SELECT complaint_id, SUM(CASE WHEN type = 'transfer' THEN 1 ELSE 0 END) AS transfers, "
           "SUM(CASE WHEN type = 'reopen' THEN 1 ELSE 0 END) AS reopens FROM event "
           "WHERE type IN ('transfer', 'reopen') GROUP BY complaint_id) ev ON ev.complaint_id = c.id "
           f"WHERE {where}")
    names = [f"f{i}" for i in range(len(cols))]
    aliased = sql.replace(f"SELECT {', '.join(cols)} FROM", "SELECT " + ", ".join(
        f"{c} AS {n}" for c, n in zip(cols, names)) + ", c.created_at AS ts FROM", 1)
    # Ordered by filing time, which the created_at index gives without a sort (a sort of a
    # million rows grows the database's memory with the table); the export then orders each
    # day's rows by public id itself (:func:`_day_sorted`), so the order reveals no filing time.
    if not lines:
        return f"SELECT {', '.join(names)} FROM ({aliased}) t ORDER BY t.ts", params
    parts = [_csv_field(s, n) if f in _FREE_TEXT else f"COALESCE({n}, '')" for f, n in zip(RECORD_FIELDS, names)]
    line = " || ',' || ".join(parts)
    if line_end:
        line += " || " + ("CHR(13) || CHR(10)" if s.pg else "CHAR(13, 10)")
    return f"SELECT {line} FROM ({aliased}) t ORDER BY t.ts", params


class _DaySorter:
    """Re-orders rows that come ordered by filing time so that each day's rows are ordered by
    ``key`` (the public id; ``None``: the row itself, a CSV line starting with it): only the rows
    of one day are held back at a time. Days are found by bisection (they come in order), and
    each day is sorted on its own. Fed batch by batch (:meth:`feed`), then :meth:`flush`."""

    def __init__(self, day, key=None):
        self.day, self.key, self.pending = day, key, []

    def feed(self, rows: list) -> list:
        """The rows of every day finished so far, in order (the last day may be incomplete: held)."""
        if not rows:
            return []
        combined = self.pending + rows if self.pending else rows
        last = self.day(combined[-1])
        cut = bisect.bisect_left(combined, last, key=self.day)  # where the (maybe unfinished) last day starts
        self.pending = combined[cut:]
        return _sort_days(combined, cut, self.day, self.key) if cut else []

    def flush(self) -> list:
        rest, self.pending = self.pending, []
        return sorted(rest, key=self.key)


def _day_sorted(batches: Iterator[list], day, key=None) -> Iterator[list]:
    """:class:`_DaySorter` over an iterator of batches."""
    sorter = _DaySorter(day, key)
    for rows in batches:
        ready = sorter.feed(rows)
        if ready:
            yield ready
    rest = sorter.flush()
    if rest:
        yield rest


def _sort_days(rows: list, end: int, day, key) -> list:
    out, start = [], 0
    while start < end:
        stop = bisect.bisect_right(rows, day(rows[start]), start, end, key=day)
        out.extend(sorted(rows[start:stop], key=key))
        start = stop
    return out


def _csv_field(s: stats.Sql, col: str) -> str:
    """SQL: a text value as a CSV field, quoted only when it holds a comma, a quote or a line break."""
    if s.pg:
        special = (f"STRPOS({col}, ',') > 0 OR STRPOS({col}, '\"') > 0 OR STRPOS({col}, CHR(10)) > 0 "
                   f"OR STRPOS({col}, CHR(13)) > 0")
    else:
        special = (f"INSTR({col}, ',') > 0 OR INSTR({col}, '\"') > 0 OR INSTR({col}, CHAR(10)) > 0 "
                   f"OR INSTR({col}, CHAR(13)) > 0")
    return (f"CASE WHEN {col} IS NULL THEN '' WHEN {special} THEN '\"' || REPLACE({col}, '\"', '\"\"') || '\"' "
            f"ELSE {col} END")


def literal_sql(ctx: Context, sql: str, params: dict[str, Any]) -> str:
    """The query with its parameters written in (for the database's own dump tool in ``make bench``)."""
    def lit(v):
        if isinstance(v, bool):
            return "TRUE" if v and is_postgres() else ("FALSE" if is_postgres() else str(int(v)))
        if isinstance(v, dt.datetime):
            return "'" + v.isoformat(sep=" ") + "'"
        return repr(v)

    import re

    return re.sub(r":([a-z_]+)\b", lambda m: lit(params[m.group(1)]) if m.group(1) in params else m.group(0), sql)


class _Stream:
    """Rows of a SELECT, fetched in batches: a named (server-side) cursor inside a read-only
    transaction on PostgreSQL, so neither the driver nor this process holds the result."""

    def __init__(self, ctx: Context, sql: str, params: dict[str, Any], batch: int = 5000):
        self.query, self.values = ctx.sql.bind(sql, params)
        self.batch = batch

    def batches(self) -> Iterator[list[tuple]]:
        if is_postgres():
            conn = database.connection()
            autocommit = conn.autocommit
            conn.autocommit = False
            try:
                with conn.cursor() as setup:
                    # a cursor is planned for its first rows (cursor_tuple_fraction 0.1); the whole
                    # table is read, so plan for all of it, as COPY does
                    setup.execute("SET LOCAL cursor_tuple_fraction = 1.0")
                cur = conn.cursor(name="opendata_records")
                cur.itersize = self.batch
                cur.execute(self.query, self.values)
                while True:
                    rows = cur.fetchmany(self.batch)
                    if not rows:
                        break
                    yield rows
                cur.close()
            finally:
                conn.rollback()
                conn.autocommit = autocommit
        else:
            cur = database.execute_sql(self.query, self.values)
            try:
                while True:
                    rows = cur.fetchmany(self.batch)
                    if not rows:
                        break
                    yield rows
            finally:
                cur.close()

    def __iter__(self) -> Iterator[tuple]:
        for rows in self.batches():
            yield from rows


def record_rows(ctx: Context, *, year: str | None = None) -> Iterator[tuple]:
    """Record rows as tuples of text (or None), in :data:`RECORD_FIELDS` order (by day, then public id)."""
    sql, params = record_sql(ctx, year=year)
    for rows in _day_sorted(_Stream(ctx, sql, params).batches(), operator.itemgetter(1), operator.itemgetter(0)):
        yield from rows


def write_records_csv(ctx: Context, fh, *, header: bool = True, hxl: dict[str, str] | None = None) -> int:
    """Write the whole record table as CSV (RFC 4180, CRLF) to an open text file; returns the row
    count. The database writes every line (:func:`_each_line_batch`)."""
    if header:
        fh.write(_header(hxl).decode())
    n = 0

    def write(lines: list[bytes]) -> None:
        nonlocal n
        fh.write((b"\r\n".join(lines) + b"\r\n").decode())
        n += len(lines)

    _each_line_batch(ctx, write)
    return n


def _header(hxl: dict[str, str] | None) -> bytes:
    header = ",".join(RECORD_FIELDS) + "\r\n"
    if hxl:
        header += ",".join(hxl.get(f, "") for f in RECORD_FIELDS) + "\r\n"
    return header.encode()


_LINE_DAY = operator.itemgetter(slice(17, 27))  # a CSV line: 16-digit public id, comma, YYYY-MM-DD


def _each_line_batch(ctx: Context, consume: Callable[[list[bytes]], None], batch: int = 5000) -> None:
    """Call ``consume`` with batches of record CSV lines (UTF-8, without their line end), each
    day's lines ordered by public id, the days in order. The database writes every line: on
    PostgreSQL through ``COPY (SELECT …) TO STDOUT`` (:class:`_CopyLines`), which, unlike a
    cursor, may run a parallel plan and sends rows without a fetch round trip per batch; on SQLite
    from its cursor. Memory holds one batch and one day of lines, whatever the table's size."""
    sorter = _DaySorter(_LINE_DAY)

    def feed(lines: list[bytes]) -> None:
        ready = sorter.feed(lines)
        if ready:
            consume(ready)

    sql, params = record_sql(ctx, lines=True, line_end=False)
    if ctx.sql.pg:
        query, values = ctx.sql.bind(sql, params)
        with database.connection().cursor() as cur:
            query = cur.mogrify(query, values).decode()
            # text format: one column per line, so only a backslash, a tab and a line break or
            # other C escape inside a value come escaped (undone in _CopyLines)
            sink = _CopyLines(feed, batch)
            cur.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT text, ENCODING 'UTF8')", sink)
            sink.flush()
    else:
        for rows in _Stream(ctx, sql, params, batch).batches():
            feed([r[0].encode() for r in rows])
    rest = sorter.flush()
    if rest:
        consume(rest)


_COPY_ESCAPES = {b"\\": b"\\", b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"v": b"\v"}
_COPY_ESCAPE = re.compile(rb"\\(.)", re.S)


def _copy_unescape(line: bytes) -> bytes:
    r"""A value of ``COPY … TO`` in text format as it was (PostgreSQL escapes ``\``, ``\n``, ``\r``,
    ``\t``, ``\b``, ``\f`` and ``\v`` with a backslash)."""
    return _COPY_ESCAPE.sub(lambda m: _COPY_ESCAPES.get(m.group(1), m.group(1)), line)


class _CopyLines:
    """The file object ``copy_expert`` writes to: psycopg2 calls :meth:`write` with each row
    (bytes ending in a newline); every ``batch`` rows are split into lines and passed on."""

    def __init__(self, consume: Callable[[list[bytes]], None], batch: int):
        self.consume, self.batch, self.rows = consume, batch, []

    def write(self, data: bytes) -> None:
        self.rows.append(data)
        if len(self.rows) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        buf = b"".join(self.rows)
        self.rows = []
        lines = buf.split(b"\n")
        lines.pop()  # after the last newline
        if b"\\" in buf:
            lines = [_copy_unescape(line) if b"\\" in line else line for line in lines]
        self.consume(lines)


class _Out:
    """A binary output file with its running SHA-256, size and row count (no second read)."""

    def __init__(self, path: str, header: bytes):
        self.path, self.fh, self.sha, self.bytes, self.rows = path, open(path, "wb"), hashlib.sha256(), 0, 0
        self.write(header, 0)

    def write(self, data: bytes, rows: int) -> None:
        self.fh.write(data)
        self.sha.update(data)
        self.bytes += len(data)
        self.rows += rows

    def close(self) -> dict:
        self.fh.close()
        return {"name": os.path.basename(self.path), "bytes": self.bytes, "sha256": self.sha.hexdigest(),
                "rows": self.rows}


def write_records_csv_split(ctx: Context, directory: str, *, hxl: dict[str, str] | None = None) -> list[dict]:
    """One query writes ``complaints.csv`` and one ``complaints-<YYYY>.csv`` per year at once
    (lines come ordered by day; each starts with the 16-digit public id and the day, so the year
    is ``line[17:21]``); each batch is joined once, written to both files and hashed on the way.
    Returns ``{"name", "bytes", "sha256", "rows"}`` per file, the whole file first (with
    ``"year"`` on the year files)."""
    header = _header(hxl)
    whole = _Out(os.path.join(directory, "complaints.csv"), header)
    years: list[dict] = []
    state: dict[str, Any] = {"year": None, "out": None}

    def write(lines: list[bytes]) -> None:
        start = 0
        while start < len(lines):
            y = lines[start][17:21]
            if y != state["year"]:
                if state["out"]:
                    years.append(dict(state["out"].close(), year=state["year"].decode()))
                state["year"] = y
                state["out"] = _Out(os.path.join(directory, f"complaints-{y.decode()}.csv"), header)
            end = len(lines)
            if lines[-1][17:21] != y:  # the year changes inside this batch: find where
                end = next(i for i in range(start, len(lines)) if lines[i][17:21] != y)
            data = b"\r\n".join(lines[start:end]) + b"\r\n"
            whole.write(data, end - start)
            state["out"].write(data, end - start)
            start = end

    try:
        _each_line_batch(ctx, write)
    finally:
        first = whole.close()
        if state["out"]:
            years.append(dict(state["out"].close(), year=state["year"].decode()))
    return [first] + years


def record_years(ctx: Context) -> list[str]:
    """Years (deployment time zone) from the first to the last filing (two index lookups, no scan)."""
    first = Complaint.select(Complaint.created_at).order_by(Complaint.created_at).limit(1).scalar()
    last = Complaint.select(Complaint.created_at).order_by(Complaint.created_at.desc()).limit(1).scalar()
    if first is None:
        return []
    lo, hi = ctx.calendar.to_local(first).year, ctx.calendar.to_local(last).year
    return [str(y) for y in range(lo, hi + 1)]


# --- aggregates ----------------------------------------------------------------------------------

#: marginal tables: name -> (dimension, name column or None)
MARGINALS = {
    "agency_report_card": ("agency", "agency_name"),
    "monthly_by_category": ("category", "category_name"),
    "monthly_by_channel": ("channel", None),
    "monthly_by_status": ("status", None),
}


def _names(model, field="code") -> dict[str, str]:
    return {code: name for code, name in model.select(getattr(model, field), model.name).tuples()}


def month_tables(ctx: Context, month: str, *, population: dict[str, dict] | None = None) -> dict[str, list[dict]]:
    """Every aggregate table's rows for one month, suppressed. Secret, unverified and rejected
    complaints are counted (the ``not in records`` part drives rules 2 and 3)."""
    from aduan.models import Agency, Category, Region

    scope = stats.Scope(created_from=ctx.month_start_utc(month),
                        created_to=ctx.month_start_utc(ctx.next_month(month)))
    extra = {"record": record_where(ctx)}
    k = ctx.k

    def grouped(dims, **kw):
        rows = stats.grouped(dims, tz=ctx.tz_name, scope=scope, now=ctx.now, extra=extra,
                             conditions=("record",) + tuple(kw.pop("conditions", ())), **kw)
        for r in rows:
            r["month"] = month
            r["hidden"] = r["complaints"] - r["record"]
        return rows

    hidden_rule = (lambda c: 0 < c["hidden"] < k)
    out: dict[str, list[dict]] = {}

    # totals: never suppressed (every total at province and kabupaten level)
    regions = dict(Region.select(Region.code, Region.name).where(Region.level <= 3).tuples())
    pop = population or {}
    totals = []
    whole = grouped([])
    totals.append({"level": "all", "region": None, "region_name": None, "region_bps": None, "month": month,
                   "complaints": whole[0]["complaints"] if whole else 0, "population": None,
                   "population_year": None})
    for level, dim in (("province", "province"), ("kabupaten", "kabupaten")):
        for r in grouped([dim]):
            code = r[dim]
            ref = pop.get(code or "", {})
            totals.append({"level": level, "region": code, "region_name": regions.get(code) or ref.get("name"),
                           "month": month,
                           "region_bps": ref.get("bps_code"), "complaints": r["complaints"],
                           "population": ref.get("population"), "population_year": ref.get("population_year")})
    out["totals"] = totals

    names = {"agency": _names(Agency), "category": _names(Category)}
    marginal_cells: dict[str, dict[Any, dict]] = {}
    for table, (dim, name_col) in MARGINALS.items():
        if table == "agency_report_card":
            cells = grouped([dim], conditions=("answered_on_time", "rated"), medians=("first_response_days",),
                            rating_sum=True)
        elif table == "monthly_by_category":
            cells = grouped([dim], conditions=("resolved",), medians=("resolution_days",))
        else:
            cells = grouped([dim])
        stats.suppress(cells, "complaints", k, [lambda c: "month"], primary=hidden_rule)
        marginal_cells[dim] = {c[dim]: c for c in cells}
        rows = []
        for c in cells:
            row = {"month": month, dim: c[dim]}
            if name_col:
                row[name_col] = names[dim].get(c[dim])
            sup = c["suppressed"]
            row["complaints"] = None if sup else c["complaints"]
            if table == "agency_report_card":
                row["answered_on_time"] = None if sup else c["answered_on_time"]
                row["median_first_response_days"] = (None if sup or c["n_first_response_days"] < k
                                                     else c["median_first_response_days"])
                enough = not sup and c["rated"] >= k
                row["ratings"] = c["rated"] if enough else None
                row["rating_average"] = round(c["rating_sum"] / c["rated"], 2) if enough else None
            elif table == "monthly_by_category":
                row["resolved"] = None if sup else c["resolved"]
                row["median_resolution_days"] = (None if sup or c["n_resolution_days"] < k
                                                 else c["median_resolution_days"])
            row["suppressed"] = sup
            rows.append(row)
        out[table] = sorted(rows, key=lambda r: "" if r[dim] is None else str(r[dim]))

    # the fine cross: kecamatan x category x status x channel, kept where it survives
    rdim = ctx.region_dim
    kab = rdim != "province"  # kecamatan and kabupaten cells add up to the published kabupaten totals
    fine = grouped(list(dict.fromkeys([rdim] + (["kabupaten"] if kab else []) + ["category", "status", "channel"])),
                   medians=("first_response_days", "resolution_days"))
    inside_withheld = (lambda c: any(marginal_cells[d].get(c[d], {"suppressed": True})["suppressed"]
                                     for d in ("category", "status", "channel")))
    groups = [lambda c: "month"] + ([lambda c: ("kab", c["kabupaten"])] if kab else [])
    for d in ("category", "status", "channel"):
        groups.append(lambda c, d=d: (d, c[d]) if not marginal_cells[d][c[d]]["suppressed"] else None)
    stats.suppress(fine, "complaints", k, groups, primary=lambda c: hidden_rule(c) or inside_withheld(c))
    rows = []
    for c in fine:
        sup = c["suppressed"]
        region = c[rdim] or (c.get("kabupaten") if rdim == "kecamatan" else None)
        rows.append({"region": region, "region_name": regions.get(region),
                     "month": month, "category": c["category"], "status": c["status"], "channel": c["channel"],
                     "complaints": None if sup else c["complaints"], "suppressed": sup,
                     "median_first_response_days": None if sup or c["n_first_response_days"] < k
                     else c["median_first_response_days"],
                     "median_resolution_days": None if sup or c["n_resolution_days"] < k
                     else c["median_resolution_days"]})
    out["monthly_counts"] = sorted(rows, key=lambda r: tuple("" if r[f] is None else r[f] for f in
                                                             ("region", "category", "status", "channel")))
    return out
