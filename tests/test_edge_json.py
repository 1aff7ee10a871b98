"""``request.get_json()`` anywhere (core or plugin views) parses through the request edge."""
from __future__ import annotations

from flask import request


def test_get_json_in_any_view_is_cleaned_and_depth_checked(make_app):
    app = make_app()

    @app.post("/probe-json")
    def probe():
        return {"value": request.get_json()["a"]}

    c = app.test_client()
    r = c.post("/probe-json", data=b'{"a": "x\\ud800y\\u0000z"}', content_type="application/json")
    assert r.status_code == 200
    # the lone surrogate becomes U+FFFD and the NUL is dropped, as everywhere else at the edge
    assert r.get_json()["value"] == "x\ufffdyz"
    deep = b'{"a": ' + b"[" * 70 + b"]" * 70 + b"}"
    r = c.post("/probe-json", data=deep, content_type="application/json")
    assert r.status_code == 400
