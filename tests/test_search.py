"""The list's text search ``q`` finds the same complaints however the database serves it: SQLite
scans; PostgreSQL walks the trigram indexes of migration 0011 (forced here with
``enable_seqscan=off``, as at a million complaints the planner chooses them by itself).

Matching is a case-insensitive substring of the title or the body, ``%`` and ``_`` are plain
characters, and secret complaints are never matched for the public.
"""
from __future__ import annotations

import pytest

from aduan.db import database, is_postgres
from aduan.testing import auth, seed_basics

TEXTS = [
    ("Jalan berlubang di Narmada", "Lubang besar dekat masjid, bahaya untuk motor."),
    ("Lampu jalan mati", "Sudah seminggu gelap di Gang Melati, rawan kecelakaan."),
    ("Banjir", "Drainase tersumbat sampah, BANJIR setiap hujan di Ampenan."),
    ("Diskon 50% palsu", "Spanduk menipu: diskon_besar di pasar Cakranegara."),
    ("Air PDAM keruh", "Air keruh dan berbau sejak Senin di Sekarbela."),
    ("Pungutan liar", "Petugas parkir meminta uang lebih di Senggigi (rahasia)."),
    ("Jembatan gantung rusak", "Jembatan gantung di Senaru goyang, papan lepas."),
    ("Sekolah rusak", "Atap kelas bocor, murid belajar di teras — mohon dibantu 🙏"),
]
QUERIES = ["jalan", "JALAN", "banjir", "lubang besar", "50%", "diskon_", "%_", "n_b", "senaru", "gantung di senaru",
           "u 🙏", "tidak ada di mana pun", "ke", "Air keruh"]


@pytest.fixture
def filed(make_app):
    import os

    config = {}
    pg_url = os.environ.get("ADUAN_TEST_DATABASE_URL", "")
    if pg_url.startswith("postgres"):
        sep = "&" if "?" in pg_url else "?"
        config["DATABASE_URL"] = pg_url + sep + "options=-c%20enable_seqscan%3Doff"
    app = make_app(config)
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    tids = {}
    for i, (title, body) in enumerate(TEXTS):
        r = client.post("/api/v1/complaints", json={"title": title, "body": body, "secret": "rahasia" in body})
        assert r.status_code == 201, r.json
        tids[r.json["tracking_id"]] = (title, body, "rahasia" in body)
        r = client.post(f"/api/v1/complaints/{r.json['tracking_id']}/actions/verify",
                        json={"agency_id": seed.agency_a.id}, headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
    return app, client, seed, tids


def expected(tids, q, *, public):
    q = q.casefold()
    return {t for t, (title, body, secret) in tids.items()
            if (q in title.casefold() or q in body.casefold()) and not (public and secret)}


@pytest.mark.parametrize("q", QUERIES)
def test_search_finds_the_same_complaints(filed, q):
    app, client, seed, tids = filed
    for headers, public in ((auth(seed.coordinator), False), ({}, True)):
        r = client.get("/api/v1/complaints", query_string={"q": q, "limit": 100}, headers=headers)
        assert r.status_code == 200, r.json
        assert {v["tracking_id"] for v in r.json["items"]} == expected(tids, q, public=public), q


def test_postgres_search_uses_the_trigram_indexes(filed):
    app, client, seed, tids = filed
    with app.app_context(), database.connection_context():
        if not is_postgres():
            pytest.skip("PostgreSQL only")
        have = database.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone()
        if not have:
            pytest.skip("pg_trgm is not available to this role")
        plan = " ".join(r[0] for r in database.execute_sql(
            "EXPLAIN SELECT id FROM complaint WHERE title ILIKE %s OR body ILIKE %s", ("%senaru%", "%senaru%")))
    assert "complaint_title_trgm" in plan and "complaint_body_trgm" in plan, plan
