"""Rows of the three published tables, computed from the complaint table.

* Record level (``complaints``): every row passes through :func:`aduan.privacy.export_record`
  (the gate: it drops secret complaints and strips personal data and free text); the plugin only
  adds derived, non-identifying values computed from the same row (durations, SLA met, a public
  id); ``export_record`` dates the row in the deployment's time zone.
* Aggregates (``monthly_counts``, ``agency_report_card``): counts over every complaint, secret ones
  included, with small cells suppressed (:func:`suppress`).

Rows are generated from ``.iterator()`` queries: memory holds one day of records, or one cell of
an aggregate, at a time (plus the published aggregate cells themselves, needed for complementary
suppression).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import statistics
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo

import peewee as pw
from aduan.db import utcnow
from aduan.models import Agency, Category, Complaint, Region
from aduan.privacy import export_record

from .tables import MONTHLY, REPORT_CARD

Progress = Callable[[int], None]


def no_progress(n: int) -> None:
    pass


class Context:
    """What one build needs from the app, read once."""

    def __init__(self, app, now: dt.datetime | None = None):
        cfg = app.config
        self.tz = ZoneInfo(cfg["TIMEZONE"])
        self.k = cfg["OPENDATA_MIN_CELL_SIZE"]
        self.statuses = list(cfg["OPENDATA_RECORD_STATUSES"])
        self.region_level = cfg["OPENDATA_AGGREGATE_REGION_LEVEL"]
        key = cfg.get("OPENDATA_ID_KEY") or ("opendata-public-id|" + cfg["SECRET_KEY"])
        self.id_key = key.encode()
        self.now = now or utcnow()
        self.calendar = app.extensions["aduan"].calendar
        self._regions: dict[str, str] | None = None

    def public_id(self, complaint_id: int) -> str:
        return hmac.new(self.id_key, str(complaint_id).encode(), hashlib.sha256).hexdigest()[:16]

    def local(self, utc: dt.datetime | None) -> dt.datetime | None:
        return utc.replace(tzinfo=dt.timezone.utc).astimezone(self.tz) if utc is not None else None

    def local_date(self, utc: dt.datetime | None) -> dt.date | None:
        return self.local(utc).date() if utc is not None else None

    def month(self, utc: dt.datetime) -> str:
        return self.local(utc).strftime("%Y-%m")

    def region_name(self, code: str | None) -> str | None:
        if code is None:
            return None
        if self._regions is None:
            self._regions = dict(Region.select(Region.code, Region.name).where(Region.level <= 3).tuples())
        return self._regions.get(code)


def days(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()) / 86400, 2)


def on_time(done: dt.datetime | None, due: dt.datetime | None, now: dt.datetime) -> bool | None:
    """Met (True), missed (False), or not decided yet (None)."""
    if due is None:
        return None
    if done is not None:
        return done <= due
    return False if due < now else None


def truncate_region(code: str | None, level: int) -> str | None:
    if not code:
        return None
    return ".".join(code.split(".")[:level])


# --- record level --------------------------------------------------------------------------------

def _rejected(c: Complaint) -> bool:
    """A complaint that was rejected, including one archived afterwards (archived without resolution)."""
    return c.status == "rejected" or (c.status == "archived" and c.resolved_at is None)


def record_query(ctx: Context):
    return (Complaint.select(Complaint, Category, Agency)
            .join(Category, pw.JOIN.LEFT_OUTER, on=(Complaint.category == Category.id)).switch(Complaint)
            .join(Agency, pw.JOIN.LEFT_OUTER, on=(Complaint.agency == Agency.id))
            .where((Complaint.secret == False) & Complaint.status.in_(ctx.statuses))  # noqa: E712
            .order_by(Complaint.created_at, Complaint.id))


def record_row(ctx: Context, c: Complaint) -> dict[str, Any] | None:
    rec = export_record(c, calendar=ctx.calendar)  # the privacy gate: None for secret complaints; local days
    if rec is None or ("rejected" not in ctx.statuses and _rejected(c)):
        return None
    fr = on_time(c.first_response_at, c.due_first_response, ctx.now)
    res = on_time(c.resolved_at, c.due_resolution, ctx.now) if c.status != "rejected" else None
    breached = [s for s in (c.breached or "").split(",") if s]
    return {
        "public_id": ctx.public_id(c.id),
        "created_date": rec["created"],
        "kind": rec["kind"],
        "category": rec["category"],
        "category_name": c.category.name if rec["category"] else None,
        "agency": rec["agency"],
        "agency_name": c.agency.name if rec["agency"] else None,
        "region": rec["region"],
        "region_name": ctx.region_name(rec["region"]),
        "channel": rec["channel"],
        "urgency": rec["urgency"],
        "status": rec["status"],
        "first_response_date": rec["first_response"],
        "first_response_days": days(c.created_at, c.first_response_at),
        "first_response_on_time": fr,
        "resolved_date": rec["resolved"],
        "resolution_days": days(c.created_at, c.resolved_at),
        "resolved_on_time": res,
        "sla_met": not breached and fr is not False and res is not False,
        "rating": rec["rating"],
    }


def records(ctx: Context, progress: Progress = no_progress) -> Iterator[dict[str, Any]]:
    """Record-level rows ordered by day, and within a day by public id (not by filing time)."""
    day, batch = None, []
    for c in record_query(ctx).iterator():
        progress(1)
        row = record_row(ctx, c)
        if row is None:
            continue
        if row["created_date"] != day:
            yield from sorted(batch, key=lambda r: r["public_id"])
            day, batch = row["created_date"], []
        batch.append(row)
    yield from sorted(batch, key=lambda r: r["public_id"])


def count_records(ctx: Context) -> int:
    return record_query(ctx).order_by().count()


# --- suppression -------------------------------------------------------------------------------

def suppress(cells: list[dict], count: str, k: int, groups: Iterable[Callable[[dict], Any]]) -> None:
    """Small-cell suppression with complementary suppression, in place.

    A cell whose ``count`` is below ``k`` is suppressed (primary). Then, for every group of cells
    whose total a reader could learn (each ``groups`` function maps a cell to its group key, or
    ``None`` for no group), a group holding suppressed cells must hold at least two of them and their
    counts must add up to at least ``k``; otherwise its smallest published cell is suppressed too,
    until every group satisfies the rule (or is suppressed whole). So a known group total minus the
    published cells leaves a sum of at least ``k`` shared by at least two cells: no suppressed cell
    can be recomputed.
    """
    for c in cells:
        c["suppressed"] = c[count] < k
    groups = list(groups)
    changed = True
    while changed:
        changed = False
        for keyf in groups:
            members: dict[Any, list[dict]] = {}
            for c in cells:
                key = keyf(c)
                if key is not None:
                    members.setdefault(key, []).append(c)
            for key, group in members.items():
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


def _median(values: list[float], k: int) -> float | None:
    return round(statistics.median(values), 2) if len(values) >= k else None


# Totals of the monthly table a reader can derive from other tables (the report card adds up, per
# month, the complaints that have an agency, i.e. all but unverified and rejected ones): each set of
# statuses below is protected as a group per month, as is the whole month.
_MONTH_GROUPS = (
    (),
    ("received",),
    ("received", "rejected"),
    ("received", "rejected", "archived"),
)


def monthly_counts(ctx: Context, progress: Progress = no_progress) -> list[dict[str, Any]]:
    region = fn_region(ctx.region_level)
    q = (Complaint.select(region.alias("r"), Category.code, Complaint.status, Complaint.channel,
                          Complaint.created_at, Complaint.first_response_at, Complaint.resolved_at)
         .join(Category, pw.JOIN.LEFT_OUTER, on=(Complaint.category == Category.id))
         .order_by(region, Category.code, Complaint.status, Complaint.channel, Complaint.created_at, Complaint.id)
         .tuples())
    cells: list[dict] = []
    key, cell = None, None
    for r, cat, status, channel, created, first, resolved in q.iterator():
        progress(1)
        k = (truncate_region(r, ctx.region_level), cat, status, channel, ctx.month(created))
        if k != key:
            if cell is not None:
                cells.append(_close_cell(cell, ctx.k))
            key = k
            cell = {"region": k[0], "region_name": ctx.region_name(k[0]), "month": k[4], "category": cat,
                    "status": status, "channel": channel, "complaints": 0, "_first": [], "_resolved": []}
        cell["complaints"] += 1
        if first is not None:
            cell["_first"].append(days(created, first))
        if resolved is not None:
            cell["_resolved"].append(days(created, resolved))
    if cell is not None:
        cells.append(_close_cell(cell, ctx.k))
    groups = [(lambda c, ex=ex: c["month"] if c["status"] not in ex else None) for ex in _MONTH_GROUPS]
    suppress(cells, "complaints", ctx.k, groups)
    out = []
    for c in sorted(cells, key=lambda c: (c["month"], c["region"] or "", c["category"] or "", c["status"],
                                          c["channel"])):
        out.append(_publish(c, MONTHLY_FIELDS, ("complaints", "median_first_response_days",
                                                "median_resolution_days")))
    return out


def _close_cell(cell: dict, k: int) -> dict:
    cell["median_first_response_days"] = _median(cell.pop("_first"), k)
    cell["median_resolution_days"] = _median(cell.pop("_resolved"), k)
    return cell


def _publish(cell: dict, fields: list[str], hidden: tuple[str, ...]) -> dict:
    row = {f: cell.get(f) for f in fields}
    if cell["suppressed"]:
        for f in hidden:
            row[f] = None
    row["suppressed"] = cell["suppressed"]
    return row


def fn_region(level: int):
    """SQL expression: the complaint's region code cut to ``level`` (codes are 2, 5 and 8 characters)."""
    return pw.fn.SUBSTR(Complaint.region, 1, {1: 2, 2: 5, 3: 8}[level])


