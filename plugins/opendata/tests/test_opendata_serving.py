"""Serving: snapshots published by the worker's schedule, versioned with their date; the latest
files and the landing page; Parquet off with a clear message without pyarrow; configuration checks."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys

import pytest

API = "/api/v1/plugins/opendata"


def _rows(resp):
    return list(csv.DictReader(io.StringIO(resp.get_data(as_text=True))))


def test_nothing_published_yet_says_how_to_publish(od_app):
    client = od_app.test_client()
    resp = client.get(f"{API}/complaints.csv")
    assert resp.status_code == 404
    assert "aduan opendata publish" in resp.get_json()["message"]
    assert resp.get_json()["message"].startswith("Belum ada data terbuka")  # Indonesian by default
    english = client.get(f"{API}/complaints.csv?lang=en").get_json()["message"]
    assert english.startswith("No open data has been published yet")
    assert client.get(f"{API}/").get_json()["latest"] is None
    assert client.get("/opendata/").status_code == 200


def test_schedule_publishes_a_versioned_snapshot_served_publicly(published):
    client = published.app.test_client()
    index = client.get(f"{API}/").get_json()
    latest = index["latest"]
    # served with the deployment's offset (Asia/Makassar), like every API time
    assert latest["version"] and latest["published_at"].endswith("+08:00")
    assert {f["name"] for f in latest["files"]} >= {"complaints.csv", "monthly_counts.json",
                                                    "agency_report_card.parquet"}
    resp = client.get(f"{API}/complaints.csv")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert resp.is_streamed  # sent from the file on disk, not built in memory
    assert resp.headers["X-Opendata-Version"] == latest["version"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert len(_rows(resp)) == 25
    pkg = client.get(f"{API}/datapackage.json").get_json()
    assert pkg["version"] == latest["version"]
    paths = [r["path"] for r in pkg["resources"]]
    assert paths[:2] == ["complaints.csv", "complaints-2026.csv"] and "agency_report_card-2026.csv" in paths
    data = client.get(f"{API}/monthly_counts.json").get_json()
    assert isinstance(data, list) and {"month", "complaints", "suppressed"} <= set(data[0])
    assert client.get(f"{API}/nothing.csv").status_code == 404


def test_new_release_keeps_the_old_one_and_public_ids(published):
    from aduan import services
    from aduan.auth import Actor, system
    from aduan.db import database
    from aduan_opendata.publish import publish

    app = published.app
    client = app.test_client()
    old = client.get(f"{API}/").get_json()["latest"]["version"]
    old_rows = _rows(client.get(f"{API}/complaints.csv"))
    with app.app_context(), database.connection_context():
        c, _ = services.file_complaint({"title": "Lampu jalan mati", "body": "Gelap", "category": "jalan",
                                        "region_code": "52.71.02"}, actor=Actor(role="reporter"), channel="web")
        services.perform(c, "verify", system("t"), agency_id=published.seed.agency_a.id)
        publish(app, now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(hours=1))
    snaps = client.get(f"{API}/snapshots").get_json()["snapshots"]
    assert [s["version"] for s in snaps][1] == old and len(snaps) == 2
    new_rows = _rows(client.get(f"{API}/complaints.csv"))
    assert len(new_rows) == len(old_rows) + 1
    assert {r["public_id"] for r in old_rows} < {r["public_id"] for r in new_rows}
    assert len(_rows(client.get(f"{API}/snapshots/{old}/complaints.csv"))) == len(old_rows)
    assert client.get(f"{API}/snapshots/19990101T000000Z/complaints.csv").status_code == 404


def test_old_snapshots_are_pruned(make_app, tmp_path):
    from aduan.db import database
    from aduan_opendata.publish import publish

    app = make_app({"PLUGINS": ["opendata"], "OPENDATA_SNAPSHOT_KEEP": 2,
                    "OPENDATA_SNAPSHOT_DIR": str(tmp_path / "s")})
    t = dt.datetime(2026, 5, 30)
    with app.app_context(), database.connection_context():
        versions = [publish(app, now=t + dt.timedelta(days=i)).version for i in range(6)]  # May 30 .. June 4
    client = app.test_client()
    listed = client.get(f"{API}/snapshots").get_json()["snapshots"]
    # the 2 newest, plus the kept ones: the first release ever, and the first of June, cited for good
    assert [s["version"] for s in listed] == [versions[5], versions[4], versions[2], versions[0]]
    assert [s["kept"] for s in listed] == [False, False, True, True]
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == sorted(s["version"] for s in listed)
    assert client.get(f"{API}/snapshots/{versions[0]}/datapackage.json").status_code == 200
    gone = client.get(f"{API}/snapshots/{versions[1]}/datapackage.json")
    assert gone.status_code == 404 and "periods" in gone.get_json()["message"]


def test_landing_page_has_the_data_dictionary_and_dataset_uris_lead_there(published):
    from aduan_opendata.tables import TABLES

    from aduan.i18n import gettext_in

    html = published.app.test_client().get("/opendata/").get_data(as_text=True)
    english = published.app.test_client().get("/opendata/?lang=en").get_data(as_text=True)
    assert '<html lang="id">' in html and '<html lang="en">' in english
    for t in TABLES:
        title_en, title_id = t.text("title", "en"), t.text("title", "id")
        assert title_id != title_en  # translated through the catalogue
        assert f'id="{t.name}"' in html and title_id in html and title_en not in html and title_en in english
        for f in t.fields:
            assert f"<code>{f.name}</code>" in html
            assert gettext_in("id", f.description._args[0]) in html.replace("&#39;", "'")
    assert "Privasi" in html and "Privacy" in english and "Kutip" in html
    assert "Creative Commons Attribution (CC-BY-4.0)" in html and "euro_dcat_ap_3" in html
    assert f"{API}/catalog.ttl" in html
    for name in ("complaints.csv", "monthly_counts.json", "agency_report_card.parquet"):
        assert f'href="https://aduan.ntbprov.example{API}/{name}"' in html
    # dataset and distribution URIs of the catalogue lead to the landing page
    client = published.app.test_client()
    resp = client.get("/opendata/datasets/complaints")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/opendata/#complaints")
    assert client.get("/opendata/datasets/nope").status_code == 404
    assert client.get("/opendata/catalog").headers["Location"].endswith(f"{API}/catalog.ttl")


def test_parquet_is_off_with_a_clear_message_without_pyarrow(world, tmp_path, monkeypatch):
    from aduan_opendata.cli import group
    from aduan_opendata.publish import publish

    for mod in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    app = world.app
    result = app.test_cli_runner().invoke(group, ["export", str(tmp_path / "x")])
    assert result.exit_code == 0 and "pyarrow" in result.output
    assert not list((tmp_path / "x").glob("*.parquet")) and (tmp_path / "x" / "complaints.csv").exists()
    with app.app_context():
        publish(app)
    client = app.test_client()
    resp = client.get(f"{API}/complaints.parquet")
    assert resp.status_code == 404 and "pip install 'aduan-opendata[parquet]'" in resp.get_json()["message"]
    assert any("pyarrow" in n for n in client.get(f"{API}/").get_json()["notes"])
    assert client.get(f"{API}/complaints.csv").status_code == 200


def test_cli_publish_and_list(world):
    from aduan_opendata.cli import group

    runner = world.app.test_cli_runner()
    result = runner.invoke(group, ["publish"])
    assert result.exit_code == 0 and "published " in result.output
    listing = runner.invoke(group, ["snapshots"])
    assert listing.exit_code == 0 and "complaints=25" in listing.output


@pytest.mark.parametrize("key,value,msg", [("OPENDATA_FORMATS", "csv,xlsx", "xlsx"),
                                          ("OPENDATA_LICENSE", "my-licence", "OPENDATA_LICENSE_URL"),
                                          ("OPENDATA_MIN_CELL_SIZE", 1, "OPENDATA_MIN_CELL_SIZE"),
                                          ("OPENDATA_RECORD_STATUSES", "resolved,solved", "solved")])
def test_bad_configuration_stops_start_up(make_app, key, value, msg):
    from aduan.config import ConfigError

    with pytest.raises(ConfigError, match=msg):
        make_app({"PLUGINS": ["opendata"], key: value})


def test_licence_and_threshold_are_configurable(make_app, tmp_path):
    from aduan.db import database
    from aduan_opendata.publish import export

    app = make_app({"PLUGINS": ["opendata"], "OPENDATA_LICENSE": "CC0-1.0", "OPENDATA_MIN_CELL_SIZE": 3})
    with app.app_context(), database.connection_context():
        export(app, str(tmp_path))
    pkg = json.loads((tmp_path / "datapackage.json").read_text())
    assert pkg["licenses"][0]["path"] == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert "under 3 complaints" in pkg["description"]
