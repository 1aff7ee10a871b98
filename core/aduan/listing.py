"""The complaint list, shared by the API (``GET /api/v1/complaints``) and staff pages.

One query per page whatever the filters and the table's size:

* **Reach** first (the public list: verified, not secret; an officer: their agency; an integration
  token: its ``channel:`` and ``agency:`` scopes), then the filters of
  :class:`aduan.api.schemas.ComplaintFilter` (status, agency, category, urgency, channel, kind,
  region prefix, created dates in the deployment's zone, ``q``, overdue).
* **Order and pages**: newest first by ``(created_at, id)``, the order of the ``(created_at, id)``
  and ``(agency_id, created_at, id)`` indexes (core migration 0011); a page is the rows after a
  cursor complaint (keyset), so page 1,000 costs what page 1 costs (on SQLite a cursor page may
  take two queries: see :func:`_beyond`).
* **Rows** come with their reporter from one joined query (:func:`aduan.db.select_related` /
  :func:`aduan.db.fetch_related`) and their agency, category and region from the process's
  directory cache (:func:`attach_directory`): no query per row.
* **Counts** for tabs are bounded (:func:`bounded_count`): "1000+" costs at most 1,001 index
  entries, where an exact count of a million-row table reads every row.
"""
from __future__ import annotations

import datetime as dt

from peewee import SQL, NodeList, Tuple

from .db import fetch_related, is_postgres, select_related, utcnow
from .models import Agency, Category, Complaint, Region, Reporter
from .search import text_match

#: What the public list shows: verified complaints (not received, rejected or archived).
PUBLIC_LIST_STATUSES = ("dispatched", "in_progress", "on_hold", "resolved", "closed")
#: The rows read with each complaint of a page: the reporter joined; agency, category and region
#: from the process's directory cache (:func:`attach_directory`).
RELATED = {"reporter": Reporter}
#: The directory rows a complaint names: (foreign key, model, the column it points at).
DIRECTORY = (("agency", Agency, "id"), ("category", Category, "id"), ("region", Region, "code"))
#: Newest first: the lists' order, and the keyset's.
ORDER = (Complaint.created_at.desc(), Complaint.id.desc())
STAFF_ROLES = ("admin", "coordinator", "officer", "integration")


def filter_created(query, args):
    """Apply ``created_from``/``created_to`` (inclusive days in the deployment's time zone).

    Any date is accepted: a bound that falls outside what a timestamp can hold once converted to UTC
    (``0001-01-01``, ``9999-12-31``, the usual "no limit" of clients) excludes nothing, so it is
    simply not applied; ``created_from`` after ``created_to`` is an empty result.
    """
    from flask import current_app

    cal = current_app.extensions["aduan"].calendar
    if args.get("created_from"):
        try:
            query = query.where(Complaint.created_at >= cal.day_start_utc(args["created_from"]))
        except OverflowError:
            pass  # before year 1 in UTC: nothing was filed earlier
    if args.get("created_to"):
        try:
            query = query.where(Complaint.created_at < cal.day_start_utc(args["created_to"] + dt.timedelta(days=1)))
        except OverflowError:
            pass  # past year 9999: nothing is filed later
    return query


def overdue_condition(now: dt.datetime):
    """Open complaints past any of their clocks (``overdue=true``, the staff queue's *Overdue* tab):
    any stage of :func:`aduan.sla.overdue_conditions`, with the open statuses written once in front."""
    from functools import reduce

    from .models import OPEN_STATUSES
    from .sla import overdue_conditions

    return Complaint.status.in_(OPEN_STATUSES) & reduce(lambda a, b: a | b, overdue_conditions(now).values())


def filtered(actor, args: dict, *, related: bool = True):
    """``(query, order)``: the complaints ``actor`` may list that match ``args`` (the loaded
    ``ComplaintFilter``; ``cursor`` and ``limit`` are :func:`page`'s), newest first.

    ``related=False``: the complaint ids alone (for counts)."""
    staff = actor.role in STAFF_ROLES
    q = select_related(Complaint, RELATED) if related else Complaint.select(Complaint.id)
    # On SQLite, a status filter would pick the status index and then sort every match; the
    # unary "+" (SQLite's documented hint) keeps the walk on the (created_at, id) index, newest first.
    status_col = Complaint.status if is_postgres() else NodeList((SQL("+"), Complaint.status), glue="")
    if not staff:  # the public list: verified complaints that are not secret (rahasia)
        q = q.where(status_col.in_(PUBLIC_LIST_STATUSES) & (Complaint.secret == False))  # noqa: E712
    if actor.role == "officer":
        q = q.where(Complaint.agency == actor.agency_id)
    if actor.role == "integration":  # the token's reach
        if actor.channels:
            q = q.where(Complaint.channel.in_(sorted(actor.channels)))
        if actor.agency_limited:
            q = q.where(Complaint.agency.in_(sorted(actor.agency_ids) or [0]))
    if args.get("status"):
        q = q.where(status_col.in_(args["status"]))
    for key, col in (("agency_id", Complaint.agency), ("category_id", Complaint.category),
                     ("urgency", Complaint.urgency), ("channel", Complaint.channel), ("kind", Complaint.kind)):
        if args.get(key) is not None:
            q = q.where(col == args[key])
    if args.get("region"):
        r = args["region"]
        q = q.where((Complaint.region == r) | (Complaint.region.startswith(r + ".")))
    q = filter_created(q, args)
    order = ORDER
    if args.get("q"):
        # title or body contains q (case-insensitive); on a large PostgreSQL table a rare term is
        # found through a few rare trigrams and its candidates sorted (aduan.search)
        cond, order = text_match(args["q"])
        if not staff or (actor.role == "integration" and not actor.has_scope("secret:read")):
            cond = cond & (Complaint.secret == False)  # noqa: E712 - never match on hidden content
        q = q.where(cond)
    if args.get("overdue") is not None:
        od = overdue_condition(utcnow())
        q = q.where(od if args["overdue"] else ~od)
    return q, order


