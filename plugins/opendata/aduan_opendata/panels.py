"""Staff panel (core hook ``staff_panels``): open-data publishing, as plain data a portal renders.

Only aggregates and release metadata: nothing about a complaint or a reporter.
"""
from __future__ import annotations

from aduan import Panel, PanelAction, PanelData, PanelTable
from aduan.i18n import _, format_datetime
from aduan.models import Job

from .models import OpendataSnapshot

ROLES = ("admin",)


def publishing_data(actor) -> PanelData:
    rows = list(OpendataSnapshot.select().order_by(OpendataSnapshot.created_at.desc(), OpendataSnapshot.id.desc())
                .limit(10))
    last = rows[0] if rows else None
    pending = Job.select().where((Job.kind == "opendata.publish") & Job.status.in_(["pending", "running"])).count()
    dead = Job.select().where((Job.kind == "opendata.publish") & (Job.status == "dead")).count()
    counts = ((_("Latest release"), last.version if last else "—"),
              (_("Published"), format_datetime(last.created_at) if last else "—"),
              (_("Releases kept"), OpendataSnapshot.select().count()),
              (_("Publications waiting"), pending),
              (_("Publications failed"), dead))
    table = PanelTable(
        _("Releases"), (_("Version"), _("Published"), _("Files"), _("Kept for good")),
        tuple((s.version, format_datetime(s.created_at), len(s.files or []), _("yes") if s.kept else _("no"))
              for s in rows),
        empty=_("Nothing has been published yet."))
    return PanelData(counts=counts, tables=(table,),
                     actions=(PanelAction(_("Publish now"), "/api/v1/plugins/opendata/publish"),),
                     notes=(_("The landing page is /opendata/; the worker also publishes on schedule."),))


def panels(actor) -> list[Panel]:
    return [Panel("publishing", _("Open data: publishing"), ROLES, publishing_data,
                  _("The latest anonymised release and publishing on demand."))]
