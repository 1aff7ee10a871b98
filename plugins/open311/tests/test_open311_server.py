"""The GeoReport v2 server: shapes (checked by the open311 project's JSON Schemas), XML, filters,
errors, times and privacy."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7


P = "/api/v1/plugins/open311"
SCHEMAS = Path(__file__).parent / "data" / "georeport-v2"


def _registry():
    resources = []
    for f in SCHEMAS.glob("*.json"):
        resources.append((f.name, Resource.from_contents(json.loads(f.read_text()), default_specification=DRAFT7)))
    return Registry().with_resources(resources)


def validate(name: str, instance) -> None:
    """Validate against the open311/schema-validation GeoReport v2 schema ``name`` (a file name)."""
    schema = json.loads((SCHEMAS / name).read_text())
    errors = list(Draft7Validator(schema, registry=_registry(), format_checker=FormatChecker())
                  .iter_errors(instance))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def get(client, path, **params):
    return client.get(P + path, query_string=params)


# --- shapes ------------------------------------------------------------------------------------------

def test_services_validate_and_carry_groups_keywords_metadata(oc):
    r = get(oc, "/services.json")
    assert r.status_code == 200 and r.content_type == "application/json; charset=utf-8"
    validate("services.json", r.json)
    by_code = {s["service_code"]: s for s in r.json}
    assert by_code["sampah"] == {"service_code": "sampah", "service_name": "Sampah", "description": "Sampah",
                                 "metadata": True, "type": "realtime", "keywords": "sampah, tumpukan sampah, TPS",
                                 "group": "Lingkungan Hidup"}
    assert by_code["jalan"]["metadata"] is False and by_code["jalan"]["group"] is None
    # English names where the category has them
    en = {s["service_code"]: s for s in get(oc, "/services.json", lang="en").json}
    assert en["sampah"]["service_name"] == "Waste" and en["sampah"]["group"] == "Environment"


def test_service_definition_validates_with_list_values(oc):
    r = get(oc, "/services/sampah.json")
    assert r.status_code == 200
    validate("service-definition.json", r.json)
    attrs = r.json["attributes"]
    assert [a["code"] for a in attrs] == ["jenis", "volume"]
    assert attrs[0]["datatype"] == "singlevaluelist" and attrs[0]["required"] is True
    assert attrs[0]["values"] == [{"key": "organik", "name": "Organik"}, {"key": "plastik", "name": "Plastik"}]
    assert attrs[1]["datatype"] == "number" and "values" not in attrs[1]
    assert get(oc, "/services/jalan.json").json == {"service_code": "jalan", "attributes": []}


def test_requests_validate_with_ids_as_strings_and_offset_times(world, oc):
    r = get(oc, "/requests.json")
    assert r.status_code == 200
    validate("requests.json", r.json)
    for item in r.json:
        validate("request.json", item)
        assert isinstance(item["service_request_id"], str)
        for key in ("requested_datetime", "updated_datetime"):
            assert item[key].endswith("+08:00"), item[key]
    one = get(oc, f"/requests/{world.ids['open']}.json")
    validate("requests.json", one.json)
    assert len(one.json) == 1


def test_request_fields_follow_the_complaint(world, oc):
    from aduan.db import database
    from aduan.i18n import isoformat
    from aduan.models import Complaint

    item = get(oc, f"/requests/{world.ids['open']}.json").json[0]
    with world.app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == world.ids["open"])
        due = isoformat(c.due_followup)
    assert item["service_request_id"] == world.ids["open"]
    assert item["status"] == "open" and item["status_notes"] == "Dalam proses"
    assert item["service_code"] == "jalan" and item["service_name"] == "Jalan"
    assert item["agency_responsible"] == "Dinas PUPR"
    assert item["description"] == "Keluhan open\n\nIsi keluhan open"
    assert item["expected_datetime"] == due and due.endswith("+08:00")
    assert (item["lat"], item["long"]) == (-8.5833, 116.1167)
    assert item["address"] == "Jl. Pejanggik, Mataram" and item["address_id"] == "52.71.01"
    assert item["media_url"].startswith("https://aduan.lombokbarat.example/api/v1/complaints/")
    assert get(oc, f"/requests/{world.ids['open']}.json", lang="en").json[0]["status_notes"] == "In progress"
    closed = get(oc, f"/requests/{world.ids['closed']}.json").json[0]
    assert closed["status"] == "closed" and closed["expected_datetime"] is None


def test_media_url_downloads_the_photo(world, oc):
    url = get(oc, f"/requests/{world.ids['open']}.json").json[0]["media_url"]
    r = oc.get(url.replace("https://aduan.lombokbarat.example", ""))
    assert r.status_code == 200 and r.data.startswith(b"\x89PNG")


def test_extensions_add_extended_status_and_public_notes(world, oc):
    plain = get(oc, f"/requests/{world.ids['open']}.json").json[0]
    assert "notes" not in plain and "extended_attributes" not in plain
    item = get(oc, f"/requests/{world.ids['open']}.json", extensions="true").json[0]
    validate("request.json", item)
    assert item["extended_attributes"]["status"] == "in_progress"
    assert [n["type"] for n in item["notes"]][:3] == ["file", "verify", "respond"]
    assert "Tim PUPR sudah meninjau lokasi" in [n["description"] for n in item["notes"]]
    assert all(n["datetime"].endswith("+08:00") for n in item["notes"])
    closed = get(oc, f"/requests/{world.ids['closed']}.json", extensions="true").json[0]
    assert closed["extended_attributes"]["status"] == "fixed"


def test_discovery(oc):
    r = get(oc, "/discovery.json")
    assert r.status_code == 200
    d = r.json
    assert d["contact"] == "diskominfo@example.go.id"
    ep = d["endpoints"][0]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert ep["url"] == "https://aduan.lombokbarat.example/api/v1/plugins/open311"
    assert ep["type"] == "production" and set(ep["formats"]) == {"text/xml", "application/json"}
    x = ET.fromstring(get(oc, "/discovery.xml").data)
    assert x.tag == "discovery" and [f.text for f in x.find("endpoints/endpoint/formats")] == \
        ["text/xml", "application/json"]


def test_xml_mirrors_json(world, oc):
    r = get(oc, "/requests.xml")
    assert r.status_code == 200 and r.content_type == "text/xml; charset=utf-8"
    assert r.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(r.data)
    assert root.tag == "service_requests"
    js = get(oc, "/requests.json").json
    assert [e.findtext("service_request_id") for e in root.findall("request")] == \
        [i["service_request_id"] for i in js]
    services = ET.fromstring(get(oc, "/services.xml").data)
    assert services.tag == "services"
    sampah = [s for s in services.findall("service") if s.findtext("service_code") == "sampah"][0]
    assert sampah.findtext("metadata") == "true" and sampah.findtext("group") == "Lingkungan Hidup"
    d = ET.fromstring(get(oc, "/services/sampah.xml").data)
    assert d.tag == "service_definition"
    values = d.findall("attributes/attribute")[0].findall("values/value")
    assert [(v.findtext("key"), v.findtext("name")) for v in values] == [("organik", "Organik"), ("plastik", "Plastik")]


# --- filters -----------------------------------------------------------------------------------------

def _ids(r):
    assert r.status_code == 200, r.data
    return {i["service_request_id"] for i in r.json}


def test_default_lists_the_last_90_days_of_public_requests(world, oc):
    got = _ids(get(oc, "/requests.json"))
    assert got == {world.ids[k] for k in ("open", "anon", "closed", "other")}


def test_filters(world, oc):
    ids = world.ids
    assert _ids(get(oc, "/requests.json", status="closed")) == {ids["closed"]}
    assert _ids(get(oc, "/requests.json", status="open")) == {ids["open"], ids["anon"], ids["other"]}
    assert _ids(get(oc, "/requests.json", status="open,closed")) == {ids[k] for k in ("open", "anon", "closed", "other")}
    assert _ids(get(oc, "/requests.json", service_code="sampah")) == {ids["other"]}
    assert _ids(get(oc, "/requests.json", service_code="sampah,jalan", status="closed")) == {ids["closed"]}
    # service_request_id overrides every other filter (even the date window), but lists stay public
    got = _ids(get(oc, "/requests.json", service_request_id=f"{ids['old']},{ids['open']},{ids['secret']}",
                   service_code="sampah", status="closed"))
    assert got == {ids["old"], ids["open"]}
    # an empty parameter is the same as none
    assert _ids(get(oc, "/requests.json", status="", service_code="")) == _ids(get(oc, "/requests.json"))


def test_date_filters_take_offsets(world, oc):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    start = (now - dt.timedelta(days=12)).isoformat()
    end = (now - dt.timedelta(days=4)).astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat()
    assert _ids(get(oc, "/requests.json", start_date=start, end_date=end)) == {world.ids["open"], world.ids["anon"]}
    old_start = (now - dt.timedelta(days=250)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(get(oc, "/requests.json", start_date=old_start)) == {world.ids["old"]}
    # an unencoded "+" arrives as a space
    r = oc.get(P + "/requests.json?start_date=" + (now - dt.timedelta(days=12)).astimezone(
        dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%dT%H:%M:%S+08:00"))
    assert world.ids["open"] in _ids(r)


def test_updated_after_before(world, oc):
    now = dt.datetime.now(dt.timezone.utc)
    after = (now - dt.timedelta(days=6)).isoformat()
    assert _ids(get(oc, "/requests.json", updated_after=after)) == {world.ids["anon"], world.ids["other"]}
    before = (now - dt.timedelta(days=15)).isoformat()
    # the 90-day window on requested_datetime does not apply to an updated_* query
    assert _ids(get(oc, "/requests.json", updated_before=before)) == {world.ids["closed"], world.ids["old"]}


def test_paging(world, oc):
    first = get(oc, "/requests.json", page_size=3).json
    second = get(oc, "/requests.json", page_size=3, page=2).json
    assert len(first) == 3 and len(second) == 1
    everything = [i["service_request_id"] for i in get(oc, "/requests.json").json]
    assert [i["service_request_id"] for i in first + second] == everything
    times = [i["requested_datetime"] for i in first + second]
    assert times == sorted(times, reverse=True)
    assert get(oc, "/requests.json", page=3, page_size=3).json == []


# --- errors ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,params,status", [
    ("/services/nope.json", {}, 404),
    ("/requests/ZZZZZZZZ.json", {}, 404),
    ("/requests.json", {"start_date": "kemarin"}, 400),
    ("/requests.json", {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, 400),
    ("/requests.json", {"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, 400),
    ("/requests.json", {"status": "pending"}, 400),
    ("/requests.json", {"page_size": "0"}, 400),
    ("/requests.json", {"page_size": "1001"}, 400),
    ("/requests.json", {"page": "-1"}, 400),
    ("/requests.json", {"end_date": "9999-12-31T23:59:59-12:00"}, 400),
    ("/requests.json", {"end_date": "9999-12-31"}, 400),
    ("/requests.json", {"end_date": "0001-01-01T00:00:00Z"}, 200),
    ("/requests.json", {"start_date": "9999-12-30T00:00:00Z"}, 200),
    # refused by the core's request edge before the view runs: still a GeoReport error array
    ("/requests.json", {"\x00O": "1"}, 400),
    ("/servicerequestupdates.json", {"page_size": "2\x00"}, 400),
])
def test_errors_are_georeport_arrays_in_both_formats(oc, path, params, status):
    r = get(oc, path, **params)
    assert r.status_code == status, r.data
    if status == 200:
        return
    assert r.json == [{"code": status, "description": r.json[0]["description"]}]
    assert r.json[0]["description"]
    x = get(oc, path.replace(".json", ".xml"), **params)
    assert x.status_code == status and x.content_type == "text/xml; charset=utf-8"
    root = ET.fromstring(x.data)
    assert root.tag == "errors"
    assert root.find("error/code").text == str(status) and root.find("error/description").text


def test_error_descriptions_follow_the_language(oc):
    id_ = get(oc, "/services/nope.json").json[0]["description"]
    en = get(oc, "/services/nope.json", lang="en").json[0]["description"]
    assert en == "Unknown service_code: nope."
    assert id_ != en and "nope" in id_


def test_jurisdictions(make_app, build_world):
    from aduan.db import database
    from aduan.testing import seed_basics

    app = make_app({"PLUGINS": ["open311"], "OPEN311_JURISDICTIONS": {"mataram.go.id": "52.71.01",
                                                                        "kecamatan2.go.id": "52.71.02"}})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    w = build_world(app, seed)
    c = app.test_client()
    r = get(c, "/requests.json")
    assert r.status_code == 400 and "mataram.go.id" in r.json[0]["description"]
    assert get(c, "/services.json").status_code == 400
    assert get(c, "/requests.json", jurisdiction_id="lombok.go.id").status_code == 404
    assert _ids(get(c, "/requests.json", jurisdiction_id="kecamatan2.go.id")) == {w.ids["other"]}
    assert w.ids["open"] in _ids(get(c, "/requests.json", jurisdiction_id="mataram.go.id"))
    assert get(c, f"/requests/{w.ids['open']}.json", jurisdiction_id="kecamatan2.go.id").status_code == 404


# --- privacy -----------------------------------------------------------------------------------------

def _all_bodies(client, world):
    paths = ["/requests.json", "/requests.xml"]
    for key in world.ids:
        paths += [f"/requests/{world.ids[key]}.json?extensions=true", f"/requests/{world.ids[key]}.xml?extensions=true"]
    return [client.get(P + p).get_data(as_text=True) for p in paths]


def test_no_reporter_data_reaches_anyone(world, oc):
    from aduan.testing import auth

    PII = world.pii
    bodies = _all_bodies(oc, world)
    # a staff token changes nothing: Open311 GETs are public views
    bodies += [oc.get(P + f"/requests/{world.ids['anon']}.json?extensions=true",
                      headers=auth(world.seed.coordinator)).get_data(as_text=True)]
    for body in bodies:
        for marker in (PII["name"], PII["phone"], PII["email"], PII["nik"], PII["nik"][-4:] + '"',
                       "Baiq Anonim", "081234000111", "reporter"):
            assert marker not in body


def test_secret_and_unverified_complaints_are_never_listed(world, oc):
    listed = _ids(get(oc, "/requests.json", start_date=(dt.datetime.now(dt.timezone.utc)
                                                       - dt.timedelta(days=30)).isoformat()))
    assert world.ids["secret"] not in listed and world.ids["unverified"] not in listed
    assert _ids(get(oc, "/requests.json", service_request_id=world.ids["secret"])) == set()
    # tracked by id, a secret complaint shows its status but no content, location or media
    item = get(oc, f"/requests/{world.ids['secret']}.json", extensions="true").json[0]
    validate("request.json", item)
    assert item["status"] == "open"
    assert item["description"] is None and item["address"] is None and item["lat"] is None
    assert item["long"] is None and item["media_url"] is None
    # status and dates only: not even the service, agency or deadline of a secret complaint
    assert item["service_code"] == "" and item["service_name"] is None and item["agency_responsible"] is None
    assert item["expected_datetime"] is None and item["address_id"] is None
    body = get(oc, f"/requests/{world.ids['secret']}.xml", extensions="true").get_data(as_text=True)
    for marker in (*world.secret, "bukti.png"):
        assert marker not in body


# --- servicerequestupdates (read side) ---------------------------------------------------------------

def test_service_request_updates(world, oc):
    r = get(oc, "/servicerequestupdates.json")
    assert r.status_code == 200
    ups = r.json
    by_request = {}
    for u in ups:
        assert isinstance(u["update_id"], str) and u["updated_datetime"].endswith("+08:00")
        by_request.setdefault(u["service_request_id"], []).append(u)
    # only listed requests: neither secret nor unverified ones, nor the 200-day-old one's updates
    assert set(by_request) == {world.ids[k] for k in ("open", "anon", "closed", "other")}
    opened = by_request[world.ids["open"]]
    assert [u["status"] for u in opened][:3] == ["for_triage", "open", "in_progress"]
    assert any(u["description"] == "Tim PUPR sudah meninjau lokasi" for u in opened)
    assert any((u["media_url"] or "").startswith("https://aduan.lombokbarat.example/") for u in opened)
    assert by_request[world.ids["closed"]][-1]["status"] == "fixed"
    times = [u["updated_datetime"] for u in ups]
    assert times == sorted(times)
    # the reporter's identity never appears
    body = r.get_data(as_text=True) + get(oc, "/servicerequestupdates.xml").get_data(as_text=True)
    for marker in (world.pii["name"], world.pii["phone"], "Baiq Anonim", *world.secret):
        assert marker not in body
    # date window, paging, XML
    now = dt.datetime.now(dt.timezone.utc)
    recent = get(oc, "/servicerequestupdates.json", start_date=(now - dt.timedelta(days=6)).isoformat()).json
    assert {u["service_request_id"] for u in recent} == {world.ids["anon"], world.ids["other"]}
    assert len(get(oc, "/servicerequestupdates.json", page_size=2).json) == 2
    root = ET.fromstring(get(oc, "/servicerequestupdates.xml").data)
    assert root.tag == "service_request_updates" and len(root.findall("request_update")) == len(ups)
    bad = get(oc, "/servicerequestupdates.xml", start_date="2026-01-01", end_date="2026-12-01")
    assert bad.status_code == 400 and ET.fromstring(bad.data).tag == "errors"
