"""An outside validator: schemathesis fuzzes every operation of our OpenAPI document (core and every
first-party plugin, enabled as ``make run`` enables them) against a live server, once per role, and
finds no server error (HTTP 5xx) and no response that breaks the documented schema.

Each role gets a fresh database: public (no credentials), reporter (``X-Access-Code`` of a filed
complaint), officer, coordinator, admin and integration (bearer tokens). Examples are bounded (a
fixed seed, a few examples per operation) so the whole module stays within a few minutes per
database; the suite runs it on SQLite and, with ``ADUAN_TEST_DATABASE_URL``, on PostgreSQL.

A failing case schemathesis finds is kept as an ordinary regression test in ``test_edge.py`` or
below (``test_regression_*``).
"""
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from aduan.db import database
from aduan.plugins import installed_plugins
from aduan.testing import auth, seed_basics, waitress_in_thread

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())
PLUGINS = [name for name in FIRST_PARTY if name in installed_plugins()]
ROLES = ["public", "reporter", "officer", "coordinator", "admin", "integration"]
# Examples per operation and phase; with the coverage phase's boundary cases this is ~20-40 s a role.
MAX_EXAMPLES = 4


# Operations that can lock the fuzzing role out (revoke its token, deactivate its account): run last.
LAST = ["/api/v1/tokens/{token_id}", "/api/v1/users/{user_id}"]


@pytest.fixture
def lapor_sim():
    """The SP4N-LAPOR! simulator over real HTTP, as ``make run`` wires the lapor plugin to it."""
    if "lapor" not in PLUGINS:
        yield {}
        return
    from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN, Simulator

    sim = Simulator().start()
    yield {"LAPOR_BASE_URL": sim.url, "LAPOR_BEARER_TOKEN": DEFAULT_TOKEN, "LAPOR_TOKEN_GUID": DEFAULT_GUID,
           "LAPOR_INSTITUTION_ID": 1001, "LAPOR_READ_TIMEOUT": 2.0, "LAPOR_CONNECT_TIMEOUT": 2.0}
    sim.stop()


@pytest.fixture
def live(make_app, lapor_sim):
    app = make_app({"PLUGINS": PLUGINS, "SMS_GENERIC_SECRET": "generic-secret", **lapor_sim})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    filed = client.post("/api/v1/complaints", json={"body": "Jalan rusak di Narmada", "category": "jalan"}).json
    # verified and disposed, so officers of agency A and the public see it too
    client.post(f"/api/v1/complaints/{filed['tracking_id']}/actions/verify", json={}, headers=auth(seed.coordinator))
    with waitress_in_thread(app, port=0) as server:
        yield f"http://127.0.0.1:{server.effective_port}", seed, filed


def _config(tmp_path: Path, tracking_id: str | None) -> Path:
    cfg = tmp_path / "schemathesis.toml"
    lines = ["[generation]", "max-examples = %d" % MAX_EXAMPLES, ""]
    if tracking_id:
        # Operations on one complaint act on a real one (not only 404s on random ids).
        lines += ["[parameters]", f'"path.tracking_id" = "{tracking_id}"', ""]
    cfg.write_text("\n".join(lines))
    return cfg


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a test dependency: pip install -e '.[test]'")
@pytest.mark.parametrize("who", ROLES)
def test_no_server_errors_and_no_schema_violations(live, who, caplog, tmp_path):
    url, seed, filed = live
    headers = []
    if who == "reporter":
        headers = ["-H", f"X-Access-Code: {filed['access_code']}"]
    elif who != "public":
        token = {"officer": seed.officer_a}.get(who) or getattr(seed, who)
        headers = ["-H", f"Authorization: Bearer {token}"]
    cfg = _config(tmp_path, None if who == "public" else filed["tracking_id"])
    cmd = [SCHEMATHESIS, "--config-file", str(cfg), "run", f"{url}/api/v1/openapi.json",
           "--checks", "not_a_server_error,response_schema_conformance",
           "--phases", "coverage,fuzzing", "--workers", "1", "--seed", "52",
           "--suppress-health-check", "all", "--request-timeout", "30", *headers]
    first = [a for p in LAST for a in ("--exclude-path", p)]
    last = [a for p in LAST for a in ("--include-path", p)]
    with caplog.at_level(logging.ERROR, logger="aduan"):
        for selection in (first, last):
            proc = subprocess.run(cmd + selection, capture_output=True, text=True, timeout=900, cwd=tmp_path)
            assert proc.returncode == 0, proc.stdout[-6000:]
    assert "unhandled error" not in caplog.text, caplog.text


# --- cases schemathesis found, kept as ordinary regression tests -------------------------------------

@pytest.mark.skipif("lapor" not in PLUGINS, reason="the lapor plugin is not installed")
def test_regression_unknown_lapor_id_is_422_not_502(make_app, lapor_sim):
    """schemathesis (admin): ``POST /plugins/lapor/import {"lapor_id": "0"}`` answered 502 because
    SP4N-LAPOR! said 404; an id LAPOR! does not know is the caller's mistake."""
    app = make_app({"PLUGINS": ["lapor"], **lapor_sim})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    r = client.post("/api/v1/plugins/lapor/import", json={"lapor_id": "0"}, headers=auth(seed.coordinator))
    assert r.status_code == 422 and "lapor_id" in r.json["errors"], r.json
    tid = client.post("/api/v1/complaints", json={"body": "Jalan rusak"}).json["tracking_id"]
    r = client.post(f"/api/v1/plugins/lapor/tickets/{tid}/resolve", json={"action": "link", "lapor_id": "0"},
                    headers=auth(seed.coordinator))
    assert r.status_code in (404, 409, 422) and r.is_json, r.json


@pytest.mark.skipif("lapor" not in PLUGINS, reason="the lapor plugin is not installed")
def test_regression_integer_beyond_a_database_integer_is_422(make_app, lapor_sim):
    """schemathesis (coordinator, PostgreSQL): ``PUT /plugins/lapor/mappings/categories/1`` with
    ``lapor_category_id`` 2**63-2 answered 500 (PostgreSQL ``integer out of range``)."""
    app = make_app({"PLUGINS": ["lapor"], **lapor_sim})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    r = client.put("/api/v1/plugins/lapor/mappings/categories/1", json={"lapor_category_id": 9223372036854775806},
                   headers=auth(seed.coordinator))
    assert r.status_code == 422 and "lapor_category_id" in r.json["errors"], r.json
    r = client.put("/api/v1/plugins/lapor/mappings/categories/1", json={"lapor_category_id": 2 ** 31},
                   headers=auth(seed.coordinator))
    assert r.status_code == 422 and "lapor_category_id" in r.json["errors"], r.json
