"""The exported files: valid for the Frictionless tool, free of personal data, secret complaints
left out of the record-level table, dates in the deployment's time zone."""
from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path


def _venv_tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _cli_export(app, directory):
    from aduan_opendata.cli import group

    result = app.test_cli_runner().invoke(group, ["export", str(directory)])
    assert result.exit_code == 0, result.output
    return result


def test_frictionless_validates_the_exported_package(world, tmp_path):
    out = tmp_path / "export"
    result = _cli_export(world.app, out)
    from aduan_opendata.tables import TABLES

    for name in [t.name for t in TABLES]:
        for ext in ("csv", "json", "parquet"):
            assert str(out / f"{name}.{ext}") in result.output
            assert name == "regions" or str(out / f"{name}-2026.{ext}") in result.output  # per-year files
    proc = subprocess.run([_venv_tool("frictionless"), "validate", "--json", "datapackage.json"], cwd=out,
                          capture_output=True, text=True, timeout=120)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["valid"], proc.stdout[-4000:]
    names = [t["name"] for t in report["tasks"]]
    assert names[:2] == ["complaints", "complaints-2026"] and "totals" in names and "regions" in names
    assert all(t["stats"]["rows"] > 0 for t in report["tasks"])
    pkg = json.loads((out / "datapackage.json").read_text())
    assert pkg["licenses"][0]["name"] == "CC-BY-4.0"
    assert pkg["attribution"] and pkg["contributors"][0]["role"] == "publisher"
    for res in pkg["resources"]:
        for f in res["schema"]["fields"]:
            assert f["type"] and " / EN: " in f["description"], f  # Indonesian and English

    # CSV: RFC 4180 line ends, UTF-8, ISO 8601 dates, codes as text; JSON has the same rows
    tmp_path = out
    raw = (tmp_path / "complaints.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 1  # CRLF line ends
    raw.decode("utf-8")
    rows = _read_csv(tmp_path / "complaints.csv")
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["created_date"]) for r in rows)
    assert {r["region"] for r in rows} == {"52.71.01"}  # a code, kept as text, villages cut to the kecamatan
    assert {r["region_name"] for r in rows} == {"Ampenan"}
    data = json.loads((tmp_path / "complaints.json").read_text(encoding="utf-8"))
    assert [d["public_id"] for d in data] == [r["public_id"] for r in rows]
    # public ids are unique and stable from one export to the next
    _cli_export(world.app, tmp_path / "again")
    assert [r["public_id"] for r in _read_csv(tmp_path / "again" / "complaints.csv")] == \
        [r["public_id"] for r in rows]
    assert len({r["public_id"] for r in rows}) == len(rows)


