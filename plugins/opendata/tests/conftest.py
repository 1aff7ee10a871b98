"""A small deployment with known complaints, shared by the opendata tests."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

BASE_URL = "https://aduan.ntbprov.example"
# Personal data and free text seeded into the database: none of it may appear in any published file.
PII = {
    "name": "Siti Aminah Rahmawati",
    "phone_raw": "0812-3456-7890",
    "email": "siti.aminah@contoh.id",
    "nik": "5271014501900001",
    "title": "Jalan berlubang depan rumah Bu Siti",
    "body": "Sudah tiga bulan jalan di Gang Melati nomor tujuh berlubang dan anak saya jatuh",
    "address": "Jl. Melati No. 7, Ampenan",
    "lat": -8.5707321,
    "lng": 116.0727654,
    "rating_comment": "Petugasnya ramah sekali, terima kasih Pak Joko",
    "answer": "Tim PUPR sudah menambal lubang di Gang Melati",
    "secret_title": "Pungutan liar oleh oknum kepala seksi",
}


@dataclass
class World:
    app: object
    seed: object
    tracking_ids: list = field(default_factory=list)
    access_codes: list = field(default_factory=list)
    secret_tracking_id: str = ""


def _t(y, m, d, h=2):
    return dt.datetime(y, m, d, h, 0)


def build_world(app, seed) -> World:
    """Complaints in three months (naive UTC times; the deployment zone is Asia/Makassar, UTC+8).

    March 2026, PUPR, kecamatan 52.71.01, category jalan, in progress: 6 by web (one of them secret),
    5 by SMS (two filed with the code of a village in the kecamatan), 2 by e-mail; plus one unverified and one rejected (web).
    April 2026, PUPR, 52.71.01, web: 6 resolved and rated (closed); the first, with every kind of
    personal data, was filed 2026-03-31 20:00 UTC = 2026-04-01 04:00 WITA.
    May 2026, 52.71.01, web, in progress: 5 with PUPR, 2 with DIKES.
    """
    from aduan import services
    from aduan.auth import Actor, system
    from aduan.db import database

    w = World(app, seed)
    staff = system("test")
    with app.app_context(), database.connection_context():
        def file(when, channel="web", agency=None, secret=False, extra=None, region="52.71.01"):
            data = {"title": f"Keluhan {len(w.tracking_ids)}", "body": "Jalan rusak parah", "category": "jalan",
                    "region_code": region, "secret": secret}
            data.update(extra or {})
            c, code = services.file_complaint(data, actor=Actor(role="reporter"), channel=channel, now=when)
            w.tracking_ids.append(c.tracking_id)
            w.access_codes.append(code)
            if agency is not None:
                services.perform(c, "verify", staff, agency_id=agency.id, now=when + dt.timedelta(hours=1))
                services.perform(c, "respond", staff, text="Sedang kami tangani", now=when + dt.timedelta(hours=6))
            return c, code

        a, b = seed.agency_a, seed.agency_b
        for i in range(6):
            c, _ = file(_t(2026, 3, 2 + i), agency=a, secret=(i == 0),
                        extra={"title": PII["secret_title"]} if i == 0 else None)
            if i == 0:
                w.secret_tracking_id = c.tracking_id
        for i in range(5):  # two of them in a village (desa) of kecamatan 52.71.01
            file(_t(2026, 3, 9 + i), channel="sms", agency=a, region="52.71.01.1005" if i < 2 else "52.71.01")
        for i in range(2):
            file(_t(2026, 3, 16 + i), channel="email", agency=a)
        file(_t(2026, 3, 18))  # never verified
        c, _ = file(_t(2026, 3, 19))
        services.perform(c, "reject", staff, text="Spam", now=_t(2026, 3, 19, 5))

        for i in range(6):
            when = dt.datetime(2026, 3, 31, 20, 0) if i == 0 else _t(2026, 4, 6 + i)
            extra = None
            if i == 0:
                extra = {"title": PII["title"], "body": PII["body"], "address": PII["address"], "lat": PII["lat"],
                         "lng": PII["lng"], "anonymous": False,
                         "reporter": {"name": PII["name"], "phone": PII["phone_raw"], "email": PII["email"],
                                      "nik": PII["nik"]}}
            elif i == 1:
                extra = {"anonymous": True, "reporter": {"name": "Anon Pelapor", "phone": "081999888777"}}
            c, _ = file(when, agency=a, extra=extra)
            services.perform(c, "resolve", staff, text=PII["answer"], now=when + dt.timedelta(days=2))
            rep = Actor(role="reporter", complaint_id=c.id)
            services.perform(c, "rate", rep, rating=5 if i % 2 else 4,
                             text=PII["rating_comment"] if i == 0 else "", now=when + dt.timedelta(days=3))

        for i in range(5):
            file(_t(2026, 5, 4 + i), agency=a)
        for i in range(2):
            file(_t(2026, 5, 11 + i), agency=b)
    return w


@pytest.fixture
def pii():
    return dict(PII)


@pytest.fixture
def od_app(make_app, tmp_path):
    return make_app({"PLUGINS": ["opendata"], "BASE_URL": BASE_URL,
                     "OPENDATA_SNAPSHOT_DIR": str(tmp_path / "snapshots")})


@pytest.fixture
def world(od_app):
    from aduan.db import database
    from aduan.testing import seed_basics

    with od_app.app_context(), database.connection_context():
        seed = seed_basics()
    return build_world(od_app, seed)


@pytest.fixture
def published(world):
    """The world with one snapshot published by the worker's schedule."""
    from aduan.jobs import Worker

    counts = Worker(world.app).run_once()
    assert counts["schedules"] >= 1
    return world
