"""Helpers for the operations tests: a throwaway PostgreSQL cluster that a test may stop and start,
free ports, and real ``aduan`` processes started from the installed command.

The throwaway cluster (``initdb`` into a temporary folder, ``pg_ctl`` on a free port, run as the
``postgres`` system user when the tests run as root) is never the shared server a developer's
``ADUAN_TEST_DATABASE_URL`` points at: stopping it disturbs no one.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import requests

BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bindir() -> str | None:
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


class ThrowawayPostgres:
    """``start()``/``stop()`` a private cluster; ``url`` for its ``aduan`` database."""

    def __init__(self):
        self.bindir = _pg_bindir()
        if self.bindir is None:
            pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
        self.user = None
        if os.geteuid() == 0:
            try:
                self.user = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root without a postgres system user to run the server")
        self.dir = tempfile.mkdtemp(prefix="aduan-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        self._run("initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/aduan"

    def _run(self, tool, *args, check=True):
        cmd = [os.path.join(self.bindir, tool), *args]
        kw = {}
        if self.user:
            uid, gid = self.user.pw_uid, self.user.pw_gid
            kw["preexec_fn"] = lambda: (os.setgid(gid), os.setuid(uid))
        return subprocess.run(cmd, check=check, capture_output=True, text=True, cwd=self.dir, timeout=120, **kw)

    def start(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
        if not getattr(self, "_created", False):
            self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "aduan")
            self._created = True

    def stop(self) -> None:
        self._run("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop", check=False)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def throwaway_pg():
    """A started :class:`ThrowawayPostgres`, destroyed after the test (``throwaway_pg = ops.throwaway_pg``
    in a test module makes it a fixture there)."""
    pg = ThrowawayPostgres()
    pg.start()
    yield pg
    pg.destroy()


def wait_http(url: str, timeout: float = 30.0, status: int | None = 200) -> requests.Response:
    """GET ``url`` until it answers (with ``status`` when given)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(url, timeout=5)
            if status is None or last.status_code == status:
                return last
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer {status} within {timeout} s (last: "
                         f"{last.status_code if last is not None else 'no answer'} {last.text if last is not None else ''})")


#: Long enough that `serve` and `worker` print no warning (their output is checked line by line).
OPS_SECRET_KEY = "ops-test-secret-long-enough-to-pass-the-start-up-check"


def aduan_env(db_url: str, instance: str, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": db_url, "ADUAN_INSTANCE_PATH": instance, "ADUAN_SECRET_KEY": OPS_SECRET_KEY,
                "ADUAN_LOG_FORMAT": "json", "ADUAN_RATE_LIMIT_FILE": "100000/hour",
                "ADUAN_RATE_LIMIT_TRACK": "100000/hour", "ADUAN_WORKER_POLL_SECONDS": "0.1",
                "ADUAN_WORKER_HEARTBEAT_SECONDS": "0.5"})
    env.update({k: str(v) for k, v in extra.items()})
    return env


def aduan(*args, env, **kw) -> subprocess.CompletedProcess:
    """Run the installed ``aduan`` command."""
    return subprocess.run([os.path.join(BIN, "aduan"), *args], env=env, capture_output=True, text=True,
                          timeout=kw.pop("timeout", 300), **kw)


def start(*args, env, log_path: str) -> subprocess.Popen:
    """Start ``aduan ARGS`` in the background, its output in ``log_path``."""
    fh = open(log_path, "ab")
    return subprocess.Popen([os.path.join(BIN, "aduan"), *args], env=env, stdout=fh, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 60) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"process {proc.args} did not stop within {timeout} s of {sig!r}")