def test_aduan_export_command_runs_the_exporter(world, tmp_path):
    from aduan.cli import export_cmd

    result = world.app.test_cli_runner().invoke(export_cmd, ["opendata", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x" / "datapackage.json").exists()
    assert (tmp_path / "x" / "catalog.ttl").exists()
    assert str(tmp_path / "x" / "complaints.csv") in result.output


def _texts(directory: Path):
    """Every published file as text (Parquet decoded too, since its pages may be compressed)."""
    import pyarrow.parquet as pq

    for p in sorted(directory.rglob("*")):
        if not p.is_file():
            continue
        yield p.name, p.read_bytes().decode("utf-8", "replace")
        if p.suffix == ".parquet":
            yield p.name + " (decoded)", json.dumps(pq.read_table(p).to_pylist(), default=str)


def test_no_personal_data_or_complaint_text_in_any_published_file(published, tmp_path, pii):
    PII = pii
    app = published.app
    _cli_export(app, tmp_path / "export")
    client = app.test_client()
    pages = {"landing": client.get("/opendata/").get_data(as_text=True),
             "index": client.get("/api/v1/plugins/opendata/").get_data(as_text=True)}
    forbidden = [PII["name"], "Siti Aminah", "Anon Pelapor", PII["email"], PII["nik"], PII["nik"][-8:],
                 "081234567890", "6281234567890", "81234567890", "0812-3456-7890", "081999888777", "81999888777",
                 PII["title"], PII["body"], "Gang Melati", PII["address"], "Melati", PII["rating_comment"],
                 PII["answer"], PII["secret_title"], "Pungutan liar", "Sedang kami tangani", "Jalan rusak parah",
                 "8.5707", "116.0727", "-8.57", "116.07"]
    forbidden += published.tracking_ids + published.access_codes
    patterns = [re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),  # any e-mail address
                re.compile(r"(?<![0-9a-fA-F])\d{16}(?![0-9a-fA-F])"),  # a NIK-like number
                re.compile(r"(?<![0-9a-fA-F+])(\+62|62|0)8\d{7,11}(?![0-9a-fA-F])")]  # an Indonesian mobile
    snapshot_root = Path(app.config["OPENDATA_SNAPSHOT_DIR"])
    sources = list(_texts(tmp_path / "export")) + list(_texts(snapshot_root)) + list(pages.items())
    assert len(sources) >= 2 * 12
    for name, text in sources:
        low = text.lower()
        for s in forbidden:
            assert s.lower() not in low, f"{s!r} found in {name}"
        for pat in patterns:
            assert not pat.search(text), f"{pat.pattern} matches {pat.search(text).group(0)!r} in {name}"


def test_secret_complaints_absent_from_records_but_counted_in_aggregates(world, tmp_path):
    _cli_export(world.app, tmp_path)
    records = _read_csv(tmp_path / "complaints.csv")
    march_web = [r for r in records if r["created_date"].startswith("2026-03") and r["channel"] == "web"]
    assert len(march_web) == 5  # 6 filed by web in March, one secret
    # the record table has neither the unverified nor the rejected complaint
    assert {r["status"] for r in records} == {"in_progress", "closed"}
    assert len(records) == 5 + 5 + 2 + 6 + 5 + 2
    monthly = _read_csv(tmp_path / "monthly_counts.csv")
    assert {r["region"] for r in monthly} == {"52.71.01"}  # village codes counted in their kecamatan
    # every total counts the secret, unverified and rejected complaints: 6 + 5 + 2 + 1 + 1 in March
    totals = {(r["level"], r["region"], r["month"]): r["complaints"] for r in _read_csv(tmp_path / "totals.csv")}
    assert totals[("all", "", "2026-03")] == totals[("province", "52", "2026-03")] == "15"
    assert totals[("kabupaten", "52.71", "2026-03")] == "15" and totals[("kabupaten", "52.71", "2026-04")] == "6"
    # a published cell never holds between 1 and k-1 complaints missing from the records: March's web
    # cell holds 6 complaints, one of them secret, so it is withheld (5 records + 1 would single it out)
    cell = [r for r in monthly if r["month"] == "2026-03" and r["channel"] == "web" and r["status"] == "in_progress"]
    assert len(cell) == 1 and cell[0]["complaints"] == "" and cell[0]["suppressed"] == "true"
    card = {(r["agency"], r["month"]): r for r in _read_csv(tmp_path / "agency_report_card.csv")}
    assert card[("PUPR", "2026-03")]["suppressed"] == "true"  # 13 complaints, 12 records: one secret
    assert card[("PUPR", "2026-04")]["complaints"] == "6" and card[("PUPR", "2026-04")]["rating_average"] == "4.5"
    # and the public ids of records are not tracking ids nor database keys
    assert not {r["public_id"] for r in records} & set(world.tracking_ids)
    assert all(re.fullmatch(r"[0-9a-f]{16}", r["public_id"]) for r in records)


def test_dates_are_days_in_the_deployment_time_zone(world, tmp_path):
    _cli_export(world.app, tmp_path)
    records = _read_csv(tmp_path / "complaints.csv")
    april = [r for r in records if r["status"] == "closed"]
    # filed 2026-03-31 20:00 UTC, which is 2026-04-01 04:00 in Asia/Makassar
    assert "2026-04-01" in {r["created_date"] for r in april}
    assert "2026-03-31" not in {r["created_date"] for r in records}
    first = next(r for r in april if r["created_date"] == "2026-04-01")
    assert first["resolved_date"] == "2026-04-03" and float(first["resolution_days"]) == 2.0
    assert float(first["first_response_days"]) == 0.25 and first["first_response_on_time"] == "true"
    assert first["rating"] == "4" and first["sla_met"] == "true"
    assert first["verified_date"] == "2026-04-01" and first["closed_date"] == "2026-04-04"
    assert first["first_response_due_date"] == "2026-04-03" and first["transfers"] == "0" and first["reopens"] == "0"
    months = {(r["month"], r["status"]) for r in _read_csv(tmp_path / "monthly_counts.csv")}
    assert ("2026-03", "closed") not in months and ("2026-04", "closed") in months
