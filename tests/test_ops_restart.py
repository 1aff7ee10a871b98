"""Graceful restarts of real ``aduan serve`` and ``aduan worker`` processes.

* SIGTERM while uploads are still arriving: the process stops accepting new connections, finishes
  and answers every request it had, and exits 0.
* The documented zero-downtime upgrade, under load, with two web processes and two workers: the
  database starts one additive migration behind, ``aduan db upgrade`` runs while everything serves, then
  each web process and each worker is restarted in turn. The load client behaves like a load
  balancer (a refused connection, where no byte of the request was sent, goes to the other
  process) and every single request must be answered.

Same test on SQLite and, with ``ADUAN_TEST_DATABASE_URL``, on PostgreSQL.
"""
from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path

import peewee as pw
import requests

from aduan import testing as aduan_testing

_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


def _db(tmp_path) -> str:
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    return url


def test_sigterm_finishes_requests_in_flight_and_refuses_new_ones(tmp_path):
    env = ops.aduan_env(_db(tmp_path), str(tmp_path / "inst"), ADUAN_READY_WORKER_MAX_AGE=0)
    assert ops.aduan("init", "--no-regions", env=env).returncode == 0
    port = ops.free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "web.log"
    web = ops.start("serve", "--port", str(port), "--threads", "4", env=env, log_path=str(log_path))
    try:
        ops.wait_http(f"{base}/ready")
        r = requests.post(f"{base}/api/v1/complaints", json={"body": "Drainase tersumbat"}, timeout=10)
        tid, code = r.json()["tracking_id"], r.json()["access_code"]
        results: list = []
        started = threading.Barrier(4)

        def slow_upload(i):
            def body():  # a phone on a slow network: the multipart body arrives over two seconds
                boundary = b"--xyz\r\n"
                yield boundary + f'Content-Disposition: form-data; name="file"; filename="f{i}.png"\r\n'.encode() + \
                    b"Content-Type: image/png\r\n\r\n"
                started.wait(10)
                for k in range(0, len(PNG), 16):
                    time.sleep(0.25)
                    yield PNG[k:k + 16]
                yield b"\r\n--xyz--\r\n"
            try:
                resp = requests.post(f"{base}/api/v1/complaints/{tid}/attachments", data=body(), timeout=60,
                                     headers={"X-Access-Code": code, "Content-Type": "multipart/form-data; boundary=xyz"})
                results.append(resp.status_code)
            except requests.RequestException as exc:
                results.append(repr(exc))

        threads = [threading.Thread(target=slow_upload, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        started.wait(10)
        time.sleep(0.4)  # every upload is half-way through
        web.terminate()  # SIGTERM
        deadline = time.monotonic() + 10
        while True:  # new connections are refused while the uploads are still being answered
            try:
                requests.get(f"{base}/health", timeout=2)
            except requests.ConnectionError:
                break
            assert time.monotonic() < deadline, "still accepting connections after SIGTERM"
            time.sleep(0.05)
        assert web.poll() is None, "exited before finishing the requests in flight"
        for t in threads:
            t.join(60)
        assert results == [201, 201, 201], results
        assert web.wait(30) == 0
    finally:
        ops.stop(web)
    lines = [json.loads(ln) for ln in log_path.read_text().splitlines() if ln.startswith("{")]
    stopping = [ln for ln in lines if ln["msg"].startswith("stopping: no longer accepting")]
    assert stopping and stopping[0]["in_flight"] >= 3


def test_zero_downtime_upgrade_with_two_web_processes_and_two_workers(tmp_path):
    db = _db(tmp_path)
    env = ops.aduan_env(db, str(tmp_path / "inst"))
    # The database one additive migration behind (this release's 0006: two new tables), as an upgrade
    # finds it: the running processes do not need what it adds until they are restarted.
    from aduan.app import create_app
    from aduan.cli import upgrade_database
    from aduan.db import database
    from aduan.models import StoredFile, WorkerHeartbeat

    app = create_app({"DATABASE_URL": db, "INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "x"})
    with app.app_context(), database.connection_context():
        upgrade_database(app)
        database.drop_tables([WorkerHeartbeat, StoredFile])
        history = pw.Table("schema_migration", ["name"]).bind(database)
        history.delete().where(history.name == "0006_ops").execute()
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()

    ports = [ops.free_port(), ops.free_port()]
    logs = tmp_path / "logs"
    logs.mkdir()
    counter = iter(range(10_000))

    def start_web(p):
        return ops.start("serve", "--port", str(p), "--threads", "4", env=env, log_path=str(logs / f"web{p}-{next(counter)}.log"))

    def start_worker(n):
        return ops.start("worker", env=env, log_path=str(logs / f"worker{n}-{next(counter)}.log"))

    webs = {p: start_web(p) for p in ports}
    workers = {n: start_worker(n) for n in (1, 2)}
    stop_load = threading.Event()
    answered, failures, refused = [], [], [0]
    lock = threading.Lock()

    def client(i):
        k = 0
        while not stop_load.is_set():
            k += 1
            order = ports if (i + k) % 2 else ports[::-1]
            for attempt in range(200):  # like a load balancer: a refused connection goes to the other process
                port = order[attempt % 2]
                try:
                    r = requests.post(f"http://127.0.0.1:{port}/api/v1/complaints", timeout=30,
                                      json={"body": f"Keluhan {i}-{k}"}, headers={"Connection": "close"})
                except requests.ConnectionError as exc:
                    if "refused" in str(exc).lower():
                        with lock:
                            refused[0] += 1
                        time.sleep(0.01)
                        continue
                    with lock:
                        failures.append(repr(exc))
                    break
                with lock:
                    (answered if r.status_code == 201 else failures).append(
                        r.json()["tracking_id"] if r.status_code == 201 else (r.status_code, r.text[:200]))
                break
            else:
                with lock:
                    failures.append("both processes refused for too long")

    try:
        for p in ports:
            ops.wait_http(f"http://127.0.0.1:{p}/health")
        before = ops.wait_http(f"http://127.0.0.1:{ports[0]}/ready", status=503).json()
        assert "core:0006_ops" in before["checks"]["migrations"]
        load = [threading.Thread(target=client, args=(i,)) for i in range(4)]
        for t in load:
            t.start()
        time.sleep(1)
        # 1. migrations, while the old processes serve
        up = ops.aduan("db", "upgrade", env=env)
        assert up.returncode == 0 and "core:0006_ops" in up.stdout, up.stdout + up.stderr
        # 2. each web process in turn: SIGTERM (it finishes what it has), start the new one, wait until ready
        for p in ports:
            assert ops.stop(webs[p]) == 0
            webs[p] = start_web(p)
            ops.wait_http(f"http://127.0.0.1:{p}/health")
            time.sleep(0.5)
        # 3. each worker in turn (it finishes the job in hand)
        for n in (1, 2):
            assert ops.stop(workers[n]) == 0
            workers[n] = start_worker(n)
        for p in ports:
            ops.wait_http(f"http://127.0.0.1:{p}/ready", timeout=30)
        time.sleep(0.5)
    finally:
        stop_load.set()
        for t in load:
            t.join(60)
        codes = [ops.stop(proc) for proc in [*webs.values(), *workers.values()]]
    assert not failures, failures[:5]
    assert codes == [0, 0, 0, 0]
    assert len(answered) > 20 and len(set(answered)) == len(answered)
    # every answered filing is in the database
    app = create_app({"DATABASE_URL": db, "INSTANCE_PATH": str(tmp_path / "inst"), "SECRET_KEY": "x"})
    from aduan.models import Complaint

    with app.app_context(), database.connection_context():
        stored = {c.tracking_id for c in Complaint.select(Complaint.tracking_id)}
    if hasattr(database.obj, "close_all"):
        database.obj.close_all()
    assert set(answered) <= stored
