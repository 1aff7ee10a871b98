"""Citizens' pages (no account): home, filing, confirmation, tracking, public list, report card.

Everything is server-rendered and works without JavaScript; the few scripts (``citizen.js``:
copy button, region search, the map pin, filling the tracking form from the QR code's fragment)
only add comfort. Every complaint field shown comes from :mod:`aduan.privacy` for the reader's
audience (``public``, or ``reporter`` once the access code was entered), every action from
:mod:`aduan.workflow`, every figure from :mod:`aduan.stats`.

The access code:

* at filing it is put in a one-time session slot and shown once on the confirmation page
  (POST-redirect-GET; reloading the page shows that it was already shown);
* the QR code opens ``/portal/track/<id>#code=<code>``: the fragment never reaches the server (nor
  its logs, nor a ``Referer``); ``citizen.js`` copies it into the tracking form, which the citizen
  sends with a POST;
* once checked it is not kept: the session holds a grant bound to the complaint's stored code hash
  (:func:`grant_access` / :func:`aduan_portal.security.reporter_access`);
* wrong codes count against ``RATE_LIMIT_TRACK`` exactly like the API's ``X-Access-Code``, and
  lookups of unknown tracking ids too.
"""
from __future__ import annotations

import datetime as dt
import io

import peewee as pw

from flask import abort, current_app, jsonify, redirect, render_template, request, session, url_for
from markupsafe import Markup

from cryptography.fernet import InvalidToken

from aduan import keys, listing, privacy, ratelimit, services
from aduan.api import client_address
from aduan.api.complaints import PUBLIC_LIST_STATUSES, full_view
from aduan.auth import Actor, check_access_code
from aduan.db import utcnow
from aduan.links import track_url
from aduan.i18n import gettext as _, kind_label, status_label, urgency_label
from aduan.models import KINDS, URGENCIES, Agency, Attachment, Category, Complaint, Region
from aduan.workflow import ACTIONS, allowed_actions

from .charts import Chart, Series
from .access import grant_access, reporter_access, revoke_access
from .web import bp

#: what the reporter may do on the tracking page, in this order (offered when the workflow allows)
REPORTER_ACTIONS = ("reply", "rate", "reopen", "close")
PAGE_SIZE = 20
COUNT_CAP = 10_000  # the public list says "more than 10,000" rather than count a whole table
CONFIRM_SLOT = "portal_filed"


# --- helpers -------------------------------------------------------------------------------------

def _hooks():
    return current_app.extensions["aduan"].hooks


def _limited(name: str, key: str) -> int | None:
    """Count one hit of the core's rate limiter (shared with the API); the seconds to wait when over."""
    allowed, reset = ratelimit.hit(name, client_address(), current_app.config[key], current_app.config["SECRET_KEY"])
    return None if allowed else reset


def _category_name(cat: Category) -> str:
    from aduan.i18n import current_language

    return cat.name_en if current_language() == "en" and cat.name_en else cat.name


def _find(tracking_id: str) -> Complaint:
    """The complaint or a 404 page; unknown ids count against RATE_LIMIT_TRACK (no enumeration)."""
    try:
        return services.find_complaint(tracking_id)
    except services.NotFound:
        wait = _limited("lookup", "RATE_LIMIT_TRACK")
        if wait is not None:
            abort(429)
        abort(404)


def _decorate(view: dict) -> dict:
    view["status_label"] = status_label(view["status"])
    if view.get("kind"):
        view["kind_label"] = kind_label(view["kind"])
    if view.get("urgency"):
        view["urgency_label"] = urgency_label(view["urgency"])
    return view


def _parse_time(value: str | None):
    return dt.datetime.fromisoformat(value) if value else None


def _timeline(c: Complaint, audience: str) -> list[dict]:
    out = []
    for e in privacy.timeline(c, audience):
        e["when"] = _parse_time(e["created_at"])
        e["label"] = _event_label(e)
        out.append(e)
    return out


