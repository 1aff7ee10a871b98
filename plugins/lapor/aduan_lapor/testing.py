"""Test helpers for the lapor plugin: the simulator over real HTTP, an app wired to it, small API helpers."""
import io

import pytest

from aduan.db import database
from aduan.jobs import Worker
from aduan.testing import auth, seed_basics
from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN, Simulator

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def sim():
    s = Simulator().start()
    yield s
    s.stop()


@pytest.fixture
def lapor(make_app, sim):
    """Factory: ``lapor(**config)`` → (app, client, seed) with the plugin wired to the simulator."""

    def factory(seed=True, **config):
        """``seed=False``: a second app on the same database (e.g. restarted with other settings)."""
        cfg = {"PLUGINS": ["lapor"], "LAPOR_BASE_URL": sim.url, "LAPOR_BEARER_TOKEN": DEFAULT_TOKEN,
               "LAPOR_TOKEN_GUID": DEFAULT_GUID, "LAPOR_INSTITUTION_ID": 1001, "LAPOR_POLL_SECONDS": 0.001,
               "LAPOR_POLL_MIN_INTERVAL": 0, "LAPOR_POLL_MAX_INTERVAL": 0, "LAPOR_POLL_ERROR_INTERVAL": 0,
               "LAPOR_READ_TIMEOUT": 1.0, "LAPOR_CONNECT_TIMEOUT": 1.0, "JOB_BACKOFF_BASE": 0,
               "JOB_BACKOFF_MAX": 0, "JOB_LEASE_SECONDS": 60}
        cfg.update(config)
        app = make_app(cfg)
        if not seed:
            return app, app.test_client(), None
        with app.app_context(), database.connection_context():
            s = seed_basics()
        return app, app.test_client(), s

    return factory


def wib(minutes: float) -> str:
    """A LAPOR! timestamp (``d-m-Y H:i:s``, Asia/Jakarta) ``minutes`` from now (negative: in the past)."""
    import datetime as dt

    t = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=7, minutes=minutes)
    return t.strftime("%d-%m-%Y %H:%M:%S")


def make_due(app, kind_prefix="lapor."):
    """Make every pending job of these kinds due now (as if their wait had passed)."""
    from aduan.db import utcnow
    from aduan.models import Job

    with app.app_context(), database.connection_context():
        Job.update(run_at=utcnow()).where(Job.kind.startswith(kind_prefix) & (Job.status == "pending")).execute()


def drain(app, rounds=40):
    """Run the worker until no job is left to do (schedules run on each round)."""
    w = Worker(app)
    total = {"done": 0, "retry": 0, "dead": 0}
    for _ in range(rounds):
        counts = w.run_once()
        for k in total:
            total[k] += counts[k]
        if not any(counts[k] for k in ("done", "retry", "dead")):
            break
    return total


def file(client, **extra):
    body = {"title": "Jalan berlubang", "body": "Jalan di depan pasar Cakranegara berlubang besar.",
            "category": "jalan", "region_code": "52.71.01",
            "reporter": {"name": "Baiq Nurul", "phone": "0819 0712 3456", "email": "baiq@example.id"}}
    body.update(extra)
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code == 201, r.json
    return r.json["tracking_id"], r.json["access_code"]


def act(client, tid, action, token, **body):
    r = client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=body, headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def upload(client, tid, code, name="foto.png", data=PNG, visibility=None):
    form = {"file": (io.BytesIO(data), name)}
    if visibility:
        form["visibility"] = visibility
    r = client.post(f"/api/v1/complaints/{tid}/attachments", data=form, headers={"X-Access-Code": code},
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    return r.json


def staff_view(client, tid, token):
    r = client.get(f"/api/v1/complaints/{tid}", headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json


def map_agency(client, token, agency_id, institution_id):
    r = client.put(f"/api/v1/plugins/lapor/mappings/agencies/{agency_id}", json={"institution_id": institution_id},
                   headers=auth(token))
    assert r.status_code == 200, r.json
    return r.json
