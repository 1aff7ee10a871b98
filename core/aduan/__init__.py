"""aduan: a pluggable public-complaint platform for Indonesian regional governments.

Plugins import everything they need from here::

    from aduan import hookimpl, JobRequest, Schedule

and never reach into core modules other than the public ones named in the README
(``aduan.services``, ``aduan.privacy``, ``aduan.models``, ``aduan.jobs``, ``aduan.events``).
"""
import pluggy

__version__ = "0.1.0"

#: Marker for plugin hook implementations: ``@hookimpl def track_event(app, event): ...``
hookimpl = pluggy.HookimplMarker("aduan")

from .events import (DomainEvent, JobKind, JobRequest, Metric, Panel, PanelAction, PanelData,  # noqa: E402
                     PanelField, PanelTable, Schedule)
from .edge import install_parser as _install_parser  # noqa: E402

# Every flask-smorest blueprint, the core's and the plugins' (which import this package first),
# parses its arguments through the request edge (aduan.edge): bounded JSON, clean text, bounded ints.
_install_parser()

__all__ = ["__version__", "hookimpl", "DomainEvent", "JobKind", "JobRequest", "Metric", "Schedule", "Panel",
           "PanelAction", "PanelData", "PanelField", "PanelTable"]