def _event_label(e: dict) -> str:
    labels = {
        "file": _("Complaint filed"), "verify": _("Verified and sent to the agency"),
        "transfer": _("Transferred to another agency"), "start": _("The agency started work"),
        "respond": _("Answer from the agency"), "hold": _("On hold: the agency needs something from you"),
        "resume": _("Work resumed"), "resolve": _("Resolved: final answer"), "close": _("Closed"),
        "reopen": _("Reopened by the reporter"), "reject": _("Rejected"), "archive": _("Archived"),
        "rate": _("Rated by the reporter"), "reply": _("Reply from the reporter"), "comment": _("Note"),
        "attach": _("File added"), "sla_breach": _("Deadline missed"),
    }
    if e["type"] in labels:
        return labels[e["type"]]
    if e.get("to_status"):
        return status_label(e["to_status"])
    return e["type"]


# --- home ----------------------------------------------------------------------------------------

def _recent(limit: int = 5) -> list[dict]:
    public = Actor(role="public")
    rows, _more = listing.page(listing.filtered(public, {})[0], limit=limit)
    memo: dict = {}
    return [_decorate(full_view(c, public, timeline=False, extras={}, memo=memo)) for c in rows]


def _card(public: bool = True, agency_id: int | None = None) -> dict:
    from aduan import stats

    return stats.report_card(tz=current_app.config["TIMEZONE"], scope=stats.Scope(agency_id=agency_id),
                             public=public, k=current_app.config["STATS_MIN_CELL_SIZE"])


@bp.route("/")
def home():
    """What the service is, how to file on every enabled channel, recent complaints, the report card."""
    channels = _hooks().channel_info(current_app)
    card = _card()
    return render_template("portal/citizen/home.html", channels=channels, recent=_recent(), card=card,
                           charts=_agency_charts(card["agencies"][:8]))


# --- filing --------------------------------------------------------------------------------------

def _region_chain(code: str | None) -> list[Region]:
    """The region and its parents, top first (unknown codes give an empty chain)."""
    chain: list[Region] = []
    while code:
        r = Region.get_or_none(Region.code == code)
        if r is None:
            break
        chain.insert(0, r)
        code = r.parent_code
    return chain


LEVEL_KEYS = ("province", "kabupaten", "kecamatan", "desa")


def _region_levels(form) -> tuple[list[dict], str | None]:
    """The step-by-step selects: one per level down from the province, each listing the children of
    the level chosen above (a level with a single choice is chosen for the citizen). A code picked
    with the search box (``region_pick``, JavaScript) wins over the selects. Returns the levels and
    the deepest chosen code."""
    chain: list[Region] = []
    pick = (form.get("region_pick") or "").strip()[:16]
    if pick:
        chain = _region_chain(pick)
    # the top level loaded (REGION_PREFIXES may load one regency without its province)
    top = Region.select(pw.fn.MIN(Region.level)).scalar() or 1
    if not pick:
        parent = None
        for level, key in enumerate(LEVEL_KEYS, 1):
            if level < top:
                continue
            value = (form.get(f"region_{key}") or "").strip()[:16]
            r = Region.get_or_none(Region.code == value) if value else None
            if r is None or r.level != level or (parent and r.parent_code != parent):
                break
            chain.append(r)
            parent = r.code
    else:
        chain = [r for r in chain if r.level >= top]
    names = {"province": _("Province"), "kabupaten": _("Regency or city (kabupaten/kota)"),
             "kecamatan": _("District (kecamatan)"), "desa": _("Village (desa/kelurahan)")}
    levels = []
    parent = None
    for level, key in enumerate(LEVEL_KEYS, 1):
        if level < top:
            continue
        q = Region.select(Region.code, Region.name, Region.level, Region.parent_code).where(Region.level == level)
        if parent:
            q = q.where(Region.parent_code == parent)
        options = [(r.code, r.name) for r in q.order_by(Region.name)]
        if not options:
            break
        depth = level - top  # index of this level in the chain
        if len(chain) > depth:
            selected = chain[depth].code
        elif len(options) == 1:
            selected = options[0][0]
            chain.append(Region.get_by_id(selected))
        else:
            selected = ""
        levels.append({"key": key, "label": names[key], "options": options, "selected": selected})
        if not selected:
            break
        parent = selected
    return levels, (chain[-1].code if chain else None)


