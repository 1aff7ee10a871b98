"""Privacy of the aggregates, on generated data and across releases.

The rules (aduan_opendata/data.py), with k = OPENDATA_MIN_CELL_SIZE:
1. a published cell counts at least k complaints;
2. a published cell holds no complaint missing from the record table, or at least k of them;
3. in every group whose total a reader knows, suppressed cells are none or at least two and add up
   to at least k (so the record table gives each suppressed cell a lower bound, and the group's
   equation cannot place an unpublished complaint in one of them);
4. a fine-cross cell inside a withheld marginal cell is withheld.
And releases: closed months are frozen, so the differencing attack (publish, add a secret
complaint, publish again, compare every table) finds no change at all."""
from __future__ import annotations

import csv
import datetime as dt
import random
from collections import Counter, defaultdict
from pathlib import Path

import pytest

K = 5
API = "/api/v1/plugins/opendata"
KECAMATAN = ["52.71.01", "52.71.02", "52.71.03", "52.71.04", "52.71.05", "52.71.06"]


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def generate(n: int, seed: int = 11, start=dt.datetime(2026, 1, 1)) -> None:
    """n complaints over four months, in every state, about 6% secret (bulk insert: generated data)."""
    from aduan.db import database
    from aduan.models import Agency, Category, Complaint

    rnd = random.Random(seed)
    agencies = [Agency.create(code=f"OPD{i}", name=f"Dinas {i}").id for i in range(6)]
    categories = [Category.create(code=f"kat{i}", name=f"Kategori {i}").id for i in range(5)]
    rows = []
    for i in range(n):
        created = start + dt.timedelta(minutes=rnd.randrange(0, 4 * 30 * 24 * 60))
        status = rnd.choices(["received", "dispatched", "in_progress", "on_hold", "resolved", "closed", "rejected",
                              "archived"], [4, 10, 20, 3, 15, 35, 8, 5])[0]
        verified = status not in ("received", "rejected")
        answered = verified and rnd.random() < 0.85
        resolved = status in ("resolved", "closed") or (status == "archived" and rnd.random() < 0.7)
        first = created + dt.timedelta(hours=rnd.randint(1, 120)) if answered else None
        res = created + dt.timedelta(days=rnd.randint(2, 50), hours=rnd.randint(0, 23)) if resolved else None
        rows.append({
            "tracking_id": f"G{i:07d}", "access_code_hash": "x", "kind": "pengaduan", "title": "t", "body": "b",
            "category": rnd.choice(categories + [None]) if rnd.random() < 0.1 else rnd.choice(categories),
            "agency": rnd.choices(agencies, [40, 25, 15, 10, 6, 4])[0] if verified else None,
            "urgency": "biasa", "secret": rnd.random() < 0.06,
            "region": rnd.choices(KECAMATAN, [30, 25, 20, 15, 7, 3])[0],
            "channel": rnd.choices(["web", "sms", "email", "whatsapp", "lapor"], [50, 25, 10, 10, 5])[0],
            "status": status, "created_at": created, "updated_at": created,
            "verified_at": created + dt.timedelta(hours=3) if verified else None,
            "first_response_at": first, "resolved_at": res,
            "closed_at": res + dt.timedelta(days=3) if res and status in ("closed", "archived") else None,
            "due_first_response": created + dt.timedelta(hours=48),
            "due_resolution": created + dt.timedelta(days=60), "breached": "",
            "rating": rnd.randint(1, 5) if status == "closed" and rnd.random() < 0.5 else None,
        })
    with database.atomic():
        for j in range(0, n, 500):
            Complaint.insert_many(rows[j:j + 500]).execute()


@pytest.fixture
def generated(od_app, tmp_path):
    from aduan.db import database
    from aduan.testing import seed_basics
    from aduan_opendata.publish import export

    with od_app.app_context(), database.connection_context():
        seed_basics()
        generate(1500)
    with od_app.app_context():
        export(od_app, str(tmp_path / "out"))
    return od_app, tmp_path / "out"


def _truth(app, month_dims):
    """Counts of every complaint and of record rows per cell, from the database (the oracle)."""
    from aduan import stats
    from aduan.db import database
    from aduan_opendata import data

    with app.app_context(), database.connection_context():
        ctx = data.Context(app)
        return {(r["month"],) + tuple(r[d] for d in month_dims[1:]): (r["complaints"], r["record"])
                for r in stats.grouped(month_dims, tz="Asia/Makassar", extra={"record": data.record_where(ctx)},
                                       conditions=("record",))}


MARGINALS = {"agency_report_card": "agency", "monthly_by_category": "category", "monthly_by_channel": "channel",
             "monthly_by_status": "status"}


def _key(v):
    return v or None


