"""The Dockerfile, the compose file and the monitoring examples say what the tested code does.

No container engine runs on these machines, so the Dockerfile's install step is a script
(``deploy/install.sh``) that this test runs into a fresh virtual environment and then starts; every
command the Dockerfile and compose run is checked against the real ``aduan`` command line; the alert
rules and the Grafana dashboard name only metrics that ``/metrics`` exports.
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from aduan.cli import main
from aduan.testing import TEST_DB_ENV

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, argument) pairs, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def check_aduan_command(argv: list[str]) -> None:
    """Fails unless ``argv`` is a valid invocation of the installed ``aduan`` command."""
    assert argv[0] == "aduan", argv
    import click

    ctx = click.Context(main)
    cmd = main.get_command(ctx, argv[1])
    assert cmd is not None, f"aduan has no command {argv[1]!r}"
    cmd.make_context(argv[1], list(argv[2:]), parent=ctx)  # raises on an unknown option or a bad value


def test_dockerfile_installs_with_the_tested_script_and_runs_real_commands():
    steps = dockerfile()
    runs = [arg for ins, arg in steps if ins == "RUN"]
    assert any(shlex.split(r)[:2] == ["sh", "/src/deploy/install.sh"] for r in runs), runs
    assert not any("pip install" in r for r in runs), "install through deploy/install.sh only"
    cmd = json.loads(dict(steps)["CMD"])
    check_aduan_command(cmd)
    assert dict(steps)["STOPSIGNAL"] == "SIGTERM"
    health = [a for i, a in steps if i == "HEALTHCHECK"]
    assert health and "/health" in health[0]


def test_compose_runs_postgres_two_web_processes_and_two_workers():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"db", "migrate", "web1", "web2", "worker1", "worker2"} <= set(services)
    assert services["db"]["image"].startswith("postgres:")
    for name in ("migrate", "web1", "web2", "worker1", "worker2"):
        svc = services[name]
        check_aduan_command(svc["command"])
        assert svc["build"] == "." and svc["stop_signal"] == "SIGTERM"
        assert svc["environment"]["ADUAN_DATABASE_URL"].startswith("postgresql://")
    assert [services[n]["command"][1] for n in ("web1", "web2", "worker1", "worker2", "migrate")] == \
        ["serve", "serve", "worker", "worker", "init"]
    for name in ("web1", "web2", "worker1", "worker2"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def exported_metric_names(make_app) -> set[str]:
    from prometheus_client.parser import text_string_to_metric_families

    app = make_app({"PLUGINS": ["lapor", "sms", "email"]})
    client = app.test_client()
    client.post("/api/v1/complaints", json={"body": "contoh"})
    names = set()
    for fam in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        names.add(fam.name)
        names.update(s.name for s in fam.samples)
    return names


def test_alert_rules_and_dashboard_use_exported_metrics(make_app):
    names = exported_metric_names(make_app)
    rules = yaml.safe_load((ROOT / "docs" / "prometheus-alerts.yml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dash = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    exprs += [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {m for e in exprs for m in re.findall(r"\baduan_[a-z0-9_]+", e)}
    # plugin families with no rows yet export no sample: they are checked by name
    plugin_families = {"aduan_lapor_tickets", "aduan_sms_messages", "aduan_email_inbound", "aduan_email_failing_addresses"}
    assert used, "no aduan metric used"
    missing = sorted(m for m in used if m not in names and m not in plugin_families)
    assert not missing, f"alerts or dashboard use metrics /metrics does not export: {missing}"
    assert plugin_families <= used


@pytest.mark.slow
@pytest.mark.skipif(bool(os.environ.get(TEST_DB_ENV)), reason="engine-independent: runs in the SQLite pass only")
def test_install_script_builds_a_working_installation(tmp_path):
    # like the Dockerfile's COPY . /src (less what .dockerignore leaves out), then its RUN step
    src = tmp_path / "src"
    ignored = [ln.strip().split("/")[-1] for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip()]
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*ignored))
    assert (src / "deploy" / "install.sh").exists() and not (src / ".venv").exists()
    prefix = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_") and k != "VIRTUAL_ENV"}
    env["ADUAN_INSTALL_PLUGINS"] = "lapor"
    res = subprocess.run(["sh", str(src / "deploy" / "install.sh"), str(prefix), str(src)], env=env,
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    aduan = prefix / "bin" / "aduan"
    assert "aduan installed" in res.stdout
    run_env = ops.aduan_env(f"sqlite:///{tmp_path / 'aduan.db'}", str(tmp_path / "inst"),
                            ADUAN_PLUGINS="lapor", ADUAN_READY_WORKER_MAX_AGE=0)
    assert subprocess.run([str(aduan), "init", "--no-regions"], env=run_env, capture_output=True,
                          timeout=120).returncode == 0
    port = ops.free_port()
    with open(tmp_path / "web.log", "wb") as log:
        web = subprocess.Popen([str(aduan), "serve", "--port", str(port)], env=run_env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        r = ops.wait_http(f"http://127.0.0.1:{port}/ready")
        assert r.json()["status"] == "ready"
        plugins = ops.wait_http(f"http://127.0.0.1:{port}/metrics")
        assert "aduan_lapor_tickets" in plugins.text or "aduan_database_up 1.0" in plugins.text
    finally:
        assert ops.stop(web) == 0
