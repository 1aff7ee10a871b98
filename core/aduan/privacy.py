"""The single place that decides what an audience may see of a complaint.

Every API response, notification, export and payload for another system is built here, and the
decision is taken **per audience, for every field and every timeline text**, never by event type.
An audience is an :class:`Audience`: a ``str`` (``"public"``, ``"officer"``…, so plugins may compare
it with a name) carrying the grants that decide each field. Plugins reuse the same objects:
:func:`get_audience` turns a name into one, :func:`audience_for` picks the one of a request's actor.

=================  ==========  ==========  ============  ===========  ============  =========
audience           secret      identity    internal      rating       deadlines,    secret
                   content                 notes         comment      staff fields  listed
=================  ==========  ==========  ============  ===========  ============  =========
``public``         no          never       no            never        no            no [1]_
``reporter``       own         own         no            own          deadlines     own
``officer``        yes         not anon.   yes           yes          yes           yes
``coordinator``    yes         yes         yes           yes          yes           yes
``admin``          yes         yes         yes           yes          yes           yes
``integration``    grant [2]_  grant [3]_  grant [4]_    as content   yes           in reach
``external``       flagged     consented   no            no           no            (LAPOR!)
``export``         no          never       no            never        no            no [5]_
=================  ==========  ==========  ============  ===========  ============  =========

.. [1] a secret (*rahasia*) complaint is left out of every public list, search and filter; its
   public tracking page shows **status and dates only**: the tracking id, the status and its
   label, the day (its local midnight, not the time) it was filed, last changed, resolved and closed, and the
   status changes with their days. No kind, urgency, channel, category, agency, region, title,
   body, location, rating, text, agency name or attachment.
.. [2] ``secret:read``; otherwise the secret complaint is shown as to the public *within* the
   token's reach (no title, body, location, attachment or timeline text).
.. [3] ``contacts:read``, and never for an anonymous (*anonim*) reporter.
.. [4] ``notes:read``.
.. [5] record-level open data never holds a secret complaint (:func:`export_record`).

Rules that hold for every audience:

* **secret** (*rahasia*): every text on the timeline of a secret complaint (the reporter's
  replies, reopen reasons, rating comment, hold questions and their answers, officers' answers)
  and its title, body, exact location and attachments reach only audiences with secret content
  access. SP4N-LAPOR! (``external``) is the government's own handling system: it receives the
  content flagged ``is_secret`` so that it, too, keeps it from the public;
* ``rating_comment`` is shown where the complaint view shows it, and the ``rate`` entry of the
  timeline follows the same rule (the public never reads it);
* **anonymous** (*anonim*): the reporter's identity is shown to coordinators, admins and the
  reporter; to an ``external`` system only with consent (``share_identity``);
* NIK is never shown unmasked, never exported, never sent elsewhere;
* internal timeline entries are for staff (and integrations granted ``notes:read``); the public
  sees agencies, never officers' names.
"""
from __future__ import annotations

from typing import Any

from .auth import Actor
from .i18n import deployment_zone, event_text as note_text, isoformat
from .models import Attachment, Complaint, Event, Reporter

STAFF_AUDIENCES = ("officer", "coordinator", "admin")
IDENTITY_AUDIENCES = ("coordinator", "admin", "reporter")


class Audience(str):
    """Who will read a view, with the grants that decide each field (see the module table).

    :param secret_content: may read the content and texts of secret complaints.
    :param identity: ``always``, ``unless_anonymous``, ``consented`` or ``never``.
    :param internal_notes: may read internal timeline entries.
    :param rating_comment: may read the reporter's rating comment (subject to secret content).
    :param staff_fields: deadlines, verification and response times, breaches.
    :param deadlines: the due dates (staff and the reporter).
    :param actors: officers' user names and events' raw data.
    :param public: a view for anyone (secret complaints reduced to status and dates).
    """

    secret_content: bool
    identity: str
    internal_notes: bool
    rating_comment: bool
    staff_fields: bool
    deadlines: bool
    actors: bool
    public: bool

    def __new__(cls, name: str, *, secret_content: bool = False, identity: str = "never",
                internal_notes: bool = False, rating_comment: bool = False, staff_fields: bool = False,
                deadlines: bool = False, actors: bool = False, public: bool = False):
        obj = super().__new__(cls, name)
        obj.secret_content, obj.identity, obj.internal_notes = secret_content, identity, internal_notes
        obj.rating_comment, obj.staff_fields, obj.deadlines = rating_comment, staff_fields, deadlines
        obj.actors, obj.public = actors, public
        return obj

    def __reduce__(self):  # pragma: no cover - keeps pickling and copy working for a str subclass
        return (_rebuild, (str(self), self.__dict__))


