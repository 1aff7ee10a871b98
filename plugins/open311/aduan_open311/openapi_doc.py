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

POSTED = {"type": "object", "required": ["service_notice"], "properties": {
    "service_request_id": STR, "token": STR, "service_notice": STR, "account_id": STR}}
TOKEN = {"type": "object", "required": ["service_request_id", "token"],
         "properties": {"service_request_id": STR, "token": STR}}
UPDATE_POSTED = {"type": "object", "required": ["update_id"], "properties": {"update_id": STR}}

SHAPES = {"discovery": DISCOVERY, "services": {"type": "array", "items": SERVICE},
          "service_definition": SERVICE_DEFINITION, "requests": {"type": "array", "items": REQUEST},
          "request": {"type": "array", "items": REQUEST, "minItems": 1, "maxItems": 1},
          "updates": {"type": "array", "items": UPDATE},
          "create_request": {"type": "array", "items": POSTED, "minItems": 1, "maxItems": 1},
          "token": {"type": "array", "items": TOKEN, "minItems": 1, "maxItems": 1},
          "create_update": {"type": "array", "items": UPDATE_POSTED, "minItems": 1, "maxItems": 1}}


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


_FORM_TEXT = {"type": "string"}
#: ``attribute[CODE]`` / ``attribute[CODE][]``: answers to the service definition's questions.
_ATTRIBUTES = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
REQUEST_FORM = {
    "type": "object", "required": ["api_key", "service_code"],
    "properties": {
        "api_key": {"type": "string", "description": "An integration token granted channel:open311 and "
                                                     "complaints:file."},
        "jurisdiction_id": _FORM_TEXT, "service_code": _FORM_TEXT,
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string", "maxLength": 500},
        "address_id": {"type": "string", "description": "A Kemendagri region code, e.g. 52.71.01."},
        "email": {"type": "string", "format": "email"}, "device_id": _FORM_TEXT, "account_id": _FORM_TEXT,
        "first_name": _FORM_TEXT, "last_name": _FORM_TEXT, "phone": _FORM_TEXT,
        "description": {"type": "string", "maxLength": 4000},
        "media_url": {"anyOf": [{"type": "string", "format": "uri"},
                                {"type": "array", "items": {"type": "string", "format": "uri"}}]},
    },
    "additionalProperties": _ATTRIBUTES,
    "description": "One location is required (lat and long, address_string or address_id); answers to the "
                   "service's questions go in attribute[CODE] (attribute[CODE][] for multivaluelist).",
}
REQUEST_MULTIPART = {**REQUEST_FORM, "properties": {
    **REQUEST_FORM["properties"], "media": {"type": "string", "format": "binary",
                                            "description": "A photo or document (takes precedence over media_url)."}}}
UPDATE_FORM = {
    "type": "object", "required": ["api_key", "service_request_id", "update_id", "status"],
    "properties": {
        "api_key": _FORM_TEXT, "jurisdiction_id": _FORM_TEXT, "service_request_id": _FORM_TEXT,
        "update_id": {"type": "string", "maxLength": 128},
        "status": {"type": "string", "description": "FixMyStreet's extended statuses (any case) or REOPEN."},
        "updated_datetime": {"type": "string", "format": "date-time"},
        "description": {"type": "string", "maxLength": 4000},
        "media_url": {"anyOf": [{"type": "string", "format": "uri"},
                                {"type": "array", "items": {"type": "string", "format": "uri"}}]},
    },
    "additionalProperties": _ATTRIBUTES,
}
BODIES = {
    "create_request": {"application/x-www-form-urlencoded": {"schema": REQUEST_FORM},
                       "multipart/form-data": {"schema": REQUEST_MULTIPART}},
    "create_update": {"application/x-www-form-urlencoded": {"schema": UPDATE_FORM}},
}


def operation(kind: str, fmt: str) -> dict:
    """The ``doc`` of one route in one format."""
    mime = "application/json" if fmt == "json" else "text/xml"
    ok_schema = SHAPES[kind] if fmt == "json" else {"type": "string"}
    err_schema = ERRORS if fmt == "json" else {"type": "string"}
    responses = {"200": {"description": "OK", "content": {mime: {"schema": ok_schema}}},
                 "400": {"description": "Bad parameter (GeoReport error array).",
                         "content": {mime: {"schema": err_schema}}}}
    responses["404"] = {"description": "Unknown service_code, request id, token or jurisdiction (GeoReport error "
                                       "array).",
                        "content": {mime: {"schema": err_schema}}}
    doc = {"tags": ["open311"], "parameters": PARAMETERS.get(kind, [JURISDICTION]), "responses": responses}
    if kind in BODIES:
        doc["parameters"] = []
        doc["requestBody"] = {"required": True, "content": BODIES[kind]}
        responses["403"] = {"description": "Missing or bad api_key, or one not granted channel:open311 and "
                                           "complaints:file (GeoReport error array).",
                            "content": {mime: {"schema": err_schema}}}
        responses["413"] = {"description": "The body is larger than the server accepts (GeoReport error array).",
                            "content": {mime: {"schema": err_schema}}}
        if kind == "create_update":
            responses["400"]["description"] = ("Bad parameter, unknown request, or an update_id already received "
                                               "(GeoReport error array).")
    return doc
