"""Citizens read Indonesian by default (English on request) and their own clock (WITA, +08:00).

Issue #9 items 14 and 15: every API message and field message through the gettext catalogue,
chosen by ``?lang=``, ``Accept-Language`` or the reporter's recorded language; every time served
with the deployment's offset and written for people with the zone's name.
"""
from __future__ import annotations

import datetime as dt
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from aduan.auth import Actor
from aduan.db import database
from aduan.models import Complaint, Event
from aduan.services import file_complaint, sla_sweep
from aduan.testing import auth

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "core/aduan/i18n/locales/id/LC_MESSAGES/aduan.po"
POT = ROOT / "core/aduan/i18n/aduan.pot"
EN = {"Accept-Language": "en-US,en;q=0.9"}
OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def _file(client, headers=None, **extra):
    body = {"title": "Jalan berlubang", "body": "Jalan di depan pasar berlubang besar.", "category": "jalan",
            "reporter": {"name": "Baiq Nurul", "phone": "0819 0712 3456"}}
    body.update(extra)
    body = {k: v for k, v in body.items() if v is not None}
    r = client.post("/api/v1/complaints", json=body, headers=headers or {})
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


# --- the catalogue ------------------------------------------------------------------------------

def _catalog(path):
    with open(path, "rb") as fh:
        return read_po(fh, locale="id")


def test_every_message_has_an_indonesian_translation():
    catalog = _catalog(PO)
    missing = [m.id for m in catalog if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not missing, f"fill these msgstr in {PO.relative_to(ROOT)}: {missing}"
    assert not fuzzy, f"review these fuzzy entries: {fuzzy}"
    template = {m.id for m in _catalog(POT) if m.id}
    assert template <= {m.id for m in catalog if m.id}, "run `make messages`"


def test_catalogue_is_not_stale(tmp_path):
    """`make messages` would change nothing: every text in the code is in the catalogue."""
    pybabel = Path(sys.executable).with_name("pybabel")
    if not pybabel.exists():
        pybabel = shutil.which("pybabel")
    makefile = (ROOT / "Makefile").read_text()
    keywords = re.search(r"pybabel extract -F babel.cfg (.*?) --no-location", makefile, re.S).group(1)
    keywords = keywords.replace("\\\n", " ").split()
    out = tmp_path / "aduan.pot"
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", *keywords, "--no-location", "--sort-output",
                    "-o", str(out), "core", "plugins"], cwd=ROOT, check=True)

    def entries(path):
        return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)) for m in _catalog(path) if m.id}

    fresh, committed = entries(out), entries(POT)
    assert fresh == committed, (f"stale catalogue, run `make messages`: new {sorted(fresh - committed, key=str)[:10]}, "
                                f"gone {sorted(committed - fresh, key=str)[:10]}")
    assert entries(PO) == fresh, "the Indonesian catalogue is not merged with the template: run `make messages`"


def test_field_message_table_covers_the_installed_libraries():
    """Every default message of the installed marshmallow and webargs is translated: an upgrade that
    adds one fails here until aduan/i18n/validation.py lists it."""
    from marshmallow import fields, schema, validate

    from aduan.i18n.validation import MESSAGES, translate_message

    found: set[str] = set()
    for _, cls in inspect.getmembers(fields, inspect.isclass):
        found.update(getattr(cls, "default_error_messages", {}).values())
    found.update(schema.Schema._default_error_messages.values())
    for _, cls in inspect.getmembers(validate, inspect.isclass):
        if issubclass(cls, validate.Validator) and cls is not validate.Range:
            found.update(v for k, v in vars(cls).items() if isinstance(v, str) and k.startswith(("message", "default_message")))
    for lo in (validate.Range.message_gte, validate.Range.message_gt):  # Range composes its messages
        found.add(validate.Range.message_min.format(min_op=lo))
        for hi in (validate.Range.message_lte, validate.Range.message_lt):
            found.add(validate.Range.message_all.format(min_op=lo, max_op=hi))
    for hi in (validate.Range.message_lte, validate.Range.message_lt):
        found.add(validate.Range.message_max.format(max_op=hi))
    from webargs import fields as webargs_fields

    for _, cls in inspect.getmembers(webargs_fields, inspect.isclass):
        found.update(vars(cls).get("default_error_messages", {}).values())
    found = {m.replace("{{", "{").replace("}}", "}") for m in found}
    assert found - set(MESSAGES) == set()
    # and each comes out in Indonesian (concrete values put back in place)
    from aduan.i18n import use_language

    with use_language("id"):
        assert translate_message("Missing data for required field.") == "Data wajib diisi."
        assert translate_message("Must be greater than or equal to 1 and less than or equal to 200.") == \
            "Harus lebih besar dari atau sama dengan 1 dan lebih kecil dari atau sama dengan 200."
        assert translate_message("Shorter than minimum length 2.") == "Lebih pendek dari panjang minimum 2."
        assert translate_message("a message of our own") == "a message of our own"


