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
:func:`staff_required` guards a view. :func:`session_payload` is what signing in stores in the
session.
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
        secrets_ = [k.hex() for k in keys.derive_all("portal-session", app.config)]
        # itsdangerous signs with the last key and verifies with any of them.
        return URLSafeTimedSerializer(list(reversed(secrets_)), salt=self.salt, serializer=self.serializer,
                                      signer_kwargs={"key_derivation": self.key_derivation,
                                                     "digest_method": self.digest_method})


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

def session_payload(user) -> dict[str, Any]:
    """What signing ``user`` in puts in the session (see :func:`current_staff`)."""
    return {"staff_uid": user.id}


def current_staff() -> Actor | None:
    """The signed-in staff member, or ``None``. Cached for the request."""
    if "portal_staff" in g:
        return g.portal_staff
    actor = None
    uid = session.get("staff_uid")
    if uid:
        from aduan.models import User

        u = User.get_or_none((User.id == uid) & (User.active == True))  # noqa: E712
        if u is not None and u.role in ("admin", "coordinator", "officer"):
            actor = Actor(role=u.role, user_id=u.id, agency_id=u.agency_id, username=u.username)
    g.portal_staff = actor
    return actor


def staff_required(*roles: str) -> Callable:
    """Guard a view: not signed in → the sign-in page (coming back afterwards); signed in with
    another role → 404 (a page a role may not use does not exist for it)."""

    def deco(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            actor = current_staff()
            if actor is None:
                return redirect(url_for("portal.sign_in", next=request.full_path.rstrip("?")))
            if roles and actor.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return wrapped

    return deco