def _rebuild(name, attrs):  # pragma: no cover
    obj = Audience(name)
    obj.__dict__.update(attrs)
    return obj


PUBLIC = Audience("public", public=True)
REPORTER = Audience("reporter", secret_content=True, identity="always", rating_comment=True, deadlines=True)
OFFICER = Audience("officer", secret_content=True, identity="unless_anonymous", internal_notes=True,
                   rating_comment=True, staff_fields=True, deadlines=True, actors=True)
COORDINATOR = Audience("coordinator", secret_content=True, identity="always", internal_notes=True,
                       rating_comment=True, staff_fields=True, deadlines=True, actors=True)
ADMIN = Audience("admin", secret_content=True, identity="always", internal_notes=True, rating_comment=True,
                 staff_fields=True, deadlines=True, actors=True)
EXTERNAL = Audience("external", secret_content=True, identity="consented")
EXPORT = Audience("export", public=True)
#: An integration token granted nothing: no more than the public.
INTEGRATION = Audience("integration")

_BY_NAME = {a: a for a in (PUBLIC, REPORTER, OFFICER, COORDINATOR, ADMIN, EXTERNAL, EXPORT, INTEGRATION)}


def integration_audience(scopes) -> Audience:
    """The audience of an integration token with these scopes (see :mod:`aduan.auth`)."""
    scopes = frozenset(scopes or ())
    read = "complaints:read" in scopes
    return Audience("integration", secret_content=read and "secret:read" in scopes,
                    identity="unless_anonymous" if read and "contacts:read" in scopes else "never",
                    internal_notes=read and "notes:read" in scopes, rating_comment=read, staff_fields=read,
                    deadlines=read)


def get_audience(audience: str | Audience) -> Audience:
    """An :class:`Audience` for a name (``"integration"`` alone is the token granted nothing);
    unknown names are the public."""
    if isinstance(audience, Audience):
        return audience
    return _BY_NAME.get(audience, PUBLIC)


def audience_for(actor: Actor, complaint: Complaint | None = None) -> Audience:
    """The audience a request's actor belongs to (for ``complaint``, when the actor is a reporter)."""
    if actor.role in ("admin", "coordinator", "officer"):
        return _BY_NAME[actor.role]
    if actor.role == "integration":
        return integration_audience(actor.scopes)
    if actor.role == "reporter" and complaint is not None and actor.complaint_id == complaint.id:
        return REPORTER
    if actor.role == "system":
        return ADMIN
    return PUBLIC


def can_see(actor: Actor, complaint: Complaint) -> bool:
    """May this actor see the complaint beyond its public view (and act on it, as its role allows)?

    Officers: complaints currently disposed to their agency. Integration tokens: complaints within
    their reach (``channel:`` and ``agency:`` scopes) when granted ``complaints:read``.
    """
    if actor.role in ("admin", "coordinator", "system"):
        return True
    if actor.role == "integration":
        return actor.has_scope("complaints:read") and actor.reaches(complaint)
    if actor.role == "officer":
        return actor.agency_id is not None and complaint.agency_id == actor.agency_id
    if actor.role == "reporter":
        return actor.complaint_id == complaint.id
    return False


def shows_identity(complaint: Complaint, audience: str | Audience) -> bool:
    """May ``audience`` see who filed ``complaint`` (name and contacts; NIK stays masked)?"""
    rule = get_audience(audience).identity
    if rule == "always":
        return True
    if rule == "consented":
        return (not complaint.anonymous) or bool(complaint.share_identity)
    if rule == "unless_anonymous":
        return not complaint.anonymous
    return False


def shows_content(complaint: Complaint, audience: str | Audience) -> bool:
    """May ``audience`` read the complaint's content: title, body, exact location, attachments and
    every text of its timeline? False only for a secret complaint and an audience without access."""
    return not complaint.secret or get_audience(audience).secret_content


