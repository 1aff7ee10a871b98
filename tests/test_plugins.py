"""The plugin system: every hook documented and exercised, loading rules, the plugin listing."""
import inspect
import os
import subprocess
import sys
import textwrap

import click
import peewee as pw
import pytest
from click.testing import CliRunner
from flask import Blueprint, jsonify
from marshmallow import Schema, fields

import aduan
from aduan import JobRequest, Metric, Panel, PanelData, Schedule, hookimpl, hookspecs
from aduan.auth import Actor
from aduan.db import database
from aduan.models import BaseModel, Job
from aduan.plugins import PluginError
from aduan.testing import auth

HOOKS = sorted(n for n, f in vars(hookspecs).items() if inspect.isfunction(f) and hasattr(f, "aduan_spec"))


class ProbeNote(BaseModel):
    text = pw.CharField()

    class Meta:
        table_name = "probe_note"


class Probe:
    """A plugin implementing every hook, recording what the core did with each."""

    name = "probe"
    __version__ = "9.9"

    def __init__(self):
        self.calls = []
        self.tracked = []

    @hookimpl
    def register_config(self):
        class ProbeConfig(Schema):
            GREETING = fields.String(load_default="halo", metadata={"description": "what the probe says"})
            API_KEY = fields.String(load_default=None, allow_none=True, metadata={"description": "k", "secret": True})

        return {"PROBE": ProbeConfig}

    @hookimpl
    def register_models(self):
        return [ProbeNote]

    @hookimpl
    def register_migrations(self):
        return {}

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("probe", __name__, url_prefix="/hooks/probe")

        @bp.get("/hello")
        def hello():
            from flask import current_app, g

            return jsonify(greeting=current_app.config["PROBE_GREETING"], role=g.actor.role)

        return [bp]

    @hookimpl
    def register_commands(self):
        @click.group("probe")
        def grp():
            """Probe commands."""

        @grp.command("count")
        def count():
            with database.connection_context():
                click.echo(f"notes={ProbeNote.select().count()}")

        return [grp]

    @hookimpl
    def register_jobs(self):
        def note(app, payload, job):
            with database.atomic():
                ProbeNote.create(text=f"{payload['type']}:{payload['tracking_id']}")

        return {"probe.note": note}

    @hookimpl
    def register_schedules(self):
        return [Schedule("probe.tick", 3600, lambda app: self.calls.append("tick"))]

    @hookimpl
    def register_exporters(self):
        def export(app, directory):
            path = os.path.join(directory, "probe.txt")
            with open(path, "w") as fh:
                fh.write("ok")
            return [path]

        return {"probe": export}

    @hookimpl
    def startup(self, app):
        self.calls.append("startup")

    @hookimpl
    def actor_from_request(self, request):
        if request.headers.get("X-Probe") == "secret-handshake":
            return Actor(role="coordinator", username="probe")
        return None

    @hookimpl
    def complaint_extra(self, complaint, audience):
        if audience in ("coordinator", "admin", "officer"):
            return {"seen_by": audience}
        return None

    @hookimpl
    def complaint_extras(self, complaints, audience):
        if audience in ("coordinator", "admin", "officer"):
            self.calls.append(f"extras:{len(complaints)}")
            return {c.id: {"seen_by": audience, "batched": True} for c in complaints}
        return None

    @hookimpl
    def enqueue_jobs(self, event):
        if event.type == "file":
            return [JobRequest("probe.note", {"type": event.type, "tracking_id": event.tracking_id},
                               key=f"probe:{event.tracking_id}")]
        return None

    @hookimpl
    def track_event(self, app, event):
        self.tracked.append((event.type, event.tracking_id))

    @hookimpl
    def check_readiness(self, app):
        return {"greeting": None if app.config["PROBE_GREETING"] else "no greeting configured"}

    @hookimpl
    def channel_info(self, app):
        return {"channel": "probe", "name": "Probe", "how": "Say hello", "address": app.config["PROBE_GREETING"]}

    @hookimpl
    def track_url(self, tracking_id):
        return f"https://probe.example/t/{tracking_id}"

    @hookimpl
    def collect_metrics(self, app):
        return [Metric("notes", "probe notes written", "counter", (), [((), ProbeNote.select().count())])]

    @hookimpl
    def staff_panels(self, actor):
        def data(a):
            return PanelData(counts=(("notes", ProbeNote.select().count()),), notes=(f"for {a.role}",))

        return [Panel("notes", "Probe notes", ("admin", "coordinator"), data)]


def test_every_hookspec_is_documented():
    assert HOOKS, "no hookspecs found"
    for name in HOOKS:
        fn = getattr(hookspecs, name)
        doc = inspect.getdoc(fn) or ""
        assert len(doc) > 60, f"hook {name} lacks a docstring"
        for param in inspect.signature(fn).parameters:
            assert f":param {param}:" in doc, f"hook {name} does not document :param {param}:"
        if inspect.signature(fn).return_annotation not in (None, "None"):
            assert ":return:" in doc, f"hook {name} does not say what to return"


