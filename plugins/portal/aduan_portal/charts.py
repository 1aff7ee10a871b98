"""Server-rendered charts: small, accessible SVG bar and line charts with the numbers as a table.

A page builds a :class:`Chart` from figures it already has (``aduan.stats``), then renders
``chart.svg()`` (a :class:`markupsafe.Markup` string of inline SVG) and ``chart.table()`` (the same
numbers, formatted in the reader's language, for an HTML ``<table>``). No JavaScript and no
outside asset is needed: the SVG is part of the page, readable by screen readers through
``role="img"``, ``aria-label`` and ``<title>``/``<desc>``, and the table beside it gives every figure.

The SVG carries no ``style`` attribute (the portal's Content-Security-Policy forbids inline styles):
colours are presentation attributes (``fill``, ``stroke``) plus classes (``chart-bar``,
``chart-line``, ``chart-s0``…) that a stylesheet may override. It has a ``viewBox`` and no fixed
size, so it scales to the width of its container.

A missing value (``None``: a cell withheld by small-cell suppression, a median over too few
complaints) is drawn as a gap, and shown in the table as ``–``.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Sequence

from markupsafe import Markup, escape

#: Colours of the series (colour-blind safe, each at least 3:1 against white).
PALETTE = ("#1f5fa8", "#b4500a", "#2a7a3b", "#7b3fa0", "#8a6d00", "#a8324f")
WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 16, 44
MISSING = "–"

_ids = itertools.count(1)


@dataclass
class Series:
    """One named row of values, aligned with the chart's labels (``None`` = unknown/withheld)."""

    name: str
    values: Sequence[float | int | None]