# --- item 14: messages in the reader's language -------------------------------------------------

def test_field_messages_are_indonesian_by_default_and_english_on_request(client, seed):
    r = client.post("/api/v1/complaints", json={"kind": "keluhan", "surprise": 1, "urgency": 3})
    assert r.status_code == 422
    errors = r.json["errors"]
    assert errors["body"] == ["Data wajib diisi."]
    assert errors["surprise"] == ["Kolom tidak dikenal."]
    assert errors["kind"] == ["Harus salah satu dari: pengaduan, aspirasi, permintaan_informasi."]
    assert errors["urgency"] == ["Bukan teks yang valid."]
    assert r.headers["Content-Language"] == "id"

    r = client.post("/api/v1/complaints", json={"kind": "keluhan"}, headers=EN)
    assert r.json["errors"]["body"] == ["Missing data for required field."]
    assert r.json["errors"]["kind"] == ["Must be one of: pengaduan, aspirasi, permintaan_informasi."]
    assert r.headers["Content-Language"] == "en"
    r = client.post("/api/v1/complaints?lang=en", json={})
    assert r.json["errors"]["body"] == ["Missing data for required field."]

    r = client.get("/api/v1/complaints?limit=abc&q=x", headers=auth(seed.admin))
    assert r.status_code == 422
    assert r.json["errors"]["limit"] == ["Bukan bilangan bulat yang valid."]
    assert r.json["errors"]["q"] == ["Panjang harus antara 2 dan 100."]
    r = client.get("/api/v1/complaints?limit=0", headers=auth(seed.admin))
    assert r.json["errors"]["limit"] == [
        "Harus lebih besar dari atau sama dengan 1 dan lebih kecil dari atau sama dengan 200."]
    r = client.post("/api/v1/complaints", json={"body": "x", "reporter": {"nik": "123", "email": "bukan"}})
    assert r.json["errors"]["reporter"] == {"nik": ["NIK harus 16 digit."], "email": ["Bukan alamat email yang valid."]}


def test_routes_bound_to_flask_smorests_default_parser_are_translated_too(client):
    """A plugin module imported before aduan.api decorates its routes with flask-smorest's shared
    parser: its errors go through the translation all the same."""
    import flask
    from flask_smorest.arguments import ArgumentsMixin
    from marshmallow import Schema, fields
    from webargs.flaskparser import FlaskParser

    from aduan.api.parser import PARSER

    class Q(Schema):
        n = fields.Integer(required=True)

    early = ArgumentsMixin.ARGUMENTS_PARSER  # flask-smorest's shared instance, held by routes decorated early
    assert isinstance(early, FlaskParser) and early is not PARSER
    with client.application.test_request_context("/?n=abc"):
        flask.g.aduan_language = "id"
        with pytest.raises(Exception) as exc:
            early.parse(Q(), location="query")
    assert exc.value.data["messages"] == {"query": {"n": ["Bukan bilangan bulat yang valid."]}}