def _categories() -> list[dict]:
    return [{"id": c.id, "code": c.code, "name": _category_name(c), "description": c.description or ""}
            for c in Category.select().where(Category.active == True).order_by(Category.name)]  # noqa: E712


def _urgencies() -> list[dict]:
    hours = current_app.config["SLA_URGENCY_HOURS"]
    texts = {"mendesak": _("Danger to life, health or safety now (a fallen tree on a road, a broken water main)."),
             "penting": _("Hurts many people or gets worse soon (a school without water, a blocked drain)."),
             "biasa": _("Everything else.")}
    return [{"value": u, "label": urgency_label(u), "text": texts.get(u, ""), "hours": hours.get(u)}
            for u in URGENCIES]


def _kinds() -> list[dict]:
    texts = {"pengaduan": _("Something is wrong and a government office should fix it."),
             "aspirasi": _("An idea or a wish for your area."),
             "permintaan_informasi": _("A question for a government office (public information request).")}
    return [{"value": k, "label": kind_label(k), "text": texts.get(k, "")} for k in KINDS]


def _check_files(files) -> tuple[list, list[str]]:
    """The uploads with content, checked against the deployment's caps before anything is filed."""
    from aduan.storage import sniff

    cfg = current_app.config
    errors: list[str] = []
    kept = []
    total = 0
    for f in files:
        if not f or not f.filename:
            continue
        data = f.stream.read(cfg["ATTACHMENT_MAX_BYTES"] + 1)
        if not data:
            continue
        if len(data) > cfg["ATTACHMENT_MAX_BYTES"]:
            errors.append(_("%(name)s is larger than %(max)s MB.", name=services.safe_filename(f.filename),
                            max=round(cfg["ATTACHMENT_MAX_BYTES"] / 1048576, 1)))
            continue
        ctype = sniff(data[:8192])
        if ctype not in set(cfg["ATTACHMENT_TYPES"]):
            errors.append(_("%(name)s is not a photo, PDF, audio or video file this service accepts.",
                            name=services.safe_filename(f.filename)))
            continue
        total += len(data)
        kept.append((f.filename, data))
    if len(kept) > cfg["ATTACHMENT_MAX_FILES"]:
        errors.append(_("At most %(num)d files.", num=cfg["ATTACHMENT_MAX_FILES"]))
    if total > cfg["ATTACHMENT_MAX_TOTAL_BYTES"]:
        errors.append(_("The files total more than %(max)s MB.", max=round(cfg["ATTACHMENT_MAX_TOTAL_BYTES"] / 1048576)))
    return kept, errors


def _flatten(errors) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in (errors or {}).items():
        if isinstance(value, dict):
            for sub, msgs in _flatten(value).items():
                out[f"{key}.{sub}"] = msgs
        else:
            out[key] = [str(m) for m in (value if isinstance(value, (list, tuple)) else [value])]
    return out


def _float(form, key: str, errors: dict) -> float | None:
    raw = (form.get(key) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw.replace(",", "."))
    except ValueError:
        errors[key] = [_("A number, e.g. -8.58.")]
        return None
    if value != value or value in (float("inf"), float("-inf")):
        errors[key] = [_("A number, e.g. -8.58.")]
        return None
    return value