def report_card(ctx: Context, progress: Progress = no_progress) -> list[dict[str, Any]]:
    q = (Complaint.select(Agency.code, Agency.name, Complaint.created_at, Complaint.first_response_at,
                          Complaint.due_first_response, Complaint.rating)
         .join(Agency, on=(Complaint.agency == Agency.id))
         .order_by(Agency.code, Complaint.created_at, Complaint.id)
         .tuples())
    cells: list[dict] = []
    key, cell = None, None
    for code, name, created, first, due, rating in q.iterator():
        progress(1)
        k = (code, ctx.month(created))
        if k != key:
            if cell is not None:
                cells.append(_close_card(cell, ctx.k))
            key = k
            cell = {"agency": code, "agency_name": name, "month": k[1], "complaints_received": 0,
                    "answered_on_time": 0, "_first": [], "_ratings": []}
        cell["complaints_received"] += 1
        if first is not None:
            cell["_first"].append(days(created, first))
            if due is not None and first <= due:
                cell["answered_on_time"] += 1
        if rating is not None:
            cell["_ratings"].append(rating)
    if cell is not None:
        cells.append(_close_card(cell, ctx.k))
    suppress(cells, "complaints_received", ctx.k, [lambda c: c["month"]])
    out = []
    for c in sorted(cells, key=lambda c: (c["month"], c["agency"])):
        out.append(_publish(c, REPORT_FIELDS, ("complaints_received", "answered_on_time",
                                               "median_first_response_days", "ratings", "rating_average")))
    return out


def _close_card(cell: dict, k: int) -> dict:
    cell["median_first_response_days"] = _median(cell.pop("_first"), k)
    ratings = cell.pop("_ratings")
    enough = len(ratings) >= k
    cell["ratings"] = len(ratings) if enough else None
    cell["rating_average"] = round(sum(ratings) / len(ratings), 2) if enough else None
    return cell


def count_all() -> tuple[int, int]:
    """Complaints scanned by the monthly table and by the report card (for progress bars)."""
    return Complaint.select().count(), Complaint.select().where(Complaint.agency.is_null(False)).count()


MONTHLY_FIELDS = MONTHLY.field_names
REPORT_FIELDS = REPORT_CARD.field_names
