"""Staff panel (core hook ``staff_panels``): open-data publishing for admins; "publish now" queues a release
that the worker builds, and the panel then shows it."""
from aduan.auth import Actor
from aduan.db import database
from aduan.i18n import use_language
from aduan.jobs import Worker
from aduan.testing import auth


def _panels(app, actor):
    hooks = app.extensions["aduan"].hooks
    with app.app_context(), database.connection_context(), use_language("en"):  # labels in English
        return {p.id: p.data(actor) for p in hooks.staff_panels(actor)}


def test_publish_now_from_the_panel_builds_a_release(make_app):
    from aduan.testing import seed_basics

    app = make_app({"PLUGINS": ["opendata"]})
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    client = app.test_client()
    panel = _panels(app, Actor(role="admin"))["opendata.publishing"]
    assert dict(panel.counts)["Latest release"] == "—" and panel.tables[0].rows == ()
    (publish,) = panel.actions
    # only admins may press it: the route refuses others
    assert client.post(publish.endpoint, headers=auth(seed.coordinator)).status_code == 403
    assert client.post(publish.endpoint).status_code == 401
    r = client.open(publish.endpoint, method=publish.method, headers=auth(seed.admin))
    assert r.status_code == 202, r.json
    assert client.post(publish.endpoint, headers=auth(seed.admin)).status_code == 202  # same minute: one job
    assert dict(_panels(app, Actor(role="admin"))["opendata.publishing"].counts)["Publications waiting"] == 1
    Worker(app).run_once()
    panel = _panels(app, Actor(role="admin"))["opendata.publishing"]
    counts = dict(panel.counts)
    assert counts["Latest release"] != "—" and counts["Publications waiting"] == 0
    assert panel.tables[0].rows[0][0] == counts["Latest release"]
    with app.app_context(), database.connection_context():
        from aduan.models import Job

        assert [j.status for j in Job.select().where(Job.kind == "opendata.publish")] == ["done"]
    assert client.get("/api/v1/plugins/opendata/").json["latest"]["version"] == counts["Latest release"]
    # coordinators and officers do not get the panel
    assert _panels(app, Actor(role="coordinator")) == {}
    assert _panels(app, Actor(role="officer", agency_id=seed.agency_a.id)) == {}
