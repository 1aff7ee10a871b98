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
table shows the median seconds per message of each and their ratio, and the messages/s of each.
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


def bench(fresh_url, n: int, rounds: int, row, base_port: int = 5310) -> None:
    """One row: seconds per message through the real webhook vs the bare route (medians of
    ``rounds`` interleaved rounds of ``n`` messages each)."""
    print(f"sms: {n} inbound messages per round, {THREADS} client threads, real webhook vs bare route", flush=True)
    url = fresh_url()
    instance = tempfile.mkdtemp(prefix="aduan-sms-bench-")
    env = _env(url, instance)
    aduan = os.path.join(os.path.dirname(sys.executable), "aduan")
    subprocess.run([aduan, "db", "upgrade"], env=env, check=True, capture_output=True)
    real_port, bare_port = base_port, base_port + 1
    procs = [
        subprocess.Popen([aduan, "serve", "--host", "127.0.0.1", "--port", str(real_port), "--threads", str(THREADS)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
        subprocess.Popen([sys.executable, os.path.abspath(__file__), "--bare", url, str(bare_port)],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE),
    ]
    try:
        _wait(real_port, procs[0])
        _wait(bare_port, procs[1])
        numbers = iter(range(10**7, 10**8, n))
        cases = {"real": (real_port, "/hooks/sms/generic"), "bare": (bare_port, "/bare")}
        for port, path in cases.values():  # warm up
            start = next(numbers)
            _send(port, path, range(start, start + min(n, 50)))
        samples: dict = {k: [] for k in cases}
        for _ in range(rounds):
            for k, (port, path) in cases.items():
                start = next(numbers)
                samples[k].append(_send(port, path, range(start, start + n)) / n)
        real, bare = statistics.median(samples["real"]), statistics.median(samples["bare"])
        row("sms", "SMS webhook, per inbound message", "bare Flask route, same rows", real, bare)
        print(f"  ({1 / real:,.0f} messages/s through the webhook, {1 / bare:,.0f}/s through the bare route)",
              flush=True)
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
