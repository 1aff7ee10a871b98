"""What a regency IT engineer meets: secrets, file modes, operator errors, demo data, the directory,
tokens and the service files (issue #9 items 4, 5, 6, 17, 18, 19, 20)."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from aduan import testing as aduan_testing
from aduan.cli import main
from aduan.testing import auth

ROOT = Path(__file__).resolve().parent.parent
SECRET = "a-long-random-test-secret-key-0123456789abcdef"


def cli(tmp_path, *args, env=None, url=None):
    """``aduan ARGS`` in this process (click's runner), on the test database, no plugin unless asked."""
    base = {k: None for k in os.environ if k.startswith("ADUAN_") and k != aduan_testing.TEST_DB_ENV}
    base.update({"ADUAN_INSTANCE_PATH": str(tmp_path / "instance"),
                 "ADUAN_DATABASE_URL": url or aduan_testing.database_url_for_tests(tmp_path),
                 "ADUAN_SECRET_KEY": SECRET, "ADUAN_PLUGINS": ""})
    base.update(env or {})
    return CliRunner().invoke(main, list(args), env=base, catch_exceptions=False)


def aduan_process(tmp_path, *args, env=None, umask=None):
    """``aduan ARGS`` as a real process (the console entry point), for exit codes and stderr."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    e.update({"ADUAN_INSTANCE_PATH": str(tmp_path / "instance"), "ADUAN_SECRET_KEY": SECRET, "ADUAN_PLUGINS": "",
              "ADUAN_DATABASE_URL": aduan_testing.database_url_for_tests(tmp_path)})
    e.update({k: v for k, v in (env or {}).items() if v is not None})
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
    pre = (lambda: os.umask(umask)) if umask is not None else None
    return subprocess.run([sys.executable, "-c", "from aduan.cli import main; main()", *args], env=e,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120, preexec_fn=pre)


@pytest.fixture
def fresh_db(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    yield url
    from aduan.db import database

    if database.obj is not None and hasattr(database.obj, "close_all"):
        database.obj.close_all()


# --- 4: the development key, derived keys, rotation ------------------------------------------------

def test_serve_and_worker_refuse_the_published_development_key(tmp_path, fresh_db):
    for cmd in (["serve", "--port", "1"], ["worker", "--once"]):
        r = aduan_process(tmp_path, *cmd, env={"ADUAN_SECRET_KEY": None})
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Traceback" not in r.stderr
        assert r.stderr.count("\n") == 1 and "SECRET_KEY" in r.stderr and "ADUAN_DEVELOPMENT" in r.stderr
    placeholder = [ln.split("=", 1)[1] for ln in (ROOT / "deploy" / "aduan.env.example").read_text().splitlines()
                   if ln.startswith("ADUAN_SECRET_KEY=")][0]
    copied = aduan_process(tmp_path, "worker", "--once", env={"ADUAN_SECRET_KEY": placeholder})
    assert copied.returncode == 1 and "SECRET_KEY" in copied.stderr  # the example file copied unchanged
    assert aduan_process(tmp_path, "init", "--no-regions").returncode == 0
    ok = aduan_process(tmp_path, "worker", "--once", env={"ADUAN_SECRET_KEY": None, "ADUAN_DEVELOPMENT": "1"})
    assert ok.returncode == 0, ok.stderr
    assert "development mode" in ok.stderr
    assert aduan_process(tmp_path, "worker", "--once").returncode == 0  # a real key needs no flag


def test_each_purpose_has_its_own_key_and_none_is_the_secret_itself():
    from aduan import keys

    cfg = {"SECRET_KEY": SECRET}
    derived = {ctx: keys.derive(ctx, cfg) for ctx in ("nik", "access-code", "rate-limit", "email-reply",
                                                      "email-address", "email-code", "sms-text")}
    assert len(set(derived.values())) == len(derived)
    assert SECRET.encode() not in derived.values()
    assert keys.derive("nik", {"SECRET_KEY": SECRET + "x"}) != derived["nik"]


def _file(client, **reporter):
    r = client.post("/api/v1/complaints", json={"title": "Jalan rusak", "body": "Jalan di depan pasar rusak.",
                                                "category": "jalan", "reporter": {"name": "Baiq", **reporter}})
    assert r.status_code == 201, r.json
    return r.json


def test_rotating_secret_key_keeps_nik_and_access_codes_working_while_the_old_key_is_listed(make_app, tmp_path):
    from aduan.db import database
    from aduan.models import Reporter
    from aduan.services import decrypt_nik

    app = make_app({"SECRET_KEY": "the-old-secret-key-0123456789abcdef"})
    with app.app_context(), database.connection_context():
        aduan_testing.seed_basics()
    filed = _file(app.test_client(), nik="5271011203900002")
    new = {"SECRET_KEY": "the-new-secret-key-abcdef0123456789"}
    rotated = make_app({**new, "SECRET_KEYS_OLD": "the-old-secret-key-0123456789abcdef"})
    c = rotated.test_client()
    tid, code = filed["tracking_id"], filed["access_code"]
    assert c.get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code}).json.get("reporter")
    with rotated.app_context(), database.connection_context():
        rep = Reporter.select().where(Reporter.nik_encrypted.is_null(False)).get()
        assert decrypt_nik(rep) == "5271011203900002"
        res = CliRunner().invoke(main, ["keys", "rotate"], obj=_info(rotated))
        assert res.exit_code == 0 and "re-encrypted 1" in res.output
    # without the old key: the NIK (re-encrypted) still opens; the old access code no longer does
    only_new = make_app(new)
    with only_new.app_context(), database.connection_context():
        assert decrypt_nik(Reporter.get_by_id(rep.id)) == "5271011203900002"
    r = only_new.test_client().get(f"/api/v1/complaints/{tid}", headers={"X-Access-Code": code})
    assert not (r.json.get("reporter") or {}).get("name")


def test_nik_encrypted_with_the_previous_derivation_still_decrypts(make_app):
    from aduan.db import database
    from aduan.models import Reporter
    from aduan.services import decrypt_nik, encrypt_nik

    app = make_app({"SECRET_KEY": SECRET})
    legacy = Fernet(base64.urlsafe_b64encode(hashlib.sha256(("nik|" + SECRET).encode()).digest()))
    with app.app_context(), database.connection_context():
        old = Reporter.create(name="x", nik_encrypted=legacy.encrypt(b"5201074512780001").decode())
        assert decrypt_nik(old) == "5201074512780001"
        token, _masked = encrypt_nik("5201074512780001")
        with pytest.raises(Exception):
            legacy.decrypt(token.encode())  # new ciphertexts use the HKDF-derived key


def _info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


# --- 5: no credential in `aduan config`, errors or logs ---------------------------------------------

def _marked_config(schemas):
    """Every string-like key set to a unique marker (in a form its validator accepts)."""
    from marshmallow import ValidationError, fields

    from aduan.config import StrList, is_secret

    env, secret_markers, plain_markers = {}, set(), set()
    for prefix, schema in schemas:
        for name, f in schema.fields.items():
            key = prefix + name
            if key in ("DATABASE_URL", "PLUGINS", "SECRET_KEY", "INSTANCE_PATH"):
                continue
            m = f"MRK{hashlib.sha1(key.encode()).hexdigest()[:10]}"
            m2 = m + "PW"
            if isinstance(f, StrList):
                candidates = [(json.dumps([m]), {m})]
            elif isinstance(f, fields.Dict):
                candidates = [(json.dumps({"X-Api-Key": m2, "Accept": m}), {m2}),
                              (json.dumps({"mendesak": 1}), set())]
            elif isinstance(f, fields.String):
                fkey = Fernet.generate_key().decode()
                candidates = [(m, {m}), (f"https://user:{m2}@example.org/x?apikey={m2}&to={m}", {m2}),
                              (f"{m.lower()}@example.org", {m.lower()}), (fkey, {fkey})]
            else:
                continue
            for raw, marks in candidates:
                try:
                    schema.load({name: json.loads(raw) if raw[:1] in "[{" else raw}, partial=True)
                except ValidationError:
                    continue
                env["ADUAN_" + key] = raw
                if is_secret(key, f):
                    secret_markers |= marks
                elif m2 in marks:
                    secret_markers.add(m2)
                else:
                    plain_markers |= marks
                break
    return env, secret_markers, plain_markers


def test_config_errors_and_logs_never_show_a_credential(tmp_path, make_app, caplog):
    import logging

    from aduan.config import CoreConfig

    app = make_app({"PLUGINS": ["lapor", "sms", "email", "opendata"]})
    schemas = [("", CoreConfig())] + [(p + "_", s()) for p, s in app.extensions["aduan"].config_schemas.items()]
    env, secrets_, plain = _marked_config(schemas)
    assert len(secrets_) >= 20 and len(plain) >= 20
    env.update({"ADUAN_PLUGINS": "lapor,sms,email,opendata", "ADUAN_SECRET_KEY": "MRKSECRETKEYVALUE-0123456789",
                "ADUAN_SECRET_KEYS_OLD": "MRKOLDSECRET1,MRKOLDSECRET2",
                "ADUAN_DATABASE_URL": "postgresql://aduan:MRKDBPASSWORD@127.0.0.1:1/aduan?password=MRKDBPW2"})
    secrets_ |= {"MRKSECRETKEYVALUE", "MRKOLDSECRET1", "MRKOLDSECRET2", "MRKDBPASSWORD", "MRKDBPW2"}
    caplog.set_level(logging.DEBUG)
    outputs = []
    for args in (["config"], ["config", "--json"], ["init"], ["worker", "--once"], ["--debug", "init"]):
        r = cli(tmp_path, *args, env=env)
        outputs.append((r.stdout, r.stderr))
    text = "\n".join(o + e for o, e in outputs) + caplog.text
    leaked = sorted(m for m in secrets_ if m in text)
    assert leaked == [], leaked
    rows = json.loads(outputs[1][0])
    shown = json.dumps(rows)
    assert sum(m in shown for m in plain) >= len(plain) - 2  # the scan looked at real values
    assert "postgresql://aduan:********@127.0.0.1:1/aduan?password=********" in shown
    assert "cannot use the database" in outputs[2][1] and "aduan:********@" not in outputs[2][1]
    # an invalid secret is named by its key, never echoed
    bad = cli(tmp_path, "config", env={**env, "ADUAN_NIK_KEY": "MRKNOTAFERNETKEY"})
    assert bad.exit_code == 1 and "NIK_KEY" in bad.stderr and "MRKNOTAFERNETKEY" not in bad.output + bad.stderr


# --- 6: owner-only files whatever the umask ---------------------------------------------------------

def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_instance_database_attachments_and_token_file_are_owner_only(tmp_path):
    import io

    from aduan.app import create_app
    from aduan.db import database

    old = os.umask(0)
    try:
        inst = tmp_path / "deep" / "instance"
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(inst), "SECRET_KEY": SECRET})
        with app.app_context(), database.connection_context():
            from aduan.cli import upgrade_database

            upgrade_database(app)
            database.execute_sql("CREATE TABLE probe (x INTEGER)")
            database.execute_sql("INSERT INTO probe VALUES (1)")
            assert _mode(inst) == 0o700 and _mode(inst.parent) == 0o700
            for name in ("aduan.db", "aduan.db-wal", "aduan.db-shm", "aduan.db.migrate-lock"):
                assert (inst / name).exists(), name
                assert _mode(inst / name) == 0o600, name
            png = (ROOT / "tests" / "fixtures" / "release_0_1" / "state").rglob("*")
            blob = next(p for p in png if p.is_file() and p.read_bytes().startswith(b"\x89PNG")).read_bytes()
            sha, _size, _type = app.extensions["aduan"].storage.put(io.BytesIO(blob))
            stored = Path(app.extensions["aduan"].storage._path(sha))
            assert _mode(stored) == 0o600
            for d in (stored.parent, stored.parent.parent, inst / "attachments"):
                assert _mode(d) == 0o700, d
        database.obj.close_all()
    finally:
        os.umask(old)


# --- 17: operator errors in one line -------------------------------------------------------------

@pytest.mark.parametrize("env,needle", [
    ({"ADUAN_RATE_LIMIT_FILE": "lots"}, "RATE_LIMIT_FILE"),
    ({"ADUAN_TIMEZONE": "Asia/Mataram"}, "TIMEZONE"),
    ({"ADUAN_HOLIDAYS_EXTRA": "2026-13-45"}, "HOLIDAYS_EXTRA"),
    ({"ADUAN_SLA_VERIFY_DAYS": "tiga"}, "SLA_VERIFY_DAYS"),
    ({"ADUAN_BASE_URL": "aduan.ntbprov.go.id"}, "BASE_URL"),
    ({"ADUAN_REGION_PREFIXES": "NTB"}, "REGION_PREFIXES"),
    ({"ADUAN_ATTACHMENT_TYPES": "jpg,pdf"}, "ATTACHMENT_TYPES"),
    ({"ADUAN_PLUGINS": "whatsapp2000"}, "aduan-whatsapp2000"),
    ({"ADUAN_DATABASE_URL": "postgresql://aduan:pw@127.0.0.1:1/aduan"}, "cannot use the database"),
    ({"ADUAN_DATABASE_URL": "mysql://aduan@db/aduan"}, "DATABASE_URL"),
])
def test_operator_errors_are_one_line_and_exit_non_zero(tmp_path, env, needle):
    r = cli(tmp_path, "init", "--no-regions", env=env)
    assert r.exit_code == 1, r.output
    assert r.stderr.startswith("aduan: error: ") and r.stderr.count("\n") == 1, r.stderr
    assert needle in r.stderr and "Traceback" not in r.stderr
    dbg = cli(tmp_path, "--debug", "init", "--no-regions", env=env)
    assert dbg.exit_code == 1 and "Traceback" in dbg.stderr and needle in dbg.stderr


def test_rate_limit_values_are_checked_at_start_up_not_at_the_first_filing(make_app):
    from aduan.config import ConfigError

    with pytest.raises(ConfigError, match="RATE_LIMIT_FILE"):
        make_app({"RATE_LIMIT_FILE": "lots"})
    app = make_app({"RATE_LIMIT_FILE": "5 / minutes"})
    assert app.config["RATE_LIMIT_FILE"] == "5 / minutes"


def test_a_port_in_use_is_one_line(tmp_path, fresh_db):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = aduan_process(tmp_path, "serve", "--port", str(port))
    assert r.returncode == 1
    assert "already in use" in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.count("aduan: error") == 1


# --- 18: demo data never mixes into a real deployment ---------------------------------------------

def test_demo_refuses_a_database_with_real_data_and_never_mints_tokens_for_a_real_admin(tmp_path, fresh_db):
    assert cli(tmp_path, "init", "--no-regions").exit_code == 0
    r = cli(tmp_path, "user", "create", "admin", "--name", "Admin Kominfo", "--role", "admin")
    assert r.exit_code == 0
    from aduan.db import database
    from aduan.models import Complaint, Token

    def counts():
        with database.connection_context():
            return Complaint.select().count(), Token.select().count()

    refused = cli(tmp_path, "demo")
    assert refused.exit_code == 1 and "--force" in refused.stderr
    assert counts() == (0, 1)
    assert cli(tmp_path, "demo", "--if-empty").exit_code == 0
    assert counts() == (0, 1)
    forced = cli(tmp_path, "demo", "--force")
    assert forced.exit_code == 0, forced.output
    n_complaints, n_tokens = counts()
    assert n_complaints >= 10
    assert " admin " not in forced.stdout  # no token printed for the real admin
    with database.connection_context():
        from aduan.models import User

        assert Token.select().where(Token.user == User.get(User.username == "admin").id).count() == 1


def test_init_then_demo_in_a_fresh_folder_writes_the_token_file(tmp_path, fresh_db):
    # the database is not in the instance folder (PostgreSQL, or SQLite elsewhere): nothing creates it first
    url = fresh_db if not fresh_db.startswith("sqlite") else "sqlite:///" + str(tmp_path / "elsewhere.db")
    assert cli(tmp_path, "init", url=url).exit_code == 0
    assert not (tmp_path / "instance").exists() or url.startswith("sqlite:///" + str(tmp_path / "instance"))
    r = cli(tmp_path, "demo", url=url)
    assert r.exit_code == 0, r.output
    tokfile = tmp_path / "instance" / "demo-tokens.txt"
    assert _mode(tokfile) == 0o600 and _mode(tokfile.parent) == 0o700
    tokens = [ln.split()[-1] for ln in tokfile.read_text().splitlines() if ln.strip()]
    assert len(tokens) == 8 and all(t.startswith("adu_") for t in tokens)
    # every demo staff member can sign in to the portal with the password printed beside the token
    rows = [ln.split() for ln in tokfile.read_text().splitlines() if ln.strip()]
    from aduan import passwords
    from aduan.db import database

    with database.connection_context():
        for role, username, password, _tok in rows:
            if role == "integration":
                assert password == "-"
            else:
                assert passwords.authenticate(username, password).ok, username
    assert cli(tmp_path, "demo", "--if-empty", url=url).exit_code == 0


# --- 19: the directory --------------------------------------------------------------------------

def test_the_ntb_directory_loads_idempotently_and_makes_filing_possible(tmp_path, fresh_db):
    ntb = str(ROOT / "deploy" / "directory" / "ntb.yaml")
    assert cli(tmp_path, "init", "--no-regions").exit_code == 0
    first = cli(tmp_path, "directory", "load", ntb)
    assert first.exit_code == 0, first.output
    assert "agencies: 12 created" in first.stdout and "categories: 13 created" in first.stdout
    again = cli(tmp_path, "directory", "load", ntb)
    assert "agencies: 0 created, 0 updated, 12 unchanged; categories: 0 created, 0 updated, 13 unchanged" in again.stdout
    from aduan.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": fresh_db, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": SECRET})
    c = app.test_client()
    cats = {x["code"]: x for x in c.get("/api/v1/categories").json}
    agencies = {x["id"]: x for x in c.get("/api/v1/agencies").json}
    assert agencies[cats["rumahsakit"]["default_agency_id"]]["code"] == "RSUDP"
    assert cats["rumahsakit"]["parent_id"] == cats["kesehatan"]["id"]
    assert cats["rumahsakit"]["sla_followup_days"] == 2 and cats["rumahsakit"]["default_urgency"] == "mendesak"
    assert "igd" in cats["rumahsakit"]["keywords"].split(",")
    r = c.post("/api/v1/complaints", json={"title": "IGD penuh", "body": "Pasien menunggu lama di IGD.",
                                           "category": "rumahsakit", "reporter": {"name": "Baiq"}})
    assert r.status_code == 201, r.json


def test_a_bad_directory_file_reports_every_row_and_loads_nothing(tmp_path, fresh_db):
    assert cli(tmp_path, "init", "--no-regions").exit_code == 0
    good = tmp_path / "dir.csv"
    good.write_text("type,code,name,parent,default_agency,urgency,sla_followup_days,keywords,email\n"
                    "agency,PUPR,Dinas PUPR,,,,,,pupr@ntbprov.go.id\n"
                    "category,jalan,Jalan,,PUPR,penting,3,jalan rusak;aspal,\n")
    assert cli(tmp_path, "directory", "load", str(good)).exit_code == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("type,code,name,parent,default_agency,urgency,sla_followup_days,keywords,email\n"
                   "agency,PUPR,Dinas PUPR (baru),,,,,,\n"
                   "agency,DIKES,,,,,,,bukan-email\n"
                   "category,air,Air bersih,,DINASX,darurat,,,\n"
                   "category,jalan,Jalan,jalan,,,999,,\n"
                   "kantor,X,Y,,,,,,\n")
    r = cli(tmp_path, "directory", "load", str(bad))
    assert r.exit_code == 1
    err = r.stderr
    assert "line 3 (agency DIKES): email:" in err and "line 3 (agency DIKES): name:" in err
    assert "line 4 (category air): urgency:" in err
    assert "line 5 (category jalan): sla_followup_days:" in err
    assert "line 6: type:" in err
    assert "nothing was loaded" in err and "Traceback" not in err
    refs = tmp_path / "refs.yaml"
    refs.write_text("categories:\n  - {code: air, name: Air, default_agency: DINASX}\n"
                    "  - {code: jalan, name: Jalan, parent: jalan}\n")
    r = cli(tmp_path, "directory", "load", str(refs))
    assert "categories[1] (category air): default_agency: no agency with code 'DINASX'" in r.stderr
    assert "categories[2] (category jalan): parent:" in r.stderr
    from aduan.db import database
    from aduan.models import Agency, Category

    with database.connection_context():
        assert Agency.get(Agency.code == "PUPR").name == "Dinas PUPR"  # the bad file changed nothing
        assert [c.code for c in Category.select()] == ["jalan"]


# --- 20: tokens, warnings, make run, systemd -------------------------------------------------------

def test_token_list_and_revoke_by_whole_token_or_prefix(tmp_path, fresh_db):
    assert cli(tmp_path, "init", "--no-regions").exit_code == 0
    first = cli(tmp_path, "user", "create", "koord", "--name", "Koordinator", "--role", "coordinator")
    tok1 = first.stdout.strip().split()[-1]
    tok2 = cli(tmp_path, "token", "create", "koord", "--name", "laptop").stdout.strip()
    listed = cli(tmp_path, "token", "list")
    assert listed.exit_code == 0
    assert tok1[:10] in listed.stdout and tok2[:10] in listed.stdout and "laptop" in listed.stdout
    assert tok1 not in listed.stdout and tok2 not in listed.stdout  # never the token itself
    assert cli(tmp_path, "token", "revoke", tok1).exit_code == 0  # the whole token, as pasted
    assert cli(tmp_path, "token", "revoke", tok2[:10]).exit_code == 0  # the prefix from the list
    assert tok1[:10] not in cli(tmp_path, "token", "list").stdout
    assert "revoked" in cli(tmp_path, "token", "list", "--all").stdout
    unknown = cli(tmp_path, "token", "revoke", "adu_nothing")
    assert unknown.exit_code == 1 and "no token matches" in unknown.stderr
    from aduan.app import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": fresh_db, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": SECRET})
    for t in (tok1, tok2):
        assert app.test_client().get("/api/v1/me", headers=auth(t)).status_code == 401


def test_start_up_warnings_print_once_and_never_on_help(tmp_path, fresh_db):
    # the development key, and an SMTP server with the default sender address: two start-up warnings
    env = {"ADUAN_SECRET_KEY": None, "ADUAN_PLUGINS": "email", "ADUAN_EMAIL_SMTP_HOST": "127.0.0.1"}
    h = aduan_process(tmp_path, "--help", env=env)
    assert h.returncode == 0 and h.stderr == "", h.stderr
    assert aduan_process(tmp_path, "user", "--help", env=env).stderr == ""
    c = aduan_process(tmp_path, "config", env=env)
    warnings = [ln for ln in c.stderr.splitlines() if ln.startswith("aduan: warning:")]
    assert any("SECRET_KEY" in w for w in warnings) and any("EMAIL_FROM_ADDRESS" in w for w in warnings)
    assert len(warnings) == len(set(warnings)) == len(c.stderr.splitlines())


def test_make_run_points_base_url_at_the_chosen_port():
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    out = subprocess.run([make, "-n", "-s", "run", "PORT=5077", "BIN=.venv/bin", "VENV=.venv"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}).stdout
    assert "ADUAN_BASE_URL=\"${ADUAN_BASE_URL:-http://127.0.0.1:5077}\"" in out
    assert "ADUAN_DEVELOPMENT=1" in out and "--port 5077" in out


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    aduan = shutil.which("aduan", path=os.path.dirname(sys.executable)) or "/bin/true"
    units = []
    for name in ("aduan-web.service", "aduan-worker.service"):
        text = (ROOT / "deploy" / "systemd" / name).read_text()
        for needed in ("[Install]", "WantedBy=multi-user.target", "User=aduan", "EnvironmentFile=/etc/aduan.env",
                       "After=network-online.target postgresql.service", "Wants=network-online.target postgresql.service",
                       "NoNewPrivileges=yes", "ProtectSystem=strict"):
            assert needed in text, (name, needed)
        # verify needs the ExecStart binary to exist: point it at this environment's aduan
        (tmp_path / name).write_text(text.replace("/opt/aduan/bin/aduan", aduan))
        units.append(str(tmp_path / name))
    r = subprocess.run([tool, "verify", *units], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Unknown" not in r.stderr and "ignoring" not in r.stderr.lower(), r.stderr
    sec = subprocess.run([tool, "security", "--offline=yes", "--threshold=30", units[0]], capture_output=True,
                         text=True, timeout=120)
    if "--offline" not in sec.stderr:  # systemd < 250 has no offline security review
        assert sec.returncode == 0, sec.stdout[-500:]
    env_example = (ROOT / "deploy" / "aduan.env.example").read_text()
    assert "ADUAN_SECRET_KEY=" in env_example and "ADUAN_INSTANCE_PATH=/var/lib/aduan" in env_example


def test_files_left_world_readable_by_an_older_release_are_pointed_out(tmp_path):
    inst = tmp_path / "instance"
    inst.mkdir(mode=0o755)
    os.chmod(inst, 0o755)
    db = inst / "aduan.db"
    db.write_bytes(b"")
    os.chmod(db, 0o644)
    r = aduan_process(tmp_path, "config", env={"ADUAN_DATABASE_URL": None})
    assert r.returncode == 0
    assert f"{inst} is readable by other users (mode 0755)" in r.stderr and f"chmod 700 {inst}" in r.stderr
    assert f"chmod 600 {db}" in r.stderr
    assert _mode(db) == 0o644  # pointed out, never changed behind the operator's back