def test_probe_implements_every_hook():
    implemented = {n for n in dir(Probe) if hasattr(getattr(Probe, n), "aduan_impl")}
    assert implemented == set(HOOKS), f"untested hooks: {set(HOOKS) - implemented}"


def test_every_hook_takes_effect(make_app, monkeypatch, tmp_path):
    probe = Probe()
    monkeypatch.setenv("ADUAN_PROBE_GREETING", "selamat pagi")
    app = make_app(plugins=[probe])
    assert probe.calls == ["startup"]
    assert app.config["PROBE_GREETING"] == "selamat pagi"  # register_config, from the environment
    client = app.test_client()
    # register_blueprints + actor_from_request
    assert client.get("/hooks/probe/hello").json == {"greeting": "selamat pagi", "role": "public"}
    assert client.get("/hooks/probe/hello", headers={"X-Probe": "secret-handshake"}).json["role"] == "coordinator"
    # enqueue_jobs (in the transaction) + register_jobs + register_models (table created) + worker
    r = client.post("/api/v1/complaints", json={"body": "Jembatan retak"})
    tid = r.json["tracking_id"]
    assert r.json["track_url"] == f"https://probe.example/t/{tid}"  # track_url
    # channel_info: merged with defaults, in the request's language
    with app.test_request_context():
        assert app.extensions["aduan"].hooks.channel_info(app) == [
            {"channel": "probe", "name": "Probe", "how": "Say hello", "address": "selamat pagi", "order": 50,
             "url": None}]
    from aduan.jobs import Worker

    counts = Worker(app).run_once()
    assert counts["done"] == 1 and "tick" in probe.calls  # register_schedules
    with app.app_context(), database.connection_context():
        assert [n.text for n in ProbeNote.select()] == [f"file:{tid}"]
    # track_event after commit
    assert ("file", tid) in probe.tracked
    # complaint_extra: staff see it, the public does not
    # complaint_extras (batched) wins over complaint_extra: once per list page, once for one complaint
    staff = client.get(f"/api/v1/complaints/{tid}", headers={"X-Probe": "secret-handshake"}).json
    assert staff["extra"] == {"probe": {"seen_by": "coordinator", "batched": True}}
    assert "extra" not in client.get(f"/api/v1/complaints/{tid}").json
    client.post("/api/v1/complaints", json={"body": "Jembatan retak lagi"})
    probe.calls.clear()
    page = client.get("/api/v1/complaints", headers={"X-Probe": "secret-handshake"}).json["items"]
    assert [v["extra"] for v in page] == [{"probe": {"seen_by": "coordinator", "batched": True}}] * 2
    assert probe.calls == ["extras:2"]
    # register_commands + register_exporters through the CLI
    runner = CliRunner()
    from aduan.cli import main

    obj = __import__("flask.cli", fromlist=["ScriptInfo"]).ScriptInfo(create_app=lambda: app)
    res = runner.invoke(main, ["probe", "count"], obj=obj)
    assert res.exit_code == 0 and "notes=1" in res.output, res.output
    res = runner.invoke(main, ["export", "probe", str(tmp_path / "out")], obj=obj)
    assert res.exit_code == 0 and (tmp_path / "out" / "probe.txt").read_text() == "ok"
    res = runner.invoke(main, ["config"], obj=obj)
    assert "PROBE_GREETING = 'selamat pagi'" in res.output and "ADUAN_PROBE_API_KEY" in res.output
    # check_readiness (in /ready, with the core's checks) + collect_metrics (in /metrics)
    app.config["READY_WORKER_MAX_AGE"] = 0
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json["checks"]["probe.greeting"] == "ok", ready.json
    app.config["PROBE_GREETING"] = ""
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json["checks"]["probe.greeting"] == "no greeting configured"
    assert "aduan_probe_notes_total 1.0" in client.get("/metrics").get_data(as_text=True)
    # staff_panels: only for the roles the panel names, id prefixed with the plugin, data for the actor
    hooks = app.extensions["aduan"].hooks
    with app.app_context(), database.connection_context():
        panels = hooks.staff_panels(Actor(role="coordinator"))
        assert [p.id for p in panels] == ["probe.notes"]
        assert panels[0].data(Actor(role="coordinator")) == PanelData(counts=(("notes", 1),), notes=("for coordinator",))
        assert hooks.staff_panels(Actor(role="officer", agency_id=1)) == []


def test_track_event_not_called_for_rolled_back_changes(make_app):
    probe = Probe()
    app = make_app(plugins=[probe])
    from aduan.services import file_complaint

    with app.app_context(), database.connection_context():
        with pytest.raises(RuntimeError):
            with database.atomic():
                file_complaint({"body": "akan dibatalkan"}, actor=Actor(role="reporter"))
                raise RuntimeError("boom")
        assert Job.select().count() == 0
    assert probe.tracked == []


