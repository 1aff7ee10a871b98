"""Sessions, CSRF, security headers and who is signed in, for every portal page.

**Sessions.** Flask's signed-cookie session, signed with a key derived from ``SECRET_KEY`` for this
purpose alone (:mod:`aduan.keys`, context ``portal-session``; keys in ``SECRET_KEYS_OLD`` still
verify), in the cookie ``aduan_portal``: ``HttpOnly``, ``SameSite=Lax``, ``Secure`` when
``BASE_URL`` is https. The cookie carries no personal data readable by anyone: it is signed, and
what it holds (a staff session id, the access codes a citizen typed) is only meaningful to us.

**CSRF.** Every POST to a portal route must carry the session's token in the form field
``csrf_token`` (:func:`csrf_token` is a template global); without it the request is refused with
400 before the view runs.

**Headers.** Every portal response gets a strict Content-Security-Policy (scripts, styles, fonts
and images from this server only; no inline script or style), ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin``; pages are ``no-store``
(they may show personal data), static files are cacheable.

**Staff.** :func:`current_staff` returns the :class:`aduan.auth.Actor` of the signed-in user;
:func:`staff_required` guards a view. Staff sessions live on the server (``portal_session``): the
cookie holds only a random token (its SHA-256 names the row, :func:`session_payload`), so a session
ends when its row goes (sign out, "sign out everywhere"), after ``PORTAL_SESSION_HOURS`` idle, or
when the user's password changes (``user.session_epoch``, :mod:`aduan.passwords`).
"""
from __future__ import annotations

import functools
import hmac
import secrets
from typing import Any, Callable

from flask import abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from aduan import keys
from aduan.auth import Actor

SESSION_COOKIE = "aduan_portal"
CSRF_FIELD = "csrf_token"


class PortalSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, signed with the ``portal-session`` derived key (rotation-aware)."""

    def get_signing_serializer(self, app):
        # Flask opens the session of every request (webhooks and API calls too): the serializer is
        # built once per set of keys (a rotation changes the set) instead of once per request.
        return _serializer(tuple(keys.secrets_in_use(app.config)), self.salt, self.serializer,
                           self.key_derivation, self.digest_method)


@functools.lru_cache(maxsize=8)
def _serializer(secrets_in_use, salt, serializer, key_derivation, digest_method) -> URLSafeTimedSerializer:
    secrets_ = [keys.derive_from(s, "portal-session").hex() for s in secrets_in_use]
    # itsdangerous signs with the last key and verifies with any of them.
    return URLSafeTimedSerializer(list(reversed(secrets_)), salt=salt, serializer=serializer,
                                  signer_kwargs={"key_derivation": key_derivation, "digest_method": digest_method})


def init_sessions(app) -> None:
    app.session_interface = PortalSessionInterface()
    app.config["SESSION_COOKIE_NAME"] = SESSION_COOKIE
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    base = str(app.config.get("BASE_URL") or "")
    app.config["SESSION_COOKIE_SECURE"] = base.startswith("https://")


# -- CSRF -------------------------------------------------------------------------------------------

def csrf_token() -> str:
    """The session's CSRF token (created on first use), for the hidden ``csrf_token`` field."""
    tok = session.get("csrf")
    if not tok:
        tok = secrets.token_urlsafe(32)
        session["csrf"] = tok
    return tok


