"""The OpenAPI description of the GeoReport v2 routes (parameters, JSON shapes, error arrays).

The routes parse their own parameters (Open311 errors are GeoReport error arrays, not the core's
JSON errors), so their documentation is written here by hand, following the GeoReport v2 JSON
Schemas of the open311 project.
"""
from __future__ import annotations


def _n(t: str, **extra) -> dict:
    return {"type": [t, "null"], **extra}


STR = {"type": "string"}
W3C = {"type": "string", "format": "date-time"}

SERVICE = {"type": "object", "required": ["service_code", "service_name", "metadata", "type"], "properties": {
    "service_code": STR, "service_name": STR, "description": _n("string"), "metadata": {"type": "boolean"},
    "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]}, "keywords": _n("string"),
    "group": _n("string")}}

ATTRIBUTE = {"type": "object", "required": ["variable", "code", "datatype", "required"], "properties": {
    "variable": {"type": "boolean"}, "code": STR,
    "datatype": {"type": "string", "enum": ["string", "number", "datetime", "text", "singlevaluelist",
                                            "multivaluelist"]},
    "required": {"type": "boolean"}, "datatype_description": _n("string"), "order": _n("integer"),
    "description": _n("string"),
    "values": {"type": "array", "items": {"type": "object", "required": ["key", "name"],
                                          "properties": {"key": STR, "name": STR}}}}}

SERVICE_DEFINITION = {"type": "object", "required": ["service_code", "attributes"], "properties": {
    "service_code": STR, "attributes": {"type": "array", "items": ATTRIBUTE}}}

REQUEST = {"type": "object", "required": ["service_request_id", "status", "service_code", "requested_datetime"],
           "properties": {
               "service_request_id": STR, "status": {"type": "string", "enum": ["open", "closed"]},
               "status_notes": _n("string"), "service_name": _n("string"), "service_code": STR,
               "description": _n("string", maxLength=4000), "agency_responsible": _n("string"),
               "service_notice": _n("string"), "requested_datetime": W3C,
               "updated_datetime": _n("string", format="date-time"),
               "expected_datetime": _n("string", format="date-time"), "address": _n("string"),
               "address_id": _n("string"), "zipcode": _n("string"), "lat": _n("number"), "long": _n("number"),
               "media_url": _n("string", format="uri"),
               "extended_attributes": {"type": "object"},
               "notes": {"type": "array", "items": {"type": "object", "properties": {
                   "datetime": W3C, "description": STR, "type": STR}}}}}

DISCOVERY = {"type": "object", "required": ["changeset", "endpoints"], "properties": {
    "changeset": STR, "contact": _n("string"), "key_service": _n("string"),
    "endpoints": {"type": "array", "items": {"type": "object", "properties": {
        "specification": STR, "url": STR, "changeset": STR, "type": {"type": "string", "enum": ["production", "test"]},
        "formats": {"type": "array", "items": STR}}}}}}

UPDATE = {"type": "object", "required": ["update_id", "service_request_id", "status", "updated_datetime"],
          "properties": {"update_id": STR, "service_request_id": STR,
                         "status": {"type": "string", "enum": ["open", "closed", "fixed", "investigating",
                                                               "action_scheduled", "in_progress", "planned",
                                                               "no_further_action", "not_councils_responsibility",
                                                               "duplicate", "internal_referral", "cancelled",
                                                               "for_triage"]},
                         "updated_datetime": W3C, "description": STR, "media_url": _n("string", format="uri")}}

ERRORS = {"type": "array", "items": {"type": "object", "required": ["code", "description"],
                                     "properties": {"code": {"type": "integer"}, "description": STR}}}

SHAPES = {"discovery": DISCOVERY, "services": {"type": "array", "items": SERVICE},
          "service_definition": SERVICE_DEFINITION, "requests": {"type": "array", "items": REQUEST},
          "request": {"type": "array", "items": REQUEST, "minItems": 1, "maxItems": 1},
          "updates": {"type": "array", "items": UPDATE}}


def _q(name: str, description: str, **schema) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


JURISDICTION = _q("jurisdiction_id", "The jurisdiction (required when the server serves several; "
                                     "see OPEN311_JURISDICTIONS).")
EXTENSIONS = _q("extensions", "true adds extended_attributes (our richer status) and notes (the public timeline).",
                type="string", enum=["true", "false"])

PARAMETERS = {
    "requests": [
        JURISDICTION,
        _q("service_request_id", "Comma-separated ids; overrides every other filter."),
        _q("service_code", "Comma-separated service codes."),
        _q("start_date", "W3C datetime; earliest requested_datetime (span at most 90 days)."),
        _q("end_date", "W3C datetime; latest requested_datetime (span at most 90 days)."),
        _q("updated_after", "W3C datetime; earliest updated_datetime."),
        _q("updated_before", "W3C datetime; latest updated_datetime."),
        _q("status", "open, closed, or both comma-separated."),
        _q("page", "Page number, from 1.", type="integer", minimum=1),
        _q("page_size", "Requests per page (default and maximum OPEN311_MAX_PAGE_SIZE, 1000).",
           type="integer", minimum=1),
        EXTENSIONS,
    ],
    "request": [JURISDICTION, EXTENSIONS],
    "updates": [
        JURISDICTION,
        _q("start_date", "W3C datetime; earliest update (span at most 90 days; default the last 90 days)."),
        _q("end_date", "W3C datetime; latest update."),
        _q("page", "Page number, from 1.", type="integer", minimum=1),
        _q("page_size", "Updates per page (default and maximum OPEN311_MAX_PAGE_SIZE, 1000).",
           type="integer", minimum=1),
    ],
}


def operation(kind: str, fmt: str) -> dict:
    """The ``doc`` of one route in one format."""
    mime = "application/json" if fmt == "json" else "text/xml"
    ok_schema = SHAPES[kind] if fmt == "json" else {"type": "string"}
    err_schema = ERRORS if fmt == "json" else {"type": "string"}
    responses = {"200": {"description": "OK", "content": {mime: {"schema": ok_schema}}},
                 "400": {"description": "Bad parameter (GeoReport error array).",
                         "content": {mime: {"schema": err_schema}}}}
    responses["404"] = {"description": "Unknown service_code, request id or jurisdiction (GeoReport error array).",
                        "content": {mime: {"schema": err_schema}}}
    return {"tags": ["open311"], "parameters": PARAMETERS.get(kind, [JURISDICTION]), "responses": responses}
