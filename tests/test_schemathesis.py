"""An outside validator: schemathesis fuzzes every operation of our OpenAPI document against a
live server and finds no server error (HTTP 5xx), with and without staff credentials."""
import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from waitress.server import create_server

from aduan.db import database
from aduan.testing import seed_basics

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.fixture
def live(make_app):
    app = make_app()
    with app.app_context(), database.connection_context():
        seed = seed_basics()
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}", seed
    server.close()
    thread.join(timeout=5)


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a test dependency: pip install -e '.[test]'")
@pytest.mark.parametrize("who", ["public", "admin"])
def test_no_server_errors_under_fuzzing(live, who, caplog, tmp_path):
    url, seed = live
    cmd = [SCHEMATHESIS, "run", f"{url}/api/v1/openapi.json", "--checks", "not_a_server_error",
           "--max-examples", "8", "--phases", "coverage,fuzzing", "--workers", "1",
           "--seed", "52", "--suppress-health-check", "all"]
    if who != "public":
        cmd += ["-H", f"Authorization: Bearer {getattr(seed, who)}"]
    with caplog.at_level(logging.ERROR, logger="aduan"):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert "unhandled error" not in caplog.text, caplog.text
    assert proc.returncode == 0, proc.stdout[-4000:]
