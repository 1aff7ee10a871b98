"""schemathesis fuzzes every Open311 route of our OpenAPI document against a live server (with
complaints in it): no server error, and every answer conforms to the documented status codes,
content types and JSON shapes."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))


@pytest.fixture
def live_root(world):
    from aduan.testing import waitress_in_thread

    with waitress_in_thread(world.app, port=0) as server:
        yield f"http://127.0.0.1:{server.effective_port}"


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a test dependency of the core: pip install -e '.[test]'")
def test_open311_routes_conform_under_fuzzing(live_root, tmp_path):
    cmd = [SCHEMATHESIS, "run", f"{live_root}/api/v1/openapi.json", "--include-tag", "open311",
           "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                       "response_schema_conformance",
           "--max-examples", "12", "--phases", "examples,coverage,fuzzing", "--workers", "1", "--seed", "311",
           "--suppress-health-check", "all"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:]
    tested = re.search(r"Tested: (\d+)", proc.stdout)
    assert tested and int(tested.group(1)) >= 10, proc.stdout[-3000:]  # every Open311 route, in both formats
