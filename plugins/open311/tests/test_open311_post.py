"""The write side: POST requests (filing through the core's services, privacy, attributes, media,
tokens), POST servicerequestupdates (FixMyStreet's extension) and bad input never being a 500.
JSON answers are validated against the open311 project's GeoReport v2 Swagger definitions."""
from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft4Validator

# the smallest PNG header the core's type sniffing recognises
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 64

P = "/api/v1/plugins/open311"
SWAGGER = json.loads((Path(__file__).parent / "data" / "georeport-v2" / "swagger.json").read_text())


def validate_definition(name: str, instance) -> None:
    """Validate against a definition of the open311/schema-validation GeoReport v2 Swagger document."""
    schema = {"$ref": f"#/definitions/{name}", "definitions": SWAGGER["definitions"]}
    errors = list(Draft4Validator(schema).iter_errors(instance))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def file(client, api_key, fmt="json", *, data=None, **form):
    body = {"api_key": api_key, "service_code": "sampah", "lat": "-8.58", "long": "116.12",
            "attribute[jenis]": "plastik", **form}
    return client.post(f"{P}/requests.{fmt}", data=data if data is not None else body)


def _db(world):
    from aduan.db import database

    ctx = world.app.app_context()
    ctx.push()
    conn = database.connection_context()
    conn.__enter__()
    return ctx, conn


@pytest.fixture
def db(world):
    ctx, conn = _db(world)
    yield
    conn.__exit__(None, None, None)
    ctx.pop()


# --- POST requests ---------------------------------------------------------------------------------

def test_a_request_becomes_a_complaint_of_the_open311_channel(world, oc, api_key, db):
    from aduan.models import Complaint, Event
    from aduan_open311.models import Open311Request

    r = file(oc, api_key, description="Tumpukan sampah plastik di depan pasar", address_string="Pasar Kebon Roek",
             **{"attribute[volume]": "2.5", "email": world.pii["email"], "first_name": "Lalu", "last_name": "Zainuddin",
                "phone": world.pii["phone"], "account_id": "fms-user-17", "device_id": "android-123"})
    assert r.status_code == 200, r.json
    validate_definition("RequestResponse", r.json[0])
    assert set(r.json[0]) == {"service_request_id", "service_notice", "account_id"}
    assert r.json[0]["account_id"] == "fms-user-17"
    tid = r.json[0]["service_request_id"]
    c = Complaint.get(Complaint.tracking_id == tid)
    assert (c.channel, c.status, c.category.code, c.anonymous) == ("open311", "received", "sampah", False)
    assert c.reporter.email == world.pii["email"] and c.reporter.name == "Lalu Zainuddin"
    assert (c.lat, c.lng, c.address) == (-8.58, 116.12, "Pasar Kebon Roek")
    assert c.title == "Tumpukan sampah plastik di depan pasar"
    # the answers to the category's questions: in the text officers read, and kept structured
    assert "Jenis sampah: Plastik" in c.body and "Perkiraan volume (m3): 2.5" in c.body
    row = Open311Request.get(Open311Request.complaint == c)
    assert row.attributes == {"jenis": "plastik", "volume": "2.5"}
    ev = Event.get(Event.complaint == c)
    assert (ev.type, ev.source, ev.actor_role) == ("file", "open311", "integration")
    # the notice names the verification deadline in the deployment's zone
    assert "WITA" in r.json[0]["service_notice"]
    # nothing personal in any public answer: by id, nor the device id anywhere in the database row
    one = oc.get(f"{P}/requests/{tid}.json", query_string={"extensions": "true"}).get_data(as_text=True)
    for marker in (world.pii["email"], world.pii["phone"], "Zainuddin", "android-123", "fms-user-17"):
        assert marker not in one
    assert "android-123" not in json.dumps(row.__data__, default=str)


def test_no_contact_means_anonymous(world, oc, api_key, db):
    from aduan.models import Complaint

    r = file(oc, api_key, description="Sampah menumpuk")
    c = Complaint.get(Complaint.tracking_id == r.json[0]["service_request_id"])
    assert c.anonymous is True and c.reporter is None


