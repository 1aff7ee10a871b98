"""Federation between two aduan deployments, each a real ``aduan serve --with-worker`` process with
its own database: Kota Mataram (A: the test database, PostgreSQL when ``ADUAN_TEST_DATABASE_URL``
says so) forwards a complaint about the water supply to Lombok Barat's PDAM (B: SQLite), which
serves Open311. Forward, an update each way, close; B is down when A forwards and is killed
(SIGKILL) while A's reporter replies: nothing is lost or duplicated.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from aduan import testing as aduan_testing

pytestmark = pytest.mark.skipif(importlib.util.find_spec("aduan_open311.filing") is None,
                                reason="the GeoReport POST routes (POST requests, servicerequestupdates) are not "
                                       "in this tree")

BIN = os.path.dirname(sys.executable)
SECRET = "federation-test-secret-long-enough-to-pass-the-start-up-check"
PORTS = range(5500, 5600)
PREFIX = "/api/v1/plugins/open311"

DIRECTORY_A = """agencies:
  - {code: PUPR, name: Dinas PUPR Kota Mataram}
  - {code: PDAM, name: PDAM Giri Menang}
categories:
  - {code: air, name: Air bersih, default_agency: PDAM}
  - {code: jalan, name: Jalan, default_agency: PUPR}
"""
DIRECTORY_B = """agencies:
  - {code: DISTRIBUSI, name: Bagian Distribusi PDAM}
categories:
  - {code: pipa-bocor, name: Pipa bocor, default_agency: DISTRIBUSI}
