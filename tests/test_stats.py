"""The statistics service (aduan.stats) behind /api/v1/stats: figures computed in SQL agree with the
same figures computed row by row in Python, and the public view never reveals secret complaints."""
from __future__ import annotations

import datetime as dt
import random
import statistics

from aduan import services
from aduan.auth import Actor, system
from aduan.db import database
from aduan.testing import auth

STAFF = system("test")


def _file(when, *, secret=False, channel="web", region="52.71.01"):
    c, _ = services.file_complaint({"title": "Jalan rusak", "body": "Berlubang besar", "category": "jalan",
                                    "region_code": region, "secret": secret},
                                   actor=Actor(role="reporter"), channel=channel, now=when)
    return c


def _mixed(seed, n=40, start=dt.datetime(2026, 3, 1, 2)):
    """n complaints in varied states (verified, answered, resolved, rated, rejected, open)."""
    rnd = random.Random(7)
    for i in range(n):
        when = start + dt.timedelta(hours=13 * i)
        c = _file(when, secret=(i % 9 == 0), channel=rnd.choice(["web", "sms", "email"]))
        roll = rnd.random()
        if roll < 0.1:
            services.perform(c, "reject", STAFF, text="Spam", now=when + dt.timedelta(hours=2))
            continue
        if roll < 0.25:
            continue
        agency = seed.agency_a if rnd.random() < 0.7 else seed.agency_b
        services.perform(c, "verify", STAFF, agency_id=agency.id, now=when + dt.timedelta(hours=1))
        if rnd.random() < 0.8:
            services.perform(c, "respond", STAFF, text="Kami tangani",
                             now=when + dt.timedelta(hours=rnd.randint(2, 90)))
            if rnd.random() < 0.6:
                services.perform(c, "resolve", STAFF, text="Selesai",
                                 now=when + dt.timedelta(days=rnd.randint(3, 20), hours=rnd.randint(0, 20)))
                if rnd.random() < 0.7:
                    services.perform(c, "rate", Actor(role="reporter", complaint_id=c.id),
                                     rating=rnd.randint(1, 5), now=when + dt.timedelta(days=25))


def _reference(now, agency_id=None, include_secret=True):
    """The old row-by-row computation of /stats, kept here as the oracle."""
    from aduan.models import Complaint
    from aduan.sla import overdue_stages

    q = Complaint.select()
    if agency_id:
        q = q.where(Complaint.agency == agency_id)
    if not include_secret:
        q = q.where(Complaint.secret == False)  # noqa: E712
    by_status, by_agency, first, res, ratings, overdue = {}, {}, [], [], [], 0
    for c in q:
        by_status[c.status] = by_status.get(c.status, 0) + 1
        row = by_agency.setdefault(c.agency_id, {"total": 0, "open": 0, "overdue": 0})
        row["total"] += 1
        row["open"] += c.status in ("received", "dispatched", "in_progress", "on_hold")
        if overdue_stages(c, now):
            overdue += 1
            row["overdue"] += 1
        if c.first_response_at:
            first.append((c.first_response_at - c.created_at).total_seconds() / 3600)
        if c.resolved_at:
            res.append((c.resolved_at - c.created_at).total_seconds() / 86400)
        if c.rating:
            ratings.append(c.rating)
    med = (lambda v: round(statistics.median(v), 2) if v else None)
    return {"total": sum(by_status.values()), "by_status": by_status, "by_agency": by_agency, "overdue": overdue,
            "median_hours_to_first_response": med(first), "median_days_to_resolution": med(res),
            "average_rating": round(sum(ratings) / len(ratings), 2) if ratings else None}


def test_sql_figures_equal_the_row_by_row_oracle(app, seed, client):
    with app.app_context(), database.connection_context():
        _mixed(seed)
        oracle = _reference(dt.datetime.utcnow())
        oracle_b = _reference(dt.datetime.utcnow(), agency_id=seed.agency_b.id)
    got = client.get("/api/v1/stats", headers=auth(seed.coordinator)).json
    for key in ("total", "by_status", "overdue", "median_hours_to_first_response", "median_days_to_resolution",
                "average_rating"):
        assert got[key] == oracle[key], key
    assert {r["agency_id"]: {k: r[k] for k in ("total", "open", "overdue")} for r in got["by_agency"]} \
        == oracle["by_agency"]
    assert oracle["median_days_to_resolution"] is not None and oracle["average_rating"] is not None
    officer = client.get("/api/v1/stats", headers=auth(seed.officer_b)).json
    assert officer["total"] == oracle_b["total"] > 0
    assert officer["by_status"] == oracle_b["by_status"]


def test_month_groups_follow_the_deployment_time_zone(app, seed):
    from aduan import stats

    with app.app_context(), database.connection_context():
        _file(dt.datetime(2026, 3, 31, 17, 0))  # 2026-04-01 01:00 WITA
        _file(dt.datetime(2026, 3, 31, 15, 0))  # 2026-03-31 23:00 WITA
        rows = stats.grouped(["month", "kabupaten"], tz="Asia/Makassar")
    assert [(r["month"], r["kabupaten"], r["complaints"]) for r in rows] == [("2026-03", "52.71", 1),
                                                                             ("2026-04", "52.71", 1)]


