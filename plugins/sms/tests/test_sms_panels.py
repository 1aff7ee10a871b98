"""Staff panel (core hook ``staff_panels``): the SMS message log never shows a whole number, nor a masked one
to an officer who may not see the reporter, nor any message text; officers see their agency only."""
import re

from aduan.auth import Actor
from aduan.db import database
from aduan.i18n import use_language
from aduan.services import file_complaint
from aduan.testing import auth


def _log(app, actor):
    hooks = app.extensions["aduan"].hooks
    with app.app_context(), database.connection_context(), use_language("en"):  # labels in English
        panels = {p.id: p for p in hooks.staff_panels(actor)}
        return panels["sms.log"].data(actor) if "sms.log" in panels else None


def test_message_log_masks_numbers_and_respects_anonymity_and_agency(sms_app, seed, signers, httpserver):
    httpserver.expect_request("/send").respond_with_json({"ok": True})
    app = sms_app(SMS_OUTBOUND="http", SMS_HTTP_URL=httpserver.url_for("/send"))
    client = app.test_client()
    r = signers.generic(client, {"from": "0819-0707-8888", "text": "LAPOR trotoar rusak", "id": "a1"})
    tid = re.search(r"lacak (\w{8})", r.json["reply"]).group(1)
    with app.app_context(), database.connection_context():
        c, _code = file_complaint({"body": "Pungli di kantor desa", "anonymous": True,
                                   "reporter": {"phone": "081907079999"}}, actor=Actor(role="reporter"), channel="web")
        anon = c.tracking_id
    for t in (tid, anon):
        client.post(f"/api/v1/complaints/{t}/actions/verify", json={"agency_id": seed.agency_a.id},
                    headers=auth(seed.coordinator))
    from aduan.jobs import Worker

    Worker(app).run_once()

    officer_a = Actor(role="officer", agency_id=seed.agency_a.id, username="off_a")
    data = _log(app, officer_a)
    (table,) = data.tables
    numbers = {row[5]: set() for row in table.rows}
    for row in table.rows:
        numbers[row[5]].add(row[2])
    assert numbers[tid] == {"+62819****8888"}  # masked: enough to tell contacts apart
    assert numbers[anon] == {"—"}  # an anonymous reporter: not even masked
    flat = repr(data)
    for secret in ("+6281907078888", "081907078888", "+6281907079999", "9999", "trotoar rusak", "Pungli"):
        assert secret not in flat, secret
    assert data.actions == ()  # blocking is for coordinators and admins

    # an officer of another agency sees none of these messages
    assert _log(app, Actor(role="officer", agency_id=seed.agency_b.id)).tables[0].rows == ()
    # the coordinator sees every message, masked, and may block a number through the plugin's API
    coord = _log(app, Actor(role="coordinator", username="koord"))
    assert len(coord.tables[0].rows) == len(table.rows)
    assert "+6281907078888" not in repr(coord) and "+62819****9999" in repr(coord)
    (block,) = coord.actions
    r = client.open(block.endpoint, method=block.method, json={"phone": "0819-0707-8888", "reason": "spam"},
                    headers=auth(seed.coordinator))
    assert r.status_code == 201, r.json
    assert dict(_log(app, Actor(role="coordinator")).counts)["Blocked numbers"] == 1
