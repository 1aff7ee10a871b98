"""Structured logs of a real ``aduan serve`` and ``aduan worker``: JSON lines with a timestamp, level,
request id, route, status, duration and actor role; the caller's X-Request-ID echoed; and not one
line carrying a reporter's personal data or a secret (a scan for markers planted in every input)."""
from __future__ import annotations

import importlib.util
import io
import json
import logging
from pathlib import Path

import requests

_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)

NAME = "Zulkarnaen Markerputra"
PHONE = "081907654321"
PHONE_E164 = "+6281907654321"
EMAIL = "marker.pelapor@example.org"
NIK = "5201014403920007"
ADDRESS = "Gang Markerdesa Nomor 17"
SECRET_KEY = ops.OPS_SECRET_KEY
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\0" * 64


def test_logs_are_structured_and_carry_no_personal_data_or_secret(tmp_path):
    db = f"sqlite:///{tmp_path / 'aduan.db'}"
    env = ops.aduan_env(db, str(tmp_path / "inst"), ADUAN_LOG_LEVEL="DEBUG")
    assert ops.aduan("init", "--no-regions", env=env).returncode == 0
    created = ops.aduan("user", "create", "koord", "--name", "Koordinator", "--role", "coordinator", env=env)
    token = created.stdout.strip().split()[-1]
    port = ops.free_port()
    base = f"http://127.0.0.1:{port}"
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    web = ops.start("serve", "--port", str(port), env=env, log_path=str(web_log))
    worker = ops.start("worker", env=env, log_path=str(worker_log))
    try:
        ops.wait_http(f"{base}/health")
        s = requests.Session()
        r = s.post(f"{base}/api/v1/complaints", headers={"X-Request-ID": "trace-abc.123"}, json={
            "title": f"Jalan rusak dekat rumah {NAME}", "body": f"Hubungi {NAME} di {PHONE} atau {EMAIL}, {ADDRESS}.",
            "address": ADDRESS, "reporter": {"name": NAME, "phone": PHONE, "email": EMAIL, "nik": NIK}})
        assert r.status_code == 201, r.text
        assert r.headers["X-Request-ID"] == "trace-abc.123"
        tid, code = r.json()["tracking_id"], r.json()["access_code"]
        assert s.get(f"{base}/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).status_code == 200
        assert s.get(f"{base}/api/v1/complaints/{tid}", headers={"X-Access-Code": code + "x"}).status_code in (200, 403)
        assert s.post(f"{base}/api/v1/complaints/{tid}/attachments", headers={"X-Access-Code": code},
                      files={"file": (f"{NAME}.png", PNG, "image/png")}).status_code == 201
        # bad input full of personal data, bad credentials, a lookup by text
        assert s.post(f"{base}/api/v1/complaints", json={"body": "", "reporter": {"phone": f"{PHONE}{NAME}",
                                                                                   "email": NAME}}).status_code == 422
        assert s.get(f"{base}/api/v1/me", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        assert s.get(f"{base}/api/v1/complaints", params={"q": NAME}, headers={"Authorization": f"Bearer {token}"}
                     ).status_code == 200
        odd = s.get(f"{base}/api/v1/complaints", headers={"X-Request-ID": "bad id with spaces " + NAME})
        generated = odd.headers["X-Request-ID"]
        assert generated != "bad id" and len(generated) == 32
        staff = {"Authorization": f"Bearer {token}"}
        agency = s.post(f"{base}/api/v1/agencies", json={"code": "PUPR", "name": "Dinas PUPR"}, headers=staff).json()
        assert s.post(f"{base}/api/v1/complaints/{tid}/actions/verify", headers=staff,
                      json={"text": f"sudah dicek {NAME}", "agency_id": agency["id"]}).status_code == 200
        ops.wait_http(f"{base}/ready")  # the worker reported in
    finally:
        assert ops.stop(web) == 0
        assert ops.stop(worker) == 0

    lines = []
    for path in (web_log, worker_log):
        for raw in path.read_text().splitlines():
            if raw.startswith("{"):
                lines.append(json.loads(raw))
            else:  # only the start-up banner of the CLI is plain text
                assert raw.startswith("aduan serving on") or "worker" in raw.lower(), raw
    access = [ln for ln in lines if ln["logger"] == "aduan.access"]
    assert len(access) >= 10
    for ln in lines:
        assert ln["ts"].endswith("Z") and ln["level"] in ("DEBUG", "INFO", "WARNING", "ERROR") and ln["msg"]
    for ln in access:
        assert set(ln) >= {"ts", "level", "logger", "msg", "request_id", "method", "route", "status", "duration_ms", "role"}
    filed = [ln for ln in access if ln["request_id"] == "trace-abc.123"]
    assert len(filed) == 1 and filed[0]["route"] == "/api/v1/complaints" and filed[0]["status"] == 201
    assert [ln["role"] for ln in access if ln["route"].endswith("/actions/<action>")] == ["coordinator"]
    assert any(ln["route"] == "/api/v1/complaints/<tracking_id>" for ln in access)
    assert any(ln["request_id"] == generated for ln in access)
    assert any(ln["logger"] == "aduan.jobs" for ln in lines), "the worker wrote no structured line"

    text = web_log.read_text() + worker_log.read_text()
    for marker in (NAME, "Markerputra", PHONE, PHONE_E164, PHONE[1:], EMAIL, NIK, NIK[-6:], ADDRESS, "Markerdesa",
                   code, token, SECRET_KEY, tid + "?"):
        assert marker not in text, f"a log line carries {marker!r}"


def test_text_format_for_development_and_json_in_production():
    from aduan.logs import configure_logging, request_id_var

    for fmt, check in (("text", lambda s: s.startswith("20") and " INFO demo [req-1] hello 3" in s),
                       ("json", lambda s: json.loads(s)["request_id"] == "req-1" and json.loads(s)["n"] == 3)):
        buf = io.StringIO()
        configure_logging("INFO", fmt, stream=buf)
        token = request_id_var.set("req-1")
        try:
            logging.getLogger("demo").info("hello %s", 3, extra={"n": 3})
        finally:
            request_id_var.reset(token)
        assert check(buf.getvalue().strip()), buf.getvalue()
    buf = io.StringIO()  # auto: a file or pipe (systemd, Docker) gets JSON
    configure_logging("INFO", "auto", stream=buf)
    logging.getLogger("demo").warning("x")
    assert json.loads(buf.getvalue())["level"] == "WARNING"
    logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if not getattr(h, "_aduan_handler", 0)]


def test_database_error_messages_are_withheld_from_tracebacks():
    import peewee

    from aduan.logs import JsonFormatter

    try:
        raise peewee.IntegrityError(f'duplicate key value violates unique constraint DETAIL: Key (phone)=({PHONE})')
    except peewee.IntegrityError:
        import sys

        rec = logging.LogRecord("aduan", logging.ERROR, __file__, 1, "unhandled error", None, sys.exc_info())
    out = json.loads(JsonFormatter().format(rec))
    assert "IntegrityError" in out["exc"] and PHONE not in out["exc"]


def test_messages_from_outside_systems_are_scrubbed():
    """A mail server's refusal or a gateway's error quoting an address or a number (texts aduan does
    not write itself) reach the log masked, in both formats."""
    from aduan.logs import configure_logging

    for fmt in ("json", "text"):
        buf = io.StringIO()
        configure_logging("INFO", fmt, stream=buf)
        try:
            raise RuntimeError(f"550 5.1.1 <{EMAIL}>: user unknown")
        except RuntimeError:
            logging.getLogger("aduan.jobs").exception("job 12 (email.notify) attempt 3 failed: SMS to %s refused (%s)",
                                                      PHONE_E164, NIK, extra={"detail": f"to {PHONE}"})
        text = buf.getvalue()
        assert "job 12 (email.notify) attempt 3 failed" in text and "<email>" in text and "<number>" in text
        for marker in (EMAIL, PHONE, PHONE_E164, PHONE_E164[1:], NIK):
            assert marker not in text, (fmt, marker, text)
    logging.getLogger().handlers[:] = [h for h in logging.getLogger().handlers if not getattr(h, "_aduan_handler", 0)]
