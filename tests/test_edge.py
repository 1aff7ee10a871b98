"""The request edge (aduan.edge): huge integers, extreme dates, deep JSON, NUL and lone surrogates,
on every route of the URL map (core, admin and every first-party plugin), each answered with a clear
4xx whose body is the documented error schema, never a 500.

Run on PostgreSQL too (ADUAN_TEST_DATABASE_URL): NUL is what PostgreSQL refuses to store.
"""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import jsonschema
import pytest

from aduan.db import database
from aduan.plugins import installed_plugins
from aduan.testing import auth, seed_basics

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
PLUGINS = [name for name in FIRST_PARTY if name in installed_plugins()]
HUGE = 99999999999999999999  # > 2**64
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
DEEP = "[" * 2000 + "]" * 2000


@pytest.fixture
def env(make_app, caplog):
    """An app with every first-party plugin (as ``make run`` enables them), seeded, with one
    complaint; ``caplog`` collects unhandled errors."""
    app = make_app({"PLUGINS": PLUGINS, "SMS_GENERIC_SECRET": "generic-secret"})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    filed = client.post("/api/v1/complaints", json={"body": "Jalan rusak di Narmada", "category": "jalan"}).json
    doc = client.get("/api/v1/openapi.json").json
    caplog.set_level(logging.ERROR, logger="aduan")
    return app, client, seed, filed, doc, caplog


