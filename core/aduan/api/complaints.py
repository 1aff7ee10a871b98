"""Complaints: filing, tracking, listing, workflow actions, attachments."""
from __future__ import annotations

import base64

from flask import abort, current_app, g, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest import abort as smorest_abort
from flask_smorest.fields import Upload

from .. import listing, privacy, services
from ..auth import Actor, check_access_code
from ..db import utcnow
from ..edge import INT_MAX
from ..i18n import complaint_language, current_language, gettext as _, status_label
from ..models import Attachment, Complaint
from ..sla import overdue_stages
from ..workflow import allowed_actions
from . import rate_limit
from .schemas import (ActionIn, AttachmentOut, ComplaintFilter, ComplaintIn, ComplaintOut, ComplaintPage, FiledOut,
                      UploadIn)

blp = Blueprint("complaints", __name__, url_prefix="/api/v1/complaints",
                description="File, follow and work complaints (pengaduan, aspirasi, permintaan informasi).")

PUBLIC_LIST_STATUSES = listing.PUBLIC_LIST_STATUSES  # (plugins import it from here)


def _hooks():
    return current_app.extensions["aduan"].hooks


def find(tracking_id: str) -> Complaint:
    """The complaint, or a 404; anonymous misses count against RATE_LIMIT_TRACK, so tracking
    ids cannot be enumerated (hits cost no write)."""
    try:
        return services.find_complaint(tracking_id)
    except services.NotFound:
        if g.actor.role in ("public", "reporter"):
            rate_limit("lookup", "RATE_LIMIT_TRACK")
        raise


def resolve_actor(complaint: Complaint) -> Actor:
    """The staff actor, or the reporter when a valid X-Access-Code is given, else the public."""
    a = g.actor
    if a.role not in ("public", "reporter"):
        if not privacy.can_see(a, complaint):
            abort(404, _("No complaint with tracking id %(tid)s.", tid=complaint.tracking_id))
        return a
    code = request.headers.get("X-Access-Code")
    if code:
        rate_limit("access", "RATE_LIMIT_TRACK")
        if not check_access_code(complaint, code):
            abort(403, _("Wrong access code."))
        if not g.get("aduan_language_requested"):
            # the reporter's own view speaks their language unless the request asks for another
            g.aduan_language = complaint_language(complaint)
        return Actor(role="reporter", complaint_id=complaint.id)
    return a


def acting_on_complaint(fn):
    """Decorator (above ``@blp.arguments``): find the complaint and who acts on it (token, or the
    reporter's ``X-Access-Code``) before the body is validated, so a stranger gets 401/403/404, not
    a 422 about a body they may not send. The view reads ``g.complaint`` and ``g.complaint_actor``."""
    from functools import wraps

    @wraps(fn)
    def wrapper(*args, **kwargs):
        c = find(kwargs["tracking_id"])
        a = resolve_actor(c)
        if a.role == "public":
            abort(401, _("A token or the complaint's access code is required."))
        g.complaint, g.complaint_actor = c, a
        return fn(*args, **kwargs)

    return wrapper


def full_view(c: Complaint, actor: Actor, *, timeline: bool = True, extras: dict | None = None,
              memo: dict | None = None) -> dict:
    """The complaint as ``actor`` sees it. ``extras``: the plugins' fields of a whole page, fetched at
    once by :func:`page_extras` (else this complaint's are fetched here). ``memo``: a dict shared by
    the complaints of one page, so what is the same for all of them (labels, actions) is worked out once."""
    memo = {} if memo is None else memo
    audience = privacy.audience_for(actor, c)
    if extras is None:
        view = privacy.complaint_view(c, audience, hooks=_hooks())
    else:
        view = privacy.complaint_view(c, audience, extra=extras.get(c.id) or {})
    label = memo.get(("label", c.status))
    if label is None:
        label = memo[("label", c.status)] = status_label(c.status)
    view["status_label"] = label
    if view.get("category") and c.category_id and c.category.name_en:
        if "lang" not in memo:
            memo["lang"] = current_language()
        if memo["lang"] == "en":
            view["category"]["name"] = c.category.name_en
    actions = memo.get(("actions", c.status))
    if actions is None:
        role = actor.role if actor.role != "public" else None
        actions = allowed_actions(c.status, role) if role else []
        if actor.role == "integration":
            actions = [x for x in actions if actor.has_scope(f"action:{x}")]
        memo[("actions", c.status)] = actions
    view["allowed_actions"] = list(actions)
    if audience in privacy.STAFF_AUDIENCES or audience == "reporter":
        view["overdue"] = overdue_stages(c, utcnow())
        view["language"] = complaint_language(c)
    if timeline:
        view["timeline"] = privacy.timeline(c, audience)
        view["attachments"] = [privacy.attachment_view(a) for a in c.attachments.order_by(Attachment.id)
                               if privacy.attachment_visible(a, c, audience)]
    return view


