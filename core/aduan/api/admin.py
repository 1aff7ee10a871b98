"""Users, tokens, jobs, plugins, statistics, health."""
from __future__ import annotations

import datetime as dt

import peewee as pw
from flask import abort, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import __version__, jobs
from ..auth import ScopeError, create_token
from ..db import database, utcnow
from ..i18n import gettext as _, isoformat
from ..models import Agency, Job, Token, User
from ..services import InvalidInput
from . import require
from .schemas import (JobOut, JobQuery, PluginOut, StatsOut, StatsQuery, TokenIn, TokenOut, UserIn, UserOut,
                      UserPatch)

blp = Blueprint("admin", __name__, url_prefix="/api/v1", description="Accounts, tokens, jobs, plugins and statistics.")


def _iso(v):
    return isoformat(v)


def _user_out(u: User) -> dict:
    return {"id": u.id, "username": u.username, "name": u.name, "email": u.email, "role": u.role,
            "agency_id": u.agency_id, "active": u.active}


def _token_out(t: Token, raw: str | None = None) -> dict:
    out = {"id": t.id, "name": t.name, "prefix": t.prefix, "created_at": _iso(t.created_at),
           "last_used_at": _iso(t.last_used_at), "expires_at": _iso(t.expires_at), "revoked": t.revoked,
           "scopes": sorted(t.scopes or [])}
    if raw:
        out["token"] = raw
    return out


def _check_agency(agency_id):
    if agency_id is not None and Agency.get_or_none(Agency.id == agency_id) is None:
        raise InvalidInput({"agency_id": [_("Unknown agency: %(value)s", value=agency_id)]})


@blp.route("/health")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """Liveness: the process answers. Readiness (database, migrations, worker) is ``GET /ready``."""
        return {"status": "ok", "version": __version__}


