"""A citizen's access to their own complaint, kept in the portal session.

The access code itself is never stored: not in the session (a signed, not encrypted, cookie), not in
a URL, not in a log. Once a citizen has typed the right code, the session keeps a *grant*: an HMAC
(key derived from ``SECRET_KEY``, context ``portal-reporter-access``) of the tracking id and the
complaint's stored access-code hash. The grant opens the reporter's view of that complaint only,
for the life of the session cookie, and stops working if the code is ever replaced.
"""
from __future__ import annotations

from flask import session

from aduan import keys
from aduan.models import Complaint

SESSION_KEY = "portal_reporter"
MAX_GRANTS = 20  # a shared phone may follow a few complaints; older grants are dropped


def _grant(complaint: Complaint) -> str:
    message = f"{complaint.tracking_id}:{complaint.access_code_hash}".encode()
    return keys.hmac_hex("portal-reporter-access", message)[:32]


def grant_access(complaint: Complaint) -> None:
    """Remember, in this session, that the citizen proved they hold ``complaint``'s access code."""
    grants = dict(session.get(SESSION_KEY) or {})
    grants.pop(complaint.tracking_id, None)
    grants[complaint.tracking_id] = _grant(complaint)
    session[SESSION_KEY] = dict(list(grants.items())[-MAX_GRANTS:])


def revoke_access(tracking_id: str) -> None:
    """Forget the access to one complaint (the "leave" button on a shared device)."""
    grants = dict(session.get(SESSION_KEY) or {})
    if grants.pop(tracking_id, None) is not None:
        session[SESSION_KEY] = grants


def reporter_access(tracking_id: str, complaint: Complaint | None = None) -> bool:
    """Does this session hold the access to ``tracking_id`` (the citizen entered its code)?"""
    grants = session.get(SESSION_KEY) or {}
    given = grants.get(tracking_id) if isinstance(grants, dict) else None
    if not given:
        return False
    if complaint is None:
        complaint = Complaint.get_or_none(Complaint.tracking_id == tracking_id)
        if complaint is None:
            return False
    import hmac

    return hmac.compare_digest(str(given), _grant(complaint))
