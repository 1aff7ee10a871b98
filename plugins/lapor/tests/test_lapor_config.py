"""Configuration: validated at start-up, secrets never echoed, paths and field names correctable."""
import pytest

from aduan.config import ConfigError
from aduan.db import database
from aduan.models import Job
from aduan.testing import auth
from aduan_lapor.simulator import Simulator
from aduan_lapor.testing import act, drain, file


@pytest.mark.parametrize("key,value,message", [
    ("LAPOR_TOKEN_GUID", "not-a-guid-supersecret", "LAPOR_TOKEN_GUID: must be a GUID"),
    ("LAPOR_AUTH_HEADER", "X-Auth", "LAPOR_AUTH_HEADER"),
    ("LAPOR_PATH_FORWARD", "/complaints/process/reject", "LAPOR_PATH_FORWARD: must contain {complaint_id}"),
    ("LAPOR_BASE_URL", "api-splp.layanan.go.id", "LAPOR_BASE_URL"),
    ("LAPOR_PUSH_ON", "resolve", "LAPOR_PUSH_ON"),
    ("LAPOR_STATUS_MAP", {"Selesai": "done"}, "LAPOR_STATUS_MAP"),
    ("LAPOR_REMOTE_TIMEZONE", "Mars/Olympus", "LAPOR_REMOTE_TIMEZONE"),
    ("LAPOR_LOCATION_TABLE", "/nonexistent/lokasi.csv", "LAPOR_LOCATION_TABLE: cannot read the file"),
    ("LAPOR_NOT_CREATED_STATUSES", [404], "LAPOR_NOT_CREATED_STATUSES"),
    ("LAPOR_POST_STEPS", ["archive"], "LAPOR_POST_STEPS"),
])
def test_invalid_settings_stop_start_up_naming_the_key(make_app, key, value, message):
    with pytest.raises(ConfigError) as err:
        make_app({"PLUGINS": ["lapor"], key: value})
    assert message in str(err.value)
    assert "supersecret" not in str(err.value)


def test_without_credentials_nothing_is_sent_and_jobs_wait(make_app):
    app = make_app({"PLUGINS": ["lapor"], "LAPOR_BASE_URL": "http://127.0.0.1:9"})
    from aduan.testing import seed_basics

    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    st = client.get("/api/v1/plugins/lapor/status", headers=auth(seed.admin)).json
    assert st["configured"] is False and "ADUAN_LAPOR_BEARER_TOKEN" in st["missing"]
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    with app.app_context(), database.connection_context():
        (job,) = Job.select().where(Job.kind == "lapor.push")
        assert job.status == "pending" and "not configured" in job.last_error
    view = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.coordinator)).json
    assert view["extra"]["lapor"]["state"] == "queued" and "ADUAN_LAPOR_TOKEN_GUID" in view["extra"]["lapor"]["last_error"]


def test_development_header_renamed_fields_and_extra_fields(make_app):
    sim = Simulator(auth_header="Authorization", id_placement="nested").start()
    try:
        app = make_app({"PLUGINS": ["lapor"], "LAPOR_BASE_URL": sim.url + "/", "LAPOR_AUTH_HEADER": "Authorization",
                        "LAPOR_BEARER_TOKEN": sim.token, "LAPOR_TOKEN_GUID": sim.guid.strip("{}"),
                        "LAPOR_INSTITUTION_ID": 1001, "LAPOR_FIELD_NAMES": {"tags_raw": "tags"},
                        "LAPOR_EXTRA_FIELDS": {"source": "ntbcare"}, "LAPOR_CHANNEL": 7, "LAPOR_POLL_SECONDS": 3600,
                        "JOB_BACKOFF_BASE": 0})
        from aduan.testing import seed_basics

        with app.app_context(), database.connection_context():
            seed = seed_basics()
        client = app.test_client()
        tid, _ = file(client)
        act(client, tid, "verify", seed.coordinator)
        drain(app)
        (create,) = sim.calls("E4")
        assert create.headers["Authorization"] == f"Bearer {sim.token}" and create.headers["Token"] == sim.guid
        assert "tags_raw" not in create.json and create.json["tags"] == "#aduan"
        assert create.json["source"] == "ntbcare" and create.json["channel"] == 7
        view = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(seed.coordinator)).json
        assert view["state"] == "created" and view["lapor_id"] in sim.complaints  # results.complaint.id read
    finally:
        sim.stop()


def test_a_wrong_path_gives_a_clear_error_and_is_fixed_from_configuration(lapor, sim):
    app, client, seed = lapor(LAPOR_PATH_STATUS="/complaints/{complaint_id}/detail")
    tid, _ = file(client)
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    st = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(seed.coordinator)).json
    assert st["state"] == "created"
    assert st["poll_error"].startswith("E6 GET /complaints/") and "/detail: HTTP 404" in st["poll_error"]


def test_push_on_receipt_then_forward_when_dispatched(lapor, sim):
    app, client, seed = lapor(LAPOR_PUSH_ON="file")
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    r = client.put(f"/api/v1/plugins/lapor/mappings/agencies/{seed.agency_b.id}", json={"institution_id": 1003},
                   headers=auth(seed.coordinator))
    assert r.status_code == 200
    tid, _ = file(client)
    drain(app)
    (create,) = sim.calls("E4")
    assert create.json["disposition_id"] == 1001 and sim.calls("E5") == []
    act(client, tid, "verify", seed.coordinator, agency_id=seed.agency_b.id)
    drain(app)
    assert [c.json["reason"] for c in sim.calls("E5")] == [1003] and len(sim.calls("E4")) == 1


def test_directory_pages_are_all_read(lapor, sim):
    app, client, seed = lapor(LAPOR_PATH_INSTITUTIONS="/masters/institutions/external?page_size=2")
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.admin))
    assert r.status_code == 200 and r.json["institutions"] == 5
    assert sorted(c.query.get("page", "1") for c in sim.calls("E1")) == ["1", "2", "3"]
    assert all(c.query["page_size"] == "2" for c in sim.calls("E1"))
    # an institution gone from the directory is kept (mappings may point at it) but marked inactive
    del sim.institutions[9001]
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.admin))
    assert r.json == {"institutions": 4, "inactive": 1}
    ids = [i["id"] for i in client.get("/api/v1/plugins/lapor/institutions", headers=auth(seed.admin)).json["items"]]
    assert 9001 not in ids and len(ids) == 4
