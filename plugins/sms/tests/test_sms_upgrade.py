"""Upgrading from sms 0001: opt-outs and the blocklist move to the core's contact tables, so a number
that sent STOP stays opted out and a blocked number stays blocked."""
import os

from playhouse.migrations import Runner

from aduan.db import database
from aduan.models import Complaint, Contact, ContactBlock


def test_optouts_and_blocks_survive_the_upgrade(sms_app, signers):
    import aduan_sms

    app = sms_app()
    mig = os.path.join(os.path.dirname(aduan_sms.__file__), "migrations")
    with app.app_context(), database.connection_context():
        runner = Runner(database.obj, mig, table_name="sms_schema_migration")
        assert runner.down() == ["0002_contacts_gammu_wait"]  # back to the 0.1 layout
        database.execute_sql("INSERT INTO sms_optout (phone, created_at) VALUES ('+6281907071111', '2026-11-01 00:00:00')")
        database.execute_sql("INSERT INTO sms_block (phone, reason, created_at) "
                             "VALUES ('+6281907072222', 'spam', '2026-11-01 00:00:00')")
        assert runner.up() == ["0002_contacts_gammu_wait"]
        assert not {"sms_optout", "sms_block"} & set(database.get_tables())
        assert Contact.get(Contact.address == "+6281907071111").opted_out is True
        assert ContactBlock.get(ContactBlock.address == "+6281907072222").reason == "spam"
    client = app.test_client()
    r = signers.generic(client, {"from": "081907072222", "text": "LAPOR x", "id": "u1"})
    assert r.status_code == 200 and r.json["reply"] is None
    with app.app_context(), database.connection_context():
        assert Complaint.select().count() == 0
