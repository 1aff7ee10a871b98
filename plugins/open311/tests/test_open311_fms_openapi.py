"""schemathesis driven by mySociety's FixMyStreet-extended Open311 OpenAPI document (copied in
``tests/data/fixmystreet-open311``, see its README for the adaptations made here): against a live
waitress server with complaints in it and a valid ``api_key``, no call is a server error and no
JSON answer violates the document's schemas."""
from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCHEMATHESIS = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
DOC = Path(__file__).parent / "data" / "fixmystreet-open311" / "open311.json"
PREFIX = "/api/v1/plugins/open311"


def adapt(doc: dict, base_url: str, api_key: str, service_codes: list[str]) -> dict:
    """The document as our server is called: POST parameters in a form body with a valid api_key,
    ``service_code`` among the codes the server lists, optional response fields nullable,
    FixMyStreet's ``update_tokens`` left out."""
    doc = copy.deepcopy(doc)
    doc["servers"] = [{"url": base_url}]
    doc["paths"].pop("/update_tokens/{token_id}.{response_format}", None)
    doc["components"].pop("securitySchemes", None)
    params = doc["components"]["parameters"]
    for path in doc["paths"].values():
        for method, op in path.items():
            op.pop("security", None)
            if method != "post":
                continue
            keep, props, required, extra = [], {}, ["api_key"], None
            for p in op.get("parameters", []):
                real = params[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p
                if real["in"] == "path":
                    keep.append(p)
                elif real["name"] == "attribute[*]":
                    extra = {"type": "string"}
                elif real["name"] == "service_code":
                    props["service_code"] = {"type": "string", "enum": service_codes}
                else:
                    props[real["name"]] = real.get("schema", {"type": "string"})
                    if real.get("required"):
                        required.append(real["name"])
            props["api_key"] = {"type": "string", "enum": [api_key]}
            op["parameters"] = keep
            schema = {"type": "object", "properties": props, "required": required}
            if extra:
                schema["additionalProperties"] = extra
            op["requestBody"] = {"required": True,
                                 "content": {"application/x-www-form-urlencoded": {"schema": schema}}}
    # FixMyStreet reads statuses in any case (perllib/Open311.pm, map_state: lc); the spec we serve
    # writes them in lower case
    status = doc["components"]["schemas"]["Update"]["properties"]["status"]
    status["enum"] = sorted({*status["enum"], *(s.lower() for s in status["enum"])})
    for schema in doc["components"]["schemas"].values():
        for name, prop in schema.get("properties", {}).items():
            if name not in schema.get("required", []):
                prop["nullable"] = True
    return doc


@pytest.mark.skipif(SCHEMATHESIS is None, reason="schemathesis is a test dependency of the core: pip install -e '.[test]'")
def test_the_fixmystreet_open311_document_finds_no_server_error_nor_schema_violation(world, waitress_root, api_key, tmp_path):
    import requests

    codes = [s["service_code"] for s in requests.get(f"{waitress_root}{PREFIX}/services.json", timeout=10).json()]
    doc = adapt(json.loads(DOC.read_text()), waitress_root + PREFIX, api_key, codes)
    path = tmp_path / "open311.json"
    path.write_text(json.dumps(doc))
    cmd = [SCHEMATHESIS, "run", str(path), "--url", waitress_root + PREFIX,
           "--checks", "not_a_server_error,response_schema_conformance",
           "--max-examples", "15", "--phases", "examples,coverage,fuzzing", "--workers", "1", "--seed", "311",
           "--suppress-health-check", "all"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-8000:]
    tested = re.search(r"Tested: (\d+)", proc.stdout) or re.search(r"(\d+) operations? tested", proc.stdout)
    assert tested and int(tested.group(1)) >= 8, proc.stdout[-3000:]
    # the valid api_key let some generated requests through: complaints of the open311 channel
    from aduan.db import database
    from aduan.models import Complaint

    with world.app.app_context(), database.connection_context():
        assert Complaint.select().where(Complaint.channel == "open311").count() > 0
