"""Every hook the core calls, grouped by lifecycle.

Implement them in a plugin module or object with ``@aduan.hookimpl``. Rules that keep plugins
independent of each other:

* the order in which plugins run must not matter: hooks that collect return lists or mappings that
  the core merges; only ``actor_from_request`` is ``firstresult``;
* a plugin names everything it owns with its own prefix (tables ``lapor_*``, config ``LAPOR_*``,
  job kinds ``lapor.push``, schedules ``lapor.poll``, routes ``/api/v1/plugins/lapor/``);
* arguments may be added in later versions; removing or renaming one goes through a deprecation
  warning first, so always accept the arguments by name.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    import click
    import flask
    import marshmallow
    import peewee

    from .auth import Actor
    from .events import DomainEvent, JobRequest, Metric, Panel, Schedule
    from .models import Complaint

hookspec = pluggy.HookspecMarker("aduan")


# --- registration: called once while create_app builds the application -------------------------

@hookspec
def register_config() -> Mapping[str, "type[marshmallow.Schema]"]:
    """Declare the plugin's configuration keys.

    Called once at start-up, before anything else of the plugin runs. Values come from the same
    sources as the core's (defaults, instance file, ``ADUAN_<PREFIX>_<KEY>`` environment, the
    mapping given to ``create_app``) and are validated before the app starts; an invalid value
    stops start-up with a message naming the key. Mark secrets with
    ``metadata={"secret": True}`` so ``aduan config`` masks them.

    :return: a mapping from the plugin's config prefix (its name in upper case, e.g. ``"LAPOR"``)
        to a marshmallow ``Schema`` class whose fields carry ``load_default`` and a
        ``metadata={"description": ...}``. The validated values land in ``app.config`` as
        ``LAPOR_<FIELD>``.
    """


@hookspec
def register_models() -> "list[type[peewee.Model]]":
    """Declare the plugin's peewee models (tables named ``<plugin>_*``).

    Called once at start-up. Models must bind to :data:`aduan.db.database` (subclass
    :class:`aduan.models.BaseModel`). Tables are created by the plugin's migrations when it
    declares some (``register_migrations``), otherwise ``aduan db upgrade`` creates missing ones.

    :return: a list of model classes.
    """


@hookspec
def register_migrations() -> Mapping[str, str]:
    """Declare the plugin's migration scripts (``playhouse.migrations`` format).

    Called by ``aduan db upgrade`` (and ``aduan init``) after the core's migrations. Each entry
    keeps its own history table ``<name>_schema_migration``.

    :return: a mapping ``{plugin_name: directory}``.
    """


@hookspec
def register_blueprints(app: "flask.Flask") -> list:
    """Add HTTP routes.

    Called once by ``create_app`` after configuration is validated. Return flask-smorest
    ``Blueprint`` objects (they appear in the OpenAPI document; mount them under
    ``/api/v1/plugins/<name>/`` and tag them with the plugin name) or plain Flask blueprints (for
    webhooks under ``/hooks/<name>/`` and HTML pages, which stay out of the API document).

    :param app: the Flask application being built (``app.config`` is final).
    :return: a list of blueprints.
    """


@hookspec
def register_commands() -> "list[click.Command]":
    """Add ``aduan`` CLI commands.

    Called when the CLI starts. Return one click group named after the plugin
    (``aduan lapor ...``); commands run inside the application context.

    :return: a list of click commands or groups.
    """


@hookspec
def register_jobs() -> Mapping[str, Any]:
    """Declare job handlers run by ``aduan worker``.

    A handler is called as ``handler(app, payload, job)`` outside any transaction, with the
    database connected. It must be idempotent: a job may run again after a crash. Raise
    :class:`aduan.jobs.RetryLater` to retry with back-off (``count=False``: the job is told to wait
    and the try does not use an attempt), :class:`aduan.jobs.PermanentFailure`
    to mark the job dead at once; any other exception retries with back-off until
    ``JOB_MAX_ATTEMPTS`` and then marks it dead.

    Jobs run concurrently in a worker's threads (``WORKER_CONCURRENCY``): map a kind to an
    :class:`aduan.JobKind` instead of a bare handler to bound how many of it run at once. A handler
    must not rely on running in a thread of its own: on SQLite a kind whose jobs take under
    :data:`aduan.jobs.INLINE_SECONDS` runs in the worker's own thread.

    :return: a mapping from job kind (``"<plugin>.<verb>"``) to handler (or :class:`aduan.JobKind`).
    """


@hookspec
def register_schedules() -> "list[Schedule]":
    """Declare recurring work (polling, sweeps, directory syncs) run by ``aduan worker``.

    Each schedule is claimed atomically, so with several workers only one runs it at a time.

    :return: a list of :class:`aduan.Schedule`.
    """


@hookspec
def register_exporters() -> Mapping[str, Any]:
    """Declare data exporters run by ``aduan export NAME DIR``.

    An exporter is called as ``exporter(app, directory)`` and returns the list of files it wrote.
    Record-level data must come from :func:`aduan.privacy.export_record` (no personal data, no
    free text, no secret complaints); aggregates may count every complaint, but must not publish
    cells small enough to single anyone out.

    :return: a mapping from exporter name to callable.
    """


@hookspec
def startup(app: "flask.Flask") -> None:
    """Called once at the end of ``create_app``, after every plugin is registered.

    Use it for checks that need the whole configuration (e.g. refuse to start with a missing
    credential). Do not touch the database here: the app may be built before migrations run.

    :param app: the finished application.
    """


# --- per request ---------------------------------------------------------------------------------

@hookspec(firstresult=True)
def actor_from_request(request: "flask.Request") -> "Actor | None":
    """Authenticate a request by other means than the core's bearer tokens (e.g. a portal session).

    Called for every API request that carries no ``Authorization: Bearer`` header. The first
    plugin returning an :class:`aduan.auth.Actor` wins.

    :param request: the current Flask request.
    :return: an ``Actor``, or ``None`` to let other plugins (or nobody) decide.
    """


@hookspec
def complaint_extra(complaint: "Complaint", audience: str) -> "Mapping[str, Any] | None":
    """Add plugin fields to a complaint as shown to an audience (e.g. LAPOR! sync state to staff).

    Called by :func:`aduan.privacy.complaint_view` after the core has decided what the audience
    sees. Only return what that audience may see: ``audience`` is one of ``public``, ``reporter``,
    ``officer``, ``coordinator``, ``admin``, ``integration``, ``export``, ``external``. It is an
    :class:`aduan.privacy.Audience` (a ``str``, so ``audience == "officer"`` works) carrying the
    grants that decide each field: decide with ``aduan.privacy.shows_identity(complaint, audience)``
    and ``shows_content(...)`` rather than by name, so an integration token's grants are honoured.
    Not called for the public view of a secret complaint (status and dates only).

    :param complaint: the complaint row (read-only).
    :param audience: who will see the result (an :class:`aduan.privacy.Audience`).
    :return: a mapping merged under ``extra.<plugin>`` keys, or ``None``.
    """


@hookspec
def channel_info(app: "flask.Flask") -> "Mapping[str, Any] | list[Mapping[str, Any]] | None":
    """Tell citizens how to file through the plugin's channel (for pages that explain it, e.g. the
    portal's home page), from the plugin's own configuration.

    Called while a page is rendered, in a request (texts in the reader's language: translate them
    with ``aduan.i18n.gettext`` here, not at import). Return nothing when the channel is not set up
    well enough for citizens to use (no number, no address).

    :param app: the application.
    :return: one mapping (or a list of them) with ``channel`` (the channel name, e.g. ``"sms"``),
        ``name`` (shown as a heading, e.g. "SMS"), ``how`` (one or two sentences: what to send),
        ``address`` (the number, address or handle to write to, or ``None``) and optionally
        ``url`` (a link that opens the channel, e.g. ``https://t.me/…``) and ``order`` (small
        numbers first; the web form is 0).
    """


@hookspec(firstresult=True)
def track_url(tracking_id: str) -> "str | None":
    """The public address where a citizen follows a complaint (e.g. a portal's tracking page).

    Called, in the application context, wherever the core or a plugin gives a reporter a link to
    their complaint (the ``track_url`` of ``POST /complaints``, links in notifications): use
    :func:`aduan.links.track_url`, which falls back to the API's ``{BASE_URL}/api/v1/complaints/<id>``.
    The first plugin returning a URL wins. The URL must not carry the access code.

    :param tracking_id: the complaint's tracking id.
    :return: an absolute URL, or ``None`` to let another plugin (or the core) decide.
    """


@hookspec
def complaint_extras(complaints: "list[Complaint]", audience: str) -> "Mapping[int, Mapping[str, Any]] | None":
    """The batched :func:`complaint_extra`: plugin fields for a whole page of complaints at once.

    Called by the core's list routes (and for a single complaint, with a list of one) instead of
    :func:`complaint_extra`, so a page costs the plugin a constant number of queries (one ``WHERE
    complaint_id IN (…)``) instead of one per complaint. The same rules apply: only return what
    ``audience`` may see (decide per complaint with ``aduan.privacy.shows_identity`` /
    ``shows_content``). Every complaint of the call has the same audience; the core leaves out the
    public view of a secret complaint. A plugin implementing this hook should also keep its
    ``complaint_extra`` for callers of older releases; when both exist the core calls this one.

    :param complaints: the complaint rows (read-only), at most one page.
    :param audience: who will see the result (an :class:`aduan.privacy.Audience`).
    :return: a mapping from complaint id to the mapping merged under ``extra.<plugin>`` (leave out
        complaints with nothing to add), or ``None``.
    """


# --- the life of a complaint ---------------------------------------------------------------------

@hookspec
def enqueue_jobs(event: "DomainEvent") -> "list[JobRequest] | None":
    """Plan outside deliveries caused by a change, inside the change's own transaction.

    Called by :mod:`aduan.services` for every domain event *before* commit; the returned jobs are
    written to the outbox in the same transaction, so a delivery is never lost nor sent for a
    change that rolled back. Do no I/O here and do not write other tables.

    :param event: the change being recorded.
    :return: a list of :class:`aduan.JobRequest` (or ``None`` for none).
    """


@hookspec
def track_event(app: "flask.Flask", event: "DomainEvent") -> None:
    """Observe a committed change (metrics, caches, logs). Called after commit, once per event.

    Exceptions are logged and swallowed: the change is already committed. Anything that must reach
    another system belongs in ``enqueue_jobs`` instead.

    :param app: the application.
    :param event: the committed change.
    """


# --- operations ----------------------------------------------------------------------------------

@hookspec
def check_readiness(app: "flask.Flask") -> "Mapping[str, str | None] | None":
    """Say whether the plugin can do its work, for ``GET /ready`` (load balancers, orchestrators).

    Called on every ``/ready`` request, with the database connected, after the core's own checks
    (database reachable, migrations current, a worker's heartbeat recent). Keep it cheap: read
    configuration and local tables, make no call to another system (a slow partner must not take
    every web process out of the load balancer). An exception counts as a failed check.

    :param app: the application.
    :return: a mapping from a short check name (``"credentials"``) to ``None`` when it is fine or a
        short reason when it is not (shown to whoever calls ``/ready``: no secret, no personal data).
        The core reports it as ``<plugin>.<name>``; any reason makes ``/ready`` answer 503.
    """


@hookspec
def collect_metrics(app: "flask.Flask") -> "list[Metric] | None":
    """Contribute the plugin's own figures to ``GET /metrics`` (Prometheus).

    Called at each scrape, with the database connected. Read them from the plugin's tables (so
    every web process on every host gives the same answer and workers need no HTTP port); keep the
    queries few and indexed. Labels must not carry personal data or unbounded values (no phone
    numbers, tracking ids or free text).

    :param app: the application.
    :return: a list of :class:`aduan.Metric`; each is published as ``aduan_<plugin>_<name>``
        (a ``counter`` gets ``_total`` appended).
    """


# --- staff pages ---------------------------------------------------------------------------------

@hookspec
def staff_panels(actor: "Actor") -> "list[Panel] | None":
    """Offer staff panels (the LAPOR! stuck list, the SMS message log…) for a staff portal to render.

    Called when a staff page lists or shows panels, with the database connected. Return
    :class:`aduan.Panel` descriptions: an ``id``, a ``title``, the ``roles`` that may see it and a
    ``data(actor)`` callable returning :class:`aduan.PanelData` (counts, tables of rows and columns,
    and actions, each a label, an API route of the core or of the plugin, and form fields). No HTML:
    the portal renders the data the same way for every plugin and calls an action's route as the
    staff member who pressed it (the route checks roles and input as for any API call). A plugin
    never imports the portal and the portal imports no plugin. The core keeps only panels whose
    ``roles`` include ``actor.role``. Data is shown to that actor: mask phone numbers and leave out
    reporters' identity unless :func:`aduan.privacy.shows_identity` allows it for the actor's audience.

    :param actor: the staff member who will see the panels (an :class:`aduan.auth.Actor`).
    :return: a list of :class:`aduan.Panel`, or ``None``.
    """
