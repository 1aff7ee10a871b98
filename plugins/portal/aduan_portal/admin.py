"""Administration pages (``/portal/admin/…``) and the plugins' staff panels (``/portal/panels/…``).

Admins change agencies, categories, accounts, tokens and jobs; coordinators read the directory and
the plugin status. Every change is one call of the API route that owns it (:mod:`.apicall`): the
same validation, role checks and transaction as the API, and field messages shown beside the field
(never a 500). Panels come from the core's ``staff_panels`` hook and are rendered generically: the
portal imports no plugin, and a plugin ships no HTML.
"""
from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from aduan.i18n import _, _l
from aduan.models import Agency, Category, User

from . import apicall
from .security import current_staff, staff_required
from .web import bp

ROLES = ("admin", "coordinator", "officer", "integration")
ROLE_LABELS = {"admin": _l("Administrator"), "coordinator": _l("Coordinator"), "officer": _l("Officer"),
               "integration": _l("Integration (system)")}
URGENCY_LABELS = {"biasa": _l("Normal"), "penting": _l("Important"), "mendesak": _l("Urgent")}
JOB_STATUSES = ("dead", "pending", "running", "done")
JOB_STATUS_LABELS = {"dead": _l("Dead (failed every attempt)"), "pending": _l("Waiting"), "running": _l("Running"),
                     "done": _l("Done")}


@bp.app_template_filter("admin_isotime")
def admin_isotime(value):
    """An API time (ISO 8601 with offset) for people, in the deployment's zone with its name; ``—`` if none."""
    import datetime as dt

    from aduan.i18n import format_datetime

    if not value:
        return "—"
    try:
        t = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return format_datetime(t)


def _no_store(resp):
    resp = current_app.make_response(resp)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _render(template: str, _code: int = 200, **ctx):
    return _no_store((render_template(template, **ctx), _code))


# --- form helpers ----------------------------------------------------------------------------------

def _text(form, name: str, *, none_if_empty: bool = True):
    value = (form.get(name) or "").strip()
    return None if (none_if_empty and value == "") else value


def _int(form, name: str):
    """An integer field: ``None`` when empty; text that is not a number goes to the API as it is, so the
    route answers with its own field message."""
    value = (form.get(name) or "").strip()
    if value == "":
        return None
    try:
        return int(value)
    except ValueError:
        return value


def _bool(form, name: str) -> bool:
    return form.get(name) in ("1", "on", "true", "yes")


def _agencies() -> list[Agency]:
    return list(Agency.select().order_by(Agency.name))


def _failed(result: apicall.ApiResult) -> dict[str, list[str]]:
    """Field messages of a refused call; a message without a field goes under ``_``."""
    errors = dict(result.errors)
    if not errors:
        errors["_"] = [result.message or _("The change was refused (%(status)s).", status=result.status)]
    return errors


# --- index -----------------------------------------------------------------------------------------

@bp.get("/admin/")
@staff_required("admin", "coordinator")
def admin_index():
    actor = current_staff()
    panels = current_app.extensions["aduan"].hooks.staff_panels(actor)
    return _render("portal/admin/index.html", actor=actor, panels=panels)


# --- agencies --------------------------------------------------------------------------------------

def _agency_body(form) -> dict[str, Any]:
    return {"code": _text(form, "code", none_if_empty=False), "name": _text(form, "name", none_if_empty=False),
            "parent_id": _int(form, "parent_id"), "email": _text(form, "email"), "phone": _text(form, "phone"),
            "active": _bool(form, "active")}


@bp.get("/admin/agencies")
@staff_required("admin", "coordinator")
def admin_agencies():
    agencies = _agencies()
    names = {a.id: a.name for a in agencies}
    return _render("portal/admin/agencies.html", agencies=agencies, names=names,
                   can_edit=current_staff().role == "admin")


@bp.route("/admin/agencies/new", methods=["GET", "POST"])
@staff_required("admin")
def admin_agency_new():
    values, errors = {"active": True}, {}
    if request.method == "POST":
        values = _agency_body(request.form)
        result = apicall.call(current_staff(), "POST", "/api/v1/agencies", values)
        if result.ok:
            flash(_("Agency %(name)s created.", name=result.body["name"]), "success")
            return redirect(url_for("portal.admin_agencies"))
        errors = _failed(result)
    return _render("portal/admin/agency_form.html", 422 if errors else 200, agency=None, values=values,
                   errors=errors, agencies=_agencies())


