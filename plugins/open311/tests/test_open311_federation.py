"""Forwarding complaints to another Open311 back end and following them there (federation.py).

The back end is a real local HTTP server (pytest-httpserver) answering as GeoReport v2 and
FixMyStreet's servicerequestupdates say; the worker and the poll schedule run for real.
"""
from __future__ import annotations

import json
import re
import socket
import time
from urllib.parse import parse_qs

import pytest
from werkzeug import Response

from aduan.testing import auth

API_KEY = "k-forward-3b1f9e"
PREFIX = "/georeport"


#: the ports these tests may use (one range per test runner on a shared machine)
PORTS = range(5500, 5600)


def free_port() -> int:
    """A port of the range nothing listens on now."""
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 5500-5599")


class Backend:
    """A GeoReport v2 back end (a PDAM's, say): files requests, serves them, their updates and tokens."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.requests: dict[str, dict] = {}
        self.creates: list[dict] = []  # every POST requests form received
        self.updates: list[dict] = []  # what GET servicerequestupdates serves
        self.received_updates: list[dict] = []  # every POST servicerequestupdates form received
        self.create_mode = "ok"  # ok | slow | reject | token
        self.tokens: dict[str, str | None] = {}
        self.has_updates = True
        self.slow = 0.0
        h = httpserver
        h.expect_request(f"{PREFIX}/requests.json", method="POST").respond_with_handler(self.create)
        h.expect_request(f"{PREFIX}/requests.json", method="GET").respond_with_handler(self.list)
        h.expect_request(re.compile(rf"{PREFIX}/tokens/.+\.json"), method="GET").respond_with_handler(self.token)
        h.expect_request(f"{PREFIX}/servicerequestupdates.json", method="GET").respond_with_handler(self.list_updates)
        h.expect_request(f"{PREFIX}/servicerequestupdates.json", method="POST").respond_with_handler(self.post_update)

    @property
    def endpoint(self):
        return self.server.url_for(PREFIX)

    @staticmethod
    def json(value, status=200):
        return Response(json.dumps(value), status=status, content_type="application/json; charset=utf-8")

    def error(self, status, description):
        return self.json([{"code": status, "description": description}], status)

    def create(self, request):
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        if form.get("api_key") != API_KEY:
            return self.error(403, "api_key is missing or wrong")
        self.creates.append(form)
        if self.create_mode == "reject":
            return self.error(400, "service_code is not known here")
        rid = str(1000 + len(self.requests))
        self.requests[rid] = {"service_request_id": rid, "status": "open", "description": form.get("description"),
                              "service_code": form.get("service_code"), "updated_datetime": "2026-12-01T10:00:00+08:00"}
        if self.create_mode == "slow":
            time.sleep(self.slow)  # the request is filed; the answer comes after the client gave up
        if self.create_mode == "token":
            tok = f"tok-{rid}"
            self.tokens[tok] = None  # processed later: the id is known once self.tokens[tok] is set
            self._pending = rid
            return self.json([{"token": tok}])
        return self.json([{"service_request_id": rid, "service_notice": "", "account_id": None}])

    def list(self, request):
        args = request.args
        rows = list(self.requests.values())
        if args.get("service_request_id"):
            wanted = args["service_request_id"].split(",")
            rows = [r for r in rows if r["service_request_id"] in wanted]
        elif args.get("service_code"):
            rows = [r for r in rows if r["service_code"] in args["service_code"].split(",")]
        return self.json(rows)

    def token(self, request):
        tok = request.path.rsplit("/", 1)[1][:-len(".json")]
        if tok not in self.tokens:
            return self.error(404, "unknown token")
        return self.json([{"token": tok, "service_request_id": self.tokens[tok]}])

    def list_updates(self, request):
        if not self.has_updates:
            return self.error(404, "no such resource")
        return self.json(self.updates)

    def post_update(self, request):
        form = {k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        if form.get("api_key") != API_KEY:
            return self.error(403, "api_key is missing or wrong")
        if form.get("service_request_id") not in self.requests:
            return self.error(400, "unknown service_request_id")
        if any(u["update_id"] == form.get("update_id") for u in self.received_updates):
            return self.error(400, "duplicate update_id")
        self.received_updates.append(form)
        if self.slow:
            time.sleep(self.slow)
        return self.json([{"update_id": f"r{len(self.received_updates)}"}])

    def add_update(self, rid, status, description, update_id=None):
        self.requests[rid]["status"] = "closed" if status in ("closed", "fixed") else "open"
        self.updates.append({"update_id": update_id or f"u{len(self.updates) + 1}", "service_request_id": rid,
                             "status": status, "updated_datetime": "2026-12-01T11:00:00+08:00",
                             "description": description, "media_url": None})


@pytest.fixture
def backend():
    """A threaded server of its own per test: a slow answer of one test never delays the next."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer(host="127.0.0.1", port=free_port(), threaded=True)
    server.start()
    yield Backend(server)
    server.clear()
    if server.is_running():
        server.stop()


