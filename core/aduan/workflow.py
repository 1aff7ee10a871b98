"""The status machine: the one table of actions, the states each applies to, where it leads and
who may take it. The API, the CLI and every plugin go through :func:`aduan.services.perform`,
which consults this table; nothing else decides whether an action is legal.

Roles: ``admin``, ``coordinator``, ``officer`` (only on complaints currently disposed to their
agency), ``integration`` (a system acting for a channel), ``reporter`` (holder of the access code),
``system`` (the worker: SLA sweep, auto-close, imports).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .i18n import _l
from .models import OPEN_STATUSES, STATUSES

STAFF = frozenset({"admin", "coordinator", "officer"})
MANAGERS = frozenset({"admin", "coordinator"})


@dataclass(frozen=True)
class Action:
    name: str
    from_states: frozenset[str]
    to_state: str | None  # None: the status does not change
    roles: frozenset[str]
    needs_text: bool = False
    needs_agency: bool = False
    default_visibility: str = "public"
    counts_as_response: bool = False  # a public answer that stops the first-response clock
    description: Any = ""  # a lazy text: str() it in the reader's language
    params: tuple[str, ...] = field(default_factory=tuple)


def _a(name, frm, to, roles, **kw) -> Action:
    return Action(name, frozenset(frm), to, frozenset(roles), **kw)


ALIVE = tuple(s for s in STATUSES if s != "archived")

ACTIONS: dict[str, Action] = {a.name: a for a in [
    _a("verify", ["received"], "dispatched", MANAGERS | {"system"}, needs_agency=True,
       description=_l("Verify a new complaint and dispose it to the competent agency (verifikasi dan disposisi)."),
       params=("agency_id", "category_id", "urgency", "text")),
    _a("transfer", ["dispatched", "in_progress", "on_hold"], "dispatched", STAFF | {"system"}, needs_agency=True,
       needs_text=True, default_visibility="public",
       description=_l("Not our authority (bukan wewenang): hand the complaint to another agency."),
       params=("agency_id", "text")),
    _a("start", ["dispatched"], "in_progress", STAFF | {"system"},
       description=_l("The agency starts working on the complaint."), params=("text",)),
    _a("respond", ["dispatched", "in_progress"], "in_progress", STAFF | {"integration", "system"}, needs_text=True,
       counts_as_response=True, description=_l("Give the reporter a public answer or progress report (tindak lanjut)."),
       params=("text",)),
    _a("hold", ["dispatched", "in_progress"], "on_hold", STAFF | {"system"}, needs_text=True, counts_as_response=True,
       description=_l("Wait for the reporter (tunda): say what is needed."), params=("text",)),
    _a("resume", ["on_hold"], "in_progress", STAFF | {"system"},
       description=_l("Continue after a hold."), params=("text",)),
    _a("resolve", ["dispatched", "in_progress", "on_hold"], "resolved", STAFF | {"integration", "system"},
       needs_text=True, counts_as_response=True,
       description=_l("Give the agency's final answer (selesai). The reporter may reply or reopen within the window."),
       params=("text",)),
    _a("close", ["resolved"], "closed", MANAGERS | {"reporter", "system"},
       description=_l("Confirm the answer and close the complaint."), params=("text",)),
    _a("reopen", ["resolved"], "in_progress", MANAGERS | {"reporter", "system"}, needs_text=True,
       description=_l("The answer did not settle it: reopen within the reply window."), params=("text",)),
    _a("reject", ["received", "dispatched"], "rejected", MANAGERS | {"system"}, needs_text=True,
       counts_as_response=True, description=_l("Reject spam, duplicates or reports outside any government's remit."),
       params=("text",)),
    _a("archive", ["closed", "rejected", "resolved"], "archived", MANAGERS | {"system"},
       default_visibility="internal", description=_l("Archive a finished complaint."), params=("text",)),
    _a("rate", ["resolved", "closed"], "closed", {"reporter"},
       description=_l("The reporter rates the answer from 1 to 5; a rating closes the complaint."),
       params=("rating", "text")),
    _a("reply", OPEN_STATUSES + ("resolved",), None, {"reporter"}, needs_text=True,
       description=_l("The reporter adds information; a complaint on hold resumes."), params=("text",)),
    _a("comment", ALIVE, None, STAFF | {"integration", "system"}, needs_text=True, default_visibility="internal",
       description=_l("A note on the timeline; internal unless visibility=public."), params=("text", "visibility")),
]}


class WorkflowError(Exception):
    """The action is not allowed in this state; carries the allowed ones for the 409 answer."""

    def __init__(self, action: str, status: str, allowed: list[str]):
        from .i18n import gettext as _, status_label

        self.action, self.status, self.allowed = action, status, allowed
        if action not in ACTIONS:
            message = _("Unknown action %(action)s.", action=action)
        else:
            message = _("Action %(action)s is not allowed when the complaint is %(status)s.",
                        action=action, status=status_label(status))
        super().__init__(message + " " + (_("Allowed: %(actions)s.", actions=", ".join(allowed)) if allowed
                                          else _("No action is allowed.")))


def allowed_actions(status: str, role: str) -> list[str]:
    return [a.name for a in ACTIONS.values() if status in a.from_states and role in a.roles]


def check(action: str, status: str, role: str) -> Action:
    act = ACTIONS.get(action)
    if act is None or status not in act.from_states or role not in act.roles:
        raise WorkflowError(action, status, allowed_actions(status, role))
    return act