def test_location_is_required_and_address_id_is_a_region(world, oc, api_key, db):
    from aduan.models import Complaint

    body = {"api_key": api_key, "service_code": "sampah", "attribute[jenis]": "organik"}
    r = oc.post(f"{P}/requests.json", data=body)
    assert r.status_code == 400 and "address_string" in r.json[0]["description"]
    r = oc.post(f"{P}/requests.json", data={**body, "address_id": "99.99"})
    assert r.status_code == 400 and "address_id" in r.json[0]["description"]
    r = oc.post(f"{P}/requests.json", data={**body, "address_id": "52.71.01"})
    assert r.status_code == 200
    assert Complaint.get(Complaint.tracking_id == r.json[0]["service_request_id"]).region_id == "52.71.01"
    r = oc.post(f"{P}/requests.json", data={**body, "lat": "-8.5"})
    assert r.status_code == 400 and "long" in r.json[0]["description"]


def test_scopes_of_the_api_key(world, oc, make_key):
    from aduan_open311.models import Open311Request

    no_channel = make_key(world.app, "portal-bot", ["complaints:file"])
    no_file = make_key(world.app, "reader", ["channel:open311", "complaints:read"])
    for key in (no_channel, no_file, world.seed.integration, world.seed.admin):
        r = file(oc, key)
        assert r.status_code == 403 and r.json[0]["code"] == 403, key
    with world.app.app_context():
        assert Open311Request.select().count() == 0


def test_errors_list_every_attribute_problem_in_the_requested_language(world, oc, api_key):
    from aduan.db import database
    from aduan.models import Category
    from aduan_open311.models import Open311Attribute

    with world.app.app_context(), database.connection_context():
        Open311Attribute.create(category=Category.get(Category.code == "sampah"), code="sejak", datatype="datetime",
                                required=True, description="Sejak kapan", order=3)
    r = file(oc, api_key, **{"attribute[jenis]": "kaca", "attribute[volume]": "1e999", "attribute[sejak]": "kemarin"})
    assert r.status_code == 400
    text = [e["description"] for e in r.json]
    assert len(text) == 3 and all(e["code"] == 400 for e in r.json)
    assert "kaca" in text[0] and "attribute[volume]" in text[1] and "attribute[sejak]" in text[2]
    en = oc.post(f"{P}/requests.xml?lang=en", data={"api_key": api_key, "service_code": "sampah",
                                                    "lat": "1", "long": "1"})
    root = ET.fromstring(en.data)
    assert en.status_code == 400 and root.tag == "errors"
    assert root.find("error/description").text.startswith("attribute[jenis] is required")


def test_multipart_media_goes_through_the_core_attachment_service(world, oc, api_key, db):
    import io

    from aduan.models import Attachment, Complaint

    r = oc.post(f"{P}/requests.json", content_type="multipart/form-data",
                data={"api_key": api_key, "service_code": "sampah", "address_string": "Jl. Udayana",
                      "attribute[jenis]": "plastik", "description": "Lihat foto",
                      "media": (io.BytesIO(PNG), "foto.png")})
    assert r.status_code == 200, r.json
    c = Complaint.get(Complaint.tracking_id == r.json[0]["service_request_id"])
    att = Attachment.get(Attachment.complaint == c)
    assert (att.content_type, att.uploaded_by, att.filename) == ("image/png", "reporter", "foto.png")

    # a file whose bytes are no allowed type is refused, and no complaint is left behind
    before = Complaint.select().count()
    r = oc.post(f"{P}/requests.json", content_type="multipart/form-data",
                data={"api_key": api_key, "service_code": "sampah", "address_string": "Jl. Udayana",
                      "attribute[jenis]": "plastik", "media": (io.BytesIO(b"MZ\x90\x00" + b"\x00" * 64), "foto.png")})
    assert r.status_code == 400 and r.json[0]["description"].startswith("media")
    assert Complaint.select().count() == before


