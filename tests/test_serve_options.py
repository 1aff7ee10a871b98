"""``aduan serve``: threads, connection limit, backlog and channel timeout come from ``SERVE_*``
(environment ``ADUAN_SERVE_*``) or the command line, and reach waitress.

The real command is started; what the settings do is observed from outside over sockets: with
``--connection-limit 2`` a third client waits until one of the first two leaves, and an idle
connection is closed after ``SERVE_CHANNEL_TIMEOUT``.
"""
from __future__ import annotations

import importlib.util
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from aduan import testing as aduan_testing
from aduan.serving import GracefulServer, adjustments

_spec = importlib.util.spec_from_file_location("aduan_tests_ops_helpers", Path(__file__).with_name("ops_helpers.py"))
ops = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ops)


def test_config_and_options_reach_waitress(make_app):
    app = make_app({"SERVE_THREADS": 3, "SERVE_CONNECTION_LIMIT": 321, "SERVE_BACKLOG": 77,
                    "SERVE_CHANNEL_TIMEOUT": 12})
    adj = adjustments(app.config)
    srv = GracefulServer(app, host="127.0.0.1", port=0, threads=adj.pop("threads"), grace=1, **adj)
    try:
        got = srv.listeners[0].adj
        own = len(srv.map)  # waitress counts its listening socket and trigger too
        assert (got.threads, got.connection_limit - own, got.backlog, got.channel_timeout) == (3, 321, 77, 12)
        assert got.asyncore_use_poll  # more than 1024 connections work
    finally:
        srv.server.close()
    # a command-line option wins over the configuration
    adj = adjustments(app.config, threads=5, connection_limit=None, backlog=9)
    assert (adj["threads"], adj["connection_limit"], adj["backlog"]) == (5, 321, 9)


def test_defaults_are_sane(app):
    adj = adjustments(app.config)
    assert adj["threads"] >= 4 and adj["connection_limit"] >= 500 and adj["backlog"] >= 1024
    assert 10 <= adj["channel_timeout"] <= 120


def test_invalid_values_stop_start_up(make_app):
    from aduan.config import ConfigError

    with pytest.raises(ConfigError, match="SERVE_CONNECTION_LIMIT"):
        make_app({"SERVE_CONNECTION_LIMIT": 0})


def test_serve_help_lists_the_options():
    from aduan.cli import main

    out = CliRunner().invoke(main, ["serve", "--help"]).output
    for opt in ("--threads", "--connection-limit", "--backlog", "--channel-timeout"):
        assert opt in out, out


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _get(s: socket.socket, timeout: float) -> bytes:
    s.settimeout(timeout)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data


def test_connection_limit_and_channel_timeout_of_the_real_server(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    env = ops.aduan_env(url, str(tmp_path / "inst"), ADUAN_SERVE_CHANNEL_TIMEOUT="2",
                        ADUAN_READY_WORKER_MAX_AGE=0)
    assert ops.aduan("db", "upgrade", env=env).returncode == 0
    port = ops.free_port()
    proc = ops.start("serve", "--port", str(port), "--connection-limit", "2", env=env,
                     log_path=str(tmp_path / "serve.log"))
    try:
        ops.wait_http(f"http://127.0.0.1:{port}/health")
        time.sleep(1.0)  # the probe's connection is closed and reaped
        idle = [_connect(port), _connect(port)]  # two clients that say nothing: the limit is reached
        time.sleep(0.3)
        third = _connect(port)  # the kernel queues it (backlog); waitress does not take it in yet
        assert _get(third, timeout=1.0) == b"", "answered past the connection limit"
        # SERVE_CHANNEL_TIMEOUT: the silent clients are dropped, then the third is answered
        t0 = time.monotonic()
        for s in idle:
            s.settimeout(10)
            assert s.recv(1) == b""  # closed by the server
        assert time.monotonic() - t0 < 8
        rest = _get(third, timeout=10)
        assert rest.startswith(b"HTTP/1.1 200"), rest[:200]
        for s in (*idle, third):
            s.close()
    finally:
        assert ops.stop(proc) == 0
    log = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in log, log