def destination(endpoint, **extra):
    d = {"endpoint": endpoint, "api_key": API_KEY, "agencies": ["DIKES"], "label": "PDAM Giri Menang",
         "service_codes": {"jalan": "PIPE-LEAK"}}
    d.update(extra)
    return d


@pytest.fixture
def fed(make_app, backend):
    """An app whose agency DIKES (agency_b) works through the back end; the seeded world."""
    from aduan.db import database
    from aduan.testing import seed_basics

    def build(**dest_extra):
        app = make_app({"PLUGINS": ["open311"], "BASE_URL": "https://aduan.lombokbarat.example",
                        "OPEN311_DESTINATIONS": {"pdam": destination(backend.endpoint, **dest_extra)},
                        "OPEN311_READ_TIMEOUT": 0.5, "OPEN311_CONNECT_TIMEOUT": 0.5})
        with app.app_context(), database.connection_context():
            seed = seed_basics()
        return app, seed

    return build


REPORTER = {"name": "Lalu Muhammad Zainuddin", "phone": "081907123456", "email": "lalu@contoh.id",
            "nik": "5201014501900001"}


def file_and_dispatch(app, seed, *, agency=None, **extra):
    """A citizen files a complaint; the coordinator verifies it to DIKES (the back end's agency)."""
    c = app.test_client()
    data = {"title": "Pipa bocor", "body": "Pipa PDAM bocor di depan pasar.", "category": "jalan",
            "region_code": "52.71.01", "lat": -8.58, "lng": 116.11, "reporter": dict(REPORTER)}
    data.update(extra)
    r = c.post("/api/v1/complaints", json=data)
    assert r.status_code == 201, r.json
    tid, code = r.json["tracking_id"], r.json["access_code"]
    r = c.post(f"/api/v1/complaints/{tid}/actions/verify", headers=auth(seed.coordinator),
               json={"agency_id": (agency or seed.agency_b).id})
    assert r.status_code == 200, r.json
    return tid, code


def run_jobs(app):
    from aduan.jobs import Worker

    return Worker(app).run_once(schedules=False)


def poll(app):
    from aduan.db import database
    from aduan_open311 import federation

    with app.app_context(), database.connection_context():
        return federation.poll(app)


def forward_of(app, tid):
    from aduan.db import database
    from aduan.models import Complaint
    from aduan_open311.models import Open311Forward

    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        return Open311Forward.get_or_none(Open311Forward.complaint == c.id)


def timeline(app, seed, tid):
    r = app.test_client().get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator))
    return r.json


def jobs_of(app, kind):
    from aduan.db import database
    from aduan.models import Job

    with app.app_context(), database.connection_context():
        return list(Job.select().where(Job.kind == kind).order_by(Job.id).dicts())


# --- 5. forwarding -----------------------------------------------------------------------------