def test_service_and_http_errors_follow_the_language(client, seed):
    r = client.post("/api/v1/complaints", json={"body": "Lampu mati", "category": "tidak-ada"})
    assert r.status_code == 422 and r.json["errors"]["category"] == ["Kategori tidak dikenal: tidak-ada"]
    assert r.json["message"] == "Masukan tidak valid."
    r = client.post("/api/v1/complaints", json={"body": "Lampu mati", "category": "tidak-ada"}, headers=EN)
    assert r.json["errors"]["category"] == ["Unknown category: tidak-ada"] and r.json["message"] == "Invalid input."

    assert client.get("/api/v1/complaints/ZZZZ2222").json["message"] == \
        "Tidak ada pengaduan dengan nomor pelacakan ZZZZ2222."
    assert client.get("/api/v1/complaints/ZZZZ2222?lang=en").json["message"] == \
        "No complaint with tracking id ZZZZ2222."
    assert client.get("/api/v1/tidak-ada").json["message"] == "Tidak ditemukan. Periksa alamatnya."
    r = client.delete("/api/v1/regions")
    assert r.status_code == 405 and r.json["message"] == "Metode ini tidak diizinkan di sini."
    assert client.delete("/api/v1/regions?lang=en").json["message"] == "This method is not allowed here."
    assert client.get("/api/v1/users").json["message"].startswith("Perlu autentikasi")
    assert client.get("/api/v1/users", headers=auth("salah")).json["message"] == "Token tidak valid atau sudah dicabut."
    r = client.get("/api/v1/users", headers=auth(seed.officer_a))
    assert r.status_code == 403 and r.json["message"] == "Ini memerlukan salah satu peran: admin"

    tid, code = _file(client)
    r = client.post(f"/api/v1/complaints/{tid}/actions/rate", json={"rating": 5}, headers={"X-Access-Code": code})
    assert r.status_code == 409
    assert r.json["message"] == ("Tindakan rate tidak diizinkan saat pengaduan berstatus Belum terverifikasi. "
                                 "Tindakan yang diizinkan: reply.")
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": 999}, headers=auth(seed.coordinator))
    assert r.json["errors"]["agency_id"] == ["Instansi tidak dikenal: 999"]
    r = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": "SALAH12345"})
    assert r.status_code == 403 and r.json["message"] == "Kode akses salah."


def test_reporter_language_is_recorded_and_used_for_their_view(app, client, seed):
    # filed from an English phone, no explicit choice: English is recorded
    tid, code = _file(client, headers=EN)
    tid_id, code_id = _file(client)
    tid_anon, code_anon = _file(client, headers={"Accept-Language": "en"}, reporter=None, anonymous=True)
    tid_explicit, code_explicit = _file(client, headers=EN, reporter={"name": "Ani", "language": "id"})
    with app.app_context(), database.connection_context():
        langs = {c.tracking_id: (c.language, c.reporter.language if c.reporter_id else None)
                 for c in Complaint.select()}
    assert langs[tid] == ("en", "en") and langs[tid_id] == ("id", "id")
    assert langs[tid_anon] == ("en", None) and langs[tid_explicit] == ("id", "id")

    # the reporter's own view speaks their language when the request does not ask for one ...
    view = client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code})
    assert view.json["status_label"] == "Not yet verified" and view.headers["Content-Language"] == "en"
    assert client.get(f"/api/v1/complaints/{tid_anon}", headers={"X-Access-Code": code_anon}).json["status_label"] == \
        "Not yet verified"
    # ... and the request's language when it asks
    assert client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code, "Accept-Language": "id"}) \
        .json["status_label"] == "Belum terverifikasi"
    for no_preference in ("*", "fr-FR, de;q=0.5"):  # nothing we speak: the reporter's language
        assert client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code, "Accept-Language": no_preference}) \
            .json["status_label"] == "Not yet verified"
    assert client.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code, "Accept-Language": "en;q=0.2, id"}) \
        .json["status_label"] == "Belum terverifikasi"
    assert client.get(f"/api/v1/complaints/{tid_explicit}?lang=en",
                      headers={"X-Access-Code": code_explicit}).json["status_label"] == "Not yet verified"
    # the public (no access code) gets the deployment's language
    assert client.get(f"/api/v1/complaints/{tid}").json["status_label"] == "Belum terverifikasi"
    # staff see which language to answer in; the public does not
    assert client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json["language"] == "en"
    assert "language" not in client.get(f"/api/v1/complaints/{tid}").json

    # a staff member's browser is not the citizen's: a phone-in filing keeps the deployment's language
    # unless the reporter's language is given
    r = client.post("/api/v1/complaints", json={"body": "Laporan lewat telepon", "channel": "phone",
                                                "reporter": {"name": "Inaq Sumi"}},
                    headers={**auth(seed.coordinator), **EN})
    r2 = client.post("/api/v1/complaints", json={"body": "Anonymous report", "language": "en"})
    with app.app_context(), database.connection_context():
        assert Complaint.get(Complaint.tracking_id == r.json["tracking_id"]).language == "id"
        assert Complaint.get(Complaint.tracking_id == r2.json["tracking_id"]).language == "en"


