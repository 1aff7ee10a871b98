"""Links given to citizens.

:func:`track_url` is the one place that says where a reporter follows a complaint: a plugin that
serves a tracking page (the portal) answers the ``track_url`` hook; without one, the API's public
view ``{BASE_URL}/api/v1/complaints/<tracking_id>``. The access code is never part of the link.
"""
from __future__ import annotations

from flask import current_app


def api_track_url(tracking_id: str) -> str:
    """The API's public view of a complaint (``{BASE_URL}/api/v1/complaints/<tracking_id>``)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/api/v1/complaints/{tracking_id}"


def track_url(tracking_id: str) -> str:
    """Where the reporter of ``tracking_id`` follows it: a plugin's page (``track_url`` hook) or the API."""
    url = current_app.extensions["aduan"].hooks.track_url(tracking_id)
    return url or api_track_url(tracking_id)
