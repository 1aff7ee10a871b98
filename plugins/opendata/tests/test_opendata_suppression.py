"""Small cells: none published below the threshold, and none recomputable from any total a reader
can form from the published tables (the report card's monthly sums, or a fully published month of the
monthly table)."""
from __future__ import annotations

import csv
import itertools
from collections import defaultdict

import pytest

K = 5


def _read(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def tables(world, tmp_path):
    from aduan_opendata.publish import export

    with world.app.app_context():
        export(world.app, str(tmp_path))
    return {n: _read(tmp_path / f"{n}.csv") for n in ("monthly_counts", "agency_report_card")}


def _feasible_values(n_cells: int, total: int, upper: int) -> list[set[int]]:
    """For each of ``n_cells`` unknown cells (each at least 1, at most ``upper``) adding up to ``total``,
    the values it can take."""
    values = [set() for _ in range(n_cells)]
    for combo in itertools.product(range(1, upper + 1), repeat=n_cells):
        if sum(combo) == total:
            for i, v in enumerate(combo):
                values[i].add(v)
    return values


def test_no_published_count_below_threshold(tables):
    monthly, card = tables["monthly_counts"], tables["agency_report_card"]
    published = [int(r["complaints"]) for r in monthly if r["suppressed"] == "false"]
    assert published and min(published) >= K
    assert all(r["complaints"] == "" and r["median_first_response_days"] == "" for r in monthly
               if r["suppressed"] == "true")
    received = [int(r["complaints_received"]) for r in card if r["suppressed"] == "false"]
    assert received and min(received) >= K
    assert all(r["ratings"] == "" or int(r["ratings"]) >= K for r in card)
    # the seeded small cells are indeed hidden: 2 complaints by e-mail in March, DIKES in May
    assert [r["suppressed"] for r in monthly if r["month"] == "2026-03" and r["channel"] == "email"] == ["true"]
    assert card and [r["suppressed"] for r in card if (r["agency"], r["month"]) == ("DIKES", "2026-05")] == ["true"]
    # medians and averages are published over enough complaints
    card = {(r["agency"], r["month"]): r for r in tables["agency_report_card"]}
    april = card[("PUPR", "2026-04")]
    assert april["suppressed"] == "false" and april["complaints_received"] == "6"
    assert april["ratings"] == "6" and april["rating_average"] == "4.5"
    assert april["answered_on_time"] == "6" and april["median_first_response_days"] == "0.25"


def test_suppressed_monthly_cells_cannot_be_recomputed_from_report_card_totals(tables):
    monthly, card = tables["monthly_counts"], tables["agency_report_card"]
    # a month whose report card is fully published tells the number of complaints with an agency,
    # i.e. the monthly cells whose status is neither received nor rejected
    by_month = defaultdict(list)
    for r in card:
        by_month[r["month"]].append(r)
    checked = 0
    for month, rows in by_month.items():
        if any(r["suppressed"] == "true" for r in rows):
            continue
        total = sum(int(r["complaints_received"]) for r in rows)
        cells = [r for r in monthly if r["month"] == month and r["status"] not in ("received", "rejected")]
        hidden = [r for r in cells if r["suppressed"] == "true"]
        rest = total - sum(int(r["complaints"]) for r in cells if r["suppressed"] == "false")
        if not hidden:
            continue
        checked += 1
        assert len(hidden) >= 2, f"{month}: a single suppressed cell equals {rest}"
        for i, vals in enumerate(_feasible_values(len(hidden), rest, rest)):
            assert len(vals) > 1 and min(vals) < K, f"{month}: cell {hidden[i]} is determined"
    assert checked  # March: 13 complaints with PUPR; 6 web published, 5 SMS and 2 e-mail hidden


def test_suppressed_report_card_cells_cannot_be_recomputed_from_monthly_totals(tables):
    monthly, card = tables["monthly_counts"], tables["agency_report_card"]
    checked = 0
    for month in sorted({r["month"] for r in card}):
        cells = [r for r in monthly if r["month"] == month and r["status"] not in ("received", "rejected")]
        if any(r["suppressed"] == "true" for r in cells):
            continue
        total = sum(int(r["complaints"]) for r in cells)  # complaints of the month that have an agency
        rows = [r for r in card if r["month"] == month]
        hidden = [r for r in rows if r["suppressed"] == "true"]
        if not hidden:
            continue
        checked += 1
        rest = total - sum(int(r["complaints_received"]) for r in rows if r["suppressed"] == "false")
        assert len(hidden) >= 2, f"{month}: the only suppressed agency had {rest}"
        for vals in _feasible_values(len(hidden), rest, rest):
            assert len(vals) > 1 and min(vals) < K
    assert checked  # May: 7 complaints in one published monthly cell; PUPR 5 and DIKES 2 both hidden


def test_suppress_rule_unit():
    """Two cells in one group: one small cell alone would be recomputable from the group total."""
    from aduan_opendata.data import suppress

    cells = [{"g": 1, "n": 2}, {"g": 1, "n": 9}, {"g": 1, "n": 30}, {"g": 2, "n": 7}]
    suppress(cells, "n", 5, [lambda c: c["g"]])
    assert [c["suppressed"] for c in cells] == [True, True, False, False]
    cells = [{"g": 1, "n": 1}, {"g": 1, "n": 1}, {"g": 1, "n": 6}]
    suppress(cells, "n", 5, [lambda c: c["g"]])
    # 1 + 1 = 2 would give both ones away: a third cell joins so the hidden sum reaches the threshold
    assert [c["suppressed"] for c in cells] == [True, True, True]
