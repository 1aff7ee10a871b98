"""The staff dashboard (``/portal/dashboard``): the agencies' report card with charts, by period, and CSV.

Figures come from the core's statistics service (``aduan.stats.report_card``, the same numbers as
``GET /api/v1/stats``, the public report card and the open data) in the staff view: every complaint
in the reader's scope. Scope follows the role as in the API: coordinators and admins see every
agency, an officer their own agency only, on the page and in the CSV alike.
"""
from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Response, current_app, render_template, request

from aduan import stats
from aduan.i18n import _, _l

from .charts import Chart, Series
from .security import current_staff, staff_required
from .web import bp

PERIODS = {"30d": _l("Last 30 days"), "90d": _l("Last 90 days"), "12m": _l("Last 12 months"),
           "year": _l("This year"), "all": _l("Everything")}
CSV_TABLES = ("agencies", "months")


def _today() -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def _parse_day(value: str | None, name: str, errors: dict) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors[name] = [_("A date as YYYY-MM-DD, e.g. 2026-12-31.")]
        return None


def period_from_request(args) -> tuple[dict, dict]:
    """``{"from", "to", "period"}`` (local days, inclusive) from the query, and field messages."""
    errors: dict[str, list[str]] = {}
    period = args.get("period") or ""
    start = _parse_day(args.get("from"), "from", errors)
    end = _parse_day(args.get("to"), "to", errors)
    if not (start or end) and not errors:
        today = _today()
        period = period if period in PERIODS else "12m"
        start = {"30d": today - dt.timedelta(days=29), "90d": today - dt.timedelta(days=89),
                 "12m": (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1),
                 "year": today.replace(month=1, day=1), "all": None}[period]
        end = None if period == "all" else today
    else:
        period = ""
    if start and end and start > end:
        errors["to"] = [_("The end comes before the start.")]
    return {"from": start, "to": end, "period": period}, errors


def scope_for(actor, chosen: dict) -> stats.Scope:
    cal = current_app.extensions["aduan"].calendar

    def bound(day, shift):
        try:
            return cal.day_start_utc(day + dt.timedelta(days=shift)) if day else None
        except (OverflowError, ValueError):  # a day beyond what a timestamp holds bounds nothing
            return None

    agency_id = None
    if actor.role == "officer":
        agency_id = actor.agency_id if actor.agency_id is not None else -1  # an officer without agency: nothing
    return stats.Scope(created_from=bound(chosen["from"], 0), created_to=bound(chosen["to"], 1), agency_id=agency_id)


def card_for(actor, chosen: dict) -> dict:
    cfg = current_app.config
    return stats.report_card(tz=cfg["TIMEZONE"], scope=scope_for(actor, chosen), public=False,
                             k=cfg["STATS_MIN_CELL_SIZE"])


def charts_for(card: dict) -> list[Chart]:
    months = card["by_month"]
    labels = [m["month"] for m in months]
    return [
        Chart(_("Complaints by month of filing"), labels, [Series(_("Complaints"), [m["total"] for m in months])],
              label_header=_("Month"), decimals=0),
        Chart(_("Share answered and resolved on time"), labels,
              [Series(_("First answer on time"), [m["share_answered_on_time"] for m in months]),
               Series(_("Resolved on time"), [m["share_resolved_on_time"] for m in months])],
              kind="line", unit="%", label_header=_("Month"), max_value=100),
        Chart(_("Median time to the first answer (hours)"), labels,
              [Series(_("Hours"), [m["median_hours_to_first_response"] for m in months])],
              label_header=_("Month")),
        Chart(_("Average rating by citizens (1–5)"), labels,
              [Series(_("Rating"), [m["average_rating"] for m in months])],
              kind="line", label_header=_("Month"), max_value=5, decimals=2),
    ]


@bp.get("/dashboard")
@staff_required("admin", "coordinator", "officer")
def dashboard():
    actor = current_staff()
    chosen, errors = period_from_request(request.args)
    if errors:
        chosen = {"from": None, "to": None, "period": ""}
    card = card_for(actor, chosen)
    agency = None
    if actor.role == "officer":
        from aduan.models import Agency

        agency = Agency.get_or_none(Agency.id == actor.agency_id)
    body = render_template("portal/admin/dashboard.html", actor=actor, card=card, charts=charts_for(card),
                           chosen=chosen, errors=errors, periods=PERIODS, agency=agency,
                           values={"from": request.args.get("from", ""), "to": request.args.get("to", "")})
    resp = current_app.make_response((body, 400 if errors else 200))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


AGENCY_COLUMNS = ("agency", "total", "open", "overdue", "answered", "answered_on_time", "share_answered_on_time",
                  "resolved", "resolved_on_time", "share_resolved_on_time", "median_hours_to_first_response",
                  "median_days_to_resolution", "ratings", "average_rating")
MONTH_COLUMNS = ("month", "total", "answered", "answered_on_time", "share_answered_on_time", "resolved",
                 "resolved_on_time", "share_resolved_on_time", "median_hours_to_first_response",
                 "median_days_to_resolution", "ratings", "average_rating")


@bp.get("/dashboard.csv")
@staff_required("admin", "coordinator", "officer")
def dashboard_csv():
    actor = current_staff()
    chosen, errors = period_from_request(request.args)
    table = request.args.get("table", "agencies")
    if table not in CSV_TABLES:
        errors["table"] = [_("One of: %(choices)s.", choices=", ".join(CSV_TABLES))]
    if errors:
        body = "\n".join(f"{k}: {' '.join(v)}" for k, v in errors.items()) + "\n"
        return Response(body, 400, mimetype="text/plain")
    card = card_for(actor, chosen)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if table == "agencies":
        writer.writerow(AGENCY_COLUMNS)
        for row in card["agencies"]:
            writer.writerow([_cell(row.get("agency") or "") if c == "agency" else _cell(row.get(c))
                             for c in AGENCY_COLUMNS])
    else:
        writer.writerow(MONTH_COLUMNS)
        for row in card["by_month"]:
            writer.writerow([_cell(row.get(c)) for c in MONTH_COLUMNS])
    span = f"{chosen['from'] or 'start'}_{chosen['to'] or 'now'}"
    resp = Response(out.getvalue(), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="rapor-{table}-{span}.csv"'
    resp.headers["Cache-Control"] = "no-store"
    return resp