"""


def free_ports(n: int) -> list[int]:
    out = []
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        out.append(port)
        if len(out) == n:
            return out
    raise RuntimeError("not enough free ports in 5500-5599")


def env_for(db_url: str, instance: str, port: int, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": db_url, "ADUAN_INSTANCE_PATH": instance, "ADUAN_SECRET_KEY": SECRET,
                "ADUAN_PLUGINS": "open311", "ADUAN_BASE_URL": f"http://127.0.0.1:{port}",
                "ADUAN_REGION_PREFIXES": "52.71", "ADUAN_LOG_FORMAT": "json",
                "ADUAN_RATE_LIMIT_FILE": "100000/hour", "ADUAN_RATE_LIMIT_TRACK": "100000/hour",
                "ADUAN_WORKER_POLL_SECONDS": "0.1", "ADUAN_JOB_BACKOFF_BASE": "0.5", "ADUAN_JOB_BACKOFF_MAX": "2"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def aduan(*args, env) -> str:
    r = subprocess.run([os.path.join(BIN, "aduan"), *args], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r.stdout


class Site:
    """One deployment: its database, its server process, its staff tokens."""

    def __init__(self, tmp_path, name: str, db_url: str, port: int, directory: str, **config):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        self.log = tmp_path / f"{name}.log"
        self.env = env_for(db_url, str(tmp_path / name), port, **config)
        (tmp_path / f"{name}.yaml").write_text(directory, encoding="utf-8")
        aduan("init", env=self.env)
        aduan("directory", "load", str(tmp_path / f"{name}.yaml"), env=self.env)
        self.tokens = {}
        for user, role in (("koord", "coordinator"), ("admin", "admin")):
            out = aduan("user", "create", user, "--name", user.title(), "--role", role, "--token", env=self.env)
            self.tokens[role] = out.split("token (shown once):", 1)[1].strip()
        self.proc = None

    def start(self):
        fh = open(self.log, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "aduan"), "serve", "--port", str(self.port), "--with-worker"],
                                     env=self.env, stdout=fh, stderr=subprocess.STDOUT)
        wait(lambda: _up(self.url), f"{self.name} answers", timeout=60)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def api(self, method, path, role="coordinator", **kw):
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers.update(kw.pop("headers", {}))
        return requests.request(method, self.url + "/api/v1" + path, headers=headers, timeout=30, **kw)

    def complaint(self, tid):
        r = self.api("GET", f"/complaints/{tid}")
        assert r.status_code == 200, r.text
        return r.json()

    def texts(self, tid, needle):
        return [e for e in self.complaint(tid)["timeline"] if needle in (e.get("text") or "")]


def _up(url):
    try:
        return requests.get(url + "/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def wait(cond, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.fixture
def sites(tmp_path):
    a_url = aduan_testing.database_url_for_tests(tmp_path)
    if a_url.startswith("sqlite"):
        a_url = f"sqlite:///{tmp_path / 'mataram.db'}"
    aduan_testing.reset_database(a_url)
    pa, pb = free_ports(2)
    b = Site(tmp_path, "pdam", f"sqlite:///{tmp_path / 'pdam.db'}", pb, DIRECTORY_B)
    aduan("user", "create", "mataram", "--name", "Kota Mataram", "--role", "integration", env=b.env)
    api_key = aduan("token", "create", "mataram", "--scope", "channel:open311", "--scope", "complaints:file",
                    env=b.env).strip()
    dest = {"pdam": {"endpoint": f"http://127.0.0.1:{pb}{PREFIX}", "api_key": api_key, "label": "PDAM Giri Menang",
                     "agencies": ["PDAM"], "service_codes": {"air": "pipa-bocor"}}}
    a = Site(tmp_path, "mataram", a_url, pa, DIRECTORY_A, ADUAN_OPEN311_DESTINATIONS=json.dumps(dest),
             ADUAN_OPEN311_POLL_SECONDS=5, ADUAN_OPEN311_READ_TIMEOUT=10)
    yield a, b, api_key
    for site in (a, b):
        site.stop()
    for site in (a, b):
        assert api_key not in site.log.read_text(encoding="utf-8", errors="replace")


def test_forward_update_each_way_and_close_between_two_processes_with_one_down(sites):
    a, b, api_key = sites
    a.start()  # B is down when A forwards
    r = a.api("POST", "/complaints", role=None, json={
        "title": "Pipa PDAM bocor", "body": "Pipa distribusi bocor di depan SDN 2 Ampenan, air terbuang.",
        "category": "air", "region_code": "52.71.01", "lat": -8.5701, "lng": 116.0755,
        "reporter": {"name": "Baiq Nurul Aini", "phone": "081907123456"}})
    assert r.status_code == 201, r.text
    tid, code = r.json()["tracking_id"], r.json()["access_code"]
    reporter = {"X-Access-Code": code}
    assert a.api("POST", f"/complaints/{tid}/actions/verify", json={}).status_code == 200

    def forward():
        items = a.api("GET", "/plugins/open311/forwards").json()["items"]
        return items[0] if items else None

    wait(lambda: (forward() or {}).get("last_error") and "cannot connect" in forward()["last_error"],
         "A has tried B and found it down")
    assert forward()["state"] == "queued"
    b.start()
    fwd = wait(lambda: forward() if forward()["state"] == "created" else None, "A's forward is created on B")
    rid = fwd["remote_id"]
    theirs = b.complaint(rid)
    assert theirs["channel"] == "open311" and theirs["category"]["code"] == "pipa-bocor"
    assert f"Ref: aduan:127.0.0.1:{a.port}:{tid}:pdam" in theirs["body"]
    assert "Baiq" not in json.dumps(theirs) and "081907123456" not in json.dumps(theirs)  # no send_identity

    # B's agency answers: A's timeline shows it once
    assert b.api("POST", f"/complaints/{rid}/actions/verify", json={}).status_code == 200
    r = b.api("POST", f"/complaints/{rid}/actions/respond", json={"text": "Petugas PDAM menuju lokasi."})
    assert r.status_code == 200, r.text
    wait(lambda: a.texts(tid, "Petugas PDAM menuju lokasi."), "B's answer reaches A", timeout=30)

    # B is killed; A's reporter replies meanwhile; B comes back and gets the reply once
    b.kill()
    r = a.api("POST", f"/complaints/{tid}/actions/reply", role=None, headers=reporter,
              json={"text": "Airnya masih mengalir deras sampai sekarang."})
    assert r.status_code == 200, r.text

    def update_job():
        jobs = a.api("GET", "/jobs?kind=open311.update", role="admin").json()
        return jobs[0] if jobs else None

    def failed_once():  # tried, failed, and waiting for its retry (not still in the middle of the try)
        job = update_job() or {}
        return job.get("attempts", 0) >= 1 and job.get("status") == "pending"

    wait(failed_once, "A has tried to post the reply to the dead B and waits to retry")
    b.start()
    wait(lambda: b.texts(rid, "Airnya masih mengalir deras"), "the reply reaches B", timeout=30)

    # B resolves: A is resolved; A's reporter rates the answer: B is closed too
    r = b.api("POST", f"/complaints/{rid}/actions/resolve", json={"text": "Pipa sudah diganti, aliran normal."})
    assert r.status_code == 200, r.text
    wait(lambda: a.complaint(tid)["status"] == "resolved", "A follows B's resolution", timeout=30)
    r = a.api("POST", f"/complaints/{tid}/actions/rate", role=None, headers=reporter, json={"rating": 5})
    assert r.status_code == 200, r.text
    wait(lambda: b.complaint(rid)["status"] == "closed", "B follows A's close", timeout=30)

    time.sleep(6)  # one more poll round: nothing new may appear
    assert len(a.texts(tid, "Petugas PDAM menuju lokasi.")) == 1
    assert len(a.texts(tid, "Pipa sudah diganti")) == 1
    assert len(b.texts(rid, "Airnya masih mengalir deras")) == 1
    listed = b.api("GET", "/complaints?channel=open311&limit=100").json()["items"]
    assert [c["tracking_id"] for c in listed] == [rid]  # forwarded once, never twice
    assert [f["state"] for f in a.api("GET", "/plugins/open311/forwards").json()["items"]] == ["created"]
    assert a.complaint(tid)["status"] == "closed"
