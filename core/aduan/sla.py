"""Working-day calendar and deadline rules.

Working days are Monday to Friday minus Indonesian public holidays and *cuti bersama* (the
``holidays`` package, categories ``public`` and ``government``), plus dates a deployment adds
(``HOLIDAYS_EXTRA``) and minus dates it works on (``HOLIDAYS_REMOVED``). Deadlines are counted in
the deployment's time zone and stored in naive UTC.

Stages (each a column ``due_<stage>`` on the complaint):

==================  ==========================================================  ==================
stage               clock                                                       starts
==================  ==========================================================  ==================
``first_response``  urgency tier hours (mendesak 1 h, penting 24 h, biasa 48 h)  filing
``verify``          ``SLA_VERIFY_DAYS`` working days (3)                         filing
``followup``        ``SLA_FOLLOWUP_DAYS`` working days (5), category override    dispatch/transfer/resume
``resolution``      ``SLA_RESOLUTION_DAYS`` calendar days (60)                    filing
``close``           ``SLA_AUTOCLOSE_DAYS`` working days (10)                      resolution
==================  ==========================================================  ==================

While a complaint is on hold (waiting for the reporter) its follow-up clock is stopped; it restarts
in full on resume.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Iterable
from zoneinfo import ZoneInfo

import holidays

STAGES = ("first_response", "verify", "followup", "resolution")


class Calendar:
    def __init__(self, tz: str = "Asia/Makassar", *, categories: Iterable[str] = ("public", "government"),
                 extra: Iterable[str] = (), removed: Iterable[str] = ()):
        self.tz = ZoneInfo(tz)
        self.categories = tuple(categories)
        self.extra = {dt.date.fromisoformat(d) for d in extra}
        self.removed = {dt.date.fromisoformat(d) for d in removed}

    @lru_cache(maxsize=64)
    def _holidays(self, year: int) -> frozenset[dt.date]:
        h = holidays.country_holidays("ID", years=year, categories=self.categories)
        return frozenset(h.keys())

    def holiday_name(self, day: dt.date) -> str | None:
        h = holidays.country_holidays("ID", years=day.year, categories=self.categories)
        return h.get(day)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.extra:
            return False
        if day in self.removed:
            return day.weekday() < 5
        return day.weekday() < 5 and day not in self._holidays(day.year)

    def to_local(self, utc: dt.datetime) -> dt.datetime:
        return utc.replace(tzinfo=dt.timezone.utc).astimezone(self.tz)

    def to_utc(self, local: dt.datetime) -> dt.datetime:
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def day_start_utc(self, day: dt.date) -> dt.datetime:
        """Naive UTC of local midnight starting ``day`` (for date filters in the deployment's zone)."""
        return self.to_utc(dt.datetime.combine(day, dt.time(0, 0), self.tz))

    def add_working_days(self, start_utc: dt.datetime, days: int) -> dt.datetime:
        """The same local clock time ``days`` working days later.

        A start on a non-working day counts from the beginning of the next working day, so a
        complaint filed on Saturday has the same deadline as one filed at Monday 00:00.
        """
        local = self.to_local(start_utc)
        day = local.date()
        if not self.is_working_day(day):
            while not self.is_working_day(day):
                day += dt.timedelta(days=1)
            local = dt.datetime.combine(day, dt.time(0, 0), self.tz)
        remaining = days
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        result = dt.datetime.combine(day, local.timetz().replace(tzinfo=None), self.tz)
        return self.to_utc(result)

    def working_days_between(self, start_utc: dt.datetime, end_utc: dt.datetime) -> int:
        a, b = self.to_local(start_utc).date(), self.to_local(end_utc).date()
        n = 0
        while a < b:
            a += dt.timedelta(days=1)
            if self.is_working_day(a):
                n += 1
        return n


def calendar_from_config(cfg) -> Calendar:
    return Calendar(cfg["TIMEZONE"], categories=cfg["HOLIDAY_CATEGORIES"], extra=cfg["HOLIDAYS_EXTRA"],
                    removed=cfg["HOLIDAYS_REMOVED"])


class Deadlines:
    """Computes the ``due_*`` values of a complaint from configuration and its calendar."""

    def __init__(self, cfg, calendar: Calendar):
        self.cfg = cfg
        self.cal = calendar

    def on_file(self, created: dt.datetime, urgency: str) -> dict[str, dt.datetime]:
        hours = self.cfg["SLA_URGENCY_HOURS"].get(urgency, 48)
        return {
            "due_first_response": created + dt.timedelta(hours=hours),
            "due_verify": self.cal.add_working_days(created, self.cfg["SLA_VERIFY_DAYS"]),
            "due_resolution": created + dt.timedelta(days=self.cfg["SLA_RESOLUTION_DAYS"]),
        }

    def followup(self, start: dt.datetime, category=None) -> dt.datetime:
        days = self.cfg["SLA_FOLLOWUP_DAYS"]
        if category is not None and category.sla_followup_days is not None:
            days = category.sla_followup_days
        return self.cal.add_working_days(start, days)

    def autoclose(self, resolved: dt.datetime) -> dt.datetime:
        return self.cal.add_working_days(resolved, self.cfg["SLA_AUTOCLOSE_DAYS"])


def overdue_stages(complaint, now: dt.datetime) -> list[str]:
    """Stages whose deadline has passed while the stage is still pending."""
    out = []
    open_ = complaint.status in ("received", "dispatched", "in_progress", "on_hold")
    if not open_:
        return out
    if complaint.first_response_at is None and complaint.due_first_response and complaint.due_first_response < now:
        out.append("first_response")
    if complaint.status == "received" and complaint.due_verify and complaint.due_verify < now:
        out.append("verify")
    if complaint.status in ("dispatched", "in_progress") and complaint.due_followup and complaint.due_followup < now:
        out.append("followup")
    if complaint.due_resolution and complaint.due_resolution < now:
        out.append("resolution")
    return out


def overdue_conditions(now: dt.datetime) -> dict:
    """:func:`overdue_stages` as SQL: a peewee condition per stage, for counts over many complaints."""
    from .models import OPEN_STATUSES, Complaint

    open_ = Complaint.status.in_(OPEN_STATUSES)
    return {
        "first_response": open_ & Complaint.first_response_at.is_null() & (Complaint.due_first_response < now),
        "verify": (Complaint.status == "received") & (Complaint.due_verify < now),
        "followup": Complaint.status.in_(["dispatched", "in_progress"]) & (Complaint.due_followup < now),
        "resolution": open_ & (Complaint.due_resolution < now),
    }