def test_english_deployment_default(make_app):
    client = make_app({"LANGUAGE": "en"}).test_client()
    assert client.post("/api/v1/complaints", json={}).json["errors"]["body"] == ["Missing data for required field."]
    assert client.post("/api/v1/complaints", json={}, headers={"Accept-Language": "id-ID"}).json["errors"]["body"] == \
        ["Data wajib diisi."]


def test_system_notes_are_written_for_each_reader(app, seed):
    with app.app_context(), database.connection_context():
        t0 = dt.datetime(2026, 11, 2, 1, 0)  # Monday 09:00 WITA
        c, _ = file_complaint({"body": "Banjir di jalan utama", "category": "jalan", "urgency": "mendesak"},
                              actor=Actor(role="reporter"), now=t0)
        sla_sweep(now=t0 + dt.timedelta(hours=2))
        ev = Event.get((Event.complaint == c) & (Event.type == "sla_breach"))
        # what other systems read: the deployment's language, the deployment's clock
        assert ev.text == "Batas waktu jawaban pertama terlewati (jatuh tempo Senin, 2 November 2026 10.00 WITA)."
        assert ev.data["due"] == "2026-11-02T10:00:00+08:00"
    client = app.test_client()
    staff = client.get(f"/api/v1/complaints/{c.tracking_id}", headers=auth(seed.coordinator)).json
    [breach] = [e for e in staff["timeline"] if e["type"] == "sla_breach"]
    assert breach["text"] == ev.text
    staff_en = client.get(f"/api/v1/complaints/{c.tracking_id}?lang=en", headers=auth(seed.coordinator)).json
    [breach] = [e for e in staff_en["timeline"] if e["type"] == "sla_breach"]
    assert breach["text"] == "Deadline for the first answer missed (due Monday, 2 November 2026 10:00 WITA)."


# --- item 15: the deployment's clock -------------------------------------------------------------

def test_api_times_carry_the_deployment_offset(app, client, seed):
    with app.app_context(), database.connection_context():
        t0 = dt.datetime(2026, 12, 4, 9, 58)  # Friday 17:58 WITA
        c, code = file_complaint({"body": "Lampu jalan mati", "category": "jalan",
                                  "reporter": {"name": "Ani", "phone": "081907123456"}},
                                 actor=Actor(role="reporter"), now=t0)
        due_verify = c.due_verify
    view = client.get(f"/api/v1/complaints/{c.tracking_id}", headers={"X-Access-Code": code}).json
    assert view["created_at"] == "2026-12-04T17:58:00+08:00"
    # checked by an independent parser: the same instant as the stored UTC value
    assert dt.datetime.fromisoformat(view["due"]["verify"]) == due_verify.replace(tzinfo=dt.timezone.utc)
    assert view["due"]["verify"].endswith("+08:00")
    times = [view["created_at"], view["updated_at"], *[v for v in view["due"].values() if v],
             *[e["created_at"] for e in view["timeline"]]]
    assert times and all(OFFSET.match(t) for t in times), times
    staff = client.get("/api/v1/complaints", headers=auth(seed.admin)).json["items"][0]
    assert OFFSET.match(staff["created_at"]) and OFFSET.match(staff["due"]["first_response"])
    tokens = client.post("/api/v1/users/1/tokens", json={"name": "x", "expires_days": 1}, headers=auth(seed.admin)).json
    assert OFFSET.match(tokens["created_at"]) and OFFSET.match(tokens["expires_at"])


def test_another_zone_is_served_with_its_own_offset(make_app):
    app = make_app({"TIMEZONE": "Asia/Jayapura"})
    with app.app_context(), database.connection_context():
        c, code = file_complaint({"body": "Air PAM mati"}, actor=Actor(role="reporter"),
                                 now=dt.datetime(2026, 12, 6, 17, 58))
    view = app.test_client().get(f"/api/v1/complaints/{c.tracking_id}", headers={"X-Access-Code": code}).json
    assert view["created_at"] == "2026-12-07T02:58:00+09:00"


