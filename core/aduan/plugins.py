"""Plugin loading and the typed facade through which the core calls hooks.

Installed is not enabled: only names listed in ``PLUGINS`` are imported (entry-point group
``aduan.plugins``). Tests and embedders may pass plugin objects to ``create_app(plugins=[...])``.
"""
from __future__ import annotations

import importlib.metadata as md
import logging
from typing import Any, Iterable, Mapping

import pluggy

from . import hookspecs
from .events import DomainEvent, JobRequest, Schedule

log = logging.getLogger("aduan.plugins")
ENTRY_POINT_GROUP = "aduan.plugins"


class PluginError(RuntimeError):
    """A listed plugin is missing or broken; the message says what to install or fix."""


def installed_plugins() -> dict[str, md.EntryPoint]:
    return {ep.name: ep for ep in md.entry_points(group=ENTRY_POINT_GROUP)}


def _version_of(ep: md.EntryPoint | None, obj: Any) -> str | None:
    if ep is not None and ep.dist is not None:
        return ep.dist.version
    return getattr(obj, "__version__", None)


def build_manager(names: Iterable[str], objects: Iterable[Any] = ()) -> pluggy.PluginManager:
    pm = pluggy.PluginManager("aduan")
    pm.add_hookspecs(hookspecs)
    from . import builtin

    pm.register(builtin, name="core")
    available = installed_plugins()
    pm.aduan_meta = {"core": {"version": _version_of(None, __import__("aduan")), "source": "core"}}
    for name in names:
        ep = available.get(name)
        if ep is None:
            raise PluginError(
                f"plugin {name!r} is listed in PLUGINS but not installed: "
                f"install it with `pip install aduan-{name}` (or `pip install -e plugins/{name}`)")
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - re-raised with the plugin named
            raise PluginError(f"plugin {name!r} ({ep.value}) failed to import: "
                              f"{type(exc).__name__}: {exc}") from exc
        pm.register(obj, name=name)
        pm.aduan_meta[name] = {"version": _version_of(ep, obj), "source": ep.value}
    for obj in objects:
        name = getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
        pm.register(obj, name=name)
        pm.aduan_meta[name] = {"version": getattr(obj, "__version__", None), "source": "object"}
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"a plugin implements an unknown hook: {exc}") from exc
    return pm


