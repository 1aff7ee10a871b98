"""The list's text search ``q`` finds the same complaints however the database serves it: SQLite
scans; PostgreSQL walks the trigram indexes of migration 0011 (forced here with
``enable_seqscan=off``, as at a million complaints the planner chooses them by itself).

Matching is a case-insensitive substring of the title or the body, ``%`` and ``_`` are plain
characters, and secret complaints are never matched for the public. Every search runs twice: as a
small database runs it (the plain condition) and as a million complaints run a rare term
(``aduan.search``: a few rare trigrams asked of the index, the exact substring checked on the
candidates, the candidates sorted), which must find the very same complaints.
"""
from __future__ import annotations

import pytest

from aduan.db import database, is_postgres
from aduan.testing import auth, recording_queries, seed_basics

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


@pytest.fixture(params=["plain", "rare-trigrams"])
def filed(make_app, monkeypatch, request):
    import os

    from aduan import search

    if request.param == "rare-trigrams":  # as at a million complaints, every term taken as rare
        monkeypatch.setattr(search, "MIN_ROWS", 0)
        monkeypatch.setattr(search, "WALK_FRACTION", 2.0)
        monkeypatch.setattr(search, "COMMON_TRIGRAM", 2.0)  # and every trigram rare enough to ask for
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


@pytest.mark.parametrize("q", ["jalan", "rusak", "di"])
def test_search_pages_by_cursor_newest_first(filed, q):
    """One complaint a page, by cursor: every match once, newest first, in either way of searching."""
    app, client, seed, tids = filed
    seen, cursor = [], None
    while True:
        args = {"q": q, "limit": 1, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/complaints", query_string=args, headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
        seen += [v["tracking_id"] for v in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    filed_order = list(tids)  # filed one after the other: the last is the newest
    assert seen == sorted(expected(tids, q, public=False), key=filed_order.index, reverse=True)


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


def trigram_app(make_app, *, seqscan: bool = True):
    """``(app, client, seed)`` on the PostgreSQL test database with ``pg_trgm`` (else the test is
    skipped); ``seqscan=False``: the planner may not scan the table, as at a million complaints."""
    import os

    pg_url = os.environ.get("ADUAN_TEST_DATABASE_URL", "")
    if not pg_url.startswith("postgres"):
        pytest.skip("PostgreSQL only")
    sep = "&" if "?" in pg_url else "?"
    app = make_app({} if seqscan else {"DATABASE_URL": pg_url + sep + "options=-c%20enable_seqscan%3Doff"})
    with app.app_context(), database.connection_context():
        if not database.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone():
            pytest.skip("pg_trgm is not available to this role")
        seed = seed_basics()
    return app, app.test_client(), seed


def list_sql(app, client, headers, q):
    """The list query (SQL, params) a ``GET /api/v1/complaints?q=…`` ran."""
    with recording_queries() as seen:
        r = client.get("/api/v1/complaints", query_string={"q": q}, headers=headers)
    assert r.status_code == 200, r.json
    return next(x for x in seen if "ORDER BY" in x[0] and "LIMIT" in x[0])


def test_postgres_rare_phrase_asks_the_index_only_for_rare_trigrams(make_app, monkeypatch):
    """At a million complaints "gantung di Senaru" took 0.2 s: GIN intersected the posting lists of
    all its trigrams, " di" and "di " (in almost every text) included. The list's query now asks the
    trigram indexes only for rare trigrams of the phrase, and checks the phrase on the candidates."""
    from aduan import search

    app, client, seed = trigram_app(make_app, seqscan=False)
    # 200 texts with " di " in each, one of them the phrase; the sample is the whole table here
    monkeypatch.setattr(search, "MIN_ROWS", 0)
    monkeypatch.setattr(search, "WALK_FRACTION", 0.02)  # rare: in fewer than 2% of the texts (the phrase: 0.5%)
    for i in range(200):
        place = "Senaru" if i == 7 else ("Sembalun", "Narmada", "Kuta")[i % 3]
        topic = "Jembatan gantung" if i % 2 else "Jalan rusak"
        r = client.post("/api/v1/complaints", json={"title": f"{topic} di {place}",
                                                    "body": f"Warga melaporkan {topic.lower()} di {place} no {i}."})
        assert r.status_code == 201, r.json
    with app.app_context(), database.connection_context():
        database.execute_sql("ANALYZE complaint")
    headers = auth(seed.coordinator)
    r = client.get("/api/v1/complaints", query_string={"q": "gantung di Senaru"}, headers=headers)
    assert [v["title"] for v in r.json["items"]] == ["Jembatan gantung di Senaru"]

    sql, params = list_sql(app, client, headers, "gantung di Senaru")
    with app.app_context(), database.connection_context():
        database.execute_sql("SET enable_indexscan = off")  # 200 rows: show what the planner can use
        plan = "\n".join(r[0] for r in database.execute_sql("EXPLAIN " + sql, params))
        database.execute_sql("RESET enable_indexscan")
    assert "complaint_title_trgm" in plan and "complaint_body_trgm" in plan, plan
    assert "Seq Scan on complaint" not in plan, plan
    index_conds = [ln for ln in plan.splitlines() if "Index Cond" in ln and "trgm" not in ln and "~~*" in ln]
    assert index_conds and not any("gantung di senaru" in ln.lower() for ln in index_conds), plan
    assert all("%" in ln for ln in index_conds)
    # the phrase is common in this table ("Jembatan gantung" is in every other text): the plain
    # condition, and the planner's walk of the (created_at, id) index
    sql, _ = list_sql(app, client, headers, "jembatan gantung")
    assert '"created_at" DESC' in sql and "strpos" not in sql


def test_trigram_pieces_are_rare_substrings_of_the_term():
    from aduan.search import Stats, trigram_pieces

    places = ("senaru", "narmada", "sembalun", "kuta", "praya", "bima", "dompu", "selong", "gerung", "woha")
    st = Stats(rows=1_000_000, texts=[f"warga melaporkan jembatan gantung di {p}. mohon ditindaklanjuti."
                                      for p in places] * 10 + ["gangguan di tanjung"] * 100)
    pieces = trigram_pieces("gantung di Senaru", st)
    assert 1 <= len(pieces) <= 3 and all(p in "gantung di senaru" and len(p) == 3 and " " not in p for p in pieces)
    assert {"aru", "sen", "ena", "nar"} & set(pieces)  # Senaru's own trigrams: rare here
    assert "gan" not in pieces and "ung" not in pieces and "tun" not in pieces  # in half the texts or more
    assert trigram_pieces("gantung gangguan", st) == []  # only common trigrams: nothing worth asking
    # nothing to ask of the index: no three ASCII letters or digits in a row
    assert trigram_pieces("u 🙏", st) == [] and trigram_pieces("n_b", st) == [] and trigram_pieces("50%", st) == []
    assert all(p.isascii() for p in trigram_pieces("Kafé Senaru", st))


def test_postgres_search_sample_keeps_no_secret_text(make_app, monkeypatch):
    """The sample that chooses how to search (kept in each process's memory for an hour) never holds
    a secret (rahasia) complaint's text; the secret complaint is still found by staff."""
    from aduan import search

    app, client, seed = trigram_app(make_app)
    monkeypatch.setattr(search, "MIN_ROWS", 0)
    for i in range(30):
        secret = i % 10 == 3
        r = client.post("/api/v1/complaints", json={
            "title": "Pungli kartu keluarga" if secret else f"Jalan rusak no {i}",
            "body": f"Petugas kelurahan Zulkarnaen minta uang {i}" if secret else f"Aspal berlubang di gang {i}",
            "secret": secret})
        assert r.status_code == 201, r.json
    headers = auth(seed.coordinator)
    r = client.get("/api/v1/complaints", query_string={"q": "Zulkarnaen"}, headers=headers)
    assert r.status_code == 200 and len(r.json["items"]) == 3, r.json
    with app.app_context():
        st = search.stats()
    assert st is not None and len(st.texts) == 27
    assert not any("zulkarnaen" in t or "pungli" in t for t in st.texts)


@pytest.mark.parametrize("q", ["jalan", "rusak", "di"])
def test_search_pages_newer_by_before(filed, q):
    """The portal's "newer" pages (the page before the first complaint shown) give every match once,
    in order, in either way of searching; a rare search's newer page sorts its candidates as its
    older pages do (the row-value order of ``aduan.search``) rather than walking the list's index."""
    from aduan import listing
    from aduan.auth import Actor

    app, client, seed, tids = filed
    oldest_first = list(tids)
    want = [t for t in oldest_first if t in expected(tids, q, public=True)]
    public = Actor(role="public")
    with app.test_request_context(), database.connection_context():
        query, order = listing.filtered(public, {"q": q})
        seen, first = [], None
        # start below the oldest match: the newer pages, one complaint each, up to the newest
        older, _ = listing.page(query, order, limit=100)
        first = older[-1].id if older else None
        seen = [older[-1].tracking_id] if older else []
        while first:
            with recording_queries() as sql:
                rows, more = listing.page(query, order, limit=1, before=first)
            if len(order) == 1:  # the rare-trigram search: candidates sorted, also going newer
                page_sql = next(s for s, _ in sql if "ORDER BY" in s)
                assert 'ORDER BY ("t1"."created_at", "t1"."id") ASC' in page_sql, page_sql
            seen += [c.tracking_id for c in rows]
            first = rows[0].id if rows and more else None
    assert seen == want