def test_media_url_is_stored_as_a_link_and_served(world, oc, api_key, db):
    from aduan import services
    from aduan.auth import system
    from aduan.models import Complaint

    url = "https://fms.example/photo/17.jpeg"
    r = file(oc, api_key, description="Foto di tautan", media_url=url)
    tid = r.json[0]["service_request_id"]
    services.perform(Complaint.get(Complaint.tracking_id == tid), "verify", system("test"))
    assert oc.get(f"{P}/requests/{tid}.json").json[0]["media_url"] == url
    assert url in Complaint.get(Complaint.tracking_id == tid).body
    for bad in ("file:///etc/passwd", "javascript:alert(1)", "https://user:pw@fms.example/x", "http://"):
        r = file(oc, api_key, media_url=bad)
        assert r.status_code == 400 and "media_url" in r.json[0]["description"], bad


def test_a_deferred_service_answers_a_token(make_app, build_world, make_key):
    from aduan.db import database
    from aduan.testing import seed_basics

    app = make_app({"PLUGINS": ["open311"], "OPEN311_SERVICE_TYPE": "batch"})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    w = build_world(app, seed)
    client = app.test_client()
    key = make_key(app, "fms")
    r = file(client, key)
    assert r.status_code == 200
    validate_definition("RequestResponse", r.json[0])
    assert "token" in r.json[0] and "service_request_id" not in r.json[0]
    token = r.json[0]["token"]
    t = client.get(f"{P}/tokens/{token}.json")
    assert t.status_code == 200 and len(t.json) == 1
    validate_definition("TokenResponse", t.json[0])
    tid = t.json[0]["service_request_id"]
    assert t.json[0]["token"] == token and client.get(f"{P}/requests/{tid}.json").status_code == 200
    xml = ET.fromstring(client.get(f"{P}/tokens/{token}.xml").data)
    assert xml.tag == "service_requests" and xml.find("request/service_request_id").text == tid
    missing = client.get(f"{P}/tokens/nope.json")
    assert missing.status_code == 404 and missing.json[0]["code"] == 404
    assert w.ids  # the world's complaints are untouched by tokens


def test_tokens_answer_on_a_realtime_server_too(world, oc, api_key, db):
    from aduan_open311.models import Open311Request

    tid = file(oc, api_key).json[0]["service_request_id"]
    token = Open311Request.get().token
    assert oc.get(f"{P}/tokens/{token}.json").json == [{"service_request_id": tid, "token": token}]


def test_json_bodies_are_accepted(world, oc, api_key):
    r = oc.post(f"{P}/requests.json", json={"api_key": api_key, "service_code": "sampah", "lat": -8.6,
                                            "long": 116.1, "attribute": {"jenis": "organik", "volume": 3}})
    assert r.status_code == 200, r.json
    r = oc.post(f"{P}/requests.json", json=["not", "an", "object"])
    assert r.status_code == 400


@pytest.mark.parametrize("field,value", [
    ("lat", "9" * 20), ("lat", "1e400"), ("lat", "nan"), ("long", "-9" * 10), ("attribute[volume]", "9" * 40),
    ("description", "x" * 4001), ("email", "bukan-email"), ("description", "ada\x00NUL"),
    ("address_id", "5" * 40),
    ("attribute[jenis]", "organik\x00"), ("first_name", "n" * 101), ("media_url", "https://x.example/" + "a" * 3000),
])
def test_bad_input_is_a_4xx_never_a_500(world, oc, api_key, field, value):
    for fmt in ("json", "xml"):
        r = file(oc, api_key, fmt, **{field: value})
        assert r.status_code < 500, (field, r.status_code)
        if r.status_code >= 400:
            assert r.status_code in (400, 404)


def test_a_body_over_the_limit_is_a_georeport_413(make_app, make_key):
    from aduan.db import database
    from aduan.testing import seed_basics

    app = make_app({"PLUGINS": ["open311"], "MAX_CONTENT_LENGTH": 2048})
    with app.app_context(), database.connection_context():
        seed_basics()
    key = make_key(app, "fms")
    for fmt in ("json", "xml"):
        r = app.test_client().post(f"{P}/requests.{fmt}", data={"api_key": key, "service_code": "jalan",
                                                                "address_string": "x", "description": "y" * 4000})
        assert r.status_code == 413
        body = r.json[0] if fmt == "json" else {"code": int(ET.fromstring(r.data).find("error/code").text)}
        assert body["code"] == 413