def test_openapi_documents_times_as_date_time(client):
    doc = client.get("/api/v1/openapi.json").json
    schemas = doc["components"]["schemas"]
    for name, prop in (("ComplaintOut", "created_at"), ("Due", "verify"), ("EventOut", "created_at"),
                       ("TokenOut", "expires_at"), ("JobOut", "run_at")):
        assert schemas[name]["properties"][prop]["format"] == "date-time", (name, prop)


def _catalogue_patterns():
    """A regex per Indonesian msgstr, placeholders (``%(x)s``, ``{x}``) matching any value."""
    pats = []
    for m in _catalog(PO):
        if not m.id or not m.string:
            continue
        for text in (m.string if isinstance(m.string, tuple) else (m.string,)):
            parts = re.split(r"%\(\w+\)[sd]|\{\w+(?:![rsa])?\}", text)
            pats.append(re.compile("^" + ".+?".join(re.escape(p) for p in parts) + "$", re.S))
    return pats


def _messages(body):
    yield body["message"]
    stack = [body.get("errors") or {}]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        else:
            yield v


@pytest.mark.parametrize("method,path,kwargs", [
    ("post", "/api/v1/complaints", {"json": {}}),
    ("post", "/api/v1/complaints", {"json": {"body": "", "kind": "keluhan", "urgency": "darurat", "anonymous": "x"}}),
    ("post", "/api/v1/complaints", {"json": {"body": "x", "lat": 200, "lng": 1, "category_id": "satu"}}),
    ("post", "/api/v1/complaints", {"json": {"body": "x", "lat": -8.5, "region_code": "99.99", "category_id": 999}}),
    ("post", "/api/v1/complaints", {"json": {"body": "x", "reporter": {"nik": "1", "phone": "bukan", "email": "x"}}}),
    ("post", "/api/v1/complaints", {"json": {"body": "x", "incident_date": "kemarin", "surprise": True}}),
    ("post", "/api/v1/complaints", {"json": {"body": "x" * 10_001, "title": "t" * 300}}),
    ("post", "/api/v1/complaints", {"json": {"body": "x", "channel": "sms"}}),
    ("post", "/api/v1/complaints", {"data": "{not json", "content_type": "application/json"}),
    ("post", "/api/v1/complaints", {"json": [1, 2]}),
    ("get", "/api/v1/complaints?limit=0&status=lost&created_from=kemarin&cursor=%%%", {"staff": True}),
    ("get", "/api/v1/complaints?q=x&overdue=mungkin&agency_id=abc", {"staff": True}),
    ("get", "/api/v1/complaints/TIDAKADA", {}),
    ("get", "/api/v1/regions?level=9&q=a", {}),
    ("post", "/api/v1/users", {"json": {"username": "A B", "role": "raja"}, "staff": True}),
    ("post", "/api/v1/users", {"json": {"username": "petugas", "name": "P", "role": "officer"}, "staff": True}),
    ("post", "/api/v1/agencies", {"json": {"code": "x y", "name": "", "email": "bukan", "parent_id": 999},
                                  "staff": True}),
    ("post", "/api/v1/categories", {"json": {"code": "jalan", "name": "Jalan lagi"}, "staff": True}),
    ("post", "/api/v1/jobs/999/retry", {"staff": True}),
    ("get", "/api/v1/users", {}),
    ("get", "/api/v1/tidak-ada", {}),
])
def test_every_error_message_comes_from_the_catalogue(client, seed, method, path, kwargs):
    """Whatever went wrong, what the reader gets is an Indonesian catalogue text, never a stray English one."""
    kwargs = dict(kwargs)
    headers = auth(seed.admin) if kwargs.pop("staff", False) else {}
    r = getattr(client, method)(path, headers=headers, **kwargs)
    assert 400 <= r.status_code < 500 and r.is_json, (r.status_code, r.data[:200])
    patterns = _catalogue_patterns()
    for msg in _messages(r.json):
        assert isinstance(msg, str) and any(p.match(msg) for p in patterns), f"not from the catalogue: {msg!r}"


