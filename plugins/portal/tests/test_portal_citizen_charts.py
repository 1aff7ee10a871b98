"""aduan_portal.charts: accessible SVG charts whose numbers are also a table."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from aduan.i18n import use_language
from aduan_portal.charts import Chart, Series, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart: Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg()))  # well-formed XML, or this raises


def test_bar_chart_is_accessible_svg_scaled_to_the_values():
    chart = Chart("Complaints per month", ["2026-01", "2026-02", "2026-03"], [Series("Complaints", [10, 20, 5])])
    root = parse(chart)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "Complaints per month"
    assert root.find(f"{SVG}title").text == "Complaints per month"
    desc = root.find(f"{SVG}desc")
    assert root.get("aria-describedby") == desc.get("id")
    assert "20" in desc.text and "2026-02" in desc.text  # the highest value is named
    bars = root.findall(f".//{SVG}rect")
    heights = [float(b.get("height")) for b in bars]
    assert len(bars) == 3
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.02)
    assert heights[0] == pytest.approx(2 * heights[2], rel=0.02)
    assert [b.find(f"{SVG}title").text for b in bars][1].endswith("2026-02: 20")
    # the portal's CSP forbids inline styles and scripts
    text = str(chart.svg())
    assert "style=" not in text and "<script" not in text.lower()


def test_text_is_escaped():
    chart = Chart('<script>alert("x")</script>', ['<b>"a"</b>'], [Series("s&t", [1])])
    root = parse(chart)
    assert root.get("aria-label") == '<script>alert("x")</script>'
    assert "<script>" not in str(chart.svg())
    assert chart.table()["rows"][0][0] == '<b>"a"</b>'  # the template escapes it (autoescape)


def test_missing_values_are_gaps_and_dashes():
    chart = Chart("Median days", ["Jan", "Feb", "Mar", "Apr"], [Series("days", [1.5, None, 2.25, 3])],
                  kind="line", locale="en")
    root = parse(chart)
    assert len(root.findall(f".//{SVG}circle")) == 3
    lines = root.findall(f".//{SVG}polyline")
    assert len(lines) == 1 and len(lines[0].get("points").split()) == 2  # Mar-Apr; Jan stands alone
    assert [r[1] for r in chart.table()["rows"]] == ["1.5", "–", "2.2", "3"]


def test_table_numbers_follow_the_language():
    chart = Chart("Waktu", ["a", "b"], [Series("jam", [1234, 2.5]), Series("persen", [50, None])], unit="%",
                  label_header="Bulan")
    with use_language("id"):
        table = chart.table()
    assert table["caption"] == "Waktu"
    assert table["headers"] == ["Bulan", "jam", "persen"]
    assert table["rows"] == [["a", "1.234%", "50%"], ["b", "2,5%", "–"]]
    with use_language("en"):
        assert chart.table()["rows"][0][1] == "1,234%"


def test_several_series_have_a_legend_and_grouped_bars():
    chart = Chart("x", ["A", "B"], [Series("on time", [3, 4]), Series("late", [1, 0])])
    root = parse(chart)
    legend = root.find(f".//{SVG}g[@class='chart-legend']")
    assert [t.text for t in legend.findall(f"{SVG}text")] == ["on time", "late"]
    groups = root.findall(f".//{SVG}g")
    fills = {g.get("fill") for g in groups if "chart-bar" in (g.get("class") or "")}
    assert len(fills) == 2


def test_no_data_says_so():
    with use_language("en"):
        root = parse(Chart("Ratings", ["Jan"], [Series("r", [None])]))
    assert "No data yet." in "".join(root.itertext())
    with use_language("id"):
        root = parse(Chart("Ratings", [], [Series("r", [])]))
    assert "Belum ada data." in "".join(root.itertext())


def test_fixed_scale_and_nice_ceiling():
    chart = Chart("Rating", ["a"], [Series("r", [2.5])], max_value=5)
    root = parse(chart)
    ticks = [t.text for t in root.find(f".//{SVG}g[@class='chart-axis']").findall(f"{SVG}text")][:5]
    assert ticks[-1] == "5"
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 3, 7, 12, 24, 99, 101)] == [1, 1, 1, 5, 10, 20, 25, 100, 200]


def test_series_must_match_labels():
    with pytest.raises(ValueError):
        Chart("x", ["a", "b"], [Series("s", [1])])
    with pytest.raises(ValueError):
        Chart("x", ["a"], [Series("s", [1])], kind="pie")