@blp.route("/me")
class Me(MethodView):
    @require()
    @blp.response(200, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """The account behind the token (for an integration token, with the scopes it holds)."""
        u = User.get_or_none(User.id == g.actor.user_id) or abort(404, _("No account."))
        out = _user_out(u)
        if g.actor.role == "integration":
            out["scopes"] = sorted(g.actor.scopes)
        return out


@blp.route("/users")
class Users(MethodView):
    @require("admin")
    @blp.response(200, UserOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Staff accounts."""
        return [_user_out(u) for u in User.select().order_by(User.username)]

    @require("admin")
    @blp.arguments(UserIn)
    @blp.response(201, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Create a staff account (officers need an agency)."""
        _check_agency(data.get("agency_id"))
        try:
            with database.atomic():
                u = User.create(username=data["username"], name=data["name"], email=data.get("email"),
                                role=data["role"], agency=data.get("agency_id"))
        except pw.IntegrityError:
            raise InvalidInput({"username": [_("Already in use.")]}) from None
        return _user_out(u)


@blp.route("/users/<int:user_id>")
class UserDetail(MethodView):
    @require("admin")
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    @blp.doc(security=[{"bearer": []}])
    def patch(self, data, user_id):
        """Change or deactivate an account."""
        u = User.get_or_none(User.id == user_id) or abort(404, _("No such user."))
        _check_agency(data.get("agency_id"))
        role = data.get("role", u.role)
        agency = data.get("agency_id", u.agency_id)
        if role == "officer" and not agency:
            raise InvalidInput({"agency_id": [_("An officer belongs to an agency.")]})
        fields = {("agency" if k == "agency_id" else k): v for k, v in data.items()}
        if fields:
            User.update(**fields).where(User.id == user_id).execute()
        return _user_out(User.get_by_id(user_id))


@blp.route("/users/<int:user_id>/tokens")
class UserTokens(MethodView):
    @require("admin")
    @blp.response(200, TokenOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, user_id):
        """The account's tokens (never the secrets)."""
        return [_token_out(t) for t in Token.select().where(Token.user == user_id).order_by(Token.id)]

    @require("admin")
    @blp.arguments(TokenIn)
    @blp.response(201, TokenOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data, user_id):
        """Issue a token. The secret is in this response only.

        A token of an integration account can do only what ``scopes`` grants (none by default):
        permissions such as ``complaints:read``, ``secret:read``, ``contacts:read`` or
        ``action:respond``, and reach limits ``channel:<name>`` and ``agency:<code>`` (see the README).
        """
        u = User.get_or_none(User.id == user_id) or abort(404, _("No such user."))
        exp = utcnow() + dt.timedelta(days=data["expires_days"]) if data.get("expires_days") else None
        try:
            with database.atomic():
                t, raw = create_token(u, data["name"], exp, scopes=data.get("scopes"))
        except ScopeError as exc:
            raise InvalidInput({"scopes": exc.errors}) from None
        return _token_out(t, raw)


@blp.route("/tokens/<int:token_id>")
class TokenDetail(MethodView):
    @require("admin")
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def delete(self, token_id):
        """Revoke a token."""
        if not Token.update(revoked=True).where(Token.id == token_id).execute():
            abort(404, _("No such token."))


def _job_out(j: Job) -> dict:
    return {"id": j.id, "kind": j.kind, "key": j.key, "status": j.status, "attempts": j.attempts,
            "max_attempts": j.max_attempts, "run_at": _iso(j.run_at), "last_error": j.last_error,
            "tracking_id": j.complaint.tracking_id if j.complaint_id else None, "created_at": _iso(j.created_at),
            "finished_at": _iso(j.finished_at)}


@blp.route("/jobs")
class Jobs(MethodView):
    @require("admin")
    @blp.arguments(JobQuery, location="query")
    @blp.response(200, JobOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, args):
        """Outbox jobs, dead ones first: what failed to reach another system and why."""
        q = Job.select()
        if args.get("status"):
            q = q.where(Job.status == args["status"])
        if args.get("kind"):
            q = q.where(Job.kind == args["kind"])
        order = pw.Case(None, [(Job.status == "dead", 0), (Job.status == "running", 1), (Job.status == "pending", 2)], 3)
        return [_job_out(j) for j in q.order_by(order, Job.id.desc()).limit(args["limit"])]


@blp.route("/jobs/<int:job_id>/retry")
class JobRetry(MethodView):
    @require("admin")
    @blp.response(200, JobOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, job_id):
        """Run a dead job again, with a fresh attempt budget."""
        Job.get_or_none(Job.id == job_id) or abort(404, _("No such job."))
        if not jobs.retry(job_id):
            abort(409, _("Only dead or pending jobs can be retried."))
        return _job_out(Job.get_by_id(job_id))


@blp.route("/plugins")
class Plugins(MethodView):
    @require()
    @blp.response(200, PluginOut(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """Installed and enabled plugins, their versions and the hooks each implements."""
        return current_app.extensions["aduan"].hooks.describe()


@blp.route("/stats")
class Stats(MethodView):
    @blp.arguments(StatsQuery, location="query")
    @blp.response(200, StatsOut)
    @blp.doc(security=[{}, {"bearer": []}])
    def get(self, args):
        """Counts by status and agency, overdue complaints, median time to first response and to
        resolution, average rating (``aduan.stats``, shared with the open data).

        Staff see every complaint in their scope (officers: their agency only). Without a token the
        public view is served: secret complaints are left out, and a cell counting fewer than
        ``STATS_MIN_CELL_SIZE`` complaints is withheld (``null``, with complementary suppression);
        medians and the average rating only over at least that many values."""
        from .. import stats

        a = g.actor
        if a.role not in ("public", "reporter", "admin", "coordinator", "officer"):
            abort(403, _("This needs one of the roles: %(roles)s", roles="admin, coordinator, officer"))
        public = not a.is_staff
        cal = current_app.extensions["aduan"].calendar

        def bound(day, shift):
            try:
                return cal.day_start_utc(day + dt.timedelta(days=shift)) if day else None
            except (OverflowError, ValueError):  # a bound beyond the calendar's range bounds nothing
                return None

        scope = stats.Scope(created_from=bound(args.get("created_from"), 0),
                            created_to=bound(args.get("created_to"), 1),
                            agency_id=a.agency_id if a.role == "officer" else None)
        return stats.summary(tz=current_app.config["TIMEZONE"], scope=scope, public=public,
                             k=current_app.config["STATS_MIN_CELL_SIZE"])