def test_category_name_and_action_descriptions_in_the_readers_language(app, client, seed):
    from aduan.i18n import use_language
    from aduan.models import Category
    from aduan.workflow import ACTIONS

    with app.app_context(), database.connection_context():
        Category.update(name_en="Roads").where(Category.id == seed.category.id).execute()
    tid, _ = _file(client)
    assert client.get(f"/api/v1/complaints/{tid}").json["category"]["name"] == "Jalan"
    assert client.get(f"/api/v1/complaints/{tid}?lang=en").json["category"]["name"] == "Roads"
    with use_language("id"):
        assert str(ACTIONS["transfer"].description).startswith("Bukan wewenang")
    with use_language("en"):
        assert str(ACTIONS["transfer"].description).startswith("Not our authority")


def test_local_datetime_field_both_ways(app):
    from marshmallow import Schema

    from aduan.api.schemas import LocalDateTime

    class S(Schema):
        t = LocalDateTime(allow_none=True)

    with app.app_context():
        dump = S().dump
        assert dump({"t": dt.datetime(2026, 12, 6, 17, 58, 12, 5)}) == {"t": "2026-12-07T01:58:12+08:00"}
        assert dump({"t": "2026-12-06T17:58:00Z"}) == {"t": "2026-12-07T01:58:00+08:00"}
        assert dump({"t": "2026-12-07T01:58:00+08:00"}) == {"t": "2026-12-07T01:58:00+08:00"}
        assert dump({"t": None}) == {"t": None}
        load = S().load
        # a naive time is the deployment's local time; stored as naive UTC
        assert load({"t": "2026-12-07T01:58:00"}) == {"t": dt.datetime(2026, 12, 6, 17, 58)}
        assert load({"t": "2026-12-07T01:58:00+07:00"}) == {"t": dt.datetime(2026, 12, 6, 18, 58)}


def test_plurals_follow_the_languages_rule():
    """Indonesian has one plural form (``nplurals=1``): every count uses ``msgstr[0]``, zero included."""
    from aduan.i18n import translations

    for n in (0, 1, 2, 5):
        assert translations("id").ungettext("%(num)d file", "%(num)d files", n) == "%(num)d berkas"
    assert translations("en").ungettext("%(num)d file", "%(num)d files", 2) == "%(num)d files"


def test_isoformat_fast_path_writes_what_the_zone_conversion_writes():
    """aduan.i18n.isoformat shifts a stored UTC time by its day's offset instead of converting it with
    the zone; the text must be the conversion's for every zone and day, offset changes and the
    extremes included."""
    import datetime as dt
    import random
    from zoneinfo import ZoneInfo

    from aduan.i18n import isoformat

    def slow(v, tz):
        return v.replace(tzinfo=dt.timezone.utc).astimezone(tz).replace(microsecond=0).isoformat()

    rnd = random.Random(7)
    zones = [ZoneInfo(z) for z in ("Asia/Makassar", "Asia/Jakarta", "Asia/Jayapura", "Europe/Berlin",
                                   "America/Sao_Paulo", "Australia/Lord_Howe", "UTC")]
    values = [dt.datetime(1, 1, 1), dt.datetime(1, 1, 1, 23, 59, 59), dt.datetime(1900, 1, 1, 12),
              dt.datetime(1932, 10, 31, 16, 7, 36), dt.datetime(1963, 12, 31, 23, 30),  # Indonesian offset changes
              dt.datetime(2026, 3, 29, 0, 59, 59), dt.datetime(2026, 3, 29, 1, 0, 0),  # Berlin: summer time
              dt.datetime(2026, 10, 25, 0, 59, 59, 999999), dt.datetime(2026, 10, 25, 1, 0),
              dt.datetime(9999, 12, 30, 12)]
    values += [dt.datetime(1900, 1, 1) + dt.timedelta(seconds=rnd.randrange(0, 200 * 365 * 86400),
                                                      microseconds=rnd.randrange(10 ** 6)) for _ in range(3000)]
    for tz in zones:
        for v in values:
            try:
                want = slow(v, tz)
            except OverflowError:  # before year 1 or after 9999 in that zone: both refuse alike
                with pytest.raises(OverflowError):
                    isoformat(v, tz)
                continue
            assert isoformat(v, tz) == want, (tz, v)
    assert isoformat(None, zones[0]) is None