def test_dispatch_to_the_destinations_agency_forwards_once_with_what_privacy_allows(fed, backend):
    app, seed = fed()
    tid, _code = file_and_dispatch(app, seed)
    assert backend.creates == []  # nothing is sent inside the request: the worker sends it
    run_jobs(app)
    run_jobs(app)
    assert len(backend.creates) == 1
    form = backend.creates[0]
    assert form["service_code"] == "PIPE-LEAK"  # our category jalan, mapped
    assert form["lat"] == "-8.580000" and form["long"] == "116.110000"
    assert "Pipa PDAM bocor" in form["description"]
    assert f"Ref: aduan:aduan.lombokbarat.example:{tid}:pdam" in form["description"]
    # the reporter's identity is not sent without send_identity; the NIK never
    sent = json.dumps(form)
    for value in REPORTER.values():
        assert value not in sent
    for key in ("first_name", "last_name", "email", "phone"):
        assert key not in form
    f = forward_of(app, tid)
    assert (f.state, f.remote_id) == ("created", "1000")
    view = timeline(app, seed, tid)
    assert view["extra"]["open311"]["forwards"][0]["remote_id"] == "1000"
    assert any("1000" in (e.get("text") or "") and "PDAM Giri Menang" in e["text"] for e in view["timeline"])
    # a complaint of another agency is not forwarded
    tid2, _ = file_and_dispatch(app, seed, agency=seed.agency_a)
    run_jobs(app)
    assert len(backend.creates) == 1 and forward_of(app, tid2) is None


def test_identity_goes_only_with_send_identity_and_never_for_an_anonymous_reporter(fed, backend):
    app, seed = fed(send_identity=True)
    t_named, _ = file_and_dispatch(app, seed)
    t_anon, _ = file_and_dispatch(app, seed, anonymous=True)
    run_jobs(app)
    # the two forwards go out side by side (a worker runs jobs concurrently): match each by its Ref line
    assert len(backend.creates) == 2
    by_tid = {t: c for c in backend.creates for t in (t_named, t_anon) if f":{t}:" in c["description"]}
    named, anon = by_tid[t_named], by_tid[t_anon]
    assert (named["first_name"], named["last_name"]) == ("Lalu", "Muhammad Zainuddin")
    assert named["phone"].endswith("81907123456") and named["email"] == REPORTER["email"]
    assert REPORTER["nik"] not in json.dumps(named)
    assert not {"first_name", "last_name", "email", "phone"} & set(anon)
    assert "Lalu" not in json.dumps(anon)


def test_a_secret_complaint_is_not_forwarded_without_forward_secret(fed, backend):
    app, seed = fed()
    tid, _ = file_and_dispatch(app, seed, secret=True)
    run_jobs(app)
    assert backend.creates == []
    assert forward_of(app, tid).state == "skipped"
    assert any("secret" in (e.get("text") or "") for e in timeline(app, seed, tid)["timeline"]) or \
        any("rahasia" in (e.get("text") or "") for e in timeline(app, seed, tid)["timeline"])


def test_a_secret_complaint_goes_with_forward_secret(fed, backend):
    app, seed = fed(forward_secret=True)
    tid, _ = file_and_dispatch(app, seed, secret=True)
    run_jobs(app)
    assert len(backend.creates) == 1 and "media_url" not in backend.creates[0]
    assert forward_of(app, tid).state == "created"


def test_destination_down_retries_with_back_off_and_sends_once_it_is_back(make_app, backend):
    from aduan.db import database
    from aduan.testing import seed_basics

    dead = f"http://127.0.0.1:{free_port()}{PREFIX}"  # nothing listens there
    cfg = {"PLUGINS": ["open311"], "OPEN311_READ_TIMEOUT": 0.5, "OPEN311_CONNECT_TIMEOUT": 0.5}
    app = make_app({**cfg, "OPEN311_DESTINATIONS": {"pdam": destination(dead)}})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    tid, _ = file_and_dispatch(app, seed)
    assert run_jobs(app)["retry"] == 1
    run_jobs(app)
    job = jobs_of(app, "open311.forward")[0]
    assert job["status"] == "pending" and job["attempts"] == 2 and "cannot connect" in job["last_error"]
    assert forward_of(app, tid).state == "queued"
    # the destination is back (same database, the configuration now points at the live server)
    app2 = make_app({**cfg, "OPEN311_DESTINATIONS": {"pdam": destination(backend.endpoint)}})
    run_jobs(app2)
    run_jobs(app2)
    assert len(backend.creates) == 1 and forward_of(app2, tid).state == "created"