def test_lone_surrogates_are_no_500(world, oc, api_key):
    """Half an emoji: as invalid UTF-8 in a form (%ED%A0%80) and as a JSON escape ("\\ud800")."""
    from urllib.parse import urlencode

    base = urlencode({"api_key": api_key, "lat": "-8.6", "long": "116.1", "attribute[jenis]": "plastik"})
    for extra in ("service_code=%ED%A0%80", "service_code=sampah&description=%ED%A0%80%20setengah",
                  "service_code=sampah&attribute%5B%ED%A0%80%5D=x"):
        r = oc.post(f"{P}/requests.json", data=f"{base}&{extra}",
                    content_type="application/x-www-form-urlencoded")
        assert r.status_code in (200, 400, 404), (extra, r.status_code)
    raw = ('{"api_key": "%s", "service_code": "sampah", "lat": -8.6, "long": 116.1, '
           '"attribute": {"jenis": "plastik"}, "description": "\\ud800 setengah"}' % api_key)
    r = oc.post(f"{P}/requests.json", data=raw, content_type="application/json")
    assert r.status_code == 200, r.json
    upd = urlencode({"api_key": api_key, "update_id": "x", "status": "open"}) + "&service_request_id=%ED%A0%80"
    r = oc.post(f"{P}/servicerequestupdates.json", data=upd, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400


def test_jurisdiction_limits_the_region(make_app, build_world, make_key):
    from aduan.db import database
    from aduan.models import Complaint
    from aduan.testing import seed_basics

    app = make_app({"PLUGINS": ["open311"], "OPEN311_JURISDICTIONS": {"mataram": "52.71", "lobar": "52.01"}})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    build_world(app, seed)
    client = app.test_client()
    key = make_key(app, "fms")
    base = {"api_key": key, "service_code": "sampah", "attribute[jenis]": "plastik", "address_string": "Cakra"}
    assert client.post(f"{P}/requests.json", data=base).status_code == 400  # which jurisdiction?
    assert client.post(f"{P}/requests.json", data={**base, "jurisdiction_id": "x"}).status_code == 404
    r = client.post(f"{P}/requests.json", data={**base, "jurisdiction_id": "mataram", "address_id": "52.01.01"})
    assert r.status_code == 400
    r = client.post(f"{P}/requests.json", data={**base, "jurisdiction_id": "mataram"})
    assert r.status_code == 200
    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == r.json[0]["service_request_id"])
        assert c.region_id == "52.71"


# --- POST servicerequestupdates ------------------------------------------------------------------------

def update(client, api_key, tid, update_id, status="OPEN", fmt="json", **extra):
    return client.post(f"{P}/servicerequestupdates.{fmt}",
                       data={"api_key": api_key, "service_request_id": tid, "update_id": update_id,
                             "status": status, "updated_datetime": "2026-12-01T10:00:00+08:00", **extra})


@pytest.fixture
def filed(world, oc, api_key):
    """A request filed by the client and verified (so it is listed and has updates)."""
    from aduan import services
    from aduan.auth import system
    from aduan.db import database

    tid = file(oc, api_key, description="Sampah di selokan").json[0]["service_request_id"]
    with world.app.app_context(), database.connection_context():
        services.perform(tid, "verify", system("test"))
    return tid


def test_an_update_becomes_a_reply_on_the_timeline_once(world, oc, api_key, filed, db):
    from aduan.models import Complaint, Event

    r = update(oc, api_key, filed, "fms-501", description="Sekarang baunya menyengat",
               media_url="https://fms.example/photo/501.jpeg")
    assert r.status_code == 200, r.json
    assert set(r.json[0]) == {"update_id"}
    eid = r.json[0]["update_id"]
    ev = Event.get_by_id(int(eid))
    assert (ev.type, ev.actor_role, ev.source, ev.visibility) == ("reply", "reporter", "open311", "public")
    assert ev.text.startswith("Sekarang baunya menyengat")
    # GET servicerequestupdates shows it with the same id (FixMyStreet skips what it sent itself)
    got = {u["update_id"]: u for u in oc.get(f"{P}/servicerequestupdates.json").json}
    assert got[eid]["service_request_id"] == filed and got[eid]["media_url"] == "https://fms.example/photo/501.jpeg"

    again = update(oc, api_key, filed, "fms-501", description="Sekarang baunya menyengat")
    assert again.status_code == 400 and "fms-501" in again.json[0]["description"]
    assert Event.select().where(Event.type == "reply").count() == 1
    assert Complaint.get(Complaint.tracking_id == filed).status == "dispatched"


