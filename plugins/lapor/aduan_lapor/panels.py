"""Staff panels (core hook ``staff_panels``): the stuck list and the mappings, as plain data a portal renders.

Actions call this plugin's own API routes (``/api/v1/plugins/lapor/…``) and the core's job retry, as the
staff member who pressed them. Nothing here shows a reporter's identity: tickets are listed by tracking id.
"""
from __future__ import annotations

from aduan import Panel, PanelAction, PanelData, PanelField, PanelTable
from aduan.i18n import _, _l
from aduan.models import Agency, Category

from .models import TICKET_STATES, LaporInstitution, LaporMapping, LaporTicket

MANAGERS = ("admin", "coordinator")
BASE = "/api/v1/plugins/lapor"
STATE_LABELS = {"queued": _l("Queued"), "sending": _l("Sending"), "created": _l("In SP4N-LAPOR!"),
                "uncertain": _l("Outcome unknown"), "failed": _l("Refused")}


def _dash(v):
    return "—" if v in (None, "") else v


def stuck_data(actor) -> PanelData:
    from flask import current_app

    from . import sync
    from .config import missing_credentials

    stuck = sync.stuck()
    counts = {s: 0 for s in TICKET_STATES}
    for (state,) in LaporTicket.select(LaporTicket.state).tuples():
        counts[state] = counts.get(state, 0) + 1
    missing = missing_credentials(current_app.config)
    tickets = PanelTable(
        _("Complaints waiting for an operator"),
        (_("Tracking id"), _("Sync state"), _("Forward"), _("LAPOR! id"), _("Problem")),
        tuple((t["tracking_id"], t.get("state"), _dash(t.get("forward_state")), _dash(t.get("lapor_id")),
               _dash(t.get("attention") or t.get("last_error") or t.get("poll_error"))) for t in stuck["tickets"]),
        row_actions=tuple(
            (PanelAction(_("Send again"), f"{BASE}/tickets/{t['tracking_id']}/resolve",
                         (PanelField("action", "", "hidden", value="resend"),)),
             PanelAction(_("Link to a LAPOR! id"), f"{BASE}/tickets/{t['tracking_id']}/resolve",
                         (PanelField("action", "", "hidden", value="link"),
                          PanelField("lapor_id", _("LAPOR! id"), required=True))))
            if t.get("state") in ("uncertain", "failed") else () for t in stuck["tickets"]),
        empty=_("Nothing is stuck."))
    replies = PanelTable(
        _("Follow-ups not confirmed by SP4N-LAPOR!"),
        (_("Tracking id"), _("State"), _("Problem")),
        tuple((r["tracking_id"], r["state"], _dash(r["last_error"])) for r in stuck["replies"]),
        row_actions=tuple(
            (PanelAction(_("Post again"), f"{BASE}/replies/{r['id']}/resolve",
                         (PanelField("action", "", "hidden", value="resend"),)),
             PanelAction(_("It is there: dismiss"), f"{BASE}/replies/{r['id']}/resolve",
                         (PanelField("action", "", "hidden", value="dismiss"),)))
            for r in stuck["replies"]),
        empty=_("No follow-up is waiting."))
    jobs = PanelTable(
        _("Dead LAPOR! jobs"),
        (_("Job"), _("Kind"), _("Tracking id"), _("Attempts"), _("Problem")),
        tuple((j["id"], j["kind"], _dash(j["tracking_id"]), j["attempts"], _dash(j["last_error"]))
              for j in stuck["dead_jobs"]),
        row_actions=tuple((PanelAction(_("Retry"), f"/api/v1/jobs/{j['id']}/retry"),) if actor.role == "admin" else ()
                          for j in stuck["dead_jobs"]),
        empty=_("No dead job."))
    notes = ()
    if missing:
        notes = (_("Not configured: nothing is sent to SP4N-LAPOR! until these settings are set: %(keys)s.",
                   keys=", ".join(missing)),)
    return PanelData(counts=tuple((str(STATE_LABELS.get(state, state)), n) for state, n in counts.items()), tables=(tickets, replies, jobs),
                     notes=notes)


def mappings_data(actor) -> PanelData:
    inst = {i.id: i.name for i in LaporInstitution.select()}
    amap = {m.local_id: m.lapor_id for m in LaporMapping.select().where(LaporMapping.kind == "agency")}
    cmap = {m.local_id: m.lapor_id for m in LaporMapping.select().where(LaporMapping.kind == "category")}
    agencies = list(Agency.select().order_by(Agency.code))
    categories = list(Category.select().order_by(Category.code))
    active = [(i.id, i.name) for i in LaporInstitution.select().where(LaporInstitution.active == True)  # noqa: E712
              .order_by(LaporInstitution.name)]
    if active:
        inst_field = PanelField("institution_id", _("LAPOR! institution"), "select", choices=tuple(active))
    else:
        inst_field = PanelField("institution_id", _("LAPOR! institution id"), "number")
    agency_table = PanelTable(
        _("Agencies and LAPOR! institutions"),
        (_("Code"), _("Agency"), _("LAPOR! institution")),
        tuple((a.code, a.name, _dash(f"{amap[a.id]} {inst.get(amap[a.id], '')}".strip() if a.id in amap else None))
              for a in agencies),
        row_actions=tuple((PanelAction(_("Map"), f"{BASE}/mappings/agencies/{a.id}", (inst_field,), method="PUT"),)
                          for a in agencies),
        empty=_("No agency yet."))
    category_table = PanelTable(
        _("Categories and LAPOR! categories"),
        (_("Code"), _("Category"), _("LAPOR! category id")),
        tuple((c.code, c.name, _dash(cmap.get(c.id))) for c in categories),
        row_actions=tuple((PanelAction(_("Map"), f"{BASE}/mappings/categories/{c.id}",
                                       (PanelField("lapor_category_id", _("LAPOR! category id"), "number"),),
                                       method="PUT"),) for c in categories),
        empty=_("No category yet."))
    return PanelData(
        counts=((_("Mapped agencies"), len(amap)), (_("Mapped categories"), len(cmap)),
                (_("LAPOR! institutions known"), len(active))),
        tables=(agency_table, category_table),
        actions=(PanelAction(_("Reload the institution directory from SP4N-LAPOR!"), f"{BASE}/institutions/sync"),))


def panels(actor) -> list[Panel]:
    return [Panel("stuck", _("SP4N-LAPOR!: waiting for an operator"), MANAGERS, stuck_data,
                  _("Creates whose outcome is unknown, failed forwards and polls, unconfirmed follow-ups, dead jobs.")),
            Panel("mappings", _("SP4N-LAPOR!: mappings"), MANAGERS, mappings_data,
                  _("Which LAPOR! institution and category each agency and category is sent as."))]
