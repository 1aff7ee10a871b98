"""The statistics service: the one place that counts complaints.

``GET /api/v1/stats`` (staff and public views), the opendata plugin (which publishes the same
figures with small-cell suppression) and a portal's pages all call this module, so they never
disagree. Everything is computed in SQL, grouped in the database (``GROUP BY``, and medians with
``ROW_NUMBER() OVER (PARTITION BY …)``, which SQLite ≥ 3.25 and PostgreSQL both run): no complaint
row is loaded into Python, whatever the size of the table.

Dimensions a caller may group by (:data:`DIMENSIONS`): ``month`` and ``year`` (of filing, in the
deployment's time zone), ``date``, ``agency`` (code of the agency handling the complaint now),
``agency_id``, ``category``, ``province`` / ``kabupaten`` / ``kecamatan`` (the Kemendagri region code
cut to that level; empty when the complaint's region is coarser), ``status``, ``channel``, ``kind``,
``urgency``.

Measures (:func:`grouped`): ``complaints`` (``COUNT(*)``) plus any named conditions counted with
``SUM(CASE …)`` (:data:`CONDITIONS`: ``open``, ``overdue``, ``answered``, ``answered_on_time``,
``resolved``, ``rated``, ``secret``, …) and, on request, medians of durations
(:data:`DURATIONS`) and the sum of ratings.

Suppression (:func:`suppress`): the small-cell rule shared by the public ``/stats`` and the open
data. A cell counting fewer than *k* complaints is withheld; complementary suppression then makes
sure no withheld cell can be recomputed from a total a reader knows.

Local time: months and days are cut at the deployment zone's UTC offset, added in SQL. Indonesian
zones (WIB, WITA, WIT) have had a fixed offset since 1964; in a zone with daylight saving time the
offset of January is used, so a complaint filed within the DST hour of a month boundary may be
counted in the neighbouring month.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence
from zoneinfo import ZoneInfo

from .db import database, is_postgres, utcnow

OPEN = ("received", "dispatched", "in_progress", "on_hold")
FINISHED = ("resolved", "closed", "archived")

#: dimension name -> SQL expression (aliases: ``c`` complaint, ``a`` agency, ``cat`` category).
#: ``month``, ``year`` and ``date`` are filled in per dialect by :func:`_dimension`.
DIMENSIONS: dict[str, str] = {
    "agency": "a.code",
    "agency_id": "c.agency_id",
    "category": "cat.code",
    "province": "CASE WHEN LENGTH(c.region_id) >= 2 THEN SUBSTR(c.region_id, 1, 2) END",
    "kabupaten": "CASE WHEN LENGTH(c.region_id) >= 5 THEN SUBSTR(c.region_id, 1, 5) END",
    "kecamatan": "CASE WHEN LENGTH(c.region_id) >= 8 THEN SUBSTR(c.region_id, 1, 8) END",
    "status": "c.status",
    "channel": "c.channel",
    "kind": "c.kind",
    "urgency": "c.urgency",
    "month": "", "year": "", "date": "",
}

#: condition name -> SQL predicate; ``:now`` is the reference time of the computation.
CONDITIONS: dict[str, str] = {
    "open": "c.status IN ('received', 'dispatched', 'in_progress', 'on_hold')",
    "overdue": ("c.status IN ('received', 'dispatched', 'in_progress', 'on_hold') AND ("
                "(c.first_response_at IS NULL AND c.due_first_response < :now)"
                " OR (c.status = 'received' AND c.due_verify < :now)"
                " OR (c.status IN ('dispatched', 'in_progress') AND c.due_followup < :now)"
                " OR c.due_resolution < :now)"),
    "answered": "c.first_response_at IS NOT NULL",
    "answered_on_time": "c.first_response_at IS NOT NULL AND c.due_first_response IS NOT NULL "
                        "AND c.first_response_at <= c.due_first_response",
    "resolved": "c.resolved_at IS NOT NULL",
    "resolved_on_time": "c.resolved_at IS NOT NULL AND c.due_resolution IS NOT NULL "
                        "AND c.resolved_at <= c.due_resolution",
    "rated": "c.rating IS NOT NULL AND c.rating > 0",
    "secret": "c.secret = :true",
    "verified": "c.verified_at IS NOT NULL",
    "rejected": "c.status = 'rejected' OR (c.status = 'archived' AND c.resolved_at IS NULL)",
}

#: duration name -> (start column, end column, unit in seconds)
DURATIONS: dict[str, tuple[str, str, int]] = {
    "first_response_hours": ("c.created_at", "c.first_response_at", 3600),
    "first_response_days": ("c.created_at", "c.first_response_at", 86400),
    "resolution_days": ("c.created_at", "c.resolved_at", 86400),
}


def utc_offset_seconds(tz: str) -> int:
    """The zone's UTC offset used to cut days and months in SQL (January's, for zones with DST)."""
    zone = ZoneInfo(tz)
    return int(dt.datetime(2026, 1, 15, tzinfo=zone).utcoffset().total_seconds())


class Sql:
    """Portable SQL fragments for the current database (SQLite or PostgreSQL)."""

    def __init__(self, tz: str):
        self.pg = is_postgres()
        self.offset = utc_offset_seconds(tz)

    def shifted(self, col: str) -> str:
        if self.pg:
            return f"({col} + INTERVAL '{self.offset} seconds')"
        return f"DATETIME({col}, '{self.offset:+d} seconds')"

    def local_date(self, col: str) -> str:
        """``YYYY-MM-DD`` of a naive-UTC column, in the deployment's zone (NULL stays NULL)."""
        if self.pg:
            return f"TO_CHAR({self.shifted(col)}, 'YYYY-MM-DD')"
        return f"STRFTIME('%Y-%m-%d', {col}, '{self.offset:+d} seconds')"

    def local_month(self, col: str) -> str:
        if self.pg:
            return f"TO_CHAR({self.shifted(col)}, 'YYYY-MM')"
        return f"STRFTIME('%Y-%m', {col}, '{self.offset:+d} seconds')"

    def local_year(self, col: str) -> str:
        if self.pg:
            return f"TO_CHAR({self.shifted(col)}, 'YYYY')"
        return f"STRFTIME('%Y', {col}, '{self.offset:+d} seconds')"

    def seconds(self, start: str, end: str) -> str:
        """Whole seconds from ``start`` to ``end`` (NULL if either is NULL). Rounded to the second so
        that both databases give exactly the figure Python gives (JULIANDAY is a float of days)."""
        if self.pg:
            return f"ROUND(EXTRACT(EPOCH FROM ({end} - {start})))"
        return f"ROUND((JULIANDAY({end}) - JULIANDAY({start})) * 86400.0)"

    def days2(self, start: str, end: str) -> str:
        """Days from ``start`` to ``end`` rounded to two decimals, never negative."""
        secs = self.seconds(start, end)
        if self.pg:
            return f"ROUND(CAST(GREATEST({secs}, 0) / 86400.0 AS NUMERIC), 2)"
        return f"ROUND(MAX({secs}, 0) / 86400.0, 2)"

    def bind(self, sql: str, params: dict[str, Any]) -> tuple[str, list]:
        """Replace ``:name`` placeholders (longest names first) by the driver's parameter marker."""
        import re

        marker = "%s" if self.pg else "?"
        values: list = []

        def repl(m):
            values.append(params[m.group(1)])
            return marker

        out = re.sub(r":([a-z_]+)\b", lambda m: repl(m) if m.group(1) in params else m.group(0), sql)
        return out, values