def test_rules_hold_on_every_aggregate_table(generated):
    app, out = generated
    records = _read(out / "complaints.csv")
    assert len(records) > 900
    # by day, then public id (days hold ~12 records here): the order reveals no filing time
    assert [(r["created_date"], r["public_id"]) for r in records] == \
        sorted((r["created_date"], r["public_id"]) for r in records)
    assert [r["public_id"] for r in records] == [r["public_id"] for r in _read(out / "complaints-2026.csv")]
    rec_count = Counter()
    for r in records:
        m = r["created_date"][:7]
        for dim in ("agency", "category", "channel", "status"):
            rec_count[(dim, m, _key(r[dim]))] += 1
    totals = {r["month"]: int(r["complaints"]) for r in _read(out / "totals.csv") if r["level"] == "all"}
    assert sum(totals.values()) == 1500  # every complaint counted, secret, unverified and rejected included
    published_cells = suppressed_cells = 0
    withheld = defaultdict(set)
    for table, dim in MARGINALS.items():
        truth = _truth(app, ["month", dim])
        by_month = defaultdict(list)
        for r in _read(out / f"{table}.csv"):
            by_month[r["month"]].append(r)
        for month, cells in by_month.items():
            hidden_cells = []
            for c in cells:
                count, recs = truth[(month, _key(c[dim]))]
                assert recs == rec_count[(dim, month, _key(c[dim]))]  # the record table agrees
                if c["suppressed"] == "false":
                    published_cells += 1
                    assert int(c["complaints"]) == count >= K  # rule 1
                    assert count - recs == 0 or count - recs >= K, (table, month, c)  # rule 2
                else:
                    suppressed_cells += 1
                    withheld[dim].add((month, _key(c[dim])))
                    assert c["complaints"] == ""
                    hidden_cells.append(count)
            # rule 3: the month's total is known (totals); the withheld cells share at least k
            assert sum(int(c["complaints"]) for c in cells if c["complaints"]) + sum(hidden_cells) == totals[month]
            assert not hidden_cells or (len(hidden_cells) >= 2 and sum(hidden_cells) >= K), (table, month)
    assert published_cells > 40 and suppressed_cells > 4  # a useful table, and the rule did bite

    fine = _read(out / "monthly_counts.csv")
    truth = _truth(app, ["month", "kecamatan", "category", "status", "channel"])
    groups = defaultdict(list)
    for c in fine:
        count, recs = truth[(c["month"], _key(c["region"]), _key(c["category"]), c["status"], c["channel"])]
        inside = [d for d in ("category", "status", "channel") if (c["month"], _key(c[d])) in withheld[d]]
        if c["suppressed"] == "false":
            assert int(c["complaints"]) == count >= K and (count - recs == 0 or count - recs >= K)
            assert not inside  # rule 4
        groups[("month", c["month"])].append((c, count))
        groups[("kab", c["month"], c["region"][:5])].append((c, count))
        for d in ("category", "status", "channel"):
            if (c["month"], _key(c[d])) not in withheld[d]:
                groups[(d, c["month"], c[d])].append((c, count))
    for key, members in groups.items():
        hidden = [n for c, n in members if c["suppressed"] == "true"]
        assert not hidden or (len(hidden) >= 2 and sum(hidden) >= K), key


def test_the_differencing_attack_finds_nothing(world, tmp_path):
    """Publish, add one secret complaint (now, and one dated in a published month), change another
    complaint, publish again: every aggregate file is byte for byte the same, and the record table
    differs only by the verified complaint's status."""
    from aduan import services
    from aduan.auth import Actor, system
    from aduan.db import database
    from aduan.models import Complaint
    from aduan_opendata.publish import publish
    from aduan_opendata.tables import AGGREGATES

    app = world.app
    with app.app_context():
        a = publish(app)
    with app.app_context(), database.connection_context():
        for when in (None, dt.datetime(2026, 4, 20, 3)):  # today, and in April (frozen)
            c, _ = services.file_complaint({"title": "Pungli", "body": "Rahasia", "category": "jalan",
                                            "region_code": "52.71.01", "secret": True},
                                           actor=Actor(role="reporter"), channel="web", now=when)
            services.perform(c, "verify", system("t"), agency_id=world.seed.agency_a.id, now=when)
        moved = Complaint.get(Complaint.tracking_id == world.tracking_ids[-1])  # May, DIKES, in progress
        services.perform(moved, "resolve", system("t"), text="Selesai")
    with app.app_context():
        b = publish(app, now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=1))
    a_dir, b_dir = Path(a.path), Path(b.path)
    compared = 0
    for t in AGGREGATES:
        for f in sorted(a_dir.glob(f"{t.name}*")):
            assert f.read_bytes() == (b_dir / f.name).read_bytes(), f.name
            compared += 1
    assert compared >= 6 * 2 * 3
    before, after = _read(a_dir / "complaints.csv"), _read(b_dir / "complaints.csv")
    assert len(before) == len(after)  # secret complaints are never records
    changed = [(x["public_id"], x["status"], y["status"]) for x, y in zip(before, after) if x != y]
    assert [(s, t) for _, s, t in changed] == [("in_progress", "resolved")]


