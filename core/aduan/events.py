"""Plain data handed between the core and plugins.

These are frozen dataclasses so that a plugin cannot mutate what another plugin sees, and so
that nothing in them is a live database row (plugins receive them *after* commit).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class DomainEvent:
    """One committed change to a complaint, as plugins see it.

    ``type`` is the workflow action that happened (``file``, ``verify``, ``transfer``, ``respond``,
    ``resolve``, ``close``, ``reply``, ``rate``, ``sla_breach``...). ``visibility`` is ``public``
    when the reporter and the public may see the event's text, ``internal`` otherwise.
    ``text`` is the event's text as written (already limited by ``visibility``: plugins that
    notify a reporter must only send text of ``public`` events). ``data`` carries action-specific
    details (``{"rating": 4}``, ``{"stage": "verify"}``...).
    """

    type: str
    complaint_id: int
    tracking_id: str
    event_id: int | None
    from_status: str | None
    to_status: str | None
    agency_id: int | None
    from_agency_id: int | None
    actor_role: str
    channel: str
    visibility: str
    text: str = ""
    source: str = "core"
    occurred_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(tzinfo=None))
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JobRequest:
    """A unit of work a plugin asks the core to run later, durably (transactional outbox).

    ``kind`` names a handler returned by some plugin's ``register_jobs()``. ``key`` makes the
    request idempotent: a second request with the same key while the first exists is ignored.
    ``run_at`` (UTC, naive) delays the first attempt; ``max_attempts`` overrides the default.
    """

    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    key: str | None = None
    run_at: dt.datetime | None = None
    max_attempts: int | None = None
    complaint_id: int | None = None


@dataclass(frozen=True)
class JobKind:
    """What ``register_jobs`` may map a job kind to instead of a bare handler, to bound how many jobs
    of it one worker runs at once.

    ``concurrency``: at most this many jobs of the kind's ``group`` run at once in one worker process
    (``None``: only the worker's ``WORKER_CONCURRENCY`` bounds them). ``group``: kinds that share one
    bound, e.g. every job that calls the same outside service (default: the kind alone).

    The jobs of one complaint always run one after the other, in order. Jobs without a complaint run
    one after the other per kind too (messages to one contact keep their order), unless ``ordered``
    is false: then they run side by side. Calling a ``JobKind`` calls its handler.
    """

    handler: Callable[..., Any]
    concurrency: int | None = None
    group: str | None = None
    ordered: bool = True

    def __call__(self, app, payload, job):
        return self.handler(app, payload, job)


@dataclass(frozen=True)
class Schedule:
    """Recurring work run by ``aduan worker``.

    ``every`` is the period in seconds. ``handler(app)`` runs inside the worker with the
    database connected; at most one worker runs a given schedule at a time (claimed atomically).
    ``name`` must be unique across plugins: prefix it with the plugin name (``lapor.poll``).
    """

    name: str
    every: float
    handler: Callable[..., Any]


@dataclass(frozen=True)
class Metric:
    """A figure a plugin publishes at ``/metrics`` (hook ``collect_metrics``).

    ``kind`` is ``gauge`` (a level that goes up and down) or ``counter`` (a total that only grows);
    ``labels`` names the label of each position in a sample's label values; ``samples`` is a list of
    ``(label_values, value)``, e.g. ``Metric("tickets", "LAPOR! tickets by state", "gauge", ("state",),
    [(("created",), 12), (("uncertain",), 1)])``.
    """

    name: str
    help: str
    kind: str = "gauge"
    labels: tuple = ()
    samples: list = field(default_factory=list)


# --- staff panels (hook ``staff_panels``): structured data a portal renders generically ------------

@dataclass(frozen=True)
class PanelField:
    """One input of a :class:`PanelAction`'s form.

    ``kind`` is ``text``, ``number``, ``select`` (``choices``: ``(value, label)`` pairs) or ``hidden``
    (a fixed ``value`` sent as it is). Values are sent to the endpoint as JSON; ``number`` fields as
    integers, an empty optional field as ``null``.
    """

    name: str
    label: str
    kind: str = "text"
    required: bool = False
    choices: tuple = ()
    value: Any = None


@dataclass(frozen=True)
class PanelAction:
    """A button, with a small form of ``fields``, that calls a route of the core's API or of the
    plugin's own API (``endpoint``: a path under ``/api/v1/``) as the staff member who pressed it, so
    the route's own validation and role checks apply. ``method`` is ``POST``, ``PUT``, ``PATCH`` or
    ``DELETE``."""

    label: str
    endpoint: str
    fields: tuple = ()
    method: str = "POST"


@dataclass(frozen=True)
class PanelTable:
    """A table: ``columns`` are headings, ``rows`` tuples of cells (text or numbers, shown escaped);
    ``row_actions``, when given, holds one tuple of :class:`PanelAction` per row."""

    title: str
    columns: tuple
    rows: tuple = ()
    row_actions: tuple = ()
    empty: str = ""


@dataclass(frozen=True)
class PanelData:
    """What a panel shows now: ``counts`` as ``(label, value)`` pairs, ``tables``, panel-wide
    ``actions`` and short ``notes``."""

    counts: tuple = ()
    tables: tuple = ()
    actions: tuple = ()
    notes: tuple = ()


@dataclass(frozen=True)
class Panel:
    """A plugin's staff panel (hook ``staff_panels``).

    ``id`` is short and unique within the plugin (the core prefixes it with the plugin's name);
    ``roles`` are the staff roles that may see it; ``data(actor)`` returns a :class:`PanelData`
    computed for that actor, with the database connected. No HTML: the portal renders it.
    """

    id: str
    title: str
    roles: tuple
    data: Callable[..., PanelData]
    description: str = ""