def status_only(complaint: Complaint, audience: str | Audience) -> bool:
    """Is the view reduced to status and dates (a secret complaint seen by the public)?"""
    aud = get_audience(audience)
    return bool(complaint.secret) and aud.public


def listed(complaint: Complaint, audience: str | Audience) -> bool:
    """May the complaint appear in ``audience``'s lists, searches and filters?"""
    return not status_only(complaint, audience)


def reporter_view(reporter: Reporter | None, complaint: Complaint, audience: str | Audience) -> dict | None:
    if reporter is None or not shows_identity(complaint, audience):
        return None
    return {"name": reporter.name, "phone": reporter.phone, "email": reporter.email, "nik": reporter.nik_masked}


def _iso(v, tz=None):
    return isoformat(v, tz)  # the deployment's offset: 2026-12-07T01:58:00+08:00


def _day(v):
    """Only the day of a stored UTC time: its local midnight, ``2026-12-07T00:00:00+08:00``."""
    if v is None:
        return None
    from .i18n import to_local

    return to_local(v).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()


def _status_only_view(complaint: Complaint) -> dict[str, Any]:
    """Status and dates: nullable fields are null, the others are left out."""
    out: dict[str, Any] = {
        "tracking_id": complaint.tracking_id, "status": complaint.status, "secret": True,
        "created_at": _day(complaint.created_at), "updated_at": _day(complaint.updated_at),
        "resolved_at": _day(complaint.resolved_at), "closed_at": _day(complaint.closed_at),
    }
    out.update(dict.fromkeys(("title", "body", "category", "agency", "region", "address", "lat", "lng", "rating")))
    return out