class Hooks:
    """Typed facade: the only way core code calls plugin hooks."""

    def __init__(self, pm: pluggy.PluginManager):
        self.pm = pm

    # registration
    def config_schemas(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for mapping in self.pm.hook.register_config():
            for prefix, schema in (mapping or {}).items():
                if prefix in out:
                    raise PluginError(f"two plugins declare config prefix {prefix}")
                out[prefix] = schema
        return out

    def models(self) -> list:
        return [m for ms in self.pm.hook.register_models() for m in (ms or [])]

    def migrations(self) -> dict[str, str]:
        """Migration directories, the core's first (plugin tables may reference core tables)."""
        out: dict[str, str] = {}
        for mapping in self.pm.hook.register_migrations():
            out.update(mapping or {})
        return dict(sorted(out.items(), key=lambda kv: (kv[0] != "core", kv[0])))

    def blueprints(self, app) -> list:
        return [b for bs in self.pm.hook.register_blueprints(app=app) for b in (bs or [])]

    def commands(self) -> list:
        return [c for cs in self.pm.hook.register_commands() for c in (cs or [])]

    def jobs(self) -> dict[str, Any]:
        return self._merge(self.pm.hook.register_jobs(), "job kind")

    def schedules(self) -> list[Schedule]:
        out = [s for ss in self.pm.hook.register_schedules() for s in (ss or [])]
        names = [s.name for s in out]
        if len(names) != len(set(names)):
            raise PluginError(f"duplicate schedule names: {sorted(names)}")
        return out

    def exporters(self) -> dict[str, Any]:
        return self._merge(self.pm.hook.register_exporters(), "exporter")

    def startup(self, app) -> None:
        self.pm.hook.startup(app=app)

    # requests
    def actor_from_request(self, request):
        return self.pm.hook.actor_from_request(request=request)

    def complaint_extra(self, complaint, audience: str) -> dict[str, Any]:
        return self.complaint_extras([complaint], audience).get(complaint.id, {})

    def complaint_extras(self, complaints, audience: str) -> dict[int, dict[str, Any]]:
        """``{complaint_id: {plugin: mapping}}`` for complaints seen by one audience: each plugin's
        ``complaint_extras`` once for all of them, or (a plugin with only ``complaint_extra``) once each."""
        complaints = list(complaints)
        out: dict[int, dict[str, Any]] = {}
        if not complaints:
            return out
        batched = set()
        for impl in self.pm.hook.complaint_extras.get_hookimpls():
            batched.add(impl.plugin_name)
            result = impl.function(complaints=complaints, audience=audience) or {}
            for c in complaints:
                got = result.get(c.id)
                if got:
                    out.setdefault(c.id, {})[impl.plugin_name] = dict(got)
        for impl in self.pm.hook.complaint_extra.get_hookimpls():
            if impl.plugin_name in batched:
                continue
            for c in complaints:
                got = impl.function(complaint=c, audience=audience)
                if got:
                    out.setdefault(c.id, {})[impl.plugin_name] = dict(got)
        return out

    def channel_info(self, app) -> list[dict[str, Any]]:
        """Every enabled channel's how-to (``channel_info`` hooks), ordered by ``order`` then name."""
        out: list[dict[str, Any]] = []
        for impl in self.pm.hook.channel_info.get_hookimpls():
            result = impl.function(app=app)
            for item in ([result] if isinstance(result, Mapping) else (result or [])):
                out.append({"order": 50, "url": None, "address": None, **dict(item)})
        return sorted(out, key=lambda i: (i["order"], str(i.get("name"))))

    def track_url(self, tracking_id: str) -> str | None:
        return self.pm.hook.track_url(tracking_id=tracking_id)

    # events
    def enqueue_jobs(self, event: DomainEvent) -> list[JobRequest]:
        return [j for js in self.pm.hook.enqueue_jobs(event=event) for j in (js or [])]

    def track_event(self, app, event: DomainEvent) -> None:
        for impl in self.pm.hook.track_event.get_hookimpls():
            try:
                impl.function(app=app, event=event)
            except Exception:  # noqa: BLE001 - the change is committed; one plugin must not break others
                log.exception("track_event of plugin %s failed for %s on complaint %s",
                              impl.plugin_name, event.type, event.tracking_id)

    # operations
    def readiness(self, app) -> dict[str, str | None]:
        """Each plugin's checks as ``{"<plugin>.<check>": None or reason}``; a check that raises fails."""
        out: dict[str, str | None] = {}
        for impl in self.pm.hook.check_readiness.get_hookimpls():
            try:
                result = impl.function(app=app) or {}
            except Exception as exc:  # noqa: BLE001 - a broken check means not ready, never a 500
                log.warning("check_readiness of plugin %s failed: %s", impl.plugin_name, type(exc).__name__)
                from .i18n import _

                result = {"check": _("check failed (%(error)s)", error=type(exc).__name__)}
            for name, reason in result.items():
                out[f"{impl.plugin_name}.{name}"] = reason
        return out

    def collect_metrics(self, app) -> list[tuple[str, Any]]:
        """``(plugin, Metric)`` pairs; a plugin whose collection fails is left out (and logged)."""
        out = []
        for impl in self.pm.hook.collect_metrics.get_hookimpls():
            try:
                out.extend((impl.plugin_name, m) for m in impl.function(app=app) or [])
            except Exception as exc:  # noqa: BLE001 - one plugin must not break the scrape
                log.warning("collect_metrics of plugin %s failed: %s", impl.plugin_name, type(exc).__name__)
        return out

    # staff pages
    def staff_panels(self, actor) -> list:
        """Panels the actor's role may see, ids prefixed with the plugin (``lapor.stuck``); a plugin whose
        hook fails is left out (and logged)."""
        import dataclasses

        out = []
        for impl in self.pm.hook.staff_panels.get_hookimpls():
            try:
                panels = impl.function(actor=actor) or []
            except Exception as exc:  # noqa: BLE001 - one plugin must not break the staff pages
                log.warning("staff_panels of plugin %s failed: %s", impl.plugin_name, type(exc).__name__)
                continue
            for p in panels:
                if actor.role in p.roles:
                    out.append(dataclasses.replace(p, id=f"{impl.plugin_name}.{p.id}"))
        return out

    # introspection
    def describe(self) -> list[dict[str, Any]]:
        """Installed and enabled plugins with version and hooks (``GET /api/v1/plugins``)."""
        rows = []
        enabled = set()
        for name, plugin in self.pm.list_name_plugin():
            enabled.add(name)
            hooks = sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])
            meta = self.pm.aduan_meta.get(name, {})
            rows.append({"name": name, "enabled": True, "version": meta.get("version"), "hooks": hooks})
        for name, ep in sorted(installed_plugins().items()):
            if name not in enabled:
                rows.append({"name": name, "enabled": False, "version": _version_of(ep, None), "hooks": []})
        return rows

    @staticmethod
    def _merge(results: Iterable[Mapping[str, Any] | None], what: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for mapping in results:
            for k, v in (mapping or {}).items():
                if k in out:
                    raise PluginError(f"two plugins declare {what} {k!r}")
                out[k] = v
        return out
