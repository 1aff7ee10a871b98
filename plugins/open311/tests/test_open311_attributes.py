"""Category questions loaded with `aduan open311 attributes-load` become service definitions."""
from __future__ import annotations

import json


def _run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_load_replaces_attributes_and_serves_them(world, tmp_path):
    doc = {"jalan": [
        {"code": "kerusakan", "datatype": "multivaluelist", "required": True, "description": "Jenis kerusakan",
         "order": 1, "values": [{"key": "lubang", "name": "Berlubang"}, {"key": "retak", "name": "Retak"}]},
        {"code": "sejak", "datatype": "datetime", "description": "Sejak kapan?", "order": 2},
    ]}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    r = _run(world.app, "open311", "attributes-load", str(path))
    assert r.exit_code == 0, r.output
    assert "jalan: 2" in r.output
    c = world.app.test_client()
    svc = {s["service_code"]: s for s in c.get("/api/v1/plugins/open311/services.json").json}
    assert svc["jalan"]["metadata"] is True
    attrs = c.get("/api/v1/plugins/open311/services/jalan.json").json["attributes"]
    assert [(a["code"], a["datatype"], a["required"]) for a in attrs] == [
        ("kerusakan", "multivaluelist", True), ("sejak", "datetime", False)]
    assert [v["key"] for v in attrs[0]["values"]] == ["lubang", "retak"]
    dumped = json.loads(_run(world.app, "open311", "attributes-dump").output)
    assert [a["code"] for a in dumped["jalan"]] == ["kerusakan", "sejak"]
    assert [a["code"] for a in dumped["sampah"]] == ["jenis", "volume"]

    # loading again replaces the category's list
    path.write_text(json.dumps({"jalan": []}), encoding="utf-8")
    assert _run(world.app, "open311", "attributes-load", str(path)).exit_code == 0
    assert c.get("/api/v1/plugins/open311/services/jalan.json").json["attributes"] == []


def test_load_refuses_bad_documents_and_writes_nothing(world, tmp_path):
    bad = [
        {"tidak-ada": []},
        {"jalan": [{"code": "x", "datatype": "singlevaluelist"}]},
        {"jalan": [{"code": "x", "datatype": "warna"}]},
        {"jalan": [{"code": "x"}, {"code": "x"}]},
        {"jalan": [{"code": "x", "datatype": "string", "values": [{"key": "a", "name": "A"}]}]},
        {"sampah": [], "jalan": [{"code": "x", "datatype": "singlevaluelist"}]},
    ]
    c = world.app.test_client()
    for doc in bad:
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        r = _run(world.app, "open311", "attributes-load", str(path))
        assert r.exit_code != 0, doc
        assert c.get("/api/v1/plugins/open311/services/jalan.json").json["attributes"] == []
        assert len(c.get("/api/v1/plugins/open311/services/sampah.json").json["attributes"]) == 2
    path.write_text("{not json", encoding="utf-8")
    assert _run(world.app, "open311", "attributes-load", str(path)).exit_code != 0
