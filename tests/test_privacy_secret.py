"""Secret (rahasia) complaints and rating comments: what the public and other systems never read.

Issue #9 items 1 and 2: every text written by or about the reporter of a secret complaint stays
off the public timeline; rating comments are never public; secret complaints are out of every
public list, search and filter, and their public tracking page shows status and dates only.
"""
from __future__ import annotations

import datetime as dt
import json
import re

from aduan.testing import auth

TEXTS = {
    "title": "MRK-TITLE Suap perizinan di kecamatan",
    "body": "MRK-BODY Petugas meminta uang pelicin untuk izin usaha.",
    "address": "MRK-ADDR Jl. Pejanggik 12",
    "reply": "MRK-REPLY Nama oknumnya Pak X.",
    "hold": "MRK-HOLD Mohon kirim bukti transfer ke petugas.",
    "answer": "MRK-ANSWER Buktinya ada di tangan saya.",
    "respond": "MRK-RESPOND Inspektorat memeriksa petugas yang disebut.",
    "resolve": "MRK-RESOLVE Petugas telah diberi sanksi.",
    "reopen": "MRK-REOPEN Petugas yang sama masih meminta uang.",
    "resolve2": "MRK-RESOLVE2 Petugas dipindahkan.",
    "rate": "MRK-RATE Terima kasih, saya Ibu Siti dari RT 3.",
}


def file(client, **extra):
    body = {"title": "Jalan berlubang", "body": "Jalan di depan pasar berlubang.", "category": "jalan",
            "region_code": "52.71.01", "reporter": {"name": "Siti Rahmawati", "phone": "081805551234"}}
    body.update(extra)
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


def act(client, tid, action, headers, **body):
    r = client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=body, headers=headers)
    assert r.status_code == 200, (action, r.json)
    return r.json


def walk_secret_lifecycle(client, seed, **extra):
    """A secret complaint through every kind of text: replies, a hold and its answer, answers,
    a reopen reason and a rating comment."""
    tid, code = file(client, secret=True, title=TEXTS["title"], body=TEXTS["body"], address=TEXTS["address"],
                     lat=-8.58, lng=116.1, **extra)
    rep = {"X-Access-Code": code}
    off = auth(seed.officer_a)
    act(client, tid, "verify", auth(seed.coordinator), agency_id=seed.agency_a.id)
    act(client, tid, "reply", rep, text=TEXTS["reply"])
    act(client, tid, "hold", off, text=TEXTS["hold"])
    act(client, tid, "reply", rep, text=TEXTS["answer"])
    act(client, tid, "respond", off, text=TEXTS["respond"])
    act(client, tid, "resolve", off, text=TEXTS["resolve"])
    act(client, tid, "reopen", rep, text=TEXTS["reopen"])
    act(client, tid, "resolve", off, text=TEXTS["resolve2"])
    act(client, tid, "rate", rep, rating=2, text=TEXTS["rate"])
    return tid, code


def markers_in(payload) -> set[str]:
    return set(re.findall(r"MRK-[A-Z0-9]+", json.dumps(payload, ensure_ascii=False)))


def test_no_text_of_a_secret_complaint_reaches_the_public(client, seed):
    tid, code = walk_secret_lifecycle(client, seed)
    public = client.get(f"/api/v1/complaints/{tid}")
    assert public.status_code == 200
    assert markers_in(public.json) == set()
    # the reporter and the officer of the agency still read every text
    mine = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json
    assert {f"MRK-{k.upper()}" for k in ("reply", "answer", "reopen", "rate", "hold", "respond")} <= markers_in(mine)
    officer = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.officer_a)).json
    assert markers_in(officer) >= {"MRK-TITLE", "MRK-BODY", "MRK-ADDR", "MRK-REOPEN", "MRK-RATE", "MRK-ANSWER"}