@bp.route("/admin/agencies/<int:agency_id>", methods=["GET", "POST"])
@staff_required("admin")
def admin_agency_edit(agency_id: int):
    agency = Agency.get_or_none(Agency.id == agency_id) or abort(404)
    values = {"code": agency.code, "name": agency.name, "parent_id": agency.parent_id, "email": agency.email,
              "phone": agency.phone, "active": agency.active}
    errors = {}
    if request.method == "POST":
        values = _agency_body(request.form)
        if values["parent_id"] == agency.id:
            errors = {"parent_id": [_("An agency cannot be its own parent.")]}
        else:
            result = apicall.call(current_staff(), "PATCH", f"/api/v1/agencies/{agency.id}", values)
            if result.ok:
                flash(_("Agency %(name)s saved.", name=result.body["name"]), "success")
                return redirect(url_for("portal.admin_agencies"))
            errors = _failed(result)
    return _render("portal/admin/agency_form.html", 422 if errors else 200, agency=agency, values=values,
                   errors=errors, agencies=[a for a in _agencies() if a.id != agency.id])


# --- categories ------------------------------------------------------------------------------------

def _category_body(form) -> dict[str, Any]:
    return {"code": _text(form, "code", none_if_empty=False), "name": _text(form, "name", none_if_empty=False),
            "name_en": _text(form, "name_en"), "description": _text(form, "description"),
            "keywords": _text(form, "keywords"), "parent_id": _int(form, "parent_id"),
            "default_agency_id": _int(form, "default_agency_id"),
            "default_urgency": _text(form, "default_urgency") or "biasa",
            "sla_followup_days": _int(form, "sla_followup_days"), "active": _bool(form, "active")}


def _categories() -> list[Category]:
    return list(Category.select().order_by(Category.name))


@bp.get("/admin/categories")
@staff_required("admin", "coordinator")
def admin_categories():
    return _render("portal/admin/categories.html", categories=_categories(),
                   agencies={a.id: a.name for a in _agencies()}, urgencies=URGENCY_LABELS,
                   can_edit=current_staff().role == "admin")


def _category_form(category, values, errors):
    others = [c for c in _categories() if category is None or c.id != category.id]
    return _render("portal/admin/category_form.html", 422 if errors else 200, category=category, values=values,
                   errors=errors, agency_options=[(a.id, a.name) for a in _agencies()],
                   category_options=[(c.id, c.name) for c in others], urgencies=URGENCY_LABELS)


@bp.route("/admin/categories/new", methods=["GET", "POST"])
@staff_required("admin")
def admin_category_new():
    values, errors = {"active": True, "default_urgency": "biasa"}, {}
    if request.method == "POST":
        values = _category_body(request.form)
        result = apicall.call(current_staff(), "POST", "/api/v1/categories", values)
        if result.ok:
            flash(_("Category %(name)s created.", name=result.body["name"]), "success")
            return redirect(url_for("portal.admin_categories"))
        errors = _failed(result)
    return _category_form(None, values, errors)


@bp.route("/admin/categories/<int:category_id>", methods=["GET", "POST"])
@staff_required("admin")
def admin_category_edit(category_id: int):
    c = Category.get_or_none(Category.id == category_id) or abort(404)
    values = {"code": c.code, "name": c.name, "name_en": c.name_en, "description": c.description,
              "keywords": c.keywords, "parent_id": c.parent_id, "default_agency_id": c.default_agency_id,
              "default_urgency": c.default_urgency, "sla_followup_days": c.sla_followup_days, "active": c.active}
    errors = {}
    if request.method == "POST":
        values = _category_body(request.form)
        result = apicall.call(current_staff(), "PATCH", f"/api/v1/categories/{c.id}", values)
        if result.ok:
            flash(_("Category %(name)s saved.", name=result.body["name"]), "success")
            return redirect(url_for("portal.admin_categories"))
        errors = _failed(result)
    return _category_form(c, values, errors)


# --- users and tokens ------------------------------------------------------------------------------

def set_temporary_password(user_id: int) -> str | None:
    """Give a new staff account a temporary password (changed at its first sign-in) and return it, to be
    shown once; ``None`` for an integration account, or while the core has no passwords
    (:mod:`aduan.passwords`, ``aduan user password``, brought by portal-staff)."""
    try:
        from aduan import passwords
    except ImportError:  # a core without passwords: the admin sets one with `aduan user password`
        return None
    user = User.get_by_id(user_id)
    if user.role not in getattr(passwords, "PASSWORD_ROLES", ("admin", "coordinator", "officer")):
        return None
    password = passwords.temporary_password()
    passwords.set_password(user, password, temporary=True)
    return password