def test_stats_page_and_report_card_agree(world, tmp_path):
    """/api/v1/stats (staff), the report card and the totals come from one service: same figures."""
    from aduan_opendata.publish import export

    app = world.app
    with app.app_context():
        export(app, str(tmp_path))
    card = [r for r in _read(tmp_path / "agency_report_card.csv") if r["month"] == "2026-04"]
    stats = app.test_client().get("/api/v1/stats?created_from=2026-04-01&created_to=2026-04-30",
                                  headers={"Authorization": f"Bearer {world.seed.coordinator}"}).get_json()
    by_agency = {r["agency"]: r["total"] for r in stats["by_agency"]}
    assert [(r["agency_name"], int(r["complaints"])) for r in card if r["suppressed"] == "false"] == \
        [("Dinas PUPR", by_agency["Dinas PUPR"])]
    total = [r for r in _read(tmp_path / "totals.csv") if r["level"] == "all" and r["month"] == "2026-04"]
    assert int(total[0]["complaints"]) == stats["total"] == 6


def test_sla_met_is_unknown_while_open(od_app, tmp_path):
    from aduan import services
    from aduan.auth import Actor, system
    from aduan.db import database, utcnow
    from aduan.testing import seed_basics
    from aduan_opendata.publish import export

    with od_app.app_context(), database.connection_context():
        seed = seed_basics()
        now = utcnow()
        files = []
        for i in range(3):
            c, _ = services.file_complaint({"title": "Lampu", "body": "Mati", "category": "jalan",
                                            "region_code": "52.71.01"}, actor=Actor(role="reporter"), now=now)
            services.perform(c, "verify", system("t"), agency_id=seed.agency_a.id, now=now)
            files.append(c)
        services.perform(files[1], "respond", system("t"), text="Ok", now=now)
        services.perform(files[1], "resolve", system("t"), text="Beres", now=now)
        old, _ = services.file_complaint({"title": "Lama", "body": "Lama", "category": "jalan",
                                          "region_code": "52.71.01"}, actor=Actor(role="reporter"),
                                         now=now - dt.timedelta(days=90))
        services.perform(old, "verify", system("t"), agency_id=seed.agency_a.id, now=now - dt.timedelta(days=90))
    with od_app.app_context():
        export(od_app, str(tmp_path))
    rows = {r["status"] + ("-old" if r["created_date"] < str(now.date() - dt.timedelta(days=30)) else ""): r
            for r in _read(tmp_path / "complaints.csv")}
    open_ = rows["dispatched"]
    assert open_["sla_met"] == "" and open_["first_response_on_time"] == "" and open_["resolved_on_time"] == ""
    assert rows["resolved"]["sla_met"] == "true" and rows["resolved"]["first_response_on_time"] == "true"
    late = rows["dispatched-old"]  # open, every deadline passed
    assert late["sla_met"] == "false" and late["first_response_on_time"] == "false"


def test_year_files_add_up_and_frozen_months_have_permanent_urls(published):
    from aduan_opendata.publish import publish

    app = published.app
    client = app.test_client()
    whole = client.get(f"{API}/complaints.csv").get_data(as_text=True).splitlines()
    year = client.get(f"{API}/complaints-2026.csv").get_data(as_text=True).splitlines()
    assert whole == year and len(whole) == 26
    periods = client.get(f"{API}/periods").get_json()["periods"]
    assert [p["month"] for p in periods][:3] == ["2026-03", "2026-04", "2026-05"]
    url = periods[1]["files"]["agency_report_card"]["csv"]
    first = client.get(url.replace("https://aduan.ntbprov.example", ""))
    assert first.status_code == 200 and "immutable" in first.headers["Cache-Control"]
    assert "2026-04,PUPR,Dinas PUPR,6," in first.get_data(as_text=True)
    with app.app_context():
        publish(app, now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=1))
    again = client.get(url.replace("https://aduan.ntbprov.example", ""))
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    assert client.get(f"{API}/periods/2099-01/totals.csv").status_code == 404
    assert client.get(f"{API}/periods/2026-04/nope.csv").status_code == 404


def test_hxl_hashtags_are_an_option(make_app, tmp_path):
    import json
    import subprocess
    import sys

    from aduan.db import database
    from aduan.testing import seed_basics
    from aduan_opendata.publish import export

    app = make_app({"PLUGINS": ["opendata"], "OPENDATA_HXL": True, "OPENDATA_FORMATS": "csv"})
    with app.app_context(), database.connection_context():
        seed_basics()
        generate(60)
    with app.app_context():
        export(app, str(tmp_path))
    lines = (tmp_path / "totals.csv").read_text().splitlines()
    assert lines[0].startswith("level,region,") and lines[1].startswith("#meta+level,#adm2+code,")
    assert (tmp_path / "complaints.csv").read_text().splitlines()[1].startswith("#id,#date+reported,")
    proc = subprocess.run([str(Path(sys.executable).parent / "frictionless"), "validate", "--json",
                           "datapackage.json"], cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert json.loads(proc.stdout)["valid"], proc.stdout[-3000:]
