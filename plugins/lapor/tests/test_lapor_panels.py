"""Staff panels (core hook ``staff_panels``): the stuck list and the mappings, for coordinators and admins only;
their actions are the plugin's API routes and work when called as the staff member."""
from aduan.auth import Actor
from aduan.db import database
from aduan.i18n import use_language
from aduan.testing import auth
from aduan_lapor.testing import act, drain, file, map_agency


def _panels(app, actor):
    hooks = app.extensions["aduan"].hooks
    with app.app_context(), database.connection_context(), use_language("en"):  # labels in English
        return {p.id: p.data(actor) for p in hooks.staff_panels(actor)}


def _call(client, token, action, **values):
    body = {f.name: (f.value if f.kind == "hidden" else values[f.name]) for f in action.fields}
    return client.open(action.endpoint, method=action.method, json=body, headers=auth(token))


def test_stuck_panel_lists_an_uncertain_create_and_its_link_action_settles_it(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    map_agency(client, seed.coordinator, seed.agency_a.id, 1002)
    tid, _code = file(client)
    sim.fail_next("E4", "lost")  # LAPOR! creates it, the answer never arrives
    act(client, tid, "verify", seed.coordinator)
    drain(app)
    (created,) = sim.complaints_with(tid)

    coordinator = Actor(role="coordinator", username="koord")
    panels = _panels(app, coordinator)
    assert set(panels) == {"lapor.stuck", "lapor.mappings"}
    stuck = panels["lapor.stuck"]
    tickets = stuck.tables[0]
    assert [row[0] for row in tickets.rows] == [tid] and tickets.rows[0][1] == "uncertain"
    assert dict(stuck.counts)["Outcome unknown"] == 1
    # the reporter's identity never appears in the panel
    flat = repr(stuck)
    assert "Baiq" not in flat and "0819" not in flat and "baiq@example.id" not in flat
    resend, link = tickets.row_actions[0]
    assert resend.endpoint == link.endpoint == f"/api/v1/plugins/lapor/tickets/{tid}/resolve"
    # the link action, called as the coordinator, settles it: the panel no longer lists it
    r = _call(client, seed.coordinator, link, lapor_id=str(created["id"]))
    assert r.status_code == 200, r.json
    assert r.json["state"] == "created"
    drain(app)
    assert _panels(app, coordinator)["lapor.stuck"].tables[0].rows == ()
    # the same action with bad input is refused by the route with a field message
    r = _call(client, seed.coordinator, link, lapor_id="not an id!")
    assert r.status_code == 422 and "lapor_id" in r.json["errors"]


def test_mappings_panel_maps_an_agency_and_officers_get_no_lapor_panel(lapor, sim):
    app, client, seed = lapor()
    client.post("/api/v1/plugins/lapor/institutions/sync", headers=auth(seed.coordinator))
    panels = _panels(app, Actor(role="admin", username="admin"))
    mappings = panels["lapor.mappings"]
    agencies = mappings.tables[0]
    row = [r[0] for r in agencies.rows].index("PUPR")
    assert agencies.rows[row][2] == "—"
    (map_action,) = agencies.row_actions[row]
    assert map_action.method == "PUT" and map_action.fields[0].kind == "select"
    inst_id = map_action.fields[0].choices[0][0]
    r = _call(client, seed.admin, map_action, institution_id=inst_id)
    assert r.status_code == 200, r.json
    mapped = _panels(app, Actor(role="admin"))["lapor.mappings"].tables[0].rows[row][2]
    assert mapped.startswith(str(inst_id))
    assert dict(_panels(app, Actor(role="admin"))["lapor.mappings"].counts)["Mapped agencies"] == 1
    # officers see neither the stuck list nor the mappings
    assert _panels(app, Actor(role="officer", agency_id=seed.agency_a.id)) == {}