def _user_body(form, *, new: bool) -> dict[str, Any]:
    body = {"name": _text(form, "name", none_if_empty=False), "email": _text(form, "email"),
            "role": _text(form, "role", none_if_empty=False), "agency_id": _int(form, "agency_id")}
    if new:
        body["username"] = _text(form, "username", none_if_empty=False)
    else:
        body["active"] = _bool(form, "active")
    return body


@bp.route("/admin/users", methods=["GET", "POST"])
@staff_required("admin")
def admin_users():
    values, errors = {"role": "officer"}, {}
    if request.method == "POST":
        values = _user_body(request.form, new=True)
        result = apicall.call(current_staff(), "POST", "/api/v1/users", values)
        if result.ok:
            password = set_temporary_password(result.body["id"])
            flash(_("Account %(username)s created.", username=result.body["username"]), "success")
            if password:
                user = User.get_by_id(result.body["id"])
                return _render("portal/admin/user_created.html", user=user, password=password)
            return redirect(url_for("portal.admin_user", user_id=result.body["id"]))
        errors = _failed(result)
    users = list(User.select().order_by(User.username))
    return _render("portal/admin/users.html", 422 if errors else 200, users=users, values=values, errors=errors,
                   agency_options=[(a.id, a.name) for a in _agencies()], names={a.id: a.name for a in _agencies()},
                   roles=ROLE_LABELS)


def _user_page(user, *, values=None, errors=None, token=None, token_errors=None, token_values=None):
    result = apicall.call(current_staff(), "GET", f"/api/v1/users/{user.id}/tokens")
    tokens = result.body if result.ok else []
    if values is None:
        values = {"name": user.name, "email": user.email, "role": user.role, "agency_id": user.agency_id,
                  "active": user.active}
    failed = bool(errors or token_errors)
    return _render("portal/admin/user.html", 422 if failed else 200, user=user, values=values,
                   errors=errors or {}, tokens=tokens, new_token=token, token_errors=token_errors or {},
                   token_values=token_values or {}, agency_options=[(a.id, a.name) for a in _agencies()],
                   roles=ROLE_LABELS)


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@staff_required("admin")
def admin_user(user_id: int):
    user = User.get_or_none(User.id == user_id) or abort(404)
    if request.method == "POST":
        values = _user_body(request.form, new=False)
        result = apicall.call(current_staff(), "PATCH", f"/api/v1/users/{user.id}", values)
        if result.ok:
            flash(_("Account %(username)s saved.", username=user.username), "success")
            return redirect(url_for("portal.admin_user", user_id=user.id))
        return _user_page(user, values=values, errors=_failed(result))
    return _user_page(user)


@bp.post("/admin/users/<int:user_id>/tokens")
@staff_required("admin")
def admin_token_issue(user_id: int):
    user = User.get_or_none(User.id == user_id) or abort(404)
    scopes = [s for s in (request.form.get("scopes") or "").replace(",", " ").split() if s]
    body = {"name": _text(request.form, "name", none_if_empty=False), "scopes": scopes,
            "expires_days": _int(request.form, "expires_days")}
    result = apicall.call(current_staff(), "POST", f"/api/v1/users/{user.id}/tokens", body)
    if result.ok:
        return _user_page(user, token=result.body)  # the secret is shown on this page only, never stored
    values = {"name": body["name"], "scopes": " ".join(scopes), "expires_days": request.form.get("expires_days")}
    return _user_page(user, token_errors=_failed(result), token_values=values)


@bp.post("/admin/tokens/<int:token_id>/revoke")
@staff_required("admin")
def admin_token_revoke(token_id: int):
    from aduan.models import Token

    token = Token.get_or_none(Token.id == token_id) or abort(404)
    result = apicall.call(current_staff(), "DELETE", f"/api/v1/tokens/{token.id}")
    if result.ok:
        flash(_("Token %(prefix)s… revoked.", prefix=token.prefix), "success")
    else:
        flash(_failed(result).get("_", [result.message])[0], "error")
    return redirect(url_for("portal.admin_user", user_id=token.user_id))


# --- jobs ------------------------------------------------------------------------------------------

