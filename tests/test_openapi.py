"""The committed OpenAPI document is generated from the code and kept current."""
import json
from pathlib import Path

from aduan.cli import openapi_json
from aduan.plugins import installed_plugins

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").exists())


def test_committed_openapi_is_current(make_app):
    """Regenerate with `make openapi` when this fails."""
    enabled = [name for name in FIRST_PARTY if name in installed_plugins()]
    assert enabled == FIRST_PARTY, f"install every first-party plugin (make install): missing {set(FIRST_PARTY) - set(enabled)}"
    app = make_app({"PLUGINS": enabled})
    committed = (ROOT / "openapi" / "openapi.json").read_text()
    assert json.loads(committed) == json.loads(openapi_json(app)), "openapi/openapi.json is stale: run `make openapi`"


def test_served_document_is_openapi_31_and_documents_errors(client):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    post = doc["paths"]["/api/v1/complaints"]["post"]
    assert "201" in post["responses"] and "422" in post["responses"]
    action = doc["paths"]["/api/v1/complaints/{tracking_id}/actions/{action}"]["post"]
    assert "409" in action["responses"]
    assert {"bearer", "accessCode"} <= set(doc["components"]["securitySchemes"])
