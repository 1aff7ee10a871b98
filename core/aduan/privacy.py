"""The single place that decides what an audience may see of a complaint.

Audiences: ``public`` (anyone), ``reporter`` (holder of the access code), ``officer`` (staff of
the agency the complaint is disposed to), ``coordinator``, ``admin``, ``integration`` (a system
token), ``export`` (open data), ``external`` (another system such as SP4N-LAPOR!).

Rules:

* **anonymous** (*anonim*): the reporter's identity is shown to coordinators and admins only, and
  to the reporter; to an ``external`` system only when the reporter consented (``share_identity``);
* **secret** (*rahasia*): title, body, attachments and exact location are never public and never
  exported at record level;
* NIK is never shown unmasked, never exported, never sent elsewhere;
* internal timeline entries are for staff only; the public sees agencies, never officers' names.
"""
from __future__ import annotations

from typing import Any

from .auth import Actor
from .i18n import event_text, isoformat
from .models import Attachment, Complaint, Event, Reporter

STAFF_AUDIENCES = ("officer", "coordinator", "admin")
IDENTITY_AUDIENCES = ("coordinator", "admin", "reporter")


def audience_for(actor: Actor, complaint: Complaint | None = None) -> str:
    if actor.role in ("admin", "coordinator", "officer", "integration"):
        return actor.role
    if actor.role == "reporter" and complaint is not None and actor.complaint_id == complaint.id:
        return "reporter"
    if actor.role == "system":
        return "admin"
    return "public"


def can_see(actor: Actor, complaint: Complaint) -> bool:
    """May this actor see the complaint as staff (beyond its public view)?"""
    if actor.role in ("admin", "coordinator", "integration", "system"):
        return True
    if actor.role == "officer":
        return actor.agency_id is not None and complaint.agency_id == actor.agency_id
    if actor.role == "reporter":
        return actor.complaint_id == complaint.id
    return False


def shows_identity(complaint: Complaint, audience: str) -> bool:
    if audience in IDENTITY_AUDIENCES:
        return True
    if audience == "external":
        return (not complaint.anonymous) or complaint.share_identity
    if audience in ("officer", "integration"):
        return not complaint.anonymous
    return False


def shows_content(complaint: Complaint, audience: str) -> bool:
    return not (complaint.secret and audience in ("public", "export"))


def reporter_view(reporter: Reporter | None, complaint: Complaint, audience: str) -> dict | None:
    if reporter is None or not shows_identity(complaint, audience):
        return None
    return {"name": reporter.name, "phone": reporter.phone, "email": reporter.email, "nik": reporter.nik_masked}


def _iso(v):
    return isoformat(v)  # the deployment's offset: 2026-12-07T01:58:00+08:00


def complaint_view(complaint: Complaint, audience: str, *, hooks=None) -> dict[str, Any]:
    """The complaint as ``audience`` may see it (a JSON-ready dict)."""
    content = shows_content(complaint, audience)
    staff = audience in STAFF_AUDIENCES or audience == "integration"
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
        "created_at": _iso(complaint.created_at),
        "updated_at": _iso(complaint.updated_at),
        "resolved_at": _iso(complaint.resolved_at),
        "closed_at": _iso(complaint.closed_at),
        "rating": complaint.rating,
    }
    if audience in ("reporter",) or staff:
        out["due"] = {
            "first_response": _iso(complaint.due_first_response), "verify": _iso(complaint.due_verify),
            "followup": _iso(complaint.due_followup), "resolution": _iso(complaint.due_resolution),
            "close": _iso(complaint.due_close),
        }
        out["incident_date"] = complaint.incident_date.isoformat() if complaint.incident_date else None
    if staff:
        out["verified_at"] = _iso(complaint.verified_at)
        out["first_response_at"] = _iso(complaint.first_response_at)
        out["breached"] = [s for s in complaint.breached.split(",") if s]
        out["share_identity"] = complaint.share_identity
    if audience in ("reporter",) or staff:
        out["rating_comment"] = complaint.rating_comment
        out["reporter"] = reporter_view(complaint.reporter, complaint, audience)
    if hooks is not None:
        extra = hooks.complaint_extra(complaint, audience)
        if extra:
            out["extra"] = extra
    return out


def event_visible(event: Event, audience: str) -> bool:
    return event.visibility == "public" or audience in STAFF_AUDIENCES or audience == "integration"


def event_view(event: Event, complaint: Complaint, audience: str) -> dict[str, Any]:
    staff = audience in STAFF_AUDIENCES
    text = event_text(event)  # a system note in the reader's language
    if not shows_content(complaint, audience) and event.type in ("file", "reply"):
        text = ""
    out = {
        "id": event.id,
        "type": event.type,
        "actor_role": event.actor_role if event.actor_role != "integration" else "system",
        "from_status": event.from_status,
        "to_status": event.to_status,
        "agency": event.to_agency.name if event.to_agency_id else None,
        "text": text,
        "visibility": event.visibility,
        "source": event.source,
        "created_at": _iso(event.created_at),
    }
    if staff:
        out["actor"] = event.actor.username if event.actor_id else None
        out["data"] = event.data
    elif event.type == "rate" and event.data:
        out["data"] = {"rating": event.data.get("rating")}
    return out


def timeline(complaint: Complaint, audience: str) -> list[dict[str, Any]]:
    events = (Event.select().where(Event.complaint == complaint).order_by(Event.created_at, Event.id))
    return [event_view(e, complaint, audience) for e in events if event_visible(e, audience)]


def attachment_visible(att: Attachment, complaint: Complaint, audience: str) -> bool:
    if audience in STAFF_AUDIENCES or audience == "integration":
        return True
    if audience == "reporter":
        return att.visibility == "public"
    if audience == "external":
        return att.visibility == "public"
    return att.visibility == "public" and shows_content(complaint, audience)


def attachment_view(att: Attachment) -> dict[str, Any]:
    return {"id": att.id, "filename": att.filename, "content_type": att.content_type, "size": att.size,
            "sha256": att.sha256, "visibility": att.visibility, "created_at": _iso(att.created_at)}


def external_payload(complaint: Complaint) -> dict[str, Any]:
    """What another system (SP4N-LAPOR!) may receive: content, and identity only as consented."""
    view = complaint_view(complaint, "external")
    view["reporter"] = reporter_view(complaint.reporter, complaint, "external")
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
