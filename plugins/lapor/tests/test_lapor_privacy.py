"""What leaves the deployment: identity only as consented, never NIK, never internal files; credentials
never in logs, error messages or job errors."""
import logging

from aduan.cli import config_cmd
from aduan.db import database
from aduan.models import Job
from aduan.testing import auth
from aduan_lapor.cli import lapor_group
from aduan_lapor.simulator import DEFAULT_GUID, DEFAULT_TOKEN
from aduan_lapor.testing import PNG, act, drain, file, upload

NIK = "5271010101900001"


def _reporter(n):
    return {"name": f"Lalu Pelapor{n}", "phone": f"0819071200{n:02d}", "email": f"pelapor{n}@example.id", "nik": NIK}


def test_anonymous_reporter_identity_and_nik_never_reach_lapor(lapor, sim):
    app, client, seed = lapor()
    anon, code = file(client, anonymous=True, reporter=_reporter(1))
    upload(client, anon, code, "wajah.png", PNG)
    act(client, anon, "verify", seed.coordinator)
    named, _ = file(client, reporter=_reporter(2))
    act(client, named, "verify", seed.coordinator)
    consented, _ = file(client, anonymous=True, share_identity=True, reporter=_reporter(3))
    act(client, consented, "verify", seed.coordinator)
    secret, _ = file(client, secret=True, reporter=_reporter(4))
    act(client, secret, "verify", seed.coordinator)
    drain(app)
    assert len(sim.calls("E4")) == 4

    everything = sim.received_text()
    assert NIK not in everything and "*" * 12 not in everything  # nor its masked form
    for part in ("Lalu Pelapor1", "819071200 01".replace(" ", ""), "pelapor1@example.id"):
        assert part not in everything
    by_tid = {tid: sim.complaints_with(tid)[0] for tid in (anon, named, consented, secret)}
    a = by_tid[anon]["body"]
    assert a["is_anonymous"] is True and a["nameUser"] == "Anonim" and a["phoneUser"] == "" and a["emailUser"] == ""
    # the attachment of the anonymous complaint was sent (content), its reporter was not
    assert sim.calls("E3") and sim.files
    # a named reporter, and one who consented, are identified as they allowed; NIK still never
    assert "Lalu Pelapor2" in by_tid[named]["content"] and by_tid[named]["body"]["nameUser"] == "Lalu Pelapor2"
    # an anonymous reporter who consented: identified only in the user fields, never in the content the
    # receiving institution reads (issue #12 item 8)
    c3 = by_tid[consented]
    assert c3["body"]["is_anonymous"] is True
    assert (c3["body"]["nameUser"], c3["body"]["emailUser"]) == ("Lalu Pelapor3", "pelapor3@example.id")
    assert c3["body"]["phoneUser"].endswith("81907120003")
    for part in ("Lalu Pelapor3", "pelapor3@example.id", "81907120003"):
        assert part not in c3["content"]
    assert by_tid[secret]["body"]["is_secret"] is True and by_tid[anon]["body"]["is_secret"] is False


def test_identity_switched_off_for_the_deployment_and_internal_files_stay(lapor, sim):
    app, client, seed = lapor(LAPOR_SEND_IDENTITY=False, LAPOR_USER_ID=555)
    tid, code = file(client, reporter=_reporter(5))
    r = client.post(f"/api/v1/complaints/{tid}/attachments", data={"file": (__import__("io").BytesIO(PNG), "x.png"),
                                                                  "visibility": "internal"},
                    headers=auth(seed.coordinator), content_type="multipart/form-data")
    assert r.status_code == 201
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    (create,) = sim.calls("E4")
    assert "Lalu Pelapor5" not in sim.received_text() and "pelapor5@example.id" not in sim.received_text()
    assert create.json["is_new_user_slider"] is False and create.json["user_id"] == 555
    assert sim.calls("E3") == [] and create.json["attachments"] == "[]"


def test_credentials_never_in_logs_errors_or_job_records(lapor, sim, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="aduan_lapor")
    caplog.set_level(logging.DEBUG, logger="aduan")
    app, client, seed = lapor()
    tid, _ = file(client, reporter=_reporter(6))
    sim.fail_next("E4", "echo")  # a gateway that repeats our headers in its error body
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    st = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(seed.coordinator)).json
    assert st["state"] == "failed" and "HTTP 422" in st["last_error"]

    # wrong credentials: refused with a clear message naming the settings, never their values
    sim.token = "rotated-by-the-ministry"
    r = client.post(f"/api/v1/plugins/lapor/tickets/{tid}/resolve", json={"action": "resend"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200, r.json
    drain(app)
    st = client.get(f"/api/v1/plugins/lapor/tickets/{tid}", headers=auth(seed.coordinator)).json
    assert "HTTP 401" in st["last_error"] and "ADUAN_LAPOR_BEARER_TOKEN" in st["last_error"]
    r = client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.admin))
    assert r.status_code == 502 and "credentials refused" in r.json["message"]

    with app.app_context(), database.connection_context():
        job_errors = " ".join(j.last_error or "" for j in Job.select())
    view = client.get(f"/api/v1/complaints/{tid}", headers=auth(seed.admin)).json
    stuck = client.get("/api/v1/plugins/lapor/stuck", headers=auth(seed.admin)).json
    status = client.get("/api/v1/plugins/lapor/status", headers=auth(seed.admin)).json
    runner = app.test_cli_runner()
    cli_out = runner.invoke(lapor_group, ["stuck"]).output + runner.invoke(lapor_group, ["status"]).output
    cli_out += runner.invoke(config_cmd, []).output
    assert "LAPOR_BEARER_TOKEN" in cli_out and "credentials: set" in cli_out
    secrets = (DEFAULT_TOKEN, DEFAULT_GUID, DEFAULT_GUID.strip("{}"))
    haystacks = {"logs": caplog.text, "job errors": job_errors, "complaint view": str(view), "stuck": str(stuck),
                 "status": str(status), "cli": cli_out, "errors": str(r.json)}
    assert "***" in job_errors  # the echoed credentials were there, and were masked
    for where, text in haystacks.items():
        for s in secrets:
            assert s not in text, f"a credential leaked into {where}"
    # nor the reporter's personal data in the logs
    assert "Lalu Pelapor6" not in caplog.text and "pelapor6@example.id" not in caplog.text
