"""Helpers for tests of the portal (and of plugins that render into it)."""
from __future__ import annotations

import re

from .security import session_payload


def sign_in(client, user) -> None:
    """Put ``user`` in the test client's portal session, as signing in with a password would."""
    from aduan.db import database

    with client.application.app_context(), database.connection_context():
        payload = session_payload(user)
    with client.session_transaction() as s:
        s.update(payload)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form of a page."""
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no csrf_token field on the page"
    return m.group(1)