def test_rejected_forward_is_dead_and_visible(fed, backend):
    app, seed = fed()
    backend.create_mode = "reject"
    tid, _ = file_and_dispatch(app, seed)
    assert run_jobs(app)["dead"] == 1
    run_jobs(app)
    assert len(backend.creates) == 1
    f = forward_of(app, tid)
    assert f.state == "failed" and "service_code is not known here" in f.last_error
    r = app.test_client().get("/api/v1/plugins/open311/forwards?state=failed", headers=auth(seed.coordinator))
    assert r.status_code == 200 and [i["tracking_id"] for i in r.json["items"]] == [tid]
    assert API_KEY not in json.dumps(r.json) and API_KEY not in json.dumps(jobs_of(app, "open311.forward"), default=str)
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'aduan_open311_forwards{state="failed"} 1' in metrics, metrics[-2000:]


def test_unknown_outcome_is_searched_by_reference_never_resent_blindly(fed, backend):
    app, seed = fed()
    backend.create_mode, backend.slow = "slow", 1.5  # filed there, the answer comes after our 0.5 s
    tid, _ = file_and_dispatch(app, seed)
    assert run_jobs(app)["retry"] == 1
    assert forward_of(app, tid).state == "uncertain"
    backend.create_mode = "ok"
    run_jobs(app)  # searches GET requests for our reference instead of posting again
    assert len(backend.creates) == 1
    f = forward_of(app, tid)
    assert (f.state, f.remote_id) == ("created", "1000")


def test_unknown_outcome_not_found_waits_for_an_operator(fed, backend):
    app, seed = fed()
    backend.create_mode, backend.slow = "slow", 1.5
    tid, _ = file_and_dispatch(app, seed)
    run_jobs(app)
    backend.requests.clear()  # the back end lost it (or does not list it)
    backend.create_mode = "ok"
    for _ in range(3):
        run_jobs(app)
    assert len(backend.creates) == 1  # searched, never posted again
    f = forward_of(app, tid)
    assert f.state == "uncertain"
    client = app.test_client()
    r = client.get("/api/v1/plugins/open311/forwards?state=uncertain", headers=auth(seed.coordinator))
    assert [i["id"] for i in r.json["items"]] == [f.id]
    assert client.post(f"/api/v1/plugins/open311/forwards/{f.id}/resend",
                       headers=auth(seed.officer_b)).status_code == 403
    r = client.post(f"/api/v1/plugins/open311/forwards/{f.id}/resend", headers=auth(seed.coordinator))
    assert r.status_code == 202 and r.json["state"] == "queued"
    run_jobs(app)
    assert len(backend.creates) == 2 and forward_of(app, tid).state == "created"


def test_operator_links_an_uncertain_forward(fed, backend):
    app, seed = fed()
    backend.create_mode, backend.slow = "slow", 1.5
    tid, _ = file_and_dispatch(app, seed)
    run_jobs(app)
    f = forward_of(app, tid)
    client = app.test_client()
    r = client.post(f"/api/v1/plugins/open311/forwards/{f.id}/link", headers=auth(seed.coordinator),
                    json={"remote_id": "1000"})
    assert r.status_code == 200 and r.json["state"] == "created" and r.json["remote_id"] == "1000"
    assert client.post(f"/api/v1/plugins/open311/forwards/{f.id}/link", headers=auth(seed.coordinator),
                       json={"remote_id": "1000"}).status_code == 409
    run_jobs(app)
    assert len(backend.creates) == 1


def test_token_answer_is_followed_until_the_back_end_gives_an_id(fed, backend):
    app, seed = fed()
    backend.create_mode = "token"
    tid, _ = file_and_dispatch(app, seed)
    run_jobs(app)
    f = forward_of(app, tid)
    assert (f.state, f.token, f.remote_id) == ("token", "tok-1000", None)
    job = jobs_of(app, "open311.forward")[0]
    assert job["attempts"] == 0  # waiting for the back end spends no attempt
    from aduan.db import database
    from aduan.models import Job

    def due_now():
        with app.app_context(), database.connection_context():
            Job.update(run_at=Job.created_at).where(Job.kind == "open311.forward").execute()

    due_now()
    run_jobs(app)
    assert forward_of(app, tid).state == "token"
    backend.tokens["tok-1000"] = "1000"
    due_now()
    run_jobs(app)
    f = forward_of(app, tid)
    assert (f.state, f.remote_id) == ("created", "1000") and len(backend.creates) == 1


