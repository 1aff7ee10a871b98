"""The behavioural cases of mySociety's open311-adapter endpoint tests (``t/open311/endpoint.t``,
subtests "POST Service Request validation", "POST Service Request valid test" and "POST Service
Request with optional singlevaluelist", commit 4d3a40d7 of github.com/mysociety/open311-adapter),
ported to our server. Their POT service (a required number ``depth``, an optional singlevaluelist
``shape``) and BIN service (no attributes) are rebuilt as categories, with an optional
multivaluelist added for the empty-list case."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest

P = "/api/v1/plugins/open311"


@pytest.fixture
def services(world):
    from aduan.db import database
    from aduan.models import Category
    from aduan_open311.models import Open311Attribute

    with world.app.app_context(), database.connection_context():
        pot = Category.create(code="POT", name="Pothole Repairs", default_agency=world.seed.agency_a)
        Category.create(code="BIN", name="Bin Enforcement", default_agency=world.seed.agency_b)
        Open311Attribute.create(category=pot, code="depth", datatype="number", required=True, order=1,
                                description="depth of pothole, in centimetres")
        Open311Attribute.create(category=pot, code="shape", datatype="singlevaluelist", required=False, order=2,
                                description="shape of the pothole",
                                values=[{"key": k, "name": k.title()} for k in ("circle", "square", "triangle")])
        Open311Attribute.create(category=pot, code="hazards", datatype="multivaluelist", required=False, order=3,
                                description="what else is there",
                                values=[{"key": "water", "name": "Water"}, {"key": "glass", "name": "Glass"}])
    return world


def post(client, fmt="json", **form):
    return client.post(f"{P}/requests.{fmt}", data=form)


BOB = {"address_string": "22 Acacia Avenue", "first_name": "Bob", "last_name": "Mould"}


def test_no_service_code(services, oc, api_key):
    assert post(oc).status_code == 403  # nothing at all: the api_key is checked first
    r = post(oc, api_key=api_key, **BOB)
    assert r.status_code == 400
    assert r.json[0]["code"] == 400 and "service_code" in r.json[0]["description"]


def test_no_api_key(services, oc):
    r = post(oc, service_code="BIN", **BOB)
    assert r.status_code == 403 and r.json[0]["code"] == 403
    r = post(oc, api_key="test", service_code="BIN", **BOB)  # the adapter's test key is no token of ours
    assert r.status_code == 403


def test_bad_service_code(services, oc, api_key):
    r = post(oc, api_key=api_key, service_code="BADGER", **BOB)  # has moved the goalposts
    assert r.status_code == 404 and r.json[0]["code"] == 404 and "BADGER" in r.json[0]["description"]


def test_no_required_attributes(services, oc, api_key):
    r = post(oc, api_key=api_key, service_code="POT", **BOB)
    assert r.status_code == 400
    assert "attribute[depth]" in r.json[0]["description"]


def test_bad_attribute(services, oc, api_key):
    r = post(oc, api_key=api_key, service_code="POT", **BOB, **{"attribute[depth]": 100,
                                                               "attribute[shape]": "starfish"})
    assert r.status_code == 400
    assert "starfish" in r.json[0]["description"] and "attribute[shape]" in r.json[0]["description"]
    r = post(oc, api_key=api_key, service_code="POT", **BOB, **{"attribute[depth]": "deep"})
    assert r.status_code == 400 and "attribute[depth]" in r.json[0]["description"]


def test_any_attributes_let_through(services, oc, api_key):
    r = post(oc, api_key=api_key, service_code="BIN", **BOB,
             **{"attribute[shape]": "starfish", "attribute[What is this?]": "starfish"})
    assert r.status_code == 200, r.json


def test_valid_request_in_json_and_xml(services, oc, api_key):
    form = {"api_key": api_key, "service_code": "POT", **BOB, "attribute[depth]": 100,
            "attribute[shape]": "triangle"}
    r = post(oc, **form)
    assert r.status_code == 200, r.json
    assert len(r.json) == 1 and set(r.json[0]) == {"service_request_id", "service_notice"}
    first = r.json[0]["service_request_id"]
    assert isinstance(first, str)

    r = post(oc, "xml", **form)
    assert r.status_code == 200 and r.content_type == "text/xml; charset=utf-8"
    assert r.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(r.data)
    assert root.tag == "service_requests" and [e.tag for e in root] == ["request"]
    second = root.find("request/service_request_id").text
    assert second and second != first
    assert root.find("request/service_notice").text

    # both are real complaints, readable back by id
    for tid in (first, second):
        one = oc.get(f"{P}/requests/{tid}.json").json
        assert one[0]["service_code"] == "POT" and one[0]["address"] == "22 Acacia Avenue"


def test_optional_singlevaluelist_left_empty(services, oc, api_key):
    r = post(oc, api_key=api_key, service_code="POT", **BOB,
             **{"attribute[depth]": 100, "attribute[shape]": ""})  # Nothing picked
    assert r.status_code == 200, r.json


def test_optional_multivaluelist_left_empty(services, oc, api_key):
    r = oc.post(f"{P}/requests.json", data={"api_key": api_key, "service_code": "POT", **BOB,
                                            "attribute[depth]": "7", "attribute[hazards][]": ""})
    assert r.status_code == 200, r.json
    r = oc.post(f"{P}/requests.json", data={"api_key": api_key, "service_code": "POT", **BOB,
                                            "attribute[depth]": "7",
                                            "attribute[hazards][]": ["water", "glass"]})
    assert r.status_code == 200, r.json
    r = oc.post(f"{P}/requests.json", data={"api_key": api_key, "service_code": "POT", **BOB,
                                            "attribute[depth]": "7",
                                            "attribute[hazards][]": ["water", "sharks"]})
    assert r.status_code == 400 and "sharks" in r.json[0]["description"]
