"""Application-level behaviour: connections, timeline dating of imported entries."""
import datetime as dt

from aduan.auth import Actor, system
from aduan.db import database
from aduan.models import Complaint, Event
from aduan.services import file_complaint, perform


def test_a_request_leaves_a_connection_it_did_not_open(app, seed):
    """A CLI command or a script holding a connection can call the app without losing it."""
    with app.app_context(), database.connection_context():
        assert app.test_client().get("/api/v1/categories").status_code == 200
        assert not database.is_closed()
        assert Complaint.select().count() == 0


def test_imported_entries_keep_their_own_time(app, seed):
    with app.app_context(), database.connection_context():
        c, _ = file_complaint({"body": "Jalan longsor"}, actor=Actor(role="reporter"))
        then = dt.datetime(2026, 1, 5, 3, 0)
        ev = perform(c, "comment", system("lapor"), text="Tindak lanjut dari LAPOR!", visibility="public",
                     source="lapor", external_id="fu-1", occurred_at=then)
        assert ev.created_at == then
        assert Complaint.get_by_id(c.id).updated_at > then  # the complaint's own clock is now
        again = perform(c, "comment", system("lapor"), text="Tindak lanjut dari LAPOR!", visibility="public",
                        source="lapor", external_id="fu-1", occurred_at=then)
        assert again is None and Event.select().where(Event.external_id == "fu-1").count() == 1