def test_explicit_forward_by_staff(fed, backend):
    app, seed = fed()
    client = app.test_client()
    # a complaint of PUPR (no destination): the coordinator forwards it to the PDAM anyway
    tid, _ = file_and_dispatch(app, seed, agency=seed.agency_a)
    url = "/api/v1/plugins/open311/forwards"
    assert client.post(url, json={"tracking_id": tid, "destination": "pdam"}).status_code == 401
    assert client.post(url, json={"tracking_id": tid, "destination": "pdam"},
                       headers=auth(seed.officer_a)).status_code == 403
    r = client.post(url, json={"tracking_id": tid, "destination": "nowhere"}, headers=auth(seed.coordinator))
    assert r.status_code == 422
    r = client.post(url, json={"tracking_id": "ZZZZZZZZ", "destination": "pdam"}, headers=auth(seed.coordinator))
    assert r.status_code == 404
    r = client.post(url, json={"tracking_id": tid, "destination": "pdam"}, headers=auth(seed.coordinator))
    assert r.status_code == 202 and r.json["state"] == "queued"
    assert client.post(url, json={"tracking_id": tid, "destination": "pdam"},
                       headers=auth(seed.coordinator)).status_code == 409
    run_jobs(app)
    assert len(backend.creates) == 1 and forward_of(app, tid).state == "created"
    # the timeline says who forwarded it, internally (not to the public)
    public = client.get(f"/api/v1/complaints/{tid}").json
    assert "Open311" not in json.dumps(public)


# --- 6. following ------------------------------------------------------------------------------

def test_remote_updates_become_one_event_each_and_close_and_reopen_ours(fed, backend):
    app, seed = fed()
    tid, code = file_and_dispatch(app, seed)
    run_jobs(app)
    backend.add_update("1000", "in_progress", "Petugas PDAM menuju lokasi.")
    assert poll(app)["applied"] == 1
    assert poll(app)["applied"] == 0  # read again: nothing new
    reporter = app.test_client().get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json
    texts = [e.get("text") or "" for e in reporter["timeline"]]
    assert sum("Petugas PDAM menuju lokasi." in t for t in texts) == 1
    assert reporter["status"] == "in_progress"
    backend.add_update("1000", "fixed", "Pipa sudah diganti.")
    poll(app)
    view = timeline(app, seed, tid)
    assert view["status"] == "resolved"
    assert sum("Pipa sudah diganti." in (e.get("text") or "") for e in view["timeline"]) == 1
    backend.add_update("1000", "open", "Bocor lagi, dibuka kembali.")
    poll(app)
    view = timeline(app, seed, tid)
    assert view["status"] == "in_progress"
    assert [e["type"] for e in view["timeline"]].count("reopen") == 1
    for _ in range(2):
        poll(app)
    assert len([e for e in timeline(app, seed, tid)["timeline"] if e.get("source") == "open311"
                and e["type"] in ("respond", "resolve", "reopen", "comment")]) >= 3
    assert len([e for e in timeline(app, seed, tid)["timeline"]
                if "Bocor lagi" in (e.get("text") or "")]) == 1


def test_back_end_without_updates_is_followed_by_request_status(fed, backend):
    app, seed = fed()
    backend.has_updates = False
    tid, _ = file_and_dispatch(app, seed)
    run_jobs(app)
    assert poll(app)["applied"] == 0  # still open there
    backend.requests["1000"]["status"] = "closed"
    backend.requests["1000"]["updated_datetime"] = "2026-12-02T09:00:00+08:00"
    assert poll(app)["applied"] == 1
    assert poll(app)["applied"] == 0
    assert timeline(app, seed, tid)["status"] == "resolved"