def error_schema(doc: dict) -> dict:
    ref = doc["components"]["responses"]["DEFAULT_ERROR"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return {**schema, "components": doc["components"]}


def georeport(path: str) -> bool:
    """A route of the Open311 GeoReport v2 server (errors in its standard's format); the plugin's
    staff routes of forwarding (``/forwards``) are aduan's own API."""
    return path.startswith("/api/v1/plugins/open311/") and not path.startswith("/api/v1/plugins/open311/forwards")


def assert_error(doc: dict, resp, *statuses: int) -> dict:
    """A 4xx from ``statuses`` (any 4xx when none given), JSON, valid against the served error schema."""
    assert resp.status_code < 500, (resp.status_code, resp.data[:500])
    if statuses:
        assert resp.status_code in statuses, (resp.status_code, resp.data[:500])
    if georeport(resp.request.path) and resp.request.path.endswith(".xml"):
        import xml.etree.ElementTree as ET

        root = ET.fromstring(resp.data)  # a GeoReport <errors> document
        assert root.tag == "errors" and root.find("error/code").text == str(resp.status_code), resp.data
        return {"code": resp.status_code, "description": root.find("error/description").text}
    if resp.request.path.startswith("/portal/"):
        # the portal's pages answer errors as pages, in the reader's language (aduan_error_pages)
        assert 400 <= resp.status_code < 500 and resp.mimetype == "text/html", (resp.status_code, resp.data[:300])
        return {"code": resp.status_code, "message": resp.get_data(as_text=True)}
    assert 400 <= resp.status_code < 500 and resp.is_json, (resp.status_code, resp.data[:300])
    if georeport(resp.request.path):
        # Open311 answers in its own standard's format: a GeoReport error array
        assert [set(e) for e in resp.json] == [{"code", "description"}], resp.json
        assert resp.json[0]["code"] == resp.status_code and resp.json[0]["description"]
        return resp.json[0]
    jsonschema.Draft202012Validator(error_schema(doc)).validate(resp.json)
    assert resp.json["code"] == resp.status_code and resp.json["message"]
    return resp.json


def no_unhandled(caplog):
    assert "unhandled error" not in caplog.text, caplog.text


def rules(app, *, with_body: bool = False):
    """(rule, method, path) for every route of the URL map, path arguments filled with plausible values."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/v1/docs/assets"):
            continue
        for method in sorted(rule.methods & set(METHODS)):
            if with_body and method not in ("POST", "PUT", "PATCH"):
                continue
            values = {}
            for arg, conv in rule._converters.items():
                values[arg] = "1" if type(conv).__name__.endswith("IntegerConverter") or "Int" in type(conv).__name__ \
                    else "ABC"
            path = rule.rule
            for arg, value in values.items():
                path = re.sub(rf"<(?:[^:<>]+:)?{arg}>", value, path)
            out.append((rule, method, path))
    return out


def operations(doc: dict):
    """Operations of the aduan API; a standard protocol served by a plugin (Open311 GeoReport v2)
    answers errors in its own standard's format, so it is left to that plugin's tests."""
    for path, ops in doc["paths"].items():
        if georeport(path):
            continue
        for method, op in ops.items():
            if method.upper() in METHODS:
                yield path, method.upper(), op


def fill(path: str, tracking_id: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: tracking_id if "tracking" in m.group() else "1", path)


# --- 7. integers beyond what a database integer holds -------------------------------------------

def test_digits_of_other_kinds_in_queries_are_never_a_500(env):
    """``"²".isdigit()`` is true and ``int("²")`` raises (the portal's public list answered 500):
    every GET route of the URL map (core, plugins, the portal's pages), given superscript, full-width
    and Arabic-Indic digits in the query parameters that lists and pages take, answers below 500."""
    app, client, seed, filed, doc, caplog = env
    names = ("after", "before", "cursor", "page", "limit", "offset", "id", "category_id", "agency_id",
             "region", "year", "month", "days", "from", "to", "created_from", "created_to", "lat", "long",
             "lng", "status", "q", "page_size", "start_date", "end_date", "service_code", "phone")
    checked = 0
    for rule, method, path in rules(app):
        if method != "GET":
            continue
        path = path.replace("ABC", filed["tracking_id"])
        for odd in ("²", "１２", "٣"):
            for headers in ({}, auth(seed.admin)):
                r = client.get(path, query_string={n: odd for n in names}, headers=headers)
                ready = path == "/ready" and r.status_code == 503  # no worker has reported in this test
                assert r.status_code < 500 or ready, (path, odd, r.status_code, r.data[:300])
        checked += 1
    assert checked >= 40
    no_unhandled(caplog)


def test_huge_integers_in_paths_are_404_on_every_route(env):
    app, client, seed, filed, doc, caplog = env
    checked = 0
    for rule, method, path in rules(app):
        int_args = [a for a, c in rule._converters.items() if "Int" in type(c).__name__]
        if not int_args:
            continue
        p = rule.rule
        for arg in rule._converters:
            p = re.sub(rf"<(?:[^:<>]+:)?{arg}>", str(HUGE) if arg in int_args else filed["tracking_id"], p)
        r = client.open(p, method=method, headers=auth(seed.admin), json={})
        assert_error(doc, r, 404, 405)
        r = client.open(p.replace(str(HUGE), "9" * 5000), method=method, headers=auth(seed.admin), json={})
        assert_error(doc, r, 404, 405)
        checked += 1
    assert checked >= 8  # agencies, categories, users, tokens, jobs, attachments and plugin routes
    assert client.get("/api/v1/agencies/99999999999999999999").status_code == 404
    no_unhandled(caplog)


def test_huge_integers_in_queries_and_bodies_name_the_field(env):
    app, client, seed, filed, doc, caplog = env
    h = auth(seed.admin)
    checked = 0
    for path, method, op in operations(doc):
        url = fill(path, filed["tracking_id"])
        for param in op.get("parameters", []):
            if param.get("in") == "query" and "integer" in str(param.get("schema", {}).get("type")):
                r = client.open(f"{url}?{param['name']}={HUGE}", method=method, headers=h)
                if r.status_code == 422:
                    assert param["name"] in assert_error(doc, r)["errors"], r.json
                else:
                    assert_error(doc, r, 404, 409)
                checked += 1
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        if body:
            ref = body.get("$ref", "")
            schema = doc["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
            for name, prop in schema.get("properties", {}).items():
                if "integer" in str(prop.get("type")):
                    r = client.open(url, method=method, headers=h, json={name: HUGE})
                    if r.status_code == 422:
                        assert name in assert_error(doc, r)["errors"], (path, r.json)
                    else:
                        assert_error(doc, r, 400, 404, 409)
                    checked += 1
    assert checked >= 15
    r = client.post("/api/v1/complaints", json={"body": "x", "category_id": HUGE})
    assert "category_id" in assert_error(doc, r, 422)["errors"]
    r = client.get(f"/api/v1/complaints?agency_id={HUGE}", headers=h)
    assert "agency_id" in assert_error(doc, r, 422)["errors"]
    # fits 64 bits but not PostgreSQL's integer column (found by schemathesis on PostgreSQL)
    r = client.patch("/api/v1/categories/1", json={"parent_id": 2 ** 31}, headers=h)
    assert "parent_id" in assert_error(doc, r, 422)["errors"]
    assert client.get(f"/api/v1/agencies/{2 ** 31}").status_code == 404
    no_unhandled(caplog)


@pytest.mark.parametrize("cursor", [str(HUGE), "OTk5OTk5OTk5OTk5OTk5OTk5OTk", "MjE0NzQ4MzY0OA", "LTE", "MA", "%%%"])
def test_cursors_beyond_any_id_are_422(env, cursor):
    app, client, seed, filed, doc, caplog = env
    r = client.get(f"/api/v1/complaints?cursor={cursor}", headers=auth(seed.admin))
    assert "cursor" in assert_error(doc, r, 422)["errors"]
    no_unhandled(caplog)


def test_documented_integer_bounds(env):
    """The OpenAPI document states the 64-bit bounds the edge enforces (so fuzzers and clients know)."""
    app, client, seed, filed, doc, caplog = env
    agency = doc["paths"]["/api/v1/agencies/{agency_id}"]["parameters"][0]["schema"]
    assert agency["maximum"] == 2 ** 31 - 1  # a PostgreSQL integer (ids are serial)
    assert doc["components"]["schemas"]["ComplaintIn"]["properties"]["category_id"]["maximum"] == 2 ** 31 - 1


# --- 8. extreme dates ----------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["public", "admin", "coordinator", "officer_a"])
def test_extreme_date_filters_exclude_nothing(env, who):
    app, client, seed, filed, doc, caplog = env
    h = {} if who == "public" else auth(getattr(seed, who))
    client.post(f"/api/v1/complaints/{filed['tracking_id']}/actions/verify", json={}, headers=auth(seed.coordinator))
    everything = client.get("/api/v1/complaints", headers=h).json["items"]
    assert len(everything) == 1
    for q in ("created_from=0001-01-01", "created_to=9999-12-31", "created_from=0001-01-01&created_to=9999-12-31"):
        r = client.get(f"/api/v1/complaints?{q}", headers=h)
        assert r.status_code == 200 and r.json["items"] == everything, (q, r.json)
    r = client.get("/api/v1/complaints?created_from=9999-12-31", headers=h)
    assert r.status_code == 200 and r.json["items"] == []
    r = client.get("/api/v1/complaints?created_to=0001-01-01", headers=h)
    assert r.status_code == 200 and r.json["items"] == []
    if who != "public":
        r = client.get("/api/v1/stats?created_from=0001-01-01&created_to=9999-12-31", headers=h)
        assert r.status_code == 200 and r.json["total"] == 1, r.json
        r = client.get("/api/v1/stats?created_from=9999-12-31", headers=h)
        assert r.status_code == 200 and r.json["total"] == 0
    no_unhandled(caplog)


def test_extreme_dates_on_every_documented_date_input(env):
    app, client, seed, filed, doc, caplog = env
    h = auth(seed.admin)
    checked = 0
    for path, method, op in operations(doc):
        url = fill(path, filed["tracking_id"])
        for param in op.get("parameters", []):
            if param.get("in") == "query" and param.get("schema", {}).get("format") in ("date", "date-time"):
                for value in ("0001-01-01", "9999-12-31", "0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00"):
                    r = client.open(f"{url}?{param['name']}={value}", method=method, headers=h)
                    assert r.status_code < 500, (path, param["name"], value, r.data[:300])
                    if r.status_code >= 400:
                        assert_error(doc, r)
                    checked += 1
        ref = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {}).get("$ref", "")
        for name, prop in doc["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {}).get("properties", {}).items():
            if prop.get("format") in ("date", "date-time"):
                for value in ("0001-01-01", "9999-12-31"):
                    r = client.open(url, method=method, headers=h, json={"body": "x", name: value})
                    assert r.status_code < 500, (path, name, value, r.data[:300])
                    if r.status_code >= 400:
                        assert_error(doc, r)
                    checked += 1
    assert checked >= 8
    no_unhandled(caplog)


def test_incident_date_is_a_real_past_date(env):
    app, client, seed, filed, doc, caplog = env
    for value in ("0001-01-01", "9999-12-31"):
        r = client.post("/api/v1/complaints", json={"body": "x", "incident_date": value})
        assert "incident_date" in assert_error(doc, r, 422)["errors"]
    r = client.post("/api/v1/complaints", json={"body": "x", "incident_date": "2026-11-30"})
    assert r.status_code == 201


# --- 9. JSON nested 2,000 deep -------------------------------------------------------------------

def test_deep_json_is_400_on_every_route_with_a_body(env):
    app, client, seed, filed, doc, caplog = env
    checked = 0
    for rule, method, path in rules(app, with_body=True):
        path = path.replace("ABC", filed["tracking_id"])
        for headers in ({}, auth(seed.admin)):
            for ctype in ("application/json", "text/plain"):
                r = client.open(path, method=method, data=DEEP, content_type=ctype, headers=headers)
                body = assert_error(doc, r, 400)
                # a page (portal) has no field list; a GeoReport error (Open311) names the field in its description
                assert path.startswith("/portal/") or "json" in (
                    body["errors"] if "errors" in body else body["description"]), body
                checked += 1
    assert checked >= 40
    deep_field = '{"body": "x", "reporter": ' + '{"a": ' * 1500 + "1" + "}" * 1501
    r = client.post("/api/v1/complaints", data=deep_field, content_type="application/json")
    assert_error(doc, r, 400)
    no_unhandled(caplog)


def test_deep_json_on_a_signed_webhook(env):
    """A correctly signed request to the SMS generic webhook with a 2,000-deep body: 400."""
    import hashlib
    import hmac
    import time

    app, client, seed, filed, doc, caplog = env
    if "sms" not in PLUGINS:
        pytest.skip("the sms plugin is not installed")
    ts = str(int(time.time()))
    sig = hmac.new(b"generic-secret", ts.encode() + b"." + DEEP.encode(), hashlib.sha256).hexdigest()
    r = client.post("/hooks/sms/generic", data=DEEP, content_type="application/json",
                    headers={"X-Aduan-Timestamp": ts, "X-Aduan-Signature": sig})
    assert r.status_code == 400 and r.is_json
    no_unhandled(caplog)


def test_moderate_nesting_still_parses(env):
    app, client, seed, filed, doc, caplog = env
    r = client.post("/api/v1/complaints", json={"body": "x", "reporter": {"name": "Baiq"}})
    assert r.status_code == 201


# --- 10. NUL and lone surrogates -----------------------------------------------------------------

def test_nul_in_query_and_path_is_400_on_every_route(env):
    app, client, seed, filed, doc, caplog = env
    checked = 0
    for rule, method, path in rules(app):
        for headers in ({}, auth(seed.admin)):
            r = client.open(path.replace("ABC", filed["tracking_id"]) + "?q=a%00b&status=x%00",
                            method=method, headers=headers, json={})
            body = assert_error(doc, r, 400)
            if "errors" in body:
                assert "q" in body["errors"], body
            elif not path.startswith("/portal/"):  # a GeoReport error array names the parameter in its description
                assert "q:" in body["description"], body
            if "ABC" in path:
                r = client.open(path.replace("ABC", "AB%00C", 1), method=method, headers=headers, json={})
                assert_error(doc, r, 400)
            checked += 1
    assert checked >= 60
    no_unhandled(caplog)


def test_nul_in_a_header_is_400(env):
    app, client, seed, filed, doc, caplog = env
    r = client.get(f"/api/v1/complaints/{filed['tracking_id']}", headers={"X-Access-Code": "AB\x00CD"})
    assert "X-Access-Code" in assert_error(doc, r, 400)["errors"]
    r = client.get("/api/v1/users", headers={"Authorization": "Bearer adu_\x00"})
    assert_error(doc, r, 400)
    no_unhandled(caplog)


SURROGATE_BODY = '{"body": "Jalan \\ud800 rusak\\u0000 parah \\ud83d\\ude00", "title": "\\udfff\\u0000", ' \
                 '"reporter": {"name": "Baiq \\udc00"}}'


def test_lone_surrogates_and_nul_in_json_text_are_cleaned(env):
    app, client, seed, filed, doc, caplog = env
    r = client.post("/api/v1/complaints", data=SURROGATE_BODY, content_type="application/json")
    assert r.status_code == 201, r.data
    c = client.get(f"/api/v1/complaints/{r.json['tracking_id']}",
                   headers={"X-Access-Code": r.json["access_code"]}).json
    assert c["body"] == "Jalan \ufffd rusak parah 😀"
    assert c["reporter"]["name"] == "Baiq \ufffd"
    r = client.post("/api/v1/agencies", data='{"code": "X1", "name": "Dinas \\u0000\\ud800"}',
                    content_type="application/json", headers=auth(seed.admin))
    assert r.status_code == 201 and r.json["name"] == "Dinas \ufffd"
    no_unhandled(caplog)


def test_surrogates_and_nul_on_every_json_route(env):
    """Keys and values with lone surrogates and NUL on every route with a body: never a 500, and
    every error body is valid UTF-8 JSON of the documented shape."""
    app, client, seed, filed, doc, caplog = env
    payload = '{"\\ud800key": "\\udfff", "body": "a\\u0000b", "name": "\\ud800", "text": "\\udbff\\u0000"}'
    for rule, method, path in rules(app, with_body=True):
        for headers in ({}, auth(seed.admin)):
            r = client.open(path.replace("ABC", filed["tracking_id"]), method=method, data=payload,
                            content_type="application/json", headers=headers)
            # 502/503: an outside system (SP4N-LAPOR!) is not configured in this test: not our failure
            assert r.status_code < 500 or r.status_code in (502, 503), (path, method, r.data[:300])
            r.data.decode("utf-8")
            if 400 <= r.status_code < 500 and rule.rule.startswith("/api/"):  # documented operations
                assert_error(doc, r)
    no_unhandled(caplog)


def test_nul_in_form_fields_and_file_names_is_cleaned(env):
    app, client, seed, filed, doc, caplog = env
    png = (ROOT / "tests" / "data" / "pixel.png").read_bytes() if (ROOT / "tests" / "data" / "pixel.png").exists() \
        else bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                           "1f15c4890000000d49444154789c63f8cfc0000003010100c9fe92ef0000000049454e44ae426082")
    r = client.post(f"/api/v1/complaints/{filed['tracking_id']}/attachments",
                    headers={"X-Access-Code": filed["access_code"]},
                    data={"file": (io.BytesIO(png), "foto\x00.png"), "visibility": "public\x00"},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.data
    assert "\x00" not in r.json["filename"]
    no_unhandled(caplog)


# --- 11. error bodies agree with the served schema -----------------------------------------------

@pytest.mark.parametrize("data,ctype", [
    ("{not json", "application/json"),
    ("\xff\xfe", "application/json"),
    ("[1, 2]", "application/json"),
    ("null", "application/json"),
])
def test_non_json_bodies_have_the_error_object_shape(env, data, ctype):
    app, client, seed, filed, doc, caplog = env
    r = client.post("/api/v1/complaints", data=data.encode("latin-1"), content_type=ctype)
    body = assert_error(doc, r, 400, 422)
    assert isinstance(body["errors"], dict) and body["errors"], body


def test_every_error_key_is_documented(env):
    """409 with allowed_actions, 401/403/404/405/422 bodies: all valid against the served schema."""
    app, client, seed, filed, doc, caplog = env
    tid = filed["tracking_id"]
    r = client.post(f"/api/v1/complaints/{tid}/actions/resolve", json={"text": "x"}, headers=auth(seed.coordinator))
    body = assert_error(doc, r, 409)
    assert body["allowed_actions"]
    assert_error(doc, client.get("/api/v1/users"), 401)
    assert_error(doc, client.get("/api/v1/users", headers=auth(seed.officer_a)), 403)
    assert_error(doc, client.get("/api/v1/nothing"), 404)
    assert_error(doc, client.delete("/api/v1/complaints"), 405)
    assert_error(doc, client.get("/api/v1/complaints?limit=0"), 422)
    assert_error(doc, client.post("/api/v1/users", json={"username": "x"}, headers=auth(seed.admin)), 422)
    assert_error(doc, client.get("/api/v1/users", headers=auth("adu_not-a-token")), 401)


# --- 12. authenticate before validating ----------------------------------------------------------

def test_unauthenticated_requests_are_401_before_validation(env):
    """Every operation that needs a token (or an access code) answers 401 without one, even with a
    body and query that would fail validation."""
    app, client, seed, filed, doc, caplog = env
    checked = 0
    for path, method, op in operations(doc):
        security = op.get("security")
        if not security or {} in security:
            continue
        url = fill(path, filed["tracking_id"])
        r = client.open(f"{url}?limit=-1&status=nope", method=method, json={"surprise": [1, 2, 3], "rating": "x"})
        assert_error(doc, r, 401)
        checked += 1
    assert checked >= 15
    no_unhandled(caplog)


def test_wrong_roles_are_403_before_validation(env):
    """Every view guarded by aduan.api.require (core and plugins) answers 403 to a role it does not
    allow, even with a body and query that would fail validation."""
    app, client, seed, filed, doc, caplog = env
    tokens = {"admin": seed.admin, "coordinator": seed.coordinator, "officer": seed.officer_a,
              "integration": seed.integration}
    checked = 0
    for rule, method, path in rules(app):
        view = app.view_functions[rule.endpoint]
        roles = getattr(getattr(getattr(view, "view_class", None), method.lower(), None), "_aduan_roles", None)
        if not roles:
            continue
        outsider = next(r for r in tokens if r not in roles)
        r = client.open(path.replace("ABC", filed["tracking_id"]) + "?limit=-1&status=nope", method=method,
                        json={"surprise": True, "expires_days": "never"}, headers=auth(tokens[outsider]))
        assert_error(doc, r, 403)
        checked += 1
    assert checked >= 15


def test_reporter_routes_check_the_access_code_before_the_body(env):
    """A wrong access code is 403 and a staff member who cannot see the complaint gets 404, whatever
    the body: strangers learn nothing about what the body should be."""
    app, client, seed, filed, doc, caplog = env
    tid = filed["tracking_id"]
    bad = {"rating": "lima", "surprise": True}
    assert_error(doc, client.post(f"/api/v1/complaints/{tid}/actions/rate", json=bad,
                                  headers={"X-Access-Code": "WRONG-CODE"}), 403)
    assert_error(doc, client.post(f"/api/v1/complaints/{tid}/actions/rate", json=bad), 401)
    assert_error(doc, client.post(f"/api/v1/complaints/{tid}/attachments", data={"visibility": "nope"},
                                  headers={"X-Access-Code": "WRONG-CODE"}, content_type="multipart/form-data"), 403)
    # not yet disposed to agency B: its officer cannot see it at all
    assert_error(doc, client.post(f"/api/v1/complaints/{tid}/actions/respond", json=bad,
                                  headers=auth(seed.officer_b)), 404)
    r = client.post(f"/api/v1/complaints/{tid}/actions/rate", json=bad, headers={"X-Access-Code": filed["access_code"]})
    assert "rating" in assert_error(doc, r, 422)["errors"]


def test_edge_messages_are_in_the_requests_language(env):
    app, client, seed, filed, doc, caplog = env
    r = client.post("/api/v1/complaints", data=DEEP, content_type="application/json")
    assert r.json["message"] == "Isi JSON bersarang terlalu dalam (paling banyak 64 tingkat)."
    r = client.post("/api/v1/complaints?lang=en", data=DEEP, content_type="application/json")
    assert r.json["message"] == "The JSON body is nested too deeply (at most 64 levels)."
    r = client.get("/api/v1/complaints?q=a%00b")
    assert r.json["errors"]["q"] == ["Karakter NUL tidak diperbolehkan."]
    r = client.post("/api/v1/complaints", json={"body": "x", "category_id": HUGE})
    assert r.json["errors"]["category_id"][0] == "Harus bilangan bulat dari -2147483648 sampai 2147483647."


def test_json_bodies_are_bounded_in_size_and_judged_without_recursion(env):
    """A JSON body over 512 KiB is a 413; nesting is judged without recursion, brackets inside strings
    do not count, and an unclosed 2,000-deep body is refused before the parser descends into it."""
    from aduan.edge import MAX_JSON_BYTES, json_depth_exceeds

    app, client, seed, filed, doc, caplog = env
    r = client.post("/api/v1/complaints", data='{"body": "' + "x" * MAX_JSON_BYTES + '"}',
                    content_type="application/json")
    assert "json" in assert_error(doc, r, 413)["errors"]
    assert not json_depth_exceeds('["' + "[" * 500 + '"]')
    assert not json_depth_exceeds("[" * 64 + "]" * 64) and json_depth_exceeds("[" * 65 + "]" * 65)
    assert json_depth_exceeds("[" * 2000) and json_depth_exceeds("]" * 10 + "[" * 100)
    assert json_depth_exceeds('{"a": ' * 65 + "1" + "}" * 65)
    r = client.post("/api/v1/complaints", data="[" * 2000, content_type="application/json")
    assert_error(doc, r, 400)
    no_unhandled(caplog)