def test_unknown_or_foreign_requests_are_a_400(world, oc, api_key, filed, make_key):
    r = update(oc, api_key, "ZZZZZZZZ", "u1")
    assert r.status_code == 400 and r.json[0]["code"] == 400
    # a complaint filed on the web, and one filed by another Open311 client, are unknown to this key
    assert update(oc, api_key, world.ids["open"], "u2").status_code == 400
    other = make_key(world.app, "other-client")
    assert update(oc, other, filed, "u3").status_code == 400
    assert update(oc, "no-key", filed, "u4").status_code == 403
    r = update(oc, api_key, filed, "u5", status="bogus")
    assert r.status_code == 400 and "status" in r.json[0]["description"]
    r = oc.post(f"{P}/servicerequestupdates.xml", data={"api_key": api_key, "service_request_id": filed})
    root = ET.fromstring(r.data)
    assert r.status_code == 400 and root.tag == "errors" and "update_id" in root.find("error/description").text


def test_fixed_closes_and_reopen_reopens_a_resolved_complaint(world, oc, api_key, filed, db):
    from aduan import services
    from aduan.auth import system
    from aduan.models import Complaint, Event

    services.perform(filed, "resolve", system("test"), text="Sudah diangkut")
    r = update(oc, api_key, filed, "u-reopen", status="REOPEN", description="Masih ada sampah")
    assert r.status_code == 200, r.json
    assert Complaint.get(Complaint.tracking_id == filed).status == "in_progress"
    assert Event.get_by_id(int(r.json[0]["update_id"])).type == "reopen"

    services.perform(filed, "resolve", system("test"), text="Sudah bersih")
    r = update(oc, api_key, filed, "u-fixed", status="FIXED", fmt="xml")
    assert r.status_code == 200
    root = ET.fromstring(r.data)
    assert root.tag == "service_request_updates" and root.find("request_update/update_id").text
    c = Complaint.get(Complaint.tracking_id == filed)
    assert c.status == "closed"
    # a closed complaint takes no more updates: a clear 400
    r = update(oc, api_key, filed, "u-late", description="Terima kasih")
    assert r.status_code == 400


def test_an_update_without_text_says_what_it_reported(world, oc, api_key, filed, db):
    from aduan.models import Event

    r = update(oc, api_key, filed, "u-empty", status="investigating", description="")
    assert r.status_code == 200
    ev = Event.get_by_id(int(r.json[0]["update_id"]))
    assert "investigating" in ev.text


@pytest.mark.parametrize("field,value", [("update_id", "9" * 200), ("updated_datetime", "0001-01-01T00:00:00+14:00"),
                                         ("updated_datetime", "kemarin"), ("description", "a\x00b"),
                                         ("service_request_id", "9" * 25), ("status", "9" * 30)])
def test_bad_updates_are_a_4xx_never_a_500(world, oc, api_key, filed, field, value):
    body = {"api_key": api_key, "service_request_id": filed, "update_id": "u-bad", "status": "open",
            "description": "x", field: value}
    r = oc.post(f"{P}/servicerequestupdates.json", data=body)
    assert r.status_code < 500, (field, r.status_code)


def test_the_same_update_posted_twice_at_once_is_recorded_once(world, waitress_root, api_key, filed):
    """Two deliveries of one update racing each other over real HTTP (a client retrying after a
    timeout): one is recorded, the other is a 400, the timeline holds one reply."""
    import threading

    import requests

    from aduan.db import database
    from aduan.models import Event

    url = f"{waitress_root}{P}/servicerequestupdates.json"
    body = {"api_key": api_key, "service_request_id": filed, "update_id": "race-1", "status": "open",
            "description": "Dikirim dua kali"}
    barrier = threading.Barrier(4)
    codes = []

    def send():
        barrier.wait()
        codes.append(requests.post(url, data=body, timeout=30).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 400, 400, 400]
    with world.app.app_context(), database.connection_context():
        assert Event.select().where((Event.type == "reply") & (Event.external_id == "race-1")).count() == 1