def test_failing_track_event_does_not_break_the_request(make_app, caplog):
    class Broken:
        name = "broken"

        @hookimpl
        def track_event(self, app, event):
            raise ValueError("kaboom")

    app = make_app(plugins=[Broken()])
    r = app.test_client().post("/api/v1/complaints", json={"body": "tetap tersimpan"})
    assert r.status_code == 201
    assert "track_event of plugin broken failed" in caplog.text


def test_plugins_endpoint_lists_versions_and_hooks(make_app):
    from aduan.testing import seed_basics

    app = make_app(plugins=[Probe()])
    with app.app_context(), database.connection_context():
        s = seed_basics()
    rows = app.test_client().get("/api/v1/plugins", headers=auth(s.admin)).json
    probe = next(r for r in rows if r["name"] == "probe")
    assert probe["enabled"] and probe["version"] == "9.9" and set(probe["hooks"]) == set(HOOKS)
    core = next(r for r in rows if r["name"] == "core")
    assert core["version"] == aduan.__version__ and "register_schedules" in core["hooks"]


def test_misspelled_hook_fails_at_startup(make_app):
    class Typo:
        name = "typo"

        @hookimpl
        def track_events(self, app, event):  # one letter too many
            pass

    with pytest.raises(PluginError, match="track_events"):
        make_app(plugins=[Typo()])


def test_listed_but_missing_plugin_names_the_package(make_app):
    with pytest.raises(PluginError, match=r"pip install aduan-nosuchplugin"):
        make_app({"PLUGINS": ["nosuchplugin"]})


def test_invalid_plugin_config_stops_startup(make_app, monkeypatch):
    class Strict:
        name = "strict"

        @hookimpl
        def register_config(self):
            class S(Schema):
                RETRIES = fields.Integer(load_default=3, metadata={"description": "r"})

            return {"STRICT": S}

    from aduan.config import ConfigError

    with pytest.raises(ConfigError, match="STRICT_RETRIES"):
        make_app({"STRICT_RETRIES": "banyak"}, plugins=[Strict()])


def _fake_dist(root, name, body):
    pkg = root / f"aduan_{name}"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(body)
    info = root / f"aduan_{name}-0.0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: aduan-{name}\nVersion: 0.0.1\n")
    (info / "entry_points.txt").write_text(f"[aduan.plugins]\n{name} = aduan_{name}\n")


def test_installed_plugins_load_only_when_listed(tmp_path):
    """A broken installed plugin is never imported unless listed; listed, it stops start-up
    with a message naming it."""
    site = tmp_path / "site"
    site.mkdir()
    _fake_dist(site, "brokenthing", "raise ImportError('needs libfoo')\n")
    _fake_dist(site, "fine", "import sys\nsys.stderr.write('FINE-IMPORTED\\n')\n")
    script = textwrap.dedent("""
        import sys
        from aduan.app import create_app
        plugins = sys.argv[1].split(",") if sys.argv[1] else []
        try:
            app = create_app({"PLUGINS": plugins, "DATABASE_URL": "sqlite:///%s"})
        except Exception as exc:
            print("ERROR", exc)
            sys.exit(3)
        print("OK", [r["name"] for r in app.extensions["aduan"].hooks.describe() if r["enabled"]])
    """ % (tmp_path / "x.db"))
    env = {**os.environ, "PYTHONPATH": str(site), "ADUAN_INSTANCE_PATH": str(tmp_path / "inst")}
    run = lambda arg: subprocess.run([sys.executable, "-c", script, arg], capture_output=True, text=True, env=env,
                                     cwd=tmp_path)
    r = run("")
    assert r.returncode == 0 and "FINE-IMPORTED" not in r.stderr, r.stderr
    r = run("fine")
    assert r.returncode == 0 and "'fine'" in r.stdout and "FINE-IMPORTED" in r.stderr
    r = run("brokenthing")
    assert r.returncode == 3 and "brokenthing" in r.stdout and "needs libfoo" in r.stdout


def test_core_migrations_run_before_plugins(make_app, tmp_path):
    """A plugin table with a foreign key to a core table can be created by its migration."""
    mig = tmp_path / "fkmigs"
    mig.mkdir()
    (mig / "0001_note.py").write_text(textwrap.dedent('''
        from peewee import *

        def up(migrator, db):
            class Agency(Model):
                class Meta:
                    database = db
                    table_name = "agency"

            class FkNote(Model):
                agency = ForeignKeyField(Agency)

                class Meta:
                    database = db
                    table_name = "fk_note"

            db.create_tables([FkNote])
    '''))

    class FkPlugin:
        name = "fk"

        @hookimpl
        def register_migrations(self):
            return {"fk": str(mig)}

    app = make_app(plugins=[FkPlugin()])
    assert list(app.extensions["aduan"].migrations) == ["core", "fk"]
    with app.app_context(), database.connection_context():
        assert "fk_note" in database.get_tables()
