"""Staff lists cost a constant number of queries per page, whatever the plugins.

Every first-party plugin is enabled (as ``make run`` enables them). Plugin fields (``extra``) come
from the batched ``complaint_extras`` hook: one call per page, so a page of 50 complaints costs as
many queries as a page of 5. The fields are the same as on each complaint's own page.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from aduan.db import database
from aduan.plugins import installed_plugins
from aduan.testing import auth, recording_queries, seed_basics

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted(p.name for p in (ROOT / "plugins").iterdir()
                 if (p / "pyproject.toml").exists() and p.name in installed_plugins())


@pytest.fixture
def listed(make_app):
    """60 complaints dispatched to agency A, some with LAPOR! tickets and jobs and with messages on
    each text channel."""
    assert {"lapor", "sms", "telegram", "whatsapp"} <= set(PLUGINS)
    app = make_app({"PLUGINS": PLUGINS, "SMS_GENERIC_SECRET": "generic-secret"})
    from aduan_lapor.models import LaporTicket
    from aduan_sms.models import SmsMessage
    from aduan_telegram.models import TelegramMessage
    from aduan_whatsapp.models import WhatsappMessage

    from aduan.jobs import enqueue
    from aduan.models import Complaint
    from aduan import JobRequest

    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    tids = []
    for i in range(60):
        r = client.post("/api/v1/complaints", json={"title": f"Jalan rusak {i}", "body": f"Lubang nomor {i}",
                                                    "category": "jalan"})
        assert r.status_code == 201, r.json
        tids.append(r.json["tracking_id"])
        r = client.post(f"/api/v1/complaints/{tids[-1]}/actions/verify", json={"agency_id": seed.agency_a.id},
                        headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
    with app.app_context(), database.connection_context():
        for i, tid in enumerate(tids):
            c = Complaint.get(Complaint.tracking_id == tid)
            if i % 3 == 0:
                LaporTicket.create(complaint=c, lapor_id=f"L{i}", state="created", status_name="Diproses")
            if i % 4 == 0:
                enqueue(JobRequest("lapor.poll_one", {"complaint_id": c.id}, key=f"t:{i}", complaint_id=c.id))
            for k in range(i % 3):
                SmsMessage.create(direction="in", provider="generic", provider_message_id=f"s{i}-{k}",
                                  status="received", complaint=c)
            if i % 5 == 0:
                TelegramMessage.create(direction="in", chat_id="42", status="received", complaint=c)
            if i % 7 == 0:
                WhatsappMessage.create(direction="in", address="+6281907123456", status="received", complaint=c)
    return app, client, seed


def page(client, token, limit):
    with recording_queries() as seen:
        r = client.get(f"/api/v1/complaints?limit={limit}", headers=auth(token))
    assert r.status_code == 200, r.json
    assert len(r.json["items"]) == limit
    return r.json["items"], len(seen)


@pytest.mark.parametrize("who", ["coordinator", "officer_a", "admin"])
def test_a_page_costs_the_same_queries_for_5_and_50_complaints(listed, who):
    app, client, seed = listed
    token = getattr(seed, who)
    client.get("/api/v1/complaints?limit=1", headers=auth(token))  # warm: token lookup caches, if any
    small, n_small = page(client, token, 5)
    big, n_big = page(client, token, 50)
    assert n_big == n_small, (n_small, n_big)
    assert n_big <= 12, n_big  # the token, the page, one per plugin with extras, and little else
    # the plugins' fields are there, and are what each complaint's own page shows
    assert any("lapor" in (v.get("extra") or {}) for v in big)
    assert any("sms" in (v.get("extra") or {}) for v in big)
    assert any("telegram" in (v.get("extra") or {}) for v in big)
    assert any("whatsapp" in (v.get("extra") or {}) for v in big)
    for v in big:
        one = client.get(f"/api/v1/complaints/{v['tracking_id']}", headers=auth(token)).json
        assert v.get("extra") == one.get("extra"), v["tracking_id"]


def test_the_public_list_shows_no_plugin_fields(listed):
    app, client, seed = listed
    r = client.get("/api/v1/complaints?limit=50")
    assert r.status_code == 200 and len(r.json["items"]) == 50
    assert all("extra" not in v for v in r.json["items"])


def test_cursor_pages_walk_newest_first_without_gaps(listed):
    app, client, seed = listed
    seen, cursor = [], None
    while True:
        url = "/api/v1/complaints?limit=7" + (f"&cursor={cursor}" if cursor else "")
        r = client.get(url, headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
        seen += [(v["created_at"], v["tracking_id"]) for v in r.json["items"]]
        cursor = r.json["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 60 == len({t for _, t in seen})
    assert [c for c, _ in seen] == sorted((c for c, _ in seen), reverse=True)


def test_list_items_are_each_complaints_own_view_in_the_schemas_shape(listed):
    """The list builds its rows without peewee's join machinery and writes its JSON without a
    marshmallow pass: every item must still be exactly what the complaint's own page shows the
    same viewer (timeline and attachments aside), in the documented ``ComplaintPage`` shape, for
    every audience and language, a secret complaint, an anonymous one and one with no agency included."""
    from aduan.api.schemas import ComplaintPage
    from aduan.models import Category

    app, client, seed = listed
    with app.app_context(), database.connection_context():
        Category.update(name_en="Roads").where(Category.id == seed.category.id).execute()
    filed = {}
    for key, extra in (("secret", {"secret": True, "reporter": {"name": "Wayan Rahasia", "phone": "081907123456"}}),
                       ("anonymous", {"anonymous": True, "reporter": {"name": "Tanpa Nama", "phone": "081907123457"}}),
                       ("named", {"reporter": {"name": "Baiq Nurul", "email": "baiq@example.id"},
                                  "region_code": "52.71"})):
        r = client.post("/api/v1/complaints", json={"title": f"Aduan {key}", "body": "Jalan berlubang di gang",
                                                    "category": "jalan", **extra})
        assert r.status_code == 201, r.json
        filed[key] = r.json["tracking_id"]
    for key in ("secret", "named"):  # verified into agency A: the officer and the public list see them
        r = client.post(f"/api/v1/complaints/{filed[key]}/actions/verify", json={"agency_id": seed.agency_a.id},
                        headers=auth(seed.coordinator))
        assert r.status_code == 200, r.json
    # "anonymous" stays received: no agency (a related row that is absent)
    for who in (None, seed.coordinator, seed.officer_a, seed.admin, seed.integration):
        headers = auth(who) if who else {}
        for lang in ("id", "en"):
            r = client.get(f"/api/v1/complaints?limit=12&lang={lang}", headers=headers)
            assert r.status_code == 200, r.json
            items = r.json["items"]
            assert ComplaintPage().dump(r.json) == r.json
            shown = {v["tracking_id"] for v in items}
            if who in (seed.coordinator, seed.admin):
                assert set(filed.values()) <= shown
            for v in items:
                one = client.get(f"/api/v1/complaints/{v['tracking_id']}?lang={lang}", headers=headers)
                assert one.status_code == 200, one.json
                own = {k: x for k, x in one.json.items() if k not in ("timeline", "attachments")}
                assert v == own, v["tracking_id"]
            if lang == "en" and who:
                assert any(v["category"] and v["category"]["name"] == "Roads" for v in items)