def complaint_view(complaint: Complaint, audience: str | Audience, *, hooks=None,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The complaint as ``audience`` may see it (a JSON-ready dict).

    Plugin fields come from ``hooks`` (``complaint_extras`` for this complaint alone), or from
    ``extra`` when the caller fetched them for a whole page (``Hooks.complaint_extras``)."""
    aud = get_audience(audience)
    if status_only(complaint, aud):
        return _status_only_view(complaint)
    content = shows_content(complaint, aud)
    tz = deployment_zone()
    agency = complaint.agency
    category = complaint.category
    out: dict[str, Any] = {
        "tracking_id": complaint.tracking_id,
        "kind": complaint.kind,
        "status": complaint.status,
        "urgency": complaint.urgency,
        "channel": complaint.channel,
        "anonymous": complaint.anonymous,
        "secret": complaint.secret,
        "title": complaint.title if content else None,
        "body": complaint.body if content else None,
        "category": {"id": category.id, "code": category.code, "name": category.name} if category else None,
        "agency": {"id": agency.id, "code": agency.code, "name": agency.name} if agency else None,
        "region": ({"code": complaint.region_id, "name": complaint.region.name}
                   if complaint.region_id else None),
        "address": complaint.address if content else None,
        "lat": complaint.lat if content else None,
        "lng": complaint.lng if content else None,
        "created_at": _iso(complaint.created_at, tz),
        "updated_at": _iso(complaint.updated_at, tz),
        "resolved_at": _iso(complaint.resolved_at, tz),
        "closed_at": _iso(complaint.closed_at, tz),
        "rating": complaint.rating,
    }
    if aud.deadlines:
        out["due"] = {
            "first_response": _iso(complaint.due_first_response, tz), "verify": _iso(complaint.due_verify, tz),
            "followup": _iso(complaint.due_followup, tz), "resolution": _iso(complaint.due_resolution, tz),
            "close": _iso(complaint.due_close, tz),
        }
        out["incident_date"] = (complaint.incident_date.isoformat() if complaint.incident_date and content
                                else None)
    if aud.staff_fields:
        out["verified_at"] = _iso(complaint.verified_at, tz)
        out["first_response_at"] = _iso(complaint.first_response_at, tz)
        out["breached"] = [s for s in complaint.breached.split(",") if s]
        out["share_identity"] = complaint.share_identity
    if not aud.public:
        out["rating_comment"] = complaint.rating_comment if aud.rating_comment and content else None
        out["reporter"] = reporter_view(complaint.reporter, complaint, aud)
    if extra is None and hooks is not None:
        extra = hooks.complaint_extra(complaint, aud)
    if extra:
        out["extra"] = extra
    return out


def event_visible(event: Event, audience: str | Audience, complaint: Complaint | None = None) -> bool:
    """Is the timeline entry shown to ``audience`` at all? (Its text is decided by :func:`event_text`.)"""
    aud = get_audience(audience)
    if event.visibility != "public" and not aud.internal_notes:
        return False
    if complaint is not None and status_only(complaint, aud):
        return event.to_status is not None and event.to_status != event.from_status
    return True


def event_text(event: Event, complaint: Complaint, audience: str | Audience) -> str:
    """The text of a timeline entry as ``audience`` may read it ("" when withheld).

    A secret complaint's texts go only to audiences with secret content access; a rating comment
    only where the complaint view shows ``rating_comment``.
    """
    aud = get_audience(audience)
    if not shows_content(complaint, aud) or status_only(complaint, aud):
        return ""
    if event.type == "rate" and (aud.public or not aud.rating_comment):
        return ""
    return note_text(event)  # a system note in the reader's language


def event_view(event: Event, complaint: Complaint, audience: str | Audience) -> dict[str, Any]:
    aud = get_audience(audience)
    if status_only(complaint, aud):
        return {"id": event.id, "type": event.type, "from_status": event.from_status,
                "to_status": event.to_status, "created_at": _day(event.created_at)}
    out = {
        "id": event.id,
        "type": event.type,
        "actor_role": event.actor_role if event.actor_role != "integration" else "system",
        "from_status": event.from_status,
        "to_status": event.to_status,
        "agency": event.to_agency.name if event.to_agency_id else None,
        "text": event_text(event, complaint, aud),
        "visibility": event.visibility,
        "source": event.source,
        "created_at": _iso(event.created_at),
    }
    if aud.actors:
        out["actor"] = event.actor.username if event.actor_id else None
        out["data"] = event.data
    elif event.type == "rate" and event.data:
        out["data"] = {"rating": event.data.get("rating")}
    return out


def timeline(complaint: Complaint, audience: str | Audience) -> list[dict[str, Any]]:
    aud = get_audience(audience)
    events = (Event.select().where(Event.complaint == complaint).order_by(Event.created_at, Event.id))
    return [event_view(e, complaint, aud) for e in events if event_visible(e, aud, complaint)]


def attachment_visible(att: Attachment, complaint: Complaint, audience: str | Audience) -> bool:
    aud = get_audience(audience)
    if not shows_content(complaint, aud):
        return False
    if att.visibility == "public":
        return True
    return aud.internal_notes


def attachment_view(att: Attachment) -> dict[str, Any]:
    return {"id": att.id, "filename": att.filename, "content_type": att.content_type, "size": att.size,
            "sha256": att.sha256, "visibility": att.visibility, "created_at": _iso(att.created_at)}


def external_payload(complaint: Complaint) -> dict[str, Any]:
    """What another system (SP4N-LAPOR!) may receive: content (flagged ``secret``), and identity
    only as consented, never the NIK."""
    view = complaint_view(complaint, EXTERNAL)
    view["reporter"] = reporter_view(complaint.reporter, complaint, EXTERNAL)
    if view["reporter"]:
        view["reporter"].pop("nik", None)  # NIK never leaves the deployment
    return view


def export_record(complaint: Complaint, *, calendar=None) -> dict[str, Any] | None:
    """Record-level open data: no personal data, no free text, day precision (in the deployment's
    time zone when ``calendar`` is given, else UTC), region cut to kecamatan.

    Returns ``None`` for secret complaints (they only appear in aggregates).
    """
    if complaint.secret:
        return None
    region = complaint.region_id
    if region and region.count(".") > 2:
        region = ".".join(region.split(".")[:3])

    def day(v):
        if v is None:
            return None
        return (calendar.to_local(v) if calendar is not None else v).date()

    return {
        "kind": complaint.kind, "status": complaint.status, "urgency": complaint.urgency,
        "channel": complaint.channel, "category": complaint.category.code if complaint.category_id else None,
        "agency": complaint.agency.code if complaint.agency_id else None, "region": region,
        "created": day(complaint.created_at),
        "first_response": day(complaint.first_response_at),
        "resolved": day(complaint.resolved_at),
        "closed": day(complaint.closed_at),
        "rating": complaint.rating,
    }
