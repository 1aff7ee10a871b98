"""Staff routes and the ``aduan email`` commands."""
from __future__ import annotations

from aduan.db import database
from aduan.testing import auth


def test_status_and_failing_addresses(email_app, smtp_server, h, seed):
    from aduan_email.inbound import handle_raw

    app = email_app()
    client = app.test_client()
    with app.app_context(), database.connection_context():
        handle_raw(h.mail().as_bytes(), "raw")
        handle_raw(h.mail(subject="Out of Office").as_bytes(), "raw")
    assert client.get("/api/v1/plugins/email/status").status_code == 401
    assert client.get("/api/v1/plugins/email/status", headers=auth(seed.officer_a)).status_code == 403
    r = client.get("/api/v1/plugins/email/status", headers=auth(seed.coordinator))
    assert r.status_code == 200
    body = r.get_json()
    assert body["inbound"] == {"filed": 1, "ignored": 1} and body["failing_addresses"] == 0
    assert "warga" not in r.get_data(as_text=True)  # no addresses in the status

    # bad input is a 422, never a 500
    for bad in ({"email": "not-an-address", "failing": True}, {"failing": True}, {"email": "a@b.example"}):
        r = client.post("/api/v1/plugins/email/addresses", json=bad, headers=auth(seed.coordinator))
        assert r.status_code == 422, bad
    r = client.post("/api/v1/plugins/email/addresses", json={"email": "Budi@Warga.example", "failing": True},
                    headers=auth(seed.coordinator))
    assert r.get_json() == {"failing": True, "was_failing": False}
    assert client.get("/api/v1/plugins/email/status", headers=auth(seed.admin)).get_json()["failing_addresses"] == 1
    # a marked address gets no mail; clearing the mark lets mail through again
    file = {"title": "Lampu mati", "body": "Lampu jalan mati.", "reporter": {"email": "budi@warga.example"}}
    assert client.post("/api/v1/complaints", json=file).status_code in (200, 201)
    with app.app_context(), database.connection_context():
        h.run_worker(app)
    assert smtp_server.to("budi@warga.example") == []  # neither acknowledgement went out
    r = client.post("/api/v1/plugins/email/addresses", json={"email": "budi@warga.example", "failing": False},
                    headers=auth(seed.coordinator))
    assert r.get_json() == {"failing": False, "was_failing": True}
    assert client.post("/api/v1/complaints", json=file).status_code in (200, 201)
    with app.app_context(), database.connection_context():
        h.run_worker(app)
    assert len(smtp_server.to("budi@warga.example")) == 1


def test_cli_import_and_poll(email_app, smtp_server, h, tmp_path):
    from aduan_email.cli import group

    app = email_app()
    eml = tmp_path / "m.eml"
    eml.write_bytes(h.mail(msgid="<cli-1@warga.example>").as_bytes())
    runner = app.test_cli_runner()
    r = runner.invoke(group, ["import", str(eml)])
    assert r.exit_code == 0 and r.output.startswith("filed ")
    r = runner.invoke(group, ["import", str(eml)])
    assert r.output.strip() == "duplicate"
    r = runner.invoke(group, ["poll"])
    assert r.exit_code == 0 and "nothing new" in r.output
    with app.app_context(), database.connection_context():
        assert len(h.complaints()) == 1


def test_migration_creates_the_models_schema(email_app):
    from aduan_email.models import MODELS

    app = email_app()
    with app.app_context(), database.connection_context():
        for model in MODELS:
            table = model._meta.table_name
            assert table.startswith("email_")
            cols = {c.name for c in database.get_columns(table)}
            assert cols == {f.column_name for f in model._meta.sorted_fields}, table
            model.select().count()  # every column the model reads exists