def page_extras(rows: list[Complaint], actor: Actor) -> dict[int, dict]:
    """The plugins' fields for a page of complaints: one ``complaint_extras`` call per audience
    (every row of a page usually has the same), so a page costs each plugin a constant number of
    queries. The public view of a secret complaint gets none (as in ``complaint_view``)."""
    groups: dict[privacy.Audience, list[Complaint]] = {}
    for c in rows:
        aud = privacy.audience_for(actor, c)
        if not privacy.status_only(c, aud):
            groups.setdefault(aud, []).append(c)
    out: dict[int, dict] = {}
    for aud, cs in groups.items():
        out.update(_hooks().complaint_extras(cs, aud))
    return out


def _encode_cursor(cid: int) -> str:
    return base64.urlsafe_b64encode(str(cid).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, UnicodeDecodeError):
        value = None
    if value is None or not 0 < value <= INT_MAX:  # only next_cursor values are valid
        smorest_abort(422, message=_("Invalid cursor."), errors={"cursor": [_("Use the next_cursor of a previous page.")]})
    return value


@blp.route("")
class Complaints(MethodView):
    @blp.arguments(ComplaintIn)
    @blp.response(201, FiledOut)
    @blp.doc(security=[{}, {"bearer": []}])
    def post(self, data):
        """File a complaint.

        Public (rate-limited). Returns the tracking id and a one-time access code that unlocks the
        complaint for its reporter. Staff and integrations may set ``channel``.
        """
        a = g.actor
        channel = "web"
        if a.role in ("public", "reporter"):
            rate_limit("file", "RATE_LIMIT_FILE")
            if data.get("channel"):
                abort(422, _("The channel is set by staff and integrations only."))
            actor = Actor(role="reporter")
        else:
            channel = data.get("channel") or ("integration" if a.role == "integration" else "staff")
            actor = a
            if a.role == "integration":
                if not a.has_scope("complaints:file"):
                    abort(403, _("This token is not granted %(scope)s.", scope="complaints:file"))
                if a.channels:  # a channel-scoped token files into its own channel only
                    channel = data.get("channel") or sorted(a.channels)[0]
                    if channel not in a.channels:
                        raise services.InvalidInput({"channel": [_("This token may file only in: %(channels)s.",
                                                                   channels=", ".join(sorted(a.channels)))]})
        payload = {k: v for k, v in data.items() if k != "channel"}
        c, code = services.file_complaint(payload, actor=actor, channel=channel)
        from ..links import track_url

        return {"tracking_id": c.tracking_id, "access_code": code, "status": c.status,
                "track_url": track_url(c.tracking_id)}

    @blp.arguments(ComplaintFilter, location="query")
    @blp.response(200, ComplaintPage)
    @blp.doc(security=[{}, {"bearer": []}])
    def get(self, args):
        """List complaints, newest first (by filing time), with keyset pagination (``next_cursor``).

        Staff see what their role allows (officers: their agency only). Without a token the list
        holds verified, public views only.
        """
        a = g.actor
        staff = a.role in ("admin", "coordinator", "officer", "integration")
        if a.role == "integration" and not a.has_scope("complaints:read"):
            abort(403, _("This token is not granted %(scope)s.", scope="complaints:read"))
        q, order = listing.filtered(a, args)
        after = _decode_cursor(args["cursor"]) if args.get("cursor") else None
        rows, more = listing.page(q, order, limit=args["limit"], after=after)
        viewer = a if staff else Actor(role="public")
        extras = page_extras(rows, viewer)
        memo: dict = {}
        items = [full_view(c, viewer, timeline=False, extras=extras, memo=memo) for c in rows]
        page = {"items": items, "next_cursor": _encode_cursor(rows[-1].id) if more and rows else None}
        # full_view builds exactly ComplaintPage's shape (tests/test_list_queries.py compares it with
        # the schema's dump for every audience), so the page skips marshmallow's second pass over
        # every field: a sixth of a page's time.
        return current_app.json.response(page)


