"""Pages by cursor when many complaints share one filing time (a bulk import, a migration).

The list's keyset is ``(created_at, id)``. PostgreSQL's index takes that row value as its range;
SQLite's takes only ``created_at`` and then filtered, one by one, every complaint filed at the
cursor's instant, so the last page of 3,000 such complaints read all 3,000 (``aduan.listing``).
"""
from __future__ import annotations

import datetime as dt

import pytest

from aduan.auth import Actor
from aduan.db import database, is_postgres
from aduan.testing import auth, seed_basics

SAME = 3000


@pytest.fixture
def crowd(make_app):
    """3,000 complaints filed at one instant, then 20 at instants of their own (newest)."""
    from aduan.models import Complaint

    app = make_app()
    with app.app_context(), database.connection_context():
        seed = seed_basics()
        at = dt.datetime(2026, 3, 1, 2, 0, 0)
        rows = [{"tracking_id": f"S{i:07d}", "access_code_hash": "x" * 64, "title": f"Impor {i}",
                 "body": "Aduan lama dari impor.", "status": "dispatched", "agency": seed.agency_a.id,
                 "created_at": at if i < SAME else at + dt.timedelta(minutes=i), "updated_at": at}
                for i in range(SAME + 20)]
        with database.atomic():
            for k in range(0, len(rows), 500):
                Complaint.insert_many(rows[k:k + 500]).execute()
        if is_postgres():
            database.execute_sql("ANALYZE complaint")
        order = [c.id for c in Complaint.select(Complaint.id)
                 .order_by(Complaint.created_at.desc(), Complaint.id.desc())]
    return app, seed, order


def test_cursor_pages_through_one_instant_without_gaps(crowd):
    """Older pages by the API's cursor, then newer pages back up (the portal's "newer" link): every
    complaint once, in the list's order, both ways."""
    from aduan import listing

    app, seed, order = crowd
    client = app.test_client()
    seen, cursor = [], None
    while True:
        args = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/complaints", query_string=args, headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
        seen += [int(v["tracking_id"][1:]) for v in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    with app.app_context(), database.connection_context():
        from aduan.models import Complaint

        ids = dict(Complaint.select(Complaint.tracking_id, Complaint.id).tuples())
        assert [ids[f"S{n:07d}"] for n in seen] == order
        query, o = listing.filtered(Actor(role="coordinator"), {})
        back, first = [], order[-1]
        while first:
            rows, more = listing.page(query, o, limit=333, before=first)
            back = [c.id for c in rows] + back
            first = rows[0].id if rows and more else None
        assert back == order[:-1]


def test_sqlite_last_page_reads_what_the_first_page_reads(crowd):
    """The work of a page (SQLite's virtual-machine steps, which do not depend on the machine's
    speed) is about the same at the last page of the crowd as at its first."""
    from aduan import listing

    app, seed, order = crowd
    if is_postgres():
        pytest.skip("SQLite's index range (PostgreSQL's takes the whole row value)")
    with app.app_context(), database.connection_context():
        query, o = listing.filtered(Actor(role="coordinator"), {})
        conn = database.connection()

        def steps(**cursor) -> int:
            n = [0]

            def tick():
                n[0] += 1
                return 0

            conn.set_progress_handler(tick, 100)
            try:
                rows, _more = listing.page(query, o, limit=50, **cursor)
            finally:
                conn.set_progress_handler(None, 100)
            assert len(rows) == 50
            return n[0]

        first = steps(after=order[29])  # the crowd's first page (after the 20 of their own, and 10)
        last = steps(after=order[-51])  # its last
        newer = steps(before=order[-1])  # and the newer page above its oldest complaint
    assert last < 3 * first and newer < 3 * first, (first, last, newer)
