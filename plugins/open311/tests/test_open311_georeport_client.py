"""An independent Open311 client (``georeport`` from PyPI) against a live server, in JSON and XML."""
from __future__ import annotations

import pytest
import requests
from georeport import GeoReport


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_lists_services_and_reads_requests(world, live_server, fmt):
    client = GeoReport(live_server, output_format=fmt)

    services = client.get_service_list()
    codes = {s["service_code"] for s in services}
    assert codes == {"jalan", "sampah", "lingkungan"}

    definition = client.get_service_definition("sampah")
    assert definition["service_code"] == "sampah"

    listed = client.get_service_requests()
    assert {r["service_request_id"] for r in listed} == {world.ids[k] for k in ("open", "anon", "closed", "other")}

    closed = client.get_service_requests(status="closed")
    if isinstance(closed, dict):  # xmltodict gives a dict for a single element
        closed = [closed]
    assert [r["service_request_id"] for r in closed] == [world.ids["closed"]]

    only = client.get_service_requests(service_request_id=world.ids["open"])
    if isinstance(only, dict):
        only = [only]
    assert only[0]["agency_responsible"] == "Dinas PUPR"

    filtered = client.get_service_requests(service_code="sampah")
    if isinstance(filtered, dict):
        filtered = [filtered]
    assert [r["service_request_id"] for r in filtered] == [world.ids["other"]]

    if fmt == "json":
        one = client.get_service_request(world.ids["open"])
        assert one["service_request_id"] == world.ids["open"] and one["status"] == "open"


def test_georeport_sees_unknown_ids_as_http_errors(world, live_server):
    client = GeoReport(live_server)
    with pytest.raises(requests.HTTPError) as err:
        client.get_service_definition("tidak-ada")
    assert err.value.response.status_code == 404
    assert err.value.response.json()[0]["code"] == 404



@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_request_filed_with_attributes_is_read_back_and_filtered_by_georeport(world, waitress_root, api_key, fmt):
    """georeport (0.3.1, the latest release) has no call for POST requests: the request is filed with
    a plain form POST, as the spec describes it, with georeport's own api_key; georeport then finds
    the service's questions, reads the request back and filters for it, over real HTTP."""
    from aduan import services
    from aduan.auth import system
    from aduan.db import database

    client = GeoReport(waitress_root + "/api/v1/plugins/open311", api_key=api_key, output_format=fmt)
    definition = client.get_service_definition("sampah")
    attrs = definition["attributes"]
    if isinstance(attrs, dict):  # xmltodict: {"attribute": [...]}
        attrs = attrs["attribute"]
    required = {a["code"]: a for a in attrs if str(a["required"]).lower() == "true"}
    assert set(required) == {"jenis"}
    values = required["jenis"]["values"]
    if isinstance(values, dict):
        values = values["value"]
    choice = values[1]["key"]  # plastik

    r = requests.post(f"{client.root_address}/requests.{fmt}",
                      data={"api_key": client.api_key, "service_code": "sampah", "lat": "-8.5801", "long": "116.1002",
                            "description": "Sampah plastik menyumbat saluran", f"attribute[jenis]": choice,
                            "attribute[volume]": "3"}, timeout=10)
    assert r.status_code == 200, r.text
    if fmt == "json":
        tid = r.json()[0]["service_request_id"]
    else:
        from xml.etree import ElementTree as ET

        tid = ET.fromstring(r.content).find("request/service_request_id").text

    # filed complaints are listed once verified (as the core's public list); a coordinator does so
    with world.app.app_context(), database.connection_context():
        services.perform(tid, "verify", system("test"))

    only = client.get_service_requests(service_request_id=tid)
    if isinstance(only, dict):
        only = [only]
    assert [o["service_request_id"] for o in only] == [tid]
    assert only[0]["service_code"] == "sampah" and only[0]["status"] == "open"
    assert "Jenis sampah: Plastik" in only[0]["description"]
    assert only[0]["agency_responsible"] == "Dinas Kesehatan"

    waste = client.get_service_requests(service_code="sampah", status="open")
    if isinstance(waste, dict):
        waste = [waste]
    assert {w["service_request_id"] for w in waste} == {tid, world.ids["other"]}
    assert tid not in {c["service_request_id"] for c in _as_list(client.get_service_requests(status="closed"))}
    if fmt == "json":
        one = client.get_service_request(tid)
        assert one["service_request_id"] == tid and float(one["lat"]) == -8.5801


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, dict) else value