def _tile_source(url: str) -> str | None:
    """The CSP source of the map tiles' host (``{s}`` subdomains become ``*``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url.replace("{s}", "tiles-s"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.replace('tiles-s', '*')}"


def _form_page(form, errors=None, general=None, status=200):
    from flask import g

    levels, region_code = _region_levels(form)
    source = _tile_source(current_app.config.get("PORTAL_TILE_URL") or "")
    if source:
        g.portal_csp_img = (source,)
    return render_template("portal/citizen/file.html", form=form, errors=errors or {}, general=general or [],
                           kinds=_kinds(), categories=_categories(), urgencies=_urgencies(), levels=levels,
                           region_code=region_code, tile_url=current_app.config.get("PORTAL_TILE_URL") or "",
                           max_mb=round(current_app.config["ATTACHMENT_MAX_BYTES"] / 1048576, 1),
                           max_files=current_app.config["ATTACHMENT_MAX_FILES"]), status


@bp.route("/file", methods=["GET", "POST"])
def file():
    """The filing form. A POST with ``region_step`` only redraws the form one region level deeper
    (no JavaScript needed), keeping everything typed; a POST with ``submit`` files the complaint."""
    if request.method == "GET":
        return _form_page(request.args)
    form = request.form
    if "submit" not in form:  # a region step (or a form sent by Enter in a region select)
        return _form_page(form)
    errors: dict[str, list[str]] = {}
    lat, lng = _float(form, "lat", errors), _float(form, "lng", errors)
    files, file_errors = _check_files(request.files.getlist("files"))
    if file_errors:
        errors["files"] = file_errors
    _levels, region_code = _region_levels(form)
    category_id = form.get("category_id") or None
    if category_id is not None and not (category_id.isascii() and category_id.isdigit() and len(category_id) < 10):
        errors["category_id"] = [_("Choose one of the categories.")]
        category_id = None
    data = {"kind": form.get("kind") or "pengaduan", "title": form.get("title", ""), "body": form.get("body", ""),
            "urgency": form.get("urgency") or None, "category_id": int(category_id) if category_id else None,
            "region_code": region_code, "address": form.get("address", ""), "lat": lat, "lng": lng,
            "anonymous": form.get("anonymous") == "1", "secret": form.get("secret") == "1",
            "reporter": {"name": form.get("name", ""), "phone": form.get("phone", ""), "email": form.get("email", "")}}
    if data["category_id"] and data["category_id"] > 2**31 - 1:
        errors["category_id"] = [_("Choose one of the categories.")]
        data["category_id"] = None
    if errors:
        return _form_page(form, errors, status=422)
    wait = _limited("file", "RATE_LIMIT_FILE")
    if wait is not None:
        minutes = max(1, round(wait / 60))
        return _form_page(form, general=[_("Too many complaints were sent from your connection. Please try again "
                                           "in %(minutes)d minutes; what you typed is kept below.", minutes=minutes)],
                          status=429)
    try:
        c, code = services.file_complaint(data, actor=Actor(role="reporter"), channel="web")
    except services.InvalidInput as exc:
        return _form_page(form, _flatten(exc.errors), status=422)
    not_kept = []
    reporter = Actor(role="reporter", complaint_id=c.id)
    for name, blob in files:
        try:
            services.add_attachment(c, reporter, io.BytesIO(blob), name)
        except (services.InvalidInput, services.Conflict) as exc:
            not_kept.append(f"{services.safe_filename(name)}: {exc}")
    # the slot travels in the session cookie until the confirmation page shows it: encrypted, so the
    # code is never readable in the cookie (Flask's session is signed, not encrypted)
    session[CONFIRM_SLOT] = {"tid": c.tracking_id, "code": keys.fernet("portal-confirm").encrypt(code.encode()).decode(),
                             "not_kept": not_kept}
    grant_access(c)
    return redirect(url_for("portal.filed"), 303)


def _qr_svg(url: str) -> Markup:
    import segno

    qr = segno.make(url, error="m")
    svg = qr.svg_inline(scale=4, border=2, dark="#000", light="#fff", svgclass="qr", lineclass=None,
                        title=None, omitsize=False)
    return Markup(svg)


@bp.route("/file/done")
def filed():
    """The confirmation: tracking id and access code, shown once (the session slot is emptied)."""
    slot = session.pop(CONFIRM_SLOT, None)
    try:
        slot = dict(slot, code=keys.fernet("portal-confirm").decrypt(slot["code"].encode(), ttl=3600).decode())
    except (InvalidToken, KeyError, TypeError, AttributeError, ValueError):
        slot = None
    if not slot:
        return render_template("portal/citizen/filed.html", slot=None), 410
    track = track_url(slot["tid"])  # BASE_URL's, as in every link given to citizens
    qr_url = f"{track}#code={slot['code']}"
    return render_template("portal/citizen/filed.html", slot=slot, track_url=track, qr=_qr_svg(qr_url))


# --- tracking ------------------------------------------------------------------------------------

@bp.route("/track", methods=["GET", "POST"])
def track():
    """The tracking form: a tracking id, and optionally its access code (sent by POST only)."""
    if request.method == "GET":
        tid = (request.args.get("id") or "").strip()
        if tid:
            return redirect(url_for("portal.track_complaint", tracking_id=services.normalise_tracking_id(tid)))
        return render_template("portal/citizen/track.html", errors={}, form={})
    tid = services.normalise_tracking_id(request.form.get("tracking_id") or "")
    if not tid:
        return render_template("portal/citizen/track.html", errors={"tracking_id": [_("Enter your tracking id.")]},
                               form=request.form), 422
    try:
        c = services.find_complaint(tid)
    except services.NotFound:
        if _limited("lookup", "RATE_LIMIT_TRACK") is not None:
            return render_template("portal/citizen/track.html", form=request.form,
                                   errors={"tracking_id": [_("Too many tries. Please wait and try again later.")]}), 429
        return render_template("portal/citizen/track.html", form=request.form,
                               errors={"tracking_id": [_("No complaint has this tracking id.")]}), 404
    code = (request.form.get("access_code") or "").strip()
    if code:
        error, status = _check_code(c, code)
        if error:
            return render_template("portal/citizen/track.html", form=request.form,
                                   errors={"access_code": [error]}), status
    return redirect(url_for("portal.track_complaint", tracking_id=c.tracking_id), 303)


def _check_code(c: Complaint, code: str) -> tuple[str | None, int]:
    if _limited("access", "RATE_LIMIT_TRACK") is not None:
        return _("Too many tries. Please wait and try again later."), 429
    if not check_access_code(c, code):
        return _("This access code does not match the tracking id."), 403
    grant_access(c)
    return None, 200


def _complaint_page(c: Complaint, *, public_page: bool, errors=None, form=None, status=200):
    reporter = not public_page and reporter_access(c.tracking_id, c)
    actor = Actor(role="reporter", complaint_id=c.id) if reporter else Actor(role="public")
    audience = privacy.audience_for(actor, c)
    view = _decorate(full_view(c, actor, timeline=False))
    view["timeline"] = _timeline(c, audience)
    view["attachments"] = [privacy.attachment_view(a) for a in c.attachments.order_by(Attachment.id)
                           if privacy.attachment_visible(a, c, audience)]
    allowed = allowed_actions(c.status, "reporter") if reporter else []
    actions = [a for a in REPORTER_ACTIONS if a in allowed]  # the workflow decides, in the citizen's order
    if reporter and "reopen" in actions and c.due_close and utcnow() > c.due_close:
        actions.remove("reopen")
    descriptions = {a: str(ACTIONS[a].description) for a in actions}
    return render_template("portal/citizen/complaint.html", c=view, reporter=reporter, public_page=public_page,
                           actions=actions, descriptions=descriptions, errors=errors or {}, form=form or {},
                           status_only=privacy.status_only(c, audience),
                           when=_parse_time), status


@bp.route("/track/<tracking_id>", methods=["GET", "POST"])
def track_complaint(tracking_id: str):
    """One complaint: the public view, or with the access code (POST) the reporter's full view."""
    c = _find(services.normalise_tracking_id(tracking_id))
    if request.method == "POST":
        code = (request.form.get("access_code") or "").strip()
        if not code:
            return _complaint_page(c, public_page=False, errors={"access_code": [_("Enter your access code.")]},
                                   status=422)
        error, status = _check_code(c, code)
        if error:
            return _complaint_page(c, public_page=False, errors={"access_code": [error]}, status=status)
        return redirect(url_for("portal.track_complaint", tracking_id=c.tracking_id), 303)
    return _complaint_page(c, public_page=False)