def test_no_text_of_a_secret_complaint_reaches_an_integration_without_secret_grant(client, seed):
    tid, _ = walk_secret_lifecycle(client, seed)
    # seed.integration holds what pre-scope tokens kept: reading, but not secret content
    integ = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.integration))
    assert integ.status_code == 200 and integ.json["status"] == "closed"
    assert markers_in(integ.json) == set()
    listed = client.get("/api/v1/complaints", headers=auth(seed.integration)).json["items"]
    assert tid in [c["tracking_id"] for c in listed] and markers_in(listed) == set()


def test_rating_comment_is_never_public(client, seed):
    tid, code = file(client)
    act(client, tid, "verify", auth(seed.coordinator), agency_id=seed.agency_a.id)
    act(client, tid, "resolve", auth(seed.officer_a), text="Jalan sudah ditambal.")
    act(client, tid, "rate", {"X-Access-Code": code}, rating=4, text=TEXTS["rate"])
    public = client.get(f"/api/v1/complaints/{tid}").json
    assert "rating_comment" not in public
    rate = [e for e in public["timeline"] if e["type"] == "rate"]
    assert rate and rate[0]["text"] == "" and rate[0]["data"] == {"rating": 4}
    assert markers_in(public) == set()
    assert markers_in(client.get("/api/v1/complaints").json) == set()
    # those who see rating_comment on the complaint see it on the timeline too
    for headers in ({"X-Access-Code": code}, auth(seed.officer_a)):
        view = client.get(f"/api/v1/complaints/{tid}", headers=headers).json
        assert view["rating_comment"] == TEXTS["rate"]
        assert [e["text"] for e in view["timeline"] if e["type"] == "rate"] == [TEXTS["rate"]]


def test_secret_complaints_are_not_listed_searched_or_filtered_publicly(client, seed, db):
    from aduan.models import Complaint

    secret, _ = file(client, secret=True, title="Pungli MRK-SEARCH", region_code="52.71.01.1004")
    plain, _ = file(client, title="Pungli di pasar MRK-SEARCH")
    for tid in (secret, plain):
        act(client, tid, "verify", auth(seed.coordinator), agency_id=seed.agency_a.id)
    # both overdue for their follow-up
    Complaint.update(due_followup=dt.datetime(2020, 1, 1)).execute()

    def public_ids(query=""):
        r = client.get("/api/v1/complaints" + query)
        assert r.status_code == 200, r.json
        return [c["tracking_id"] for c in r.json["items"]]

    for query in ("", "?q=Pungli", "?q=MRK-SEARCH", "?overdue=true", "?region=52.71.01", "?status=dispatched",
                  f"?agency_id={seed.agency_a.id}", f"?category_id={seed.category.id}"):
        ids = public_ids(query)
        assert secret not in ids, query
        assert plain in ids, query
    assert public_ids("?region=52.71.01.1004") == []
    # staff still list it
    staff = client.get("/api/v1/complaints?overdue=true", headers=auth(seed.coordinator)).json["items"]
    assert secret in [c["tracking_id"] for c in staff]


def test_public_tracking_of_a_secret_complaint_shows_status_and_dates_only(client, seed):
    tid, _ = walk_secret_lifecycle(client, seed, region_code="52.71.01.1004", urgency="penting")
    view = client.get(f"/api/v1/complaints/{tid}").json
    assert view["tracking_id"] == tid and view["status"] == "closed" and view["secret"] is True
    assert view["status_label"]
    for key in ("created_at", "updated_at", "resolved_at", "closed_at"):
        assert view[key] is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00\+08:00", view[key]), (key, view[key])
    assert view["created_at"] and view["closed_at"]
    for key in ("region", "agency", "category", "title", "body", "address", "lat", "lng", "rating"):
        assert view.get(key) is None, key
    for key in ("kind", "urgency", "channel", "anonymous", "reporter", "rating_comment", "due", "extra"):
        assert key not in view, key
    assert view["attachments"] == []
    assert view["timeline"], "status changes are shown"
    for entry in view["timeline"]:
        assert set(entry) == {"id", "type", "from_status", "to_status", "created_at"}
        assert entry["to_status"] != entry["from_status"]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T00:00:00\+08:00", entry["created_at"])
    assert "Dinas" not in json.dumps(view) and "52.71" not in json.dumps(view)