def test_public_counts_leave_secret_complaints_out_and_withhold_small_cells(app, seed, client):
    with app.app_context(), database.connection_context():
        for i in range(7):
            c = _file(dt.datetime(2026, 3, 2 + i, 2))
            services.perform(c, "verify", STAFF, agency_id=seed.agency_a.id, now=dt.datetime(2026, 3, 2 + i, 3))
        c = _file(dt.datetime(2026, 3, 10, 2))  # one with the other agency: a small cell
        services.perform(c, "verify", STAFF, agency_id=seed.agency_b.id, now=dt.datetime(2026, 3, 10, 3))
    before = client.get("/api/v1/stats").json
    assert before["suppressed_below"] == 5
    assert before["total"] == 8
    # agency B has 1 complaint: withheld; agency A's 7 would give it away (8 - 7), so A is withheld too
    assert all(r["total"] is None and r["suppressed"] for r in before["by_agency"])
    assert before["by_status"] == {"dispatched": 8}
    staff = client.get("/api/v1/stats", headers=auth(seed.coordinator)).json
    assert sorted(r["total"] for r in staff["by_agency"]) == [1, 7]

    with app.app_context(), database.connection_context():  # a secret complaint, disposed to agency B
        c = _file(dt.datetime(2026, 3, 11, 2), secret=True)
        services.perform(c, "verify", STAFF, agency_id=seed.agency_b.id, now=dt.datetime(2026, 3, 11, 3))
    after = client.get("/api/v1/stats").json
    assert after == before  # no public figure moves: the secret complaint is not public
    assert client.get("/api/v1/stats", headers=auth(seed.coordinator)).json["total"] == 9


def test_public_medians_need_k_values(app, seed, client):
    with app.app_context(), database.connection_context():
        for i in range(3):
            c = _file(dt.datetime(2026, 3, 2 + i, 2))
            services.perform(c, "verify", STAFF, agency_id=seed.agency_a.id, now=dt.datetime(2026, 3, 2 + i, 3))
            services.perform(c, "respond", STAFF, text="ok", now=dt.datetime(2026, 3, 2 + i, 9))
    public = client.get("/api/v1/stats").json
    assert public["median_hours_to_first_response"] is None
    assert client.get("/api/v1/stats", headers=auth(seed.coordinator)).json["median_hours_to_first_response"] == 7.0


def test_extreme_dates_bound_nothing(app, seed, client):
    r = client.get("/api/v1/stats?created_from=0001-01-01&created_to=9999-12-31", headers=auth(seed.coordinator))
    assert r.status_code == 200 and r.json["total"] == 0


def _card_oracle(rows, floor=1):
    """The report card's measures of a set of complaints, row by row."""
    answered = [c for c in rows if c.first_response_at]
    resolved = [c for c in rows if c.resolved_at]
    rated = [c.rating for c in rows if c.rating]
    on_time = [c for c in answered if c.due_first_response and c.first_response_at <= c.due_first_response]
    res_on_time = [c for c in resolved if c.due_resolution and c.resolved_at <= c.due_resolution]
    share = (lambda part, whole: round(100.0 * len(part) / len(whole), 1) if whole and len(whole) >= floor else None)
    med = (lambda v: round(statistics.median(v), 2) if v and len(v) >= floor else None)
    return {"answered": len(answered), "answered_on_time": len(on_time), "share_answered_on_time": share(on_time, answered),
            "resolved": len(resolved), "share_resolved_on_time": share(res_on_time, resolved),
            "median_hours_to_first_response": med([(c.first_response_at - c.created_at).total_seconds() / 3600
                                                   for c in answered]),
            "median_days_to_resolution": med([(c.resolved_at - c.created_at).total_seconds() / 86400 for c in resolved]),
            "ratings": len(rated),
            "average_rating": round(sum(rated) / len(rated), 2) if rated and len(rated) >= floor else None}


def test_report_card_extends_the_summary_per_agency_and_month(app, seed, client):
    from aduan import stats
    from aduan.i18n import to_local
    from aduan.models import Complaint

    with app.app_context(), database.connection_context():
        _mixed(seed, n=60)
        now = dt.datetime.utcnow()
        staff = stats.report_card(tz="Asia/Makassar", now=now)
        public = stats.report_card(tz="Asia/Makassar", now=now, public=True, k=5)
        everyone = list(Complaint.select())
        summary = stats.summary(tz="Asia/Makassar", now=now, public=True, k=5)
        measures = list(_card_oracle([]).keys())
        for row in staff["agencies"]:
            mine = [c for c in everyone if c.agency_id == row["agency_id"]]
            assert {k: row[k] for k in measures} == _card_oracle(mine), row["agency_id"]
        months = {}
        for c in everyone:
            months.setdefault(to_local(c.created_at).strftime("%Y-%m"), []).append(c)
        assert [m["month"] for m in staff["by_month"]] == sorted(months)
        for m in staff["by_month"]:
            assert m["total"] == len(months[m["month"]])
            assert {k: m[k] for k in measures} == _card_oracle(months[m["month"]]), m["month"]
        # the public card is the public /stats summary, extended: same rows, same withheld cells
        assert public["summary"] == summary
        assert [{k: r[k] for k in ("agency_id", "total", "open", "overdue")} for r in public["agencies"]] \
            == [{k: r[k] for k in ("agency_id", "total", "open", "overdue")} for r in summary["by_agency"]]
        for row in public["agencies"]:
            mine = [c for c in everyone if c.agency_id == row["agency_id"] and not c.secret]
            if row["suppressed"]:
                assert all(row[k] is None for k in measures)
            else:
                assert {k: row[k] for k in measures} == _card_oracle(mine, floor=5)
    assert public["summary"] == {**client.get("/api/v1/stats").json}
