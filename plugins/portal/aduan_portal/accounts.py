"""Staff accounts: signing in and out, "sign out everywhere", changing the password (forced for a
temporary one). Passwords, the lockout and temporary passwords are the core's (:mod:`aduan.passwords`);
sessions are rows of ``portal_session`` (:mod:`aduan_portal.security`)."""
from __future__ import annotations

from flask import flash, redirect, request, url_for

from aduan import passwords
from aduan.i18n import _

from . import security
from .web import bp, render


def _safe_next(value: str | None) -> str:
    """Only a path of this portal (no other host, no scheme): an open redirect is not offered."""
    value = (value or "").strip()
    if value.startswith("/portal/") and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value
    return url_for("portal.staff_queue")


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    nxt = request.values.get("next", "")
    if request.method == "GET":
        if security.current_staff() is not None:
            return redirect(_safe_next(nxt))
        return render("portal/accounts/sign_in.html", next=nxt, username="", error=None)
    username = request.form.get("username", "")
    result = passwords.authenticate(username, request.form.get("password", ""), client=request.remote_addr)
    if result.status in (passwords.LOCKED, passwords.THROTTLED):
        from aduan.i18n import format_datetime

        # one message for a locked account, a "locked" unknown name and a throttled address:
        # the answer does not tell which names are accounts
        error = _("Too many failed sign-in attempts. Try again after %(when)s.",
                  when=format_datetime(result.locked_until, weekday=False))
        return render("portal/accounts/sign_in.html", next=nxt, username=username[:64], error=error), 429
    elif not result.ok:
        error = _("Wrong username or password.")
    else:
        security.start_session(result.user)
        if result.must_change:
            return redirect(url_for("portal.change_password"))
        return redirect(_safe_next(nxt))
    return render("portal/accounts/sign_in.html", next=nxt, username=username[:64], error=error), 401


@bp.post("/sign-out")
def sign_out():
    security.end_session()
    flash(_("You are signed out."))
    return redirect(url_for("portal.sign_in"))


@bp.get("/account")
@security.staff_required()
def account():
    from .models import PortalSession

    u = security.current_user()
    sessions = PortalSession.select().where(PortalSession.user == u.id).count()
    return render("portal/accounts/account.html", user=u, sessions=sessions)


@bp.post("/account/sign-out-everywhere")
@security.staff_required()
def sign_out_everywhere():
    n = security.end_session(everywhere=True)
    flash(_("You are signed out on every device (%(n)d sessions ended).", n=n))
    return redirect(url_for("portal.sign_in"))


@bp.route("/account/password", methods=["GET", "POST"])
@security.staff_required()
def change_password():
    u = security.current_user()
    errors: list[str] = []
    if request.method == "POST":
        new = request.form.get("new_password", "")
        if new != request.form.get("new_password2", ""):
            errors.append(_("The two new passwords differ."))
        else:
            try:
                passwords.change_password(u, request.form.get("current_password", ""), new)
            except passwords.PasswordError as exc:
                errors.extend(str(e) for e in exc.errors)
        if not errors:
            # every other session ended with the epoch; this browser gets a fresh session
            from .models import PortalSession

            PortalSession.delete().where(PortalSession.user == u.id).execute()
            security.start_session(u)
            flash(_("Your password is changed; every other session is signed out."))
            return redirect(url_for("portal.staff_queue"))
    return render("portal/accounts/password.html", user=u, errors=errors,
                  forced=bool(u.password_temporary)), (400 if errors else 200)