def _dimension(sql: Sql, name: str) -> str:
    if name == "month":
        return sql.local_month("c.created_at")
    if name == "year":
        return sql.local_year("c.created_at")
    if name == "date":
        return sql.local_date("c.created_at")
    if name not in DIMENSIONS:
        raise ValueError(f"unknown dimension {name!r}")
    return DIMENSIONS[name]


@dataclass
class Scope:
    """Which complaints are counted.

    :param created_from: UTC lower bound (inclusive) of the filing time.
    :param created_to: UTC upper bound (exclusive) of the filing time.
    :param agency_id: only complaints handled by this agency now (an officer's view).
    :param include_secret: count secret (*rahasia*) complaints; public views leave them out.
    :param where: extra SQL predicates on ``c`` (trusted code only, never user input).
    """

    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    agency_id: int | None = None
    include_secret: bool = True
    where: Sequence[str] = field(default_factory=tuple)

    def sql(self) -> tuple[str, dict[str, Any]]:
        parts, params = ["1 = 1"], {}
        if self.created_from is not None:
            parts.append("c.created_at >= :created_from")
            params["created_from"] = self.created_from
        if self.created_to is not None:
            parts.append("c.created_at < :created_to")
            params["created_to"] = self.created_to
        if self.agency_id is not None:
            parts.append("c.agency_id = :agency_id")
            params["agency_id"] = self.agency_id
        if not self.include_secret:
            parts.append("c.secret = :false")
        parts.extend(f"({w})" for w in self.where)
        return " AND ".join(parts), params


