"""Staff passwords (aduan.passwords): argon2id hashes, the lockout under concurrent attempts, temporary
passwords, `aduan user password`, and migration 0013 keeping existing accounts."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading

import peewee as pw
import pytest
from playhouse.migrations import Migration, Runner

from aduan import passwords, testing as aduan_testing
from aduan.db import CORE_MIGRATIONS, database, make_database, migrate, utcnow
from aduan.models import User
from aduan.passwords import (INVALID, LOCKED, OK, THROTTLED, PasswordError, authenticate, change_password,
                             set_password)

GOOD = "kopi-tubruk-lombok-2026"


@pytest.fixture
def staff(db, seed):
    u = User.get(User.username == "koord")
    set_password(u, GOOD)
    return u


def test_password_is_stored_as_argon2id_and_signs_in(staff):
    row = User.get_by_id(staff.id)
    assert row.password_hash.startswith("$argon2id$") and GOOD not in row.password_hash
    assert row.password_temporary is False and row.password_changed_at is not None
    res = authenticate("koord", GOOD)
    assert res.status == OK and res.user.id == staff.id and res.must_change is False


def test_wrong_password_unknown_user_inactive_and_no_password_all_answer_invalid(staff, seed):
    assert authenticate("koord", GOOD + "x").status == INVALID
    assert authenticate("nobody", GOOD).status == INVALID
    assert authenticate("off_a", GOOD).status == INVALID  # an account without a password
    assert authenticate("", "").status == INVALID
    assert authenticate("koord", "x" * 5000).status == INVALID
    User.update(active=False).where(User.id == staff.id).execute()
    assert authenticate("koord", GOOD).status == INVALID


def test_integration_accounts_get_no_password(db, seed):
    integ = User.get(User.username == "integ")
    with pytest.raises(PasswordError):
        set_password(integ, GOOD)
    assert User.get_by_id(integ.id).password_hash is None


def test_policy_refuses_short_passwords_and_the_username(db, seed):
    u = User.get(User.username == "off_a")
    with pytest.raises(PasswordError) as exc:
        set_password(u, "pendek")
    assert "10" in str(exc.value)
    User.update(username="petugas_pupr").where(User.id == u.id).execute()
    u = User.get_by_id(u.id)
    with pytest.raises(PasswordError):
        set_password(u, "Petugas_PUPR")
    assert User.get_by_id(u.id).password_hash is None


def test_lockout_after_repeated_failures_then_expiry(staff):
    for _ in range(5):
        assert authenticate("koord", "wrong-password").status == INVALID
    # locked: even the right password is refused, and the answer says until when
    sixth = authenticate("koord", GOOD)
    assert sixth.status == LOCKED and sixth.locked_until > utcnow() + dt.timedelta(minutes=14)
    assert User.get_by_id(staff.id).failed_logins == 5
    # the lock expires: the count starts again, the right password works and resets it
    User.update(locked_until=utcnow() - dt.timedelta(seconds=1)).where(User.id == staff.id).execute()
    assert authenticate("koord", GOOD).status == OK
    row = User.get_by_id(staff.id)
    assert (row.failed_logins, row.locked_until) == (0, None)


def test_an_unknown_name_locks_like_an_account(staff):
    """The lockout must not tell which names are accounts: an unknown name answers as an account does,
    five times 'invalid', then 'locked' with a time to try again."""
    real = [authenticate("koord", "wrong-password").status for _ in range(6)]
    unknown = [authenticate("bukan_akun", "wrong-password").status for _ in range(6)]
    assert real == unknown == [INVALID] * 5 + [LOCKED]
    locked = authenticate("Bukan_Akun", "wrong-password")  # names are compared as accounts are looked up
    assert locked.status == LOCKED and utcnow() < locked.locked_until <= utcnow() + dt.timedelta(minutes=15)
    assert authenticate("another_name", "wrong-password").status == INVALID  # per name, not global


def test_failures_from_one_address_are_limited_whatever_the_names(app, staff):
    """Password spraying: one address trying one password on many names is stopped after
    LOGIN_FAILURES_PER_ADDRESS failures in the hour, even for a right password; other addresses are not,
    and successful sign-ins (an office behind one address) never count."""
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = 4
    for _ in range(10):
        assert authenticate("koord", GOOD, client="203.0.113.7").status == OK
    for name in ("admin", "off_a", "nobody", "koord"):
        assert authenticate(name, "musim-hujan-2026", client="203.0.113.7").status == INVALID
    stopped = authenticate("koord", GOOD, client="203.0.113.7")
    assert stopped.status == THROTTLED and stopped.locked_until > utcnow()
    assert authenticate("koord", GOOD, client="198.51.100.2").status == OK
    assert User.get_by_id(staff.id).locked_until is None  # the account itself is not locked


def test_a_success_resets_the_count(staff):
    for _ in range(4):
        authenticate("koord", "wrong-password")
    assert authenticate("koord", GOOD).status == OK
    for _ in range(4):
        assert authenticate("koord", "wrong-password").status == INVALID  # not locked: the count restarted


def test_lockout_holds_under_concurrent_attempts(make_app):
    """Twelve threads try wrong passwords at the same moment: exactly LOGIN_MAX_FAILURES passwords
    are checked (answered 'invalid'), every other attempt finds the lock; a read-then-write counter
    would lose updates here and let more guesses through."""
    app = make_app({"DATABASE_POOL_SIZE": 14, "LOGIN_MAX_FAILURES": 5})
    with app.app_context(), database.connection_context():
        aduan_testing.seed_basics()
        set_password(User.get(User.username == "koord"), GOOD)
    n = 12
    barrier = threading.Barrier(n)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def attempt(i):
        try:
            with app.app_context(), database.connection_context():
                barrier.wait()
                r = authenticate("koord", f"guess-number-{i}")
            with lock:
                results.append(r.status)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sorted(results) == sorted([INVALID] * 5 + [LOCKED] * (n - 5))
    with app.app_context(), database.connection_context():
        row = User.get(User.username == "koord")
        assert row.failed_logins == 5 and row.locked_until > utcnow()
        assert authenticate("koord", GOOD).status == LOCKED


def test_temporary_password_must_be_changed(staff):
    tmp = passwords.temporary_password()
    assert len(tmp) == 19 and tmp.count("-") == 3
    set_password(staff, tmp, temporary=True)
    res = authenticate("koord", tmp)
    assert res.ok and res.must_change
    with pytest.raises(PasswordError):
        change_password(res.user, tmp, tmp)  # the same again
    change_password(res.user, tmp, "a-brand-new-passphrase")
    res = authenticate("koord", "a-brand-new-passphrase")
    assert res.ok and not res.must_change
    assert authenticate("koord", tmp).status == INVALID


def test_password_change_bumps_the_session_epoch_and_unlocks(staff):
    epoch = User.get_by_id(staff.id).session_epoch
    for _ in range(5):
        authenticate("koord", "wrong-password")
    assert authenticate("koord", GOOD).status == LOCKED
    set_password(staff, "another-good-passphrase")
    row = User.get_by_id(staff.id)
    assert row.session_epoch == epoch + 1 and row.locked_until is None and row.failed_logins == 0
    assert authenticate("koord", "another-good-passphrase").ok


def test_change_password_checks_the_current_one_with_the_lockout(staff):
    with pytest.raises(PasswordError):
        change_password(staff, "not-my-password", "whatever-new-passphrase")
    assert User.get_by_id(staff.id).failed_logins == 1
    assert authenticate("koord", GOOD).ok


def _aduan(args, tmp_path, url, input=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env.update({"ADUAN_DATABASE_URL": url, "ADUAN_INSTANCE_PATH": str(tmp_path / "cli-instance"),
                "ADUAN_SECRET_KEY": "cli-test", "ADUAN_PLUGINS": ""})
    return subprocess.run([sys.executable, "-c", "from aduan.cli import main; main()", *args], env=env,
                          cwd=str(tmp_path), capture_output=True, text=True, timeout=120, input=input)


def test_cli_user_password(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    assert _aduan(["init", "--no-regions"], tmp_path, url).returncode == 0
    r = _aduan(["user", "create", "admin", "--name", "Admin", "--role", "admin", "--no-token"], tmp_path, url)
    assert r.returncode == 0, r.stderr
    # asked twice; a mismatch is asked again, a short one refused
    r = _aduan(["user", "password", "admin"], tmp_path, url, input="pendek\npendek\n")
    assert r.returncode != 0 and "at least 10 characters" in r.stderr
    r = _aduan(["user", "password", "admin"], tmp_path, url,
               input="satu-dua-tiga-empat\nsatu-dua-tiga-lima\nsatu-dua-tiga-empat\nsatu-dua-tiga-empat\n")
    assert r.returncode == 0, r.stderr
    assert "password set for admin" in r.stdout and "satu-dua" not in r.stdout + r.stderr
    r = _aduan(["user", "password", "nobody"], tmp_path, url)
    assert r.returncode != 0 and "no user" in r.stderr
    r = _aduan(["user", "password", "admin", "--temporary"], tmp_path, url)
    assert r.returncode == 0, r.stderr
    tmp = r.stdout.strip().rsplit(" ", 1)[1]
    db = make_database(url, pool_size=1)
    database.initialize(db)
    try:
        with database.connection_context():
            assert authenticate("admin", "satu-dua-tiga-empat").status == INVALID
            res = authenticate("admin", tmp)
            assert res.ok and res.must_change
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()


def test_migration_0013_keeps_existing_accounts(tmp_path):
    url = aduan_testing.database_url_for_tests(tmp_path)
    aduan_testing.reset_database(url)
    db = make_database(url, pool_size=2)
    database.initialize(db)
    db.connect()
    try:
        names = [m.name for m in Migration.load_directory(str(CORE_MIGRATIONS))]
        before = names[names.index("0013_passwords") - 1]
        Runner(db, str(CORE_MIGRATIONS), table_name="schema_migration").up(before)
        now = dt.datetime(2026, 3, 2, 1, 30)
        table = pw.Table("user", ("id", "username", "name", "role", "active", "created_at")).bind(db)
        table.insert(username="koord", name="Koordinator", role="coordinator", active=True, created_at=now).execute()
        assert "core:0013_passwords" in migrate({"core": CORE_MIGRATIONS})
        u = User.get(User.username == "koord")
        assert (u.name, u.role, u.created_at) == ("Koordinator", "coordinator", now)
        assert (u.password_hash, u.password_temporary, u.failed_logins, u.locked_until, u.session_epoch) == (
            None, False, 0, None, 0)
        set_password(u, GOOD)
        assert authenticate("koord", GOOD).ok
    finally:
        db.close()
        if hasattr(db, "close_all"):
            db.close_all()