@blp.route("/<tracking_id>")
class ComplaintDetail(MethodView):
    @blp.response(200, ComplaintOut)
    @blp.doc(security=[{}, {"accessCode": []}, {"bearer": []}])
    def get(self, tracking_id):
        """Track a complaint: the public view; the reporter's full view with ``X-Access-Code``;
        the staff view (with timeline and internal notes) with a token."""
        c = find(tracking_id)
        return full_view(c, resolve_actor(c))


@blp.route("/<tracking_id>/actions/<action>")
class ComplaintAction(MethodView):
    @acting_on_complaint
    @blp.arguments(ActionIn)
    @blp.response(200, ComplaintOut)
    @blp.alt_response(409, description="The action is not allowed now; `allowed_actions` lists those that are")
    @blp.doc(security=[{"accessCode": []}, {"bearer": []}])
    def post(self, data, tracking_id, action):
        """Take a workflow action.

        Staff: verify, transfer, start, respond, hold, resume, resolve, close, reopen, reject,
        archive, comment. Reporter (with ``X-Access-Code``): reply, rate, reopen, close.
        """
        c, a = g.complaint, g.complaint_actor
        services.perform(c, action, a, text=data.get("text", ""), agency_id=data.get("agency_id"),
                         category_id=data.get("category_id"), urgency=data.get("urgency"),
                         visibility=data.get("visibility"), rating=data.get("rating"))
        return full_view(Complaint.get_by_id(c.id), a)


@blp.route("/<tracking_id>/attachments")
class ComplaintAttachments(MethodView):
    @blp.response(200, AttachmentOut(many=True))
    @blp.doc(security=[{}, {"accessCode": []}, {"bearer": []}])
    def get(self, tracking_id):
        """Attachments the caller may see."""
        c = find(tracking_id)
        a = resolve_actor(c)
        aud = privacy.audience_for(a, c)
        return [privacy.attachment_view(x) for x in c.attachments.order_by(Attachment.id)
                if privacy.attachment_visible(x, c, aud)]

    @acting_on_complaint
    @blp.arguments(UploadIn, location="form")
    @blp.arguments(type("FileIn", (__import__("marshmallow").Schema,), {"file": Upload(required=True)}),
                   location="files")
    @blp.response(201, AttachmentOut)
    @blp.doc(security=[{"accessCode": []}, {"bearer": []}])
    def post(self, form, files, tracking_id):
        """Upload an attachment (multipart field ``file``). Size and type (sniffed from the bytes)
        are limited by ``ATTACHMENT_MAX_BYTES`` and ``ATTACHMENT_TYPES``."""
        c, a = g.complaint, g.complaint_actor
        if a.role == "integration" and not a.has_scope("attachments:add"):
            abort(403, _("This token is not granted %(scope)s.", scope="attachments:add"))
        f = files["file"]
        att = services.add_attachment(c, a, f.stream, f.filename or "lampiran", visibility=form["visibility"])
        return privacy.attachment_view(att)


@blp.route("/<tracking_id>/attachments/<int:attachment_id>")
class ComplaintAttachment(MethodView):
    @blp.response(200, description="The file")
    @blp.doc(security=[{}, {"accessCode": []}, {"bearer": []}])
    def get(self, tracking_id, attachment_id):
        """Download an attachment the caller may see."""
        c = find(tracking_id)
        a = resolve_actor(c)
        att = Attachment.get_or_none((Attachment.id == attachment_id) & (Attachment.complaint == c))
        if att is None or not privacy.attachment_visible(att, c, privacy.audience_for(a, c)):
            abort(404, _("No such attachment."))
        storage = current_app.extensions["aduan"].storage
        resp = send_file(storage.open(att.sha256), mimetype=att.content_type, as_attachment=True,
                         download_name=att.filename)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Cache-Control"] = "private, no-store"
        return resp
