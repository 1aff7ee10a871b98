"""GeoReport v2 building blocks: parameters, errors, XML and JSON bodies, the status mapping.

Nothing here touches Flask routing; :mod:`aduan_open311.web` wires these into routes.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from xml.etree import ElementTree as ET

from aduan.i18n import _, deployment_zone

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
FORMAT_TYPES = ["text/xml", "application/json"]

#: our status -> (GeoReport status, FixMyStreet extended status)
STATUS_MAP = {
    "received": ("open", "for_triage"),
    "dispatched": ("open", "open"),
    "in_progress": ("open", "in_progress"),
    "on_hold": ("open", "investigating"),
    "resolved": ("closed", "fixed"),
    "closed": ("closed", "closed"),
    "rejected": ("closed", "no_further_action"),
    "archived": ("closed", "closed"),
}
OPEN_STATUSES = tuple(s for s, (g, _e) in STATUS_MAP.items() if g == "open")
CLOSED_STATUSES = tuple(s for s, (g, _e) in STATUS_MAP.items() if g == "closed")

#: list element -> name of each item in XML
XML_ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "endpoints": "endpoint", "formats": "format", "notes": "note",
             "errors": "error", "tokens": "request", "service_request_updates": "request_update"}


class Open311Error(Exception):
    """An error answered as the spec says: the HTTP status and an ``errors`` array in the format asked."""

    def __init__(self, status: int, description: str, more=()):
        super().__init__(description)
        self.status = status
        self.description = str(description)
        self.descriptions = [self.description, *(str(d) for d in more)]  # one error entry each


# --- request parameters ---------------------------------------------------------------------------

def param(args, name: str) -> str | None:
    """A parameter, stripped; empty means absent. Repeated parameters are joined with commas."""
    values = [v.strip() for v in args.getlist(name) if v is not None and v.strip()]
    if not values:
        return None
    return ",".join(values)


def comma_list(value: str | None) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in value.split(",") if v.strip()]


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_w3c(name: str, value: str, *, end: bool = False) -> dt.datetime:
    """A W3C datetime (``2026-05-01T08:15:30+08:00``, ``…Z``, or a date) as naive UTC.

    A time without an offset, or a bare date, is in the deployment's zone. A bare date as an
    ``end`` bound means the end of that day. A ``+`` sent unencoded in a query string arrives as a
    space and is read back as ``+``.
    """
    text = value.strip()
    text = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text)
    try:
        if _DATE_ONLY.match(text):
            parsed = dt.datetime.fromisoformat(text)
            if end:
                parsed += dt.timedelta(days=1)
        else:
            parsed = dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise Open311Error(400, _("%(name)s is not a W3C datetime (e.g. 2026-05-01T08:15:30+08:00): %(value)s",
                                  name=name, value=value[:64])) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=deployment_zone())
    try:
        return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise Open311Error(400, _("%(name)s is out of range: %(value)s", name=name, value=value[:64])) from None


def positive_int(name: str, value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    if not re.fullmatch(r"\+?\d{1,9}", value):
        raise Open311Error(400, _("%(name)s must be a whole number from 1 to %(max)d.", name=name, max=maximum))
    n = int(value)
    if not 1 <= n <= maximum:
        raise Open311Error(400, _("%(name)s must be a whole number from 1 to %(max)d.", name=name, max=maximum))
    return n


def boolean(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


# --- bodies ---------------------------------------------------------------------------------------

def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_fill(el: ET.Element, value) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _xml_fill(ET.SubElement(el, k), v)
    elif isinstance(value, list):
        item = XML_ITEMS.get(el.tag, "item")
        for v in value:
            _xml_fill(ET.SubElement(el, item), v)
    elif value is not None:
        el.text = _text(value)


def to_xml(root: str, value) -> bytes:
    """The XML form of a JSON-ready value: lists become repeated elements named by ``XML_ITEMS``."""
    el = ET.Element(root)
    _xml_fill(el, value)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(el, encoding="utf-8", xml_declaration=False)


def to_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def error_body(fmt: str, status: int, description: str | list[str]) -> bytes:
    descriptions = description if isinstance(description, list) else [description]
    errors = [{"code": status, "description": d} for d in descriptions]
    return to_xml("errors", errors) if fmt == "xml" else to_json(errors)
