#!/usr/bin/env python
"""Bench case ``sms``: inbound SMS through the real webhook against a bare Flask route.

Two servers on the same WSGI server (waitress, same thread count), over sockets, on one database:

* candidate: ``aduan serve`` with every plugin enabled as ``make run`` enables them, receiving
  signed messages on ``POST /hooks/sms/generic`` (signature check, the conversation engine under
  the contact's lock, filing, the reply logged and returned inline);
* baseline: a bare Flask route (``--bare`` below) that checks the same signature and writes the
  same rows in one transaction with bare peewee inserts (the inbound message, the reporter, the
  complaint, its ``file`` event, the reply), answering the same JSON.

Each message comes from a new number with a new gateway id. Rounds alternate (A B A B ...); the
table shows the median seconds per message of each and their ratio, the messages/s of each, and
each server process's CPU time per message (from ``/proc``; less sensitive to the machine's load
than the wall time, which a shared machine stretches).

``ADUAN_BENCH_SMS_BEFORE``: a ``PYTHONPATH`` holding other code (an export of an earlier commit:
``git archive <commit> | tar -x -C /tmp/before``, then ``/tmp/before/core`` and each
``/tmp/before/plugins/<name>`` joined with ``:``); a third server runs that code's webhook in the
same rounds, so before and after are measured under the same load. ``ADUAN_BENCH_SMS_PORT``: the
first of the three ports (default 5310).
Run through ``bench/run.py --only sms``.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SECRET = "bench-generic-secret"
TEXT = "LAPOR jalan berlubang besar di depan SDN 3 Mataram, sudah dua minggu belum diperbaiki"
THREADS = 8


def _plugins() -> str:
    return ",".join(sorted(d for d in os.listdir(os.path.join(ROOT, "plugins"))
                           if os.path.exists(os.path.join(ROOT, "plugins", d, "pyproject.toml"))))


def _env(url: str, instance: str) -> dict:
    env = dict(os.environ)
    env.update({
        "ADUAN_DATABASE_URL": url, "ADUAN_INSTANCE_PATH": instance, "ADUAN_PLUGINS": _plugins(),
        "ADUAN_SECRET_KEY": "bench-" + secrets.token_hex(32), "ADUAN_SMS_GENERIC_SECRET": SECRET,
        "ADUAN_LOG_LEVEL": "ERROR",
        # the lapor plugin as `make run` wires it (a simulator address; no worker runs here)
        "ADUAN_LAPOR_BASE_URL": "http://127.0.0.1:9", "ADUAN_LAPOR_AUTH_HEADER": "auth",
        "ADUAN_LAPOR_BEARER_TOKEN": "demo-token", "ADUAN_LAPOR_TOKEN_GUID": "{0A1B2C3D-4E5F-6A7B-8C9D-0E1F2A3B4C5D}",
        "ADUAN_LAPOR_INSTITUTION_ID": "1001",
    })
    return env


def _wait(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"no server on port {port}")


def _sign(body: bytes) -> dict:
    ts = str(int(time.time()))
    sig = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Aduan-Signature": "sha256=" + sig, "X-Aduan-Timestamp": ts}


def _send(port: int, path: str, numbers: range) -> float:
    """Post one message per number from THREADS client threads (keep-alive sessions); seconds in all."""
    import requests

    local = threading.local()

    def post(i: int) -> None:
        s = getattr(local, "s", None) or requests.Session()
        local.s = s
        body = json.dumps({"from": f"+62819{i:08d}", "id": f"gw-{i}", "text": TEXT}).encode()
        r = s.post(f"http://127.0.0.1:{port}{path}", data=body, headers=_sign(body), timeout=60)
        assert r.status_code == 200 and r.json().get("reply"), (r.status_code, r.text[:300])

    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(post, numbers))
    return time.perf_counter() - t0


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux ``/proc``; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def bench(fresh_url, n: int, rounds: int, row, base_port: int | None = None) -> None:
    """One row: seconds per message through the real webhook vs the bare route (medians of
    ``rounds`` interleaved rounds of ``n`` messages each); with ``ADUAN_BENCH_SMS_BEFORE`` a second
    row: the same webhook running the code found there."""
    before = os.environ.get("ADUAN_BENCH_SMS_BEFORE") or None
    base_port = base_port or int(os.environ.get("ADUAN_BENCH_SMS_PORT") or 5310)
    print(f"sms: {n} inbound messages per round, {THREADS} client threads, real webhook vs bare route"
          + (" and the webhook of the code before" if before else ""), flush=True)
    aduan = os.path.join(os.path.dirname(sys.executable), "aduan")
    servers = {"real": (False, None), "bare": (True, None)}
    if before:
        servers = {"real": (False, None), "before": (False, before), "bare": (True, None)}
    url = fresh_url()
    instance = tempfile.mkdtemp(prefix="aduan-sms-bench-")
    base_env = _env(url, instance)
    subprocess.run([aduan, "db", "upgrade"], env=base_env, check=True, capture_output=True)
    cases, procs = {}, []
    try:
        for i, (name, (bare, pythonpath)) in enumerate(servers.items()):
            env = dict(base_env)  # one database and one SECRET_KEY for all (the rounds take turns)
            if pythonpath:
                env["PYTHONPATH"] = pythonpath
            port = base_port + i
            cmd = ([sys.executable, os.path.abspath(__file__), "--bare", url, str(port)] if bare else
                   [aduan, "serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(THREADS)])
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            cases[name] = (port, "/bare" if bare else "/hooks/sms/generic", procs[-1])
        for port, _path, proc in cases.values():
            _wait(port, proc)
        numbers = iter(range(10**7, 10**8, n))
        for port, path, _proc in cases.values():  # warm up
            start = next(numbers)
            _send(port, path, range(start, start + min(n, 50)))
        samples: dict = {k: [] for k in cases}
        cpu: dict = {k: [] for k in cases}
        for r in range(rounds):
            for k, (port, path, proc) in (list(cases.items()) if r % 2 == 0 else list(reversed(cases.items()))):
                start, c0 = next(numbers), _cpu_seconds(proc.pid)
                samples[k].append(_send(port, path, range(start, start + n)) / n)
                c1 = _cpu_seconds(proc.pid)
                if c0 is not None and c1 is not None:
                    cpu[k].append((c1 - c0) / n)
        med = {k: statistics.median(v) for k, v in samples.items()}
        row("sms", "SMS webhook, per inbound message", "bare Flask route, same rows", med["real"], med["bare"])
        if before:
            row("sms", "same, the code before", "bare Flask route, same rows", med["before"], med["bare"])
        print("  (" + ", ".join(f"{1 / med[k]:,.0f} messages/s {what}" for k, what in
                                (("real", "through the webhook"), ("before", "through the webhook before"),
                                 ("bare", "through the bare route")) if k in med) + ")", flush=True)
        if all(cpu.values()):
            print("  (server CPU per message: " + ", ".join(
                f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in cpu.items()) + ")", flush=True)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


# --- the baseline server ---------------------------------------------------------------------------

def bare_server(url: str, port: int) -> None:
    """A bare Flask route: verify the signature, write the same rows with bare peewee inserts."""
    import waitress
    from flask import Flask, jsonify, request

    from aduan.auth import random_code
    from aduan.db import database, make_database, utcnow
    from aduan.models import Complaint, Event, Reporter
    from aduan_sms.models import SmsMessage

    database.initialize(make_database(url, pool_size=THREADS + 2))
    app = Flask("bare")
    key = secrets.token_bytes(32)

    def code_hash(tid: str, code: str) -> str:  # an HMAC, as the core's access-code hash is
        return hmac.new(key, f"{tid}:{code}".encode(), hashlib.sha256).hexdigest()

    @app.post("/bare")
    def bare():
        body = request.get_data()
        ts = request.headers.get("X-Aduan-Timestamp", "")
        sig = request.headers.get("X-Aduan-Signature", "")[7:]
        want = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            return jsonify(error="signature"), 403
        data = json.loads(body)
        now = utcnow()
        tid, code = random_code(8), random_code(10)
        reply = f"ADUAN: Laporan diterima. No. lacak {tid}, kode akses {code}."
        with database.connection_context(), database.atomic():
            mid = SmsMessage.insert(direction="in", provider="generic", provider_message_id=data["id"],
                                    phone=data["from"], phone_raw=data["from"], body=data["text"], status="processed",
                                    command="lapor", segments=1, created_at=now, updated_at=now).execute()
            rep = Reporter.insert(phone=data["from"], phone_raw=data["from"], language="id", created_at=now).execute()
            cid = Complaint.insert(tracking_id=tid, access_code_hash=code_hash(tid, code), title=data["text"][:80],
                                   body=data["text"], reporter=rep, channel="sms", status="received",
                                   created_at=now, updated_at=now).execute()
            Event.insert(complaint=cid, type="file", actor_role="reporter", to_status="received", source="sms",
                         data={"channel": "sms"}, created_at=now).execute()
            SmsMessage.insert(direction="out", provider="generic", phone=data["from"], body=reply, status="sent",
                              command="reply", complaint=cid, in_reply_to=mid, segments=1, created_at=now,
                              updated_at=now).execute()
        return jsonify(ok=True, duplicate=False, to=data["from"], reply=reply)

    waitress.serve(app, host="127.0.0.1", port=port, threads=THREADS, _quiet=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--bare":
        bare_server(sys.argv[2], int(sys.argv[3]))
