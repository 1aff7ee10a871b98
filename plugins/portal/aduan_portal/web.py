"""The portal's blueprint (``/portal/``), its template helpers and the pages' common behaviour.

Route modules register their views on :data:`bp`: ``citizen.py`` (citizens' pages), ``accounts.py``
(signing in and out), ``staff.py`` (queues and the complaint page), ``admin.py`` and
``dashboard.py``. Templates are in ``templates/portal/``, each extending ``portal/base.html``.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from aduan import i18n

from . import security

bp = Blueprint("portal", __name__, url_prefix="/portal", template_folder="templates",
               static_folder="static", static_url_path="/static")
#: ``/``: the service's front door is the portal's home page.
root = Blueprint("portal_root", __name__)


@root.get("/")
def index():
    return redirect(url_for("portal.home"))


@bp.before_request
def _portal_request():
    # The language: ?lang= chosen on a page is kept for the visit; else the request's own.
    asked = i18n.normalize(request.args.get("lang"))
    if asked:
        session["lang"] = asked
    elif i18n.normalize(session.get("lang")):
        g.aduan_language = i18n.normalize(session["lang"])
    security.check_csrf()


bp.after_request(security.security_headers)


@bp.errorhandler(HTTPException)
def _error_page(exc: HTTPException):
    """Errors inside the portal are pages, in the reader's language, not JSON."""
    resp = current_app.make_response(
        (render("portal/error.html", code=exc.code, message=i18n.http_message(exc)), exc.code or 500))
    return security.security_headers(resp)


def render(template: str, **context):
    """Render a portal template (the helpers below are available in every template)."""
    return render_template(template, **context)


def send_attachment(complaint, actor, attachment_id: int):
    """Download one attachment of ``complaint`` if ``actor`` may see it (``aduan.privacy`` decides
    for the actor's audience); 404 otherwise, the same answer as for an attachment that does not exist."""
    from flask import abort, send_file

    from aduan import privacy
    from aduan.models import Attachment

    att = Attachment.get_or_none((Attachment.id == attachment_id) & (Attachment.complaint == complaint))
    if att is None or not privacy.attachment_visible(att, complaint, privacy.audience_for(actor, complaint)):
        abort(404)
    storage = current_app.extensions["aduan"].storage
    resp = send_file(storage.open(att.sha256), mimetype=att.content_type, as_attachment=True,
                     download_name=att.filename)
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


def site_name() -> str:
    return current_app.config.get("PORTAL_SITE_NAME") or "aduan"


def init_app(app) -> None:
    """Called from the ``startup`` hook: sessions and the template environment."""
    security.init_sessions(app)
    app.extensions.setdefault("aduan_error_pages", {})[bp.url_prefix + "/"] = _error_page
    env = app.jinja_env
    env.globals.update(
        _=i18n.gettext, gettext=i18n.gettext, ngettext=i18n.ngettext, pgettext=i18n.pgettext,
        csrf_token=security.csrf_token, current_staff=security.current_staff, site_name=site_name,
        current_language=i18n.current_language,
    )
    env.filters["localtime"] = lambda value, weekday=True: i18n.format_datetime(value, weekday=weekday)
    env.filters["localdate"] = lambda value: i18n.format_date(value)


# Route modules (each registers its views on ``bp``).
from . import accounts, citizen  # noqa: E402,F401
from . import admin, dashboard  # noqa: E402,F401
from . import staff  # noqa: E402,F401