FROM = ("FROM complaint c LEFT JOIN agency a ON a.id = c.agency_id "
        "LEFT JOIN category cat ON cat.id = c.category_id")


def _execute(sql: Sql, text: str, params: dict[str, Any]) -> list[tuple]:
    query, values = sql.bind(text, params)
    return list(database.execute_sql(query, values).fetchall())


def grouped(dims: Sequence[str], *, tz: str, scope: Scope | None = None, now: dt.datetime | None = None,
            conditions: Iterable[str] = (), medians: Iterable[str] = (), rating_sum: bool = False,
            extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Counts of complaints grouped by ``dims``, one dict per group, ordered by the dimensions.

    :param dims: names from :data:`DIMENSIONS` (empty: one row for the whole scope, if any).
    :param tz: the deployment's time zone (``TIMEZONE``), for ``month``/``year``/``date``.
    :param scope: which complaints (:class:`Scope`); default every complaint.
    :param now: reference time for ``overdue`` (default now, naive UTC).
    :param conditions: names from :data:`CONDITIONS` (or keys of ``extra``), each counted per group.
    :param medians: names from :data:`DURATIONS`: ``median_<name>`` and ``n_<name>`` (values counted).
    :param rating_sum: add ``rating_sum`` (sum of ratings) beside ``rated`` counts.
    :param extra: further named SQL predicates on ``c`` (trusted code only).
    :returns: ``[{dim: value, …, "complaints": n, <condition>: n, …}]``; groups without complaints are absent.
    """
    sql = Sql(tz)
    scope = scope or Scope()
    conds = {**CONDITIONS, **(extra or {})}
    where, params = scope.sql()
    params.update({"now": now or utcnow(), "true": True, "false": False})
    exprs = [_dimension(sql, d) for d in dims]
    cols = [f"{e} AS d{i}" for i, e in enumerate(exprs)]
    cols.append("COUNT(*) AS n")
    names = list(conditions)
    cols += [f"SUM(CASE WHEN {conds[n]} THEN 1 ELSE 0 END)" for n in names]
    if rating_sum:
        cols.append("SUM(CASE WHEN c.rating > 0 THEN c.rating ELSE 0 END)")
    group = f" GROUP BY {', '.join(exprs)} ORDER BY {', '.join(exprs)}" if exprs else ""
    rows = _execute(sql, f"SELECT {', '.join(cols)} {FROM} WHERE {where}{group}", params)
    out: dict[tuple, dict[str, Any]] = {}
    for r in rows:
        if not exprs and r[0] == 0:
            continue
        cell = {d: r[i] for i, d in enumerate(dims)}
        cell["complaints"] = int(r[len(dims)])
        for j, n in enumerate(names):
            cell[n] = int(r[len(dims) + 1 + j] or 0)
        if rating_sum:
            cell["rating_sum"] = int(r[-1] or 0)
        out[tuple(r[:len(dims)])] = cell
    for m in medians:
        for key, (median, count) in _medians(sql, exprs, m, where, params).items():
            if key in out:
                out[key][f"median_{m}"] = median
                out[key][f"n_{m}"] = count
        for cell in out.values():
            cell.setdefault(f"median_{m}", None)
            cell.setdefault(f"n_{m}", 0)
    return list(out.values())


def _medians(sql: Sql, exprs: list[str], name: str, where: str, params: dict) -> dict[tuple, tuple[float, int]]:
    start, end, unit = DURATIONS[name]
    value = f"({sql.seconds(start, end)} / {float(unit)})"
    dcols = "".join(f"{e} AS d{i}, " for i, e in enumerate(exprs))
    part = f"PARTITION BY {', '.join(exprs)} " if exprs else ""
    dnames = ", ".join(f"d{i}" for i in range(len(exprs)))
    inner = (f"SELECT {dcols}{value} AS v, ROW_NUMBER() OVER ({part}ORDER BY {value}) AS rn, "
             f"COUNT(*) OVER ({part.strip()}) AS cnt {FROM} WHERE {where} AND {end} IS NOT NULL")
    outer = (f"SELECT {dnames + ', ' if dnames else ''}AVG(v), MAX(cnt) FROM ({inner}) t "
             f"WHERE rn IN ((cnt + 1) / 2, (cnt + 2) / 2)" + (f" GROUP BY {dnames}" if dnames else ""))
    out = {}
    for r in _execute(sql, outer, params):
        *key, median, count = r
        if median is not None:
            out[tuple(key)] = (round(float(median), 2), int(count))
    return out


# --- suppression ---------------------------------------------------------------------------------

def suppress(cells: list[dict], count: str, k: int, groups: Iterable[Callable[[dict], Any]] = (),
             primary: Callable[[dict], bool] | None = None) -> None:
    """Small-cell suppression with complementary suppression, in place (sets ``cell["suppressed"]``).

    A cell whose ``count`` is below ``k`` (or for which ``primary`` says so) is suppressed. Then, for
    every group of cells whose total a reader can learn (each ``groups`` function maps a cell to its
    group key, or ``None`` for no group), a group holding suppressed cells must hold at least two of
    them and their counts must add up to at least ``k``; otherwise its smallest published cell is
    suppressed too, until every group satisfies the rule (or is suppressed whole). So a known group
    total minus the published cells leaves at least ``k`` complaints shared by at least two cells:
    no suppressed cell can be recomputed from that group.
    """
    for c in cells:
        c["suppressed"] = c[count] < k or bool(primary and primary(c))
    groups = list(groups)
    index = []
    for keyf in groups:
        members: dict[Any, list[dict]] = {}
        for c in cells:
            key = keyf(c)
            if key is not None:
                members.setdefault(key, []).append(c)
        index.append(members)
    changed = True
    while changed:
        changed = False
        for members in index:
            for group in members.values():
                while True:
                    hidden = [c for c in group if c["suppressed"]]
                    if not hidden or (len(hidden) >= 2 and sum(c[count] for c in hidden) >= k):
                        break
                    shown = [c for c in group if not c["suppressed"]]
                    if not shown:
                        break
                    min(shown, key=lambda c: (c[count], _sort_key(c)))["suppressed"] = True
                    changed = True


def _sort_key(cell: dict) -> tuple:
    return tuple("" if v is None else str(v) for v in cell.values())


# --- the /stats summary ----------------------------------------------------------------------------

def summary(*, tz: str, scope: Scope | None = None, now: dt.datetime | None = None,
            public: bool = False, k: int = 5, agency_names: dict[int, str] | None = None) -> dict[str, Any]:
    """What ``GET /api/v1/stats`` serves: totals by status and agency, overdue complaints, median
    hours to the first answer and days to resolution, average rating.

    :param public: the public view: secret complaints are left out of every figure, cells counting
        fewer than ``k`` complaints are withheld (``null``) with complementary suppression, and a
        median or average is given only over at least ``k`` values. Staff views (``public=False``)
        count everything in their scope.
    :param k: the small-cell threshold (``STATS_MIN_CELL_SIZE``, shared with the open data).
    """
    scope = scope or Scope()
    if public:
        scope = Scope(scope.created_from, scope.created_to, scope.agency_id, False, scope.where)
    now = now or utcnow()
    whole = grouped([], tz=tz, scope=scope, now=now, conditions=("overdue", "rated"),
                    medians=("first_response_hours", "resolution_days"), rating_sum=True)
    whole = whole[0] if whole else {"complaints": 0, "overdue": 0, "rated": 0, "rating_sum": 0,
                                    "median_first_response_hours": None, "n_first_response_hours": 0,
                                    "median_resolution_days": None, "n_resolution_days": 0}
    statuses = grouped(["status"], tz=tz, scope=scope, now=now)
    agencies = grouped(["agency_id"], tz=tz, scope=scope, now=now, conditions=("open", "overdue"))
    names = agency_names if agency_names is not None else _agency_names()
    floor = k if public else 1
    median_first = whole["median_first_response_hours"] if whole["n_first_response_hours"] >= floor else None
    median_res = whole["median_resolution_days"] if whole["n_resolution_days"] >= floor else None
    rating = round(whole["rating_sum"] / whole["rated"], 2) if whole["rated"] >= floor and whole["rated"] else None
    by_agency = [{"agency_id": r["agency_id"], "agency": names.get(r["agency_id"]), "total": r["complaints"],
                  "open": r["open"], "overdue": r["overdue"]} for r in agencies]
    by_status = {r["status"]: r["complaints"] for r in statuses}
    out = {"total": whole["complaints"], "by_status": by_status,
           "by_agency": sorted(by_agency, key=lambda r: (-r["total"], r["agency_id"] or 0)),
           "overdue": whole["overdue"], "median_hours_to_first_response": median_first,
           "median_days_to_resolution": median_res, "average_rating": rating}
    if public:
        cells = [{"status": s, "n": n} for s, n in by_status.items()]
        suppress(cells, "n", k, [lambda c: "all"])
        out["by_status"] = {c["status"]: (None if c["suppressed"] else c["n"]) for c in cells}
        suppress(out["by_agency"], "total", k, [lambda c: "all"])
        for row in out["by_agency"]:
            if row["suppressed"]:
                row.update(total=None, open=None, overdue=None)
        # the order must not rank withheld rows either: published rows by size, then withheld by id
        out["by_agency"].sort(key=lambda r: (r["suppressed"], -(r["total"] or 0), r["agency_id"] or 0))
        opened = sum(n for s, n in by_status.items() if s in OPEN)
        if 0 < out["overdue"] < k and opened:
            out["overdue"] = None
        out["suppressed_below"] = k
    return out


def _agency_names() -> dict[int, str]:
    from .models import Agency

    return {a.id: a.name for a in Agency.select(Agency.id, Agency.name)}


# --- the agencies' report card (rapor) -------------------------------------------------------------

#: counted per agency and per month on the report card
CARD_CONDITIONS = ("answered", "answered_on_time", "resolved", "resolved_on_time", "rated")


def _card_measures(cell: dict | None, withheld: bool, floor: int) -> dict[str, Any]:
    """The report card's figures of one cell; all ``None`` when the cell is withheld. Shares, medians
    and the average rating need at least ``floor`` values (``k`` in public views)."""
    keys = ("answered", "answered_on_time", "share_answered_on_time", "resolved", "resolved_on_time",
            "share_resolved_on_time", "median_hours_to_first_response", "median_days_to_resolution", "ratings",
            "average_rating")
    if withheld or cell is None:
        return dict.fromkeys(keys)

    def share(part: int, whole: int) -> float | None:
        return round(100.0 * part / whole, 1) if whole and whole >= floor else None

    return {
        "answered": cell["answered"], "answered_on_time": cell["answered_on_time"],
        "share_answered_on_time": share(cell["answered_on_time"], cell["answered"]),
        "resolved": cell["resolved"], "resolved_on_time": cell["resolved_on_time"],
        "share_resolved_on_time": share(cell["resolved_on_time"], cell["resolved"]),
        "median_hours_to_first_response": (cell["median_first_response_hours"]
                                           if cell["n_first_response_hours"] >= floor else None),
        "median_days_to_resolution": (cell["median_resolution_days"]
                                      if cell["n_resolution_days"] >= floor else None),
        "ratings": cell["rated"],
        "average_rating": (round(cell["rating_sum"] / cell["rated"], 2)
                           if cell["rated"] and cell["rated"] >= floor else None),
    }


def report_card(*, tz: str, scope: Scope | None = None, now: dt.datetime | None = None, public: bool = False,
                k: int = 5, agency_names: dict[int, str] | None = None) -> dict[str, Any]:
    """The agencies' report card (*rapor*): the ``/stats`` :func:`summary` (same arguments, same
    figures) plus, per agency and per month of filing, first answers and resolutions (how many, the
    share on time, medians) and ratings.

    Each agency row is :func:`summary`'s ``by_agency`` row (same order, same suppression) extended
    with :func:`_card_measures`; a row withheld there is withheld here. ``by_month`` counts the
    scope per month of filing (public: months under ``k`` complaints withheld, with complementary
    suppression). Shares are percentages (0–100, one decimal).

    :returns: ``{"summary": <summary()>, "agencies": [...], "by_month": [...]}``.
    """
    base = summary(tz=tz, scope=scope, now=now, public=public, k=k, agency_names=agency_names)
    scope = scope or Scope()
    if public:
        scope = Scope(scope.created_from, scope.created_to, scope.agency_id, False, scope.where)
    now = now or utcnow()
    measures = dict(conditions=CARD_CONDITIONS, medians=("first_response_hours", "resolution_days"),
                    rating_sum=True)
    floor = k if public else 1
    cells = {c["agency_id"]: c for c in grouped(["agency_id"], tz=tz, scope=scope, now=now, **measures)}
    agencies = [{**row, **_card_measures(cells.get(row["agency_id"]), bool(row.get("suppressed")), floor)}
                for row in base["by_agency"]]
    months = grouped(["month"], tz=tz, scope=scope, now=now, **measures)
    if public:
        suppress(months, "complaints", k, [lambda c: "all"])
    by_month = [{"month": m["month"], "total": None if m.get("suppressed") else m["complaints"],
                 "suppressed": bool(m.get("suppressed")), **_card_measures(m, bool(m.get("suppressed")), floor)}
                for m in months]
    return {"summary": base, "agencies": agencies, "by_month": by_month}