@dataclass
class Chart:
    """A bar or line chart.

    :param title: what the chart shows (its accessible name and the table's caption).
    :param labels: the categories of the x axis (months, agencies…).
    :param series: one or more :class:`Series`, each with one value per label.
    :param kind: ``"bar"`` (grouped bars) or ``"line"``.
    :param unit: appended to formatted values (``"%"``, ``" h"``), in the table and tooltips.
    :param label_header: header of the table's first column (default: empty).
    :param decimals: decimals shown for non-integer values.
    :param max_value: a fixed top of the scale (e.g. 100 for shares, 5 for ratings).
    :param locale: language for number formatting (default: the request's language).
    """

    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: str = "bar"
    unit: str = ""
    label_header: str = ""
    decimals: int = 1
    max_value: float | None = None
    locale: str | None = None
    uid: str = field(default_factory=lambda: f"chart{next(_ids)}")

    def __post_init__(self):
        if self.kind not in ("bar", "line"):
            raise ValueError(f"unknown chart kind {self.kind!r}")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(self.labels)} labels")

    # --- numbers -----------------------------------------------------------------------------

    def _locale(self) -> str:
        if self.locale:
            return self.locale
        try:
            from aduan.i18n import current_language

            return current_language()
        except Exception:  # outside a request
            return "id"

    def format(self, value: float | int | None) -> str:
        """A value as the table shows it (``–`` when missing), in the chart's language."""
        if value is None:
            return MISSING
        from babel.numbers import format_decimal

        if isinstance(value, int) or float(value).is_integer():
            text = format_decimal(int(value), locale=self._locale())
        else:
            text = format_decimal(round(float(value), self.decimals), locale=self._locale(),
                                  format="#,##0." + "0" * self.decimals if self.decimals else "#,##0")
        return text + self.unit

    def table(self) -> dict:
        """``{"caption", "headers", "rows"}``: the chart's numbers for an HTML table, formatted."""
        return {"caption": self.title, "headers": [self.label_header] + [s.name for s in self.series],
                "rows": [[label] + [self.format(s.values[i]) for s in self.series]
                         for i, label in enumerate(self.labels)]}

    def has_data(self) -> bool:
        return any(v is not None for s in self.series for v in s.values)

    def scale_top(self) -> float:
        """The top of the y axis: ``max_value`` or the largest value rounded up to 1, 2, 2.5 or 5 × 10ⁿ."""
        if self.max_value is not None:
            return float(self.max_value)
        return nice_ceiling(max([v for s in self.series for v in s.values if v is not None] or [0]))

    # --- drawing -----------------------------------------------------------------------------

    def svg(self) -> Markup:
        """The chart as inline SVG markup (escaped, no script, no style attribute)."""
        uid = self.uid
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{self.kind}" viewBox="0 0 {WIDTH} '
               f'{HEIGHT}" role="img" aria-label="{escape(self.title)}" aria-describedby="{uid}-d" '
               f'preserveAspectRatio="xMidYMid meet" focusable="false">',
               f'<title>{escape(self.title)}</title>', f'<desc id="{uid}-d">{escape(self.describe())}</desc>']
        if not self.labels or not self.has_data():
            out.append(f'<text x="{WIDTH / 2:g}" y="{HEIGHT / 2:g}" text-anchor="middle" font-size="14" '
                       f'fill="#333">{escape(_no_data())}</text></svg>')
            return Markup("".join(out))
        top = self.scale_top() or 1.0

        def y(v: float) -> float:
            return round(TOP + plot_h - (min(v, top) / top) * plot_h, 1)

        # grid and y ticks
        out.append('<g class="chart-axis" font-size="11" fill="#333">')
        for i in range(5):
            tv = top * i / 4
            ty = y(tv)
            out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{ty}" y2="{ty}" stroke="#d0d0d0" '
                       f'stroke-width="1"/>')
            out.append(f'<text x="{LEFT - 6}" y="{ty + 4}" text-anchor="end">{escape(self._tick(tv))}</text>')
        n = len(self.labels)
        step = plot_w / n
        every = max(1, math.ceil(n / 12))  # at most ~12 x labels
        for i, label in enumerate(self.labels):
            if i % every:
                continue
            lx = round(LEFT + step * (i + 0.5), 1)
            out.append(f'<text x="{lx}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
                       f'{escape(_shorten(label))}</text>')
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0)}" y2="{y(0)}" stroke="#333" '
                   f'stroke-width="1"/></g>')
        # data
        if self.kind == "bar":
            k = len(self.series)
            bw = step * 0.8 / k
            for si, s in enumerate(self.series):
                colour = PALETTE[si % len(PALETTE)]
                out.append(f'<g class="chart-bar chart-s{si}" fill="{colour}">')
                for i, v in enumerate(s.values):
                    if v is None:
                        continue
                    x = round(LEFT + step * i + step * 0.1 + bw * si, 1)
                    top_y = y(v)
                    h = round(y(0) - top_y, 1)
                    out.append(f'<rect x="{x}" y="{top_y}" width="{round(bw, 1)}" height="{max(h, 0)}">'
                               f'<title>{escape(self._point(s, i))}</title></rect>')
                out.append('</g>')
        else:
            for si, s in enumerate(self.series):
                colour = PALETTE[si % len(PALETTE)]
                out.append(f'<g class="chart-line chart-s{si}" stroke="{colour}" fill="{colour}">')
                points = [(round(LEFT + step * (i + 0.5), 1), y(v), i) for i, v in enumerate(s.values)
                          if v is not None]
                for run in _runs(points):
                    if len(run) > 1:
                        coords = " ".join(f"{px},{py}" for px, py, _ in run)
                        out.append(f'<polyline points="{coords}" fill="none" stroke-width="2"/>')
                for px, py, i in points:
                    out.append(f'<circle cx="{px}" cy="{py}" r="3.5"><title>{escape(self._point(s, i))}'
                               f'</title></circle>')
                out.append('</g>')
        # legend (several series only)
        if len(self.series) > 1:
            out.append('<g class="chart-legend" font-size="11" fill="#333">')
            lx = LEFT
            for si, s in enumerate(self.series):
                colour = PALETTE[si % len(PALETTE)]
                out.append(f'<rect x="{lx}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>'
                           f'<text x="{lx + 14}" y="{HEIGHT - 5}">{escape(s.name)}</text>')
                lx += 24 + 7 * len(s.name)
            out.append('</g>')
        out.append('</svg>')
        return Markup("".join(out))

    def describe(self) -> str:
        """A one-sentence summary for ``<desc>``: each series' highest value and where it is."""
        from aduan.i18n import gettext as _

        parts = []
        for s in self.series:
            known = [(v, i) for i, v in enumerate(s.values) if v is not None]
            if not known:
                continue
            v, i = max(known, key=lambda t: t[0])
            parts.append(_("%(series)s: highest %(value)s (%(label)s)", series=s.name, value=self.format(v),
                           label=self.labels[i]))
        return "; ".join(parts) if parts else _no_data()

    def _tick(self, v: float) -> str:
        return self.format(int(v) if float(v).is_integer() else v)

    def _point(self, s: Series, i: int) -> str:
        prefix = f"{s.name}, " if len(self.series) > 1 else ""
        return f"{prefix}{self.labels[i]}: {self.format(s.values[i])}"


def _runs(points):
    """Split plotted points into runs of consecutive indexes (a missing value breaks the line)."""
    run: list = []
    for p in points:
        if run and p[2] != run[-1][2] + 1:
            yield run
            run = []
        run.append(p)
    if run:
        yield run


def _shorten(label: str, n: int = 14) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _no_data() -> str:
    from aduan.i18n import gettext as _

    return _("No data yet.")


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ ``value`` (0 → 1): a readable top for an axis."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * power + 1e-9:
            return float(m * power)
    return float(10 * power)  # pragma: no cover
