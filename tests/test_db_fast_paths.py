"""aduan.db's fast paths give the rows peewee's own queries give, on SQLite and PostgreSQL.

``among`` (a list as one parameter), ``select_related`` (a column list compiled once) and
``fetch_related`` (instances built without peewee's join machinery) serve the staff lists and every
authenticated request; the list tests compare whole pages with each complaint's own page, these
compare the helpers with peewee directly."""
from __future__ import annotations

from aduan.db import _PROJECTIONS, among, database, fetch_related, select_related
from aduan.models import Agency, Complaint, Region, Reporter, Token, User
from aduan.testing import seed_basics


def test_among_matches_in_for_numbers_text_and_nothing(make_app):
    app = make_app()
    with app.app_context(), database.connection_context():
        seed_basics()
        ids = [u.id for u in User.select()]
        names = [u.username for u in User.select()]
        for values in (ids[:3], ids, [], [10 ** 9]):
            got = sorted(u.id for u in User.select().where(among(User.id, values)))
            assert got == sorted(u.id for u in User.select().where(User.id.in_(values))) if values else got == []
        for values in (names[:2], ["nobody", names[0]], ["o'reilly \"quoted\""]):
            got = sorted(u.username for u in User.select().where(among(User.username, values)))
            assert got == sorted(u.username for u in User.select().where(User.username.in_(values)))


def test_fetch_related_builds_what_peewee_builds(make_app):
    app = make_app()
    client = app.test_client()
    with app.app_context(), database.connection_context():
        seed_basics()
    r = client.post("/api/v1/complaints", json={"title": "Lampu mati", "body": "Lampu jalan mati sejak kemarin",
                                                "category": "jalan", "region_code": "52.71",
                                                "reporter": {"name": "Baiq", "phone": "081907123456"}})
    assert r.status_code == 201, r.json
    client.post("/api/v1/complaints", json={"body": "Tanpa kategori dan tanpa pelapor", "anonymous": True})
    related = {"agency": Agency, "region": Region, "reporter": Reporter}
    with app.app_context(), database.connection_context():
        q = select_related(Complaint, related).order_by(Complaint.id)
        assert select_related(Complaint, related).sql() == select_related(Complaint, related).sql()
        assert _PROJECTIONS[(Complaint, tuple(related.items()), app.config["DATABASE_URL"].startswith("postgres"))][0]
        fast = fetch_related(q, Complaint, related)
        slow = list(Complaint.select().order_by(Complaint.id))
        assert len(fast) == len(slow) == 2
        for a, b in zip(fast, slow):
            assert a.__data__ == b.__data__ and not a._dirty
            for name in related:
                x, y = getattr(a, name), getattr(b, name)  # b reads the row lazily
                assert (x is None and y is None) or x.__data__ == y.__data__
        assert fast[0].reporter.name == "Baiq" and fast[0].region.code == "52.71"
        assert fast[1].reporter is None and fast[1].agency is None
        # the token lookup of every authenticated request goes through the same path
        tok = fetch_related(select_related(Token, {"user": User}).where(User.username == "koord"), Token, {"user": User})
        assert [t.user.role for t in tok] == ["coordinator"]
