"""The record table is written by the database (one SQL query, each CSV line made in SQL): it must
say exactly what the core's export rule (aduan.privacy.export_record) says of each complaint, and
be CSV that any reader parses back to the same values, names with commas, quotes, line breaks,
backslashes and tabs included (on PostgreSQL the lines come through COPY's text format, which escapes
the last two)."""
from __future__ import annotations

import csv
import io

import pytest


@pytest.mark.parametrize("name", ['Jalan, "rusak" parah', "Air\r\nbersih", "Tol\\Bypass\tbaru\x0b", "Biasa"])
def test_sql_written_csv_parses_back_to_the_column_values(od_app, tmp_path, name):
    from aduan import services
    from aduan.auth import Actor, system
    from aduan.db import database
    from aduan.models import Category
    from aduan.testing import seed_basics
    from aduan_opendata import data

    with od_app.app_context(), database.connection_context():
        seed = seed_basics()
        Category.update(name=name).execute()
        for i in range(3):
            c, _ = services.file_complaint({"title": "x", "body": "y", "category": "jalan", "region_code": "52.71.01"},
                                           actor=Actor(role="reporter"))
            services.perform(c, "verify", system("t"), agency_id=seed.agency_a.id)
        ctx = data.Context(od_app)
        data.ensure_public_ids(ctx)
        buf = io.StringIO(newline="")
        n = data.write_records_csv(ctx, buf)
        columns = list(data.record_rows(ctx))
    parsed = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    assert n == 3 and parsed[0] == list(data.RECORD_FIELDS)
    assert parsed[1:] == [["" if v is None else v for v in row] for row in columns]
    assert {r[data.RECORD_FIELDS.index("category_name")] for r in parsed[1:]} == {name}
    assert buf.getvalue().count("\r\n") >= 4  # CRLF line ends


def test_every_record_agrees_with_the_core_export_rule(world, tmp_path):
    """Same complaints (never a secret one) and the same values as aduan.privacy.export_record."""
    from aduan.db import database
    from aduan.models import Complaint
    from aduan.privacy import export_record
    from aduan_opendata import data
    from aduan_opendata.publish import export

    app = world.app
    with app.app_context():
        export(app, str(tmp_path))
    with open(tmp_path / "complaints.csv", newline="", encoding="utf-8") as fh:
        ordered = list(csv.DictReader(fh))
    # by day, and within a day by public id: the order reveals no filing time
    assert [(r["created_date"], r["public_id"]) for r in ordered] == \
        sorted((r["created_date"], r["public_id"]) for r in ordered)
    rows = {r["public_id"]: r for r in ordered}
    with app.app_context(), database.connection_context():
        ctx = data.Context(app)
        cal = app.extensions["aduan"].calendar
        expected = {}
        for c in Complaint.select():
            rec = export_record(c, calendar=cal)
            if rec is None or c.status in ("received", "rejected"):
                continue
            expected[ctx.public_id(c.id)] = rec
    assert set(rows) == set(expected) and len(rows) == 25
    for pid, rec in expected.items():
        row = rows[pid]
        for field, key in (("kind", "kind"), ("status", "status"), ("urgency", "urgency"), ("channel", "channel"),
                           ("category", "category"), ("agency", "agency"), ("region", "region"),
                           ("created_date", "created"), ("first_response_date", "first_response"),
                           ("resolved_date", "resolved"), ("closed_date", "closed"), ("rating", "rating")):
            assert row[field] == ("" if rec[key] is None else str(rec[key])), (field, row, rec)
