"""A small deployment with known complaints, shared by the open311 tests."""
from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass, field

import pytest

BASE_URL = "https://aduan.lombokbarat.example"
# Personal data a reporter gave: none of it may reach any Open311 response.
PII = {"name": "Lalu Muhammad Zainuddin", "phone": "081907123456", "email": "lalu.zainuddin@contoh.id",
       "nik": "5201014501900001"}
# the smallest PNG header the core's type sniffing recognises
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00" + b"\x00" * 64
SECRET_TITLE = "Pungutan liar oleh oknum kepala seksi"
SECRET_BODY = "Kepala seksi meminta uang pelicin di kantor desa"
SECRET_ADDRESS = "Kantor Desa Sandik, Batu Layar"


@dataclass
class World:
    app: object
    seed: object
    ids: dict = field(default_factory=dict)
    pii: dict = field(default_factory=lambda: dict(PII))
    secret: tuple = (SECRET_TITLE, SECRET_BODY, SECRET_ADDRESS)


def build_world(app, seed) -> World:
    """Complaints (now = the real clock, so the default 90-day window applies):

    ``open``: verified 10 days ago, in progress with PUPR, a public photo, lat/long, a named reporter;
    ``anon``: anonymous, verified 5 days ago; ``closed``: resolved and rated 20 days ago;
    ``secret``: verified, secret; ``unverified``: filed, never verified; ``old``: verified 200 days ago;
    ``other``: in kecamatan 52.71.02 of category ``sampah`` with DIKES.
    """
    from aduan import services
    from aduan.auth import Actor, system
    from aduan.db import database, utcnow
    from aduan.models import Category
    from aduan_open311.models import Open311Attribute

    w = World(app, seed)
    staff = system("test")
    now = utcnow().replace(microsecond=0)
    with app.app_context(), database.connection_context():
        parent = Category.create(code="lingkungan", name="Lingkungan Hidup", name_en="Environment")
        sampah = Category.create(code="sampah", name="Sampah", name_en="Waste", parent=parent,
                                 default_agency=seed.agency_b, keywords="sampah, tumpukan sampah,TPS")
        Open311Attribute.create(category=sampah, code="jenis", datatype="singlevaluelist", required=True,
                                description="Jenis sampah", order=1,
                                values=[{"key": "organik", "name": "Organik"}, {"key": "plastik", "name": "Plastik"}])
        Open311Attribute.create(category=sampah, code="volume", datatype="number", required=False,
                                description="Perkiraan volume (m3)", order=2)

        def file(key, days_ago, *, verify=True, **extra):
            when = now - dt.timedelta(days=days_ago)
            data = {"title": f"Keluhan {key}", "body": f"Isi keluhan {key}", "category": "jalan",
                    "region_code": "52.71.01"}
            data.update(extra)
            c, _code = services.file_complaint(data, actor=Actor(role="reporter"), now=when)
            if verify:
                services.perform(c, "verify", staff, now=when + dt.timedelta(hours=1))
            w.ids[key] = c.tracking_id
            return c

        c = file("open", 10, lat=-8.5833, lng=116.1167, address="Jl. Pejanggik, Mataram",
                 reporter={"name": PII["name"], "phone": PII["phone"], "email": PII["email"], "nik": PII["nik"]})
        services.perform(c, "respond", staff, text="Tim PUPR sudah meninjau lokasi",
                         now=now - dt.timedelta(days=9))
        services.add_attachment(c, staff, io.BytesIO(PNG), "lubang.png", now=now - dt.timedelta(days=9))
        file("anon", 5, anonymous=True, reporter={"name": "Baiq Anonim", "phone": "081234000111"})
        c = file("closed", 20)
        services.perform(c, "resolve", staff, text="Sudah diperbaiki", now=now - dt.timedelta(days=19))
        c = file("secret", 3, secret=True, title=SECRET_TITLE, body=SECRET_BODY, address=SECRET_ADDRESS)
        services.add_attachment(c, staff, io.BytesIO(PNG), "bukti.png", now=now - dt.timedelta(days=2))
        file("unverified", 1, verify=False)
        file("old", 200)
        file("other", 2, category="sampah", region_code="52.71.02")
    return w


@pytest.fixture(name="build_world")
def build_world_fixture():
    return build_world


@pytest.fixture
def o_app(make_app):
    return make_app({"PLUGINS": ["open311"], "BASE_URL": BASE_URL, "OPEN311_CONTACT": "diskominfo@example.go.id"})


@pytest.fixture
def world(o_app):
    from aduan.db import database
    from aduan.testing import seed_basics

    with o_app.app_context(), database.connection_context():
        seed = seed_basics()
    return build_world(o_app, seed)


@pytest.fixture
def oc(world):
    return world.app.test_client()


@pytest.fixture
def live_server(world):
    """The app served over real HTTP on a free local port (for independent clients)."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v1/plugins/open311"
    server.shutdown()
    thread.join()


OPEN311_SCOPES = ["channel:open311", "complaints:file"]


def make_key(app, username: str, scopes=OPEN311_SCOPES) -> str:
    """A token of a new integration account holding ``scopes`` (an Open311 ``api_key``)."""
    from aduan.auth import create_token
    from aduan.db import database
    from aduan.models import User

    with app.app_context(), database.connection_context():
        user = User.create(username=username, name=username, role="integration")
        return create_token(user, "open311", scopes=scopes)[1]


@pytest.fixture(name="make_key")
def make_key_fixture():
    return make_key


@pytest.fixture
def api_key(world):
    """The api_key of an Open311 client (say, a FixMyStreet front end)."""
    return make_key(world.app, "fms")


def free_port(lo: int = 5400, hi: int = 5499) -> int:
    """A free port in this project's test range."""
    import socket

    for port in range(lo, hi + 1):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {lo}-{hi}")


@pytest.fixture
def waitress_root(world):
    """The app served by waitress (the production server) on a port of the project's range."""
    from aduan.testing import waitress_in_thread

    with waitress_in_thread(world.app, port=free_port()) as server:
        yield f"http://127.0.0.1:{server.effective_port}"