def test_reporters_reply_is_posted_back_once_and_not_read_back_as_theirs(fed, backend):
    app, seed = fed()
    tid, code = file_and_dispatch(app, seed)
    run_jobs(app)
    client = app.test_client()
    r = client.post(f"/api/v1/complaints/{tid}/actions/reply", headers={"X-Access-Code": code},
                    json={"text": "Bocornya makin besar sejak pagi."})
    assert r.status_code == 200, r.json
    run_jobs(app)
    run_jobs(app)
    assert len(backend.received_updates) == 1
    u = backend.received_updates[0]
    assert (u["service_request_id"], u["status"], u["description"]) == ("1000", "open",
                                                                       "Bocornya makin besar sejak pagi.")
    assert u["update_id"].startswith(f"aduan:aduan.lombokbarat.example:{tid}:pdam:e")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$", u["updated_datetime"])
    # the back end lists our reply among its updates: it does not come back as theirs
    backend.add_update("1000", "open", "Bocornya makin besar sejak pagi.")
    assert poll(app)["applied"] == 0


def test_reply_whose_answer_was_lost_is_sent_again_and_the_duplicate_settles_it(fed, backend):
    app, seed = fed()
    tid, code = file_and_dispatch(app, seed)
    run_jobs(app)
    backend.slow = 1.5  # the update is recorded there, the answer comes too late
    app.test_client().post(f"/api/v1/complaints/{tid}/actions/reply", headers={"X-Access-Code": code},
                           json={"text": "Mohon segera."})
    assert run_jobs(app)["retry"] == 1
    backend.slow = 0
    run_jobs(app)  # sent again with the same update_id: refused as a duplicate, so it arrived
    assert len(backend.received_updates) == 1
    from aduan.db import database
    from aduan_open311.models import Open311Outgoing

    with app.app_context(), database.connection_context():
        assert [o.state for o in Open311Outgoing.select()] == ["created"]
    assert jobs_of(app, "open311.update")[0]["status"] == "done"


def test_config_and_commands_mask_the_api_key(fed, backend):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from aduan.cli import main

    app, seed = fed()
    obj = ScriptInfo(create_app=lambda: app)
    runner = CliRunner()
    res = runner.invoke(main, ["config"], obj=obj)
    assert res.exit_code == 0 and "OPEN311_DESTINATIONS" in res.output, res.output
    assert API_KEY not in res.output and backend.endpoint in res.output
    res = runner.invoke(main, ["open311", "destinations"], obj=obj)
    assert res.exit_code == 0 and "pdam: " in res.output and API_KEY not in res.output
    # forward, list, from the command line
    tid, _ = file_and_dispatch(app, seed, agency=seed.agency_a)
    res = runner.invoke(main, ["open311", "forward", tid, "pdam"], obj=obj)
    assert res.exit_code == 0 and '"state": "queued"' in res.output, res.output
    run_jobs(app)
    res = runner.invoke(main, ["open311", "forwards", "--state", "created"], obj=obj)
    assert res.exit_code == 0 and tid in res.output and "1000" in res.output


def test_reporters_rating_after_their_fix_closes_theirs_and_is_not_read_back(fed, backend):
    app, seed = fed()
    tid, code = file_and_dispatch(app, seed)
    run_jobs(app)
    backend.add_update("1000", "fixed", "Pipa sudah diganti.")
    poll(app)
    client = app.test_client()
    # a reply while they have closed it keeps their status (it does not reopen it there)
    r = client.post(f"/api/v1/complaints/{tid}/actions/reply", headers={"X-Access-Code": code},
                    json={"text": "Terima kasih, sudah mengalir normal."})
    assert r.status_code == 200, r.json
    run_jobs(app)
    # the back end lists it among its updates under its own id, without its text: not read back as theirs
    backend.updates.append({"update_id": "r1", "service_request_id": "1000", "status": "fixed",
                            "updated_datetime": "2026-12-01T12:00:00+08:00", "description": "", "media_url": None})
    before = len(timeline(app, seed, tid)["timeline"])
    assert poll(app)["applied"] == 0
    assert len(timeline(app, seed, tid)["timeline"]) == before
    # the rating closes ours, and theirs
    r = client.post(f"/api/v1/complaints/{tid}/actions/rate", headers={"X-Access-Code": code}, json={"rating": 5})
    assert r.status_code == 200, r.json
    run_jobs(app)
    assert [(u["status"], u.get("description", "")) for u in backend.received_updates] == [
        ("fixed", "Terima kasih, sudah mengalir normal."), ("closed", "")]
    poll(app)
    assert forward_of(app, tid).finished  # ours is closed: no more polling