@bp.post("/track/<tracking_id>/leave")
def track_leave(tracking_id: str):
    """Forget this complaint's access on this device (a shared phone, an internet café)."""
    revoke_access(services.normalise_tracking_id(tracking_id))
    return redirect(url_for("portal.track_complaint", tracking_id=services.normalise_tracking_id(tracking_id)), 303)


@bp.post("/track/<tracking_id>/act/<action>")
def track_act(tracking_id: str, action: str):
    """The reporter's reply, rating, reopening or closing, through :func:`aduan.services.perform`."""
    c = _find(services.normalise_tracking_id(tracking_id))
    if not reporter_access(c.tracking_id, c):
        abort(403)
    if action not in REPORTER_ACTIONS:
        abort(404)
    errors: dict[str, list[str]] = {}
    rating = None
    if action == "rate":
        raw = request.form.get("rating") or ""
        rating = int(raw) if raw in ("1", "2", "3", "4", "5") else None
        if rating is None:
            errors["rating"] = [_("Choose from 1 to 5 stars.")]
    text = request.form.get("text", "")
    if not errors:
        try:
            services.perform(c, action, Actor(role="reporter", complaint_id=c.id), text=text, rating=rating,
                             source="web")
        except services.InvalidInput as exc:
            errors = _flatten(exc.errors)
        except services.Conflict as exc:
            errors = {"action": [str(exc)]}
    if errors:
        return _complaint_page(Complaint.get_by_id(c.id), public_page=False,
                               errors={f"{action}.{k}": v for k, v in errors.items()}, form=request.form, status=422)
    return redirect(url_for("portal.track_complaint", tracking_id=c.tracking_id) + "#timeline", 303)