def page(query, order=ORDER, *, limit: int, after: int | None = None,
         before: int | None = None) -> tuple[list[Complaint], bool]:
    """One page of a :func:`filtered` query: ``(complaints, more)``, the rows after complaint
    ``after`` (the previous page's last id) in the list's order; or, with ``before`` (the next
    page's first id), the page just before it (``more``: there are newer ones still)."""
    if before:
        at = Complaint.select(Complaint.created_at).where(Complaint.id == before).scalar()
        if at is not None:
            rows = _beyond(query, order, at, before, newer=True, limit=limit)
            return attach_directory(list(reversed(rows[:limit]))), len(rows) > limit
    if after:
        # Keyset on (created_at, id): the rows after the cursor's complaint, which one primary-key
        # read locates.
        at = Complaint.select(Complaint.created_at).where(Complaint.id == after).scalar()
        if at is None:  # a cursor from before 0011 whose complaint is gone: the id order
            query = query.where(Complaint.id < after)
        else:
            rows = _beyond(query, order, at, after, newer=False, limit=limit)
            return attach_directory(rows[:limit]), len(rows) > limit
    rows = fetch_related(query.order_by(*order).limit(limit + 1), Complaint, RELATED)
    return attach_directory(rows[:limit]), len(rows) > limit


def _beyond(query, order, at, cid: int, *, newer: bool, limit: int) -> list[Complaint]:
    """Up to ``limit + 1`` rows past the cursor complaint ``(at, cid)``: older ones in the list's
    order, or (``newer``) newer ones, oldest first.

    PostgreSQL's index takes the row value ``(created_at, id) < (at, cid)`` as its range. SQLite's
    takes only ``created_at`` from it and then filters every complaint filed at that same instant
    one by one (a bulk import can give thousands the same time: the last page of 10,000 such took 10
    times the first). There the two parts are asked in turn: the same instant beyond ``cid``, which
    the ``(created_at, id)`` index finds exactly, then, if the page is not full, the instants beyond."""
    if newer:
        # written as the list's order was: a rare search's row value (aduan.search: sort the few
        # candidates) or the columns (walk the index)
        ordering = ((Tuple(Complaint.created_at, Complaint.id).asc(),) if len(order) == 1
                    else (Complaint.created_at.asc(), Complaint.id.asc()))
    else:
        ordering = order
    if is_postgres():
        key, cursor = Tuple(Complaint.created_at, Complaint.id), Tuple(at, cid)
        past = query.where(key > cursor if newer else key < cursor)
        return fetch_related(past.order_by(*ordering).limit(limit + 1), Complaint, RELATED)
    same = query.where((Complaint.created_at == at) & ((Complaint.id > cid) if newer else (Complaint.id < cid)))
    rows = fetch_related(same.order_by(*ordering).limit(limit + 1), Complaint, RELATED)
    if len(rows) <= limit:
        rest = query.where((Complaint.created_at > at) if newer else (Complaint.created_at < at))
        rows += fetch_related(rest.order_by(*ordering).limit(limit + 1 - len(rows)), Complaint, RELATED)
    return rows


def attach_directory(rows: list[Complaint]) -> list[Complaint]:
    """Set each complaint's agency, category and region from the process's directory cache
    (:func:`aduan.services.cached_rows`, ``LOOKUP_CACHE_SECONDS``; what is not cached is read in one
    query per table). Joining the three small tables into the page's query made PostgreSQL spend
    more time planning it than running it (bench/HISTORY.md); a changed name shows at once in the
    process that changed it and within ``LOOKUP_CACHE_SECONDS`` in the others."""
    from .services import cached_rows

    for name, model, by in DIRECTORY:  # a foreign key's value is kept under its field's name
        found = cached_rows(model, by, [c.__data__.get(name) for c in rows])
        for c in rows:
            value = c.__data__.get(name)
            if value is not None:
                c.__rel__[name] = found.get(value)
    return rows


def bounded_count(query, cap: int = 1000) -> int:
    """How many rows ``query`` matches, counting no further than ``cap + 1`` (shown as "1000+")."""
    return query.limit(cap + 1).count()


def distinct_values(field) -> list:
    """The distinct non-null values of an indexed column, in order, by a skip scan: one index probe
    per value (``WITH RECURSIVE``), where ``SELECT DISTINCT`` reads the whole table."""
    from .db import database

    table, column = field.model._meta.table_name, field.column_name
    sql = (f'WITH RECURSIVE v(x) AS (SELECT MIN("{column}") FROM "{table}" UNION ALL '
           f'SELECT (SELECT MIN("{column}") FROM "{table}" WHERE "{column}" > v.x) FROM v WHERE v.x IS NOT NULL) '
           f'SELECT x FROM v WHERE x IS NOT NULL')
    return [row[0] for row in database.execute_sql(sql).fetchall()]