def check_csrf() -> None:
    """Refuse (400) a state-changing request without the session's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD, "")
    if not expected or not given or not hmac.compare_digest(str(expected), str(given)):
        from aduan.i18n import _

        abort(400, description=_("This form has expired. Go back, reload the page and try again."))


# -- headers ----------------------------------------------------------------------------------------

def content_security_policy(extra_img: tuple[str, ...] = ()) -> str:
    img = " ".join(("'self'", "data:") + tuple(extra_img))
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img + "; font-src 'self'; "
            "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def security_headers(resp):
    extra = tuple(g.get("portal_csp_img", ()))
    resp.headers["Content-Security-Policy"] = content_security_policy(extra)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "portal.static":
        resp.headers["Cache-Control"] = "no-store"
    return resp


# -- staff ------------------------------------------------------------------------------------------

SESSION_KEY = "staff_sid"
_TOUCH_SECONDS = 60  # last_seen_at is written at most once a minute per session


def _hash(raw: str) -> str:
    import hashlib

    return hashlib.sha256(raw.encode()).hexdigest()


def session_payload(user) -> dict[str, Any]:
    """Start a server-side session for ``user`` and return what the cookie session holds: a random
    token whose SHA-256 names the ``portal_session`` row (so the session can be ended from the
    server: sign out everywhere, a password change). Needs a database connection."""
    from .models import PortalSession

    raw = secrets.token_urlsafe(32)
    PortalSession.create(token_hash=_hash(raw), user=user.id, epoch=user.session_epoch or 0)
    return {SESSION_KEY: raw}


def start_session(user) -> None:
    """Sign ``user`` in on this browser: a fresh cookie session (no state carried over from before
    signing in, against session fixation) holding a new server-side session."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    session.update(session_payload(user))
    session.permanent = False
    g.pop("portal_staff", None)
    g.pop("portal_user", None)


def _session_row():
    from aduan.db import utcnow
    from aduan.models import User

    from .models import PortalSession

    raw = session.get(SESSION_KEY)
    if not raw or not isinstance(raw, str):
        return None
    row = (PortalSession.select(PortalSession, User).join(User)
           .where(PortalSession.token_hash == _hash(raw)).first())
    if row is None:
        return None
    u = row.user
    now = utcnow()
    hours = float(current_app.config.get("PORTAL_SESSION_HOURS", 12))
    idle = (now - row.last_seen_at).total_seconds()
    if (not u.active or u.role not in ("admin", "coordinator", "officer") or row.epoch != (u.session_epoch or 0)
            or idle > hours * 3600):
        PortalSession.delete().where(PortalSession.id == row.id).execute()
        return None
    if idle > _TOUCH_SECONDS:
        PortalSession.update(last_seen_at=now).where(PortalSession.id == row.id).execute()
    return row


def current_user():
    """The signed-in staff member's ``User`` row, or ``None``. Cached for the request."""
    if "portal_user" not in g:
        row = _session_row()
        g.portal_user = row.user if row is not None else None
    return g.portal_user


def current_staff() -> Actor | None:
    """The signed-in staff member, or ``None``. Cached for the request."""
    if "portal_staff" in g:
        return g.portal_staff
    u = current_user()
    actor = Actor(role=u.role, user_id=u.id, agency_id=u.agency_id, username=u.username) if u is not None else None
    g.portal_staff = actor
    return actor


def end_session(everywhere: bool = False, keep_current: bool = False) -> int:
    """Sign out: this session, or with ``everywhere`` every session of the signed-in user (all but
    this one with ``keep_current``). Returns how many sessions ended."""
    from .models import PortalSession

    raw = session.get(SESSION_KEY)
    u = current_user()
    n = 0
    if everywhere and u is not None:
        q = PortalSession.delete().where(PortalSession.user == u.id)
        if keep_current and raw:
            q = q.where(PortalSession.token_hash != _hash(raw))
        n = q.execute()
    elif raw:
        n = PortalSession.delete().where(PortalSession.token_hash == _hash(str(raw))).execute()
    if not keep_current:
        lang = session.get("lang")
        session.clear()
        if lang:
            session["lang"] = lang
        g.portal_staff = None
        g.portal_user = None
    return n


def staff_required(*roles: str) -> Callable:
    """Guard a view: not signed in → the sign-in page (coming back afterwards); signed in with
    another role → 404 (a page a role may not use does not exist for it); a temporary password →
    the page that changes it, before anything else."""

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            actor = current_staff()
            if actor is None:
                return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
            if current_user().password_temporary and request.endpoint not in ("portal.change_password",
                                                                               "portal.sign_out"):
                return redirect(url_for("portal.change_password"))
            if roles and actor.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return deco


# -- citizens ---------------------------------------------------------------------------------------

def reporter_access(tracking_id: str, complaint=None) -> bool:
    """Has this session proved it holds ``tracking_id``'s access code? (See :mod:`aduan_portal.access`:
    the session keeps a grant bound to the stored code hash, never the code.)"""
    from .access import reporter_access as check

    return check(tracking_id, complaint)