@bp.get("/track/<tracking_id>/files/<int:attachment_id>")
def track_file(tracking_id: str, attachment_id: int):
    """An attachment the reader may see (public, or the reporter's own complaint)."""
    from .web import send_attachment

    c = _find(services.normalise_tracking_id(tracking_id))
    actor = Actor(role="reporter", complaint_id=c.id) if reporter_access(c.tracking_id, c) else Actor(role="public")
    return send_attachment(c, actor, attachment_id)


# --- public pages --------------------------------------------------------------------------------

def _int_arg(name: str) -> int | None:
    raw = request.args.get(name) or ""
    # ASCII digits only: "²".isdigit() is true, and int("²") raised (a 500 on a public page)
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None


@bp.route("/complaints")
def complaints():
    """Verified public complaints (never secret ones), newest first, with filters and pages."""
    f = {"status": request.args.get("status") or "", "category_id": _int_arg("category_id"),
         "agency_id": _int_arg("agency_id"), "region": (request.args.get("region") or "").strip()[:16],
         "q": (request.args.get("q") or "").strip()[:100]}
    # the API's public list (aduan.listing): verified, never secret, newest first, keyset pages
    # ("older" after the last complaint shown, "newer" before the first), a count that stops at
    # COUNT_CAP: the same cost at a million complaints as at a hundred
    args = {"status": [f["status"]] if f["status"] in PUBLIC_LIST_STATUSES else None,
            "category_id": f["category_id"], "agency_id": f["agency_id"], "region": f["region"] or None,
            "q": f["q"] if len(f["q"]) >= 2 else None}
    public = Actor(role="public")
    q, order = listing.filtered(public, args)
    after, before = _int_arg("after"), _int_arg("before")
    rows, more = listing.page(q, order, limit=PAGE_SIZE, after=after, before=None if after else before)
    newer = older = None
    if rows:
        if before and not after:
            newer, older = (rows[0].id if more else None), rows[-1].id
        else:
            newer, older = (rows[0].id if after else None), (rows[-1].id if more else None)
    total = listing.bounded_count(listing.filtered(public, args, related=False)[0], COUNT_CAP)
    memo: dict = {}
    items = [_decorate(full_view(c, public, timeline=False, extras={}, memo=memo)) for c in rows]
    for item in items:
        item["when"] = _parse_time(item["created_at"])
    regions = (Region.select(Region.code, Region.name).where(Region.level == 2).order_by(Region.name))
    args = {k: v for k, v in f.items() if v}
    return render_template("portal/citizen/complaints.html", items=items, filters=f, total=total,
                           capped=total > COUNT_CAP, cap=COUNT_CAP, newer=newer, older=older, args=args,
                           statuses=[(s, status_label(s)) for s in PUBLIC_LIST_STATUSES],
                           categories=_categories(), regions=[(r.code, r.name) for r in regions],
                           agencies=[(a.id, a.name) for a in Agency.select().where(Agency.active == True)  # noqa: E712
                                     .order_by(Agency.name)])