@bp.get("/admin/jobs")
@staff_required("admin")
def admin_jobs():
    status = request.args.get("status", "dead")
    if status not in JOB_STATUSES:
        status = "dead"
    result = apicall.call(current_staff(), "GET", "/api/v1/jobs", query={"status": status, "limit": 200})
    return _render("portal/admin/jobs.html", jobs=result.body if result.ok else [], status=status,
                   statuses=JOB_STATUSES, job_status_labels=JOB_STATUS_LABELS)


@bp.post("/admin/jobs/<int:job_id>/retry")
@staff_required("admin")
def admin_job_retry(job_id: int):
    result = apicall.call(current_staff(), "POST", f"/api/v1/jobs/{job_id}/retry")
    if result.status == 404:
        abort(404)
    if result.ok:
        flash(_("Job %(id)s will run again.", id=job_id), "success")
    else:
        flash(result.message, "error")
    return redirect(url_for("portal.admin_jobs"))


# --- plugins ---------------------------------------------------------------------------------------

@bp.get("/admin/plugins")
@staff_required("admin", "coordinator")
def admin_plugins():
    result = apicall.call(current_staff(), "GET", "/api/v1/plugins")
    return _render("portal/admin/plugins.html", plugins=result.body if result.ok else [], role=current_staff().role)


# --- plugin panels ---------------------------------------------------------------------------------

def _panel(panel_id: str):
    actor = current_staff()
    for p in current_app.extensions["aduan"].hooks.staff_panels(actor):
        if p.id == panel_id:
            return actor, p
    abort(404)  # unknown, or not for this role: the same answer


def action_key(action) -> str:
    """A stable name of a panel action (two actions may share a route, e.g. "send again" and "link")."""
    import hashlib

    hidden = [(f.name, repr(f.value)) for f in action.fields if f.kind == "hidden"]
    text = repr((action.endpoint, action.method.upper(), str(action.label), hidden))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _panel_actions(data) -> list:
    actions = list(data.actions)
    for table in data.tables:
        for row in table.row_actions:
            actions.extend(row)
    return actions


@bp.get("/panels/")
@staff_required("admin", "coordinator", "officer")
def panels():
    actor = current_staff()
    return _render("portal/admin/panels.html", panels=current_app.extensions["aduan"].hooks.staff_panels(actor),
                   role=actor.role)


def _panel_page(panel_id: str, status: int = 200, errors=None, failed_action=None):
    actor, panel = _panel(panel_id)
    try:
        data = panel.data(actor)
    except Exception:  # noqa: BLE001 - a broken plugin panel must not take the page down
        current_app.logger.exception("staff panel %s failed", panel.id)
        data = None
    return _render("portal/admin/panel.html", status, panel=panel, data=data, errors=errors or {},
                   failed_action=failed_action, role=actor.role, action_key=action_key)


@bp.get("/panels/<panel_id>")
@staff_required("admin", "coordinator", "officer")
def panel(panel_id: str):
    return _panel_page(panel_id)


def _field_value(f, form):
    if f.kind == "hidden":
        return f.value  # fixed by the plugin, never taken from the form
    raw = (form.get(f.name) or "").strip()
    if raw == "":
        return None
    if f.kind == "number" or (f.kind == "select" and f.choices and isinstance(f.choices[0][0], int)):
        try:
            return int(raw)
        except ValueError:
            return raw
    return raw


@bp.post("/panels/<panel_id>")
@staff_required("admin", "coordinator", "officer")
def panel_action(panel_id: str):
    actor, panel_ = _panel(panel_id)
    key = request.form.get("action", "")
    try:
        offered = _panel_actions(panel_.data(actor))
    except Exception:  # noqa: BLE001 - a broken plugin panel must not take the page down
        current_app.logger.exception("staff panel %s failed", panel_.id)
        offered = []
    action = next((a for a in offered if action_key(a) == key), None)
    if action is None:  # not offered (any more) to this person: nothing is called
        flash(_("This action is no longer offered: the panel has changed."), "error")
        return redirect(url_for("portal.panel", panel_id=panel_id))
    missing = {f.name: [_("Required.")] for f in action.fields
               if f.required and f.kind != "hidden" and not (request.form.get(f.name) or "").strip()}
    if missing:
        return _panel_page(panel_id, 422, missing, key)
    body = {f.name: _field_value(f, request.form) for f in action.fields}
    result = apicall.call(actor, action.method, action.endpoint, body if action.fields else None)
    if result.ok:
        flash(_("Done: %(action)s.", action=action.label), "success")
        return redirect(url_for("portal.panel", panel_id=panel_id))
    return _panel_page(panel_id, 422 if result.status < 500 else 502, _failed(result), key)
