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