@bp.route("/complaints/<tracking_id>")
def complaint(tracking_id: str):
    """A complaint's public page (a secret one: status and dates only)."""
    c = _find(services.normalise_tracking_id(tracking_id))
    return _complaint_page(c, public_page=True)


def _agency_charts(agencies: list[dict]) -> list[Chart]:
    names = [a["agency"] or _("Not yet assigned") for a in agencies]
    return [
        Chart(_("Complaints per agency"), names, [Series(_("Complaints"), [a["total"] for a in agencies]),
                                                Series(_("Still open"), [a["open"] for a in agencies])],
              label_header=_("Agency")),
        Chart(_("Share answered on time (%)"), names,
              [Series(_("First answer on time"), [a["share_answered_on_time"] for a in agencies]),
               Series(_("Resolved on time"), [a["share_resolved_on_time"] for a in agencies])],
              unit="%", max_value=100, label_header=_("Agency")),
    ]


def _month_charts(months: list[dict]) -> list[Chart]:
    labels = [m["month"] for m in months]
    return [
        Chart(_("Complaints by month"), labels, [Series(_("Complaints"), [m["total"] for m in months])],
              label_header=_("Month")),
        Chart(_("Median hours to the first answer, by month"), labels,
              [Series(_("Hours"), [m["median_hours_to_first_response"] for m in months])], kind="line",
              label_header=_("Month")),
        Chart(_("Median days to resolution, by month"), labels,
              [Series(_("Days"), [m["median_days_to_resolution"] for m in months])], kind="line",
              label_header=_("Month")),
        Chart(_("Share answered on time, by month (%)"), labels,
              [Series(_("First answer on time"), [m["share_answered_on_time"] for m in months]),
               Series(_("Resolved on time"), [m["share_resolved_on_time"] for m in months])],
              kind="line", unit="%", max_value=100, label_header=_("Month")),
        Chart(_("Average rating by month (1–5)"), labels,
              [Series(_("Average rating"), [m["average_rating"] for m in months])], max_value=5,
              decimals=2, label_header=_("Month")),
    ]


@bp.route("/rapor")
def rapor():
    """The report card of every agency: the same figures as the public ``/api/v1/stats``."""
    card = _card()
    codes = dict(Agency.select(Agency.id, Agency.code).tuples())
    return render_template("portal/citizen/rapor.html", card=card, agency=None, codes=codes,
                           charts=_agency_charts(card["agencies"]) + _month_charts(card["by_month"]))


@bp.route("/rapor/<code>")
def rapor_agency(code: str):
    """One agency's report card by month."""
    agency = Agency.get_or_none(Agency.code == code[:64]) or abort(404)
    card = _card(agency_id=agency.id)
    return render_template("portal/citizen/rapor.html", card=card, agency=agency, codes={},
                           charts=_month_charts(card["by_month"]))


@bp.route("/regions.json")
def regions_json():
    """Region search for the filing form's search box: ``?q=`` (two letters at least), with the
    names of the parents so that villages of the same name can be told apart."""
    term = (request.args.get("q") or "").strip()[:60]
    if len(term) < 2:
        return jsonify([])
    rows = list(Region.select().where(Region.name.contains(term), Region.level >= 2)
                .order_by(Region.level.desc(), Region.name).limit(15))
    parents = {}
    codes = {r.parent_code for r in rows if r.parent_code}
    while codes:
        found = list(Region.select().where(Region.code.in_(sorted(codes))))
        parents.update({p.code: p for p in found})
        codes = {p.parent_code for p in found if p.parent_code and p.parent_code not in parents}
    out = []
    for r in rows:
        path, p = [r.name], parents.get(r.parent_code)
        while p is not None and p.level >= 2:
            path.append(p.name)
            p = parents.get(p.parent_code)
        out.append({"code": r.code, "level": r.level, "label": ", ".join(path),
                    "chain": [c.code for c in _chain_codes(r, parents)]})
    return jsonify(out)


def _chain_codes(r: Region, parents: dict) -> list[Region]:
    chain = [r]
    p = parents.get(r.parent_code)
    while p is not None:
        chain.insert(0, p)
        p = parents.get(p.parent_code)
    return chain
