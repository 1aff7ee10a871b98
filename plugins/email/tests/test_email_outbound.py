"""Outbound mail through the outbox to a real SMTP server (aiosmtpd): what reporters and agencies receive."""
from __future__ import annotations

import datetime as dt
import ssl

import pytest

from aduan.db import database
from aduan.testing import auth

REPORTER = "ani@warga.example"


def file_on_web(client, **extra):
    body = {"title": "Lampu jalan mati", "body": "Lampu jalan di Jl. Udayana mati sejak seminggu.",
            "reporter": {"name": "Ani", "email": REPORTER, **extra.pop("reporter", {})}, **extra}
    r = client.post("/api/v1/complaints", json=body)
    assert r.status_code in (200, 201), r.get_json()
    return r.get_json()["tracking_id"]


def act(client, token, tid, action, **data):
    r = client.post(f"/api/v1/complaints/{tid}/actions/{action}", json=data, headers=auth(token))
    assert r.status_code in (200, 201), r.get_json()
    return r.get_json()


def test_reporter_hears_about_progress_in_one_thread(email_app, smtp_server, h, seed):
    app = email_app()
    client = app.test_client()
    tid = file_on_web(client)
    act(client, seed.coordinator, tid, "verify", agency_id=seed.agency_a.id)
    act(client, seed.officer_a, tid, "comment", text="catatan internal: cek anggaran")  # internal: not sent
    act(client, seed.officer_a, tid, "respond", text="Petugas akan memperbaiki lampu besok pagi.")
    with app.app_context(), database.connection_context():
        h.run_worker(app)
    mails = smtp_server.to(REPORTER)
    assert len(mails) == 3
    ack, verified, answer = mails
    for m in mails:
        assert m["Subject"].startswith(f"[ADUAN-{tid}]")
        assert m["Auto-Submitted"] == "auto-replied"
        assert m["Reply-To"].addresses[0].addr_spec.startswith(f"lapor+{tid.lower()}-")
        assert m["From"].addresses[0].addr_spec == h.FROM
        assert m.get_content_type() == "multipart/alternative"
        assert m.get_body(("html",)) is not None
        assert "catatan internal" not in m.get_body(("plain",)).get_content()
    # web filings already showed the access code: the mail does not repeat it
    assert "Kode akses" not in ack.get_body(("plain",)).get_content()
    assert "https://lapor.example.id/api/v1/complaints/" + tid in ack.get_body(("plain",)).get_content()
    link = "https://lapor.example.id/api/v1/complaints/" + tid
    assert f'<a href="{link}">' in ack.get_body(("html",)).get_content()
    v = verified.get_body(("plain",)).get_content()
    assert "Diverifikasi dan didisposisikan" in v and "Dinas PUPR" in v
    assert "Petugas akan memperbaiki lampu besok pagi." in answer.get_body(("plain",)).get_content()
    # threaded: each message answers the previous one and references the first
    assert verified["In-Reply-To"] == ack["Message-ID"]
    assert answer["In-Reply-To"] == verified["Message-ID"]
    assert ack["Message-ID"] in answer["References"]
    assert len({m["Message-ID"] for m in mails}) == 3


def test_english_reporter_gets_english_mail(email_app, smtp_server, h, seed):
    app = email_app()
    client = app.test_client()
    tid = file_on_web(client, reporter={"language": "en"}, title='<img src="x" onerror="alert(1)"> Lamp out')
    act(client, seed.coordinator, tid, "reject", text="Outside the government's remit.")
    with app.app_context(), database.connection_context():
        h.run_worker(app)
    ack, rejected = smtp_server.to(REPORTER)
    assert ack["Content-Language"] == "en"
    assert "We have received your report" in ack.get_body(("plain",)).get_content()
    html = ack.get_body(("html",)).get_content()
    assert "<img" not in html and "&lt;img src=&quot;x&quot;" in html  # citizens' text never becomes markup
    text = rejected.get_body(("plain",)).get_content()
    assert "Rejected" in text and "Outside the government's remit." in text


def test_agency_inbox_notified_without_identity_of_anonymous_reporters(email_app, smtp_server, h, seed):
    from aduan.models import Agency
    from aduan_email.inbound import handle_raw

    app = email_app()
    client = app.test_client()
    with app.app_context(), database.connection_context():
        Agency.update(email="pupr@pemda.example.id").where(Agency.id == seed.agency_a.id).execute()
        Agency.update(email="dikes@pemda.example.id").where(Agency.id == seed.agency_b.id).execute()
    tid_anon = file_on_web(client, anonymous=True, title="Pungli di kantor")
    tid_open = file_on_web(client, title="Jalan rusak")
    tid_secret = file_on_web(client, secret=True, title="Dugaan korupsi", body="Kepala seksi menerima suap.")
    act(client, seed.coordinator, tid_secret, "verify", agency_id=seed.agency_a.id)
    act(client, seed.coordinator, tid_anon, "verify", agency_id=seed.agency_a.id)
    act(client, seed.coordinator, tid_open, "verify", agency_id=seed.agency_a.id)
    act(client, seed.officer_a, tid_open, "transfer", agency_id=seed.agency_b.id, text="Bukan wewenang PUPR.")
    with app.app_context(), database.connection_context():
        h.run_worker(app)
    pupr = smtp_server.to("pupr@pemda.example.id")
    dikes = smtp_server.to("dikes@pemda.example.id")
    assert sorted(m["X-Aduan-Tracking-Id"] for m in pupr) == sorted([tid_anon, tid_open, tid_secret])
    # a secret (rahasia) complaint's content stays in the application
    secret_mail = [m for m in pupr if m["X-Aduan-Tracking-Id"] == tid_secret][0]
    secret = secret_mail.get_body(("plain",)).get_content() + secret_mail.get_body(("html",)).get_content() + \
        str(secret_mail["Subject"])
    assert "Laporan rahasia" in secret and "korupsi" not in secret and "suap" not in secret
    assert [m["X-Aduan-Tracking-Id"] for m in dikes] == [tid_open]
    anon = [m for m in pupr if m["X-Aduan-Tracking-Id"] == tid_anon][0]
    text = anon.get_body(("plain",)).get_content()
    assert "Pungli di kantor" in text and "Anonim" in text
    assert REPORTER not in text and "Ani" not in text and REPORTER not in anon.as_string()
    shown = dikes[0].get_body(("plain",)).get_content()
    assert "Ani" in shown and REPORTER in shown
    assert anon["Reply-To"] is None
    # an officer answering the notification by mail does not file a complaint
    reply = h.mail(sender="pupr@pemda.example.id", subject="Re: " + anon["Subject"], body="Siap, ditindaklanjuti.",
                   headers={"In-Reply-To": anon["Message-ID"]})
    with app.app_context(), database.connection_context():
        before = len(h.complaints())
        assert handle_raw(reply.as_bytes(), "imap").outcome == "ignored"
        assert len(h.complaints()) == before


def test_permanent_refusal_marks_the_address_and_stops_mail(email_app, smtp_server, h, seed):
    from aduan.models import Job
    from aduan_email.common import is_failing

    smtp_server.refuse.add(REPORTER)
    app = email_app()
    client = app.test_client()
    tid = file_on_web(client)
    with app.app_context(), database.connection_context():
        h.run_worker(app)
        job = Job.get(Job.kind == "email.notify")
        assert job.status == "dead" and job.attempts == 1  # not retried forever
        assert REPORTER not in (job.last_error or "") and "warga" not in (job.last_error or "")
        assert is_failing(REPORTER)
    smtp_server.refuse.clear()
    act(client, seed.coordinator, tid, "verify", agency_id=seed.agency_a.id)
    with app.app_context(), database.connection_context():
        h.run_worker(app)
    assert smtp_server.envelopes == []


def test_smtp_down_retries_then_delivers_once(email_app, smtp_server, h, seed):
    from aduan.models import Job

    app = email_app({"EMAIL_SMTP_PORT": h.free_port(), "JOB_BACKOFF_BASE": 60})  # nothing listens there
    client = app.test_client()
    file_on_web(client)
    with app.app_context(), database.connection_context():
        h.run_worker(app)
        job = Job.get(Job.kind == "email.notify")
        assert job.status == "pending" and job.attempts == 1 and "SMTP connection failed" in job.last_error
        app.config["EMAIL_SMTP_PORT"] = smtp_server.port
        Job.update(run_at=dt.datetime(2000, 1, 1)).where(Job.id == job.id).execute()
        h.run_worker(app)
        assert Job.get_by_id(job.id).status == "done"
        h.run_worker(app)
    assert len(smtp_server.to(REPORTER)) == 1


# --- STARTTLS and AUTH against a TLS-speaking aiosmtpd ------------------------------------------------

@pytest.fixture
def tls_smtp(tmp_path, h):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    cert, key = h.self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    inbox = h.Inbox()
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"pemda" and auth_data.password == b"smtp-pass"
        logins.append((session.ssl is not None, ok))
        return AuthResult(success=ok, handled=False)

    port = h.free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                     authenticator=authenticator, auth_require_tls=True, auth_required=True)
    ctl.start()
    inbox.port, inbox.ca, inbox.logins = port, cert, logins
    yield inbox
    ctl.stop()


def test_starttls_and_auth(make_app, tls_smtp, h):
    from aduan.models import Job

    base = {"PLUGINS": ["email"], "EMAIL_FROM_ADDRESS": h.FROM, "EMAIL_SMTP_HOST": "127.0.0.1",
            "EMAIL_SMTP_PORT": tls_smtp.port, "EMAIL_SMTP_SECURITY": "starttls", "EMAIL_SMTP_CA_FILE": tls_smtp.ca,
            "EMAIL_SMTP_USERNAME": "pemda", "EMAIL_SMTP_PASSWORD": "wrong-pass", "JOB_BACKOFF_BASE": 60}
    app = make_app(base)
    tid = file_on_web(app.test_client())
    with app.app_context(), database.connection_context():
        h.run_worker(app)
        job = Job.get(Job.kind == "email.notify")
        assert job.status == "pending" and "authentication failed" in job.last_error
        assert "wrong-pass" not in job.last_error
        app.config["EMAIL_SMTP_PASSWORD"] = "smtp-pass"
        Job.update(run_at=dt.datetime(2000, 1, 1)).where(Job.id == job.id).execute()
        h.run_worker(app)
        assert Job.get_by_id(job.id).status == "done"
    [m] = tls_smtp.to(REPORTER)
    assert m["X-Aduan-Tracking-Id"] == tid
    # credentials only ever sent over TLS; the wrong password was refused, the right one accepted
    assert all(over_tls for over_tls, _ in tls_smtp.logins)
    assert tls_smtp.logins[0] == (True, False) and tls_smtp.logins[-1] == (True, True)


def test_implicit_tls(make_app, h, tmp_path):
    from aiosmtpd.controller import Controller

    cert, key = h.self_signed(tmp_path)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    inbox = h.Inbox()
    port = h.free_port()
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=ctx)
    ctl.start()
    try:
        app = make_app({"PLUGINS": ["email"], "EMAIL_FROM_ADDRESS": h.FROM, "EMAIL_SMTP_HOST": "127.0.0.1",
                        "EMAIL_SMTP_PORT": port, "EMAIL_SMTP_SECURITY": "ssl", "EMAIL_SMTP_CA_FILE": cert})
        tid = file_on_web(app.test_client())
        with app.app_context(), database.connection_context():
            h.run_worker(app)
    finally:
        ctl.stop()
    assert [m["X-Aduan-Tracking-Id"] for m in inbox.to(REPORTER)] == [tid]


# --- language and time (issue #9 items 14, 15) -------------------------------------------------------

ID_MONTHS = ["Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
             "November", "Desember"]
EN_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December"]


ID_DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _wita(utc: dt.datetime, months) -> str:
    """The local time as a person reads it, computed here without the application's helpers."""
    local = utc + dt.timedelta(hours=8)  # Asia/Makassar has no daylight saving time
    days = ID_DAYS if months is ID_MONTHS else EN_DAYS
    clock = f"{local:%H.%M}" if months is ID_MONTHS else f"{local:%H:%M}"  # 01.58 in Indonesian, 01:58 in English
    return f"{days[local.weekday()]}, {local.day} {months[local.month - 1]} {local.year} {clock} WITA"


def test_mail_speaks_the_reporters_recorded_language_with_wita_times(email_app, smtp_server, h, seed):
    from aduan.models import Complaint

    app = email_app()
    client = app.test_client()
    # no explicit choice: the phone's Accept-Language is recorded as the reporter's language
    r = client.post("/api/v1/complaints", headers={"Accept-Language": "en-GB,en;q=0.8"},
                    json={"title": "Lamp out", "body": "The street lamp has been out for a week.",
                          "reporter": {"name": "Ani", "email": REPORTER}})
    tid_en = r.get_json()["tracking_id"]
    tid_id = file_on_web(client, reporter={"email": "budi@warga.example", "name": "Budi"})
    # staff working in English do not change the language the reporters read
    r = client.post(f"/api/v1/complaints/{tid_en}/actions/verify?lang=en", json={"agency_id": seed.agency_a.id},
                    headers=auth(seed.coordinator))
    assert r.status_code == 200
    with app.app_context(), database.connection_context():
        c_en = Complaint.get(Complaint.tracking_id == tid_en)
        c_id = Complaint.get(Complaint.tracking_id == tid_id)
        h.run_worker(app)
    ack_en, verified_en = smtp_server.to(REPORTER)
    [ack_id] = smtp_server.to("budi@warga.example")

    text = ack_en.get_body(("plain",)).get_content()
    assert ack_en["Content-Language"] == "en" and "Dear Ani," in text
    assert f"on {_wita(c_en.created_at, EN_MONTHS)}" in text
    assert "We will verify it" not in text  # verified before the acknowledgement went out
    v = verified_en.get_body(("plain",)).get_content()
    assert "Verified and dispatched" in v and "Agency: Dinas PUPR" in v and " WITA" in v
    assert "Diverifikasi" not in v

    text = ack_id.get_body(("plain",)).get_content()
    assert ack_id["Content-Language"] == "id" and "Yth. Budi," in text
    assert f"pada {_wita(c_id.created_at, ID_MONTHS)}" in text
    assert f"Kami akan memverifikasinya sebelum {_wita(c_id.due_verify, ID_MONTHS)}" in text
    assert "+00:00" not in text and "UTC" not in text


def test_agency_mail_in_the_deployment_language_with_wita_deadline(email_app, smtp_server, h, seed):
    from aduan.models import Agency, Complaint

    app = email_app()
    with app.app_context(), database.connection_context():
        Agency.update(email="pupr@pemda.example.id").where(Agency.id == seed.agency_a.id).execute()
    client = app.test_client()
    tid = file_on_web(client, reporter={"language": "en"})
    r = client.post(f"/api/v1/complaints/{tid}/actions/verify", json={"agency_id": seed.agency_a.id},
                    headers={**auth(seed.coordinator), "Accept-Language": "en"})
    assert r.status_code == 200
    with app.app_context(), database.connection_context():
        c = Complaint.get(Complaint.tracking_id == tid)
        h.run_worker(app)
    [m] = smtp_server.to("pupr@pemda.example.id")
    text = m.get_body(("plain",)).get_content()
    assert m["Content-Language"] == "id" and "Mohon ditindaklanjuti" in text
    assert f"Diajukan: {_wita(c.created_at, ID_MONTHS)}" in text
    assert f"Tindak lanjuti sebelum: {_wita(c.due_followup, ID_MONTHS)}" in text


def test_system_notes_reach_each_reporter_in_their_language(email_app, smtp_server, h, seed):
    """The auto-close note is stored once, yet each reporter reads it in their own language."""
    from aduan.db import utcnow
    from aduan.services import sla_sweep

    app = email_app()
    client = app.test_client()
    tid_en = file_on_web(client, reporter={"language": "en"})
    tid_id = file_on_web(client, reporter={"email": "budi@warga.example", "name": "Budi"})
    for tid in (tid_en, tid_id):
        act(client, seed.coordinator, tid, "verify", agency_id=seed.agency_a.id)
        act(client, seed.officer_a, tid, "resolve", text="Lampu sudah diganti.")
    with app.app_context(), database.connection_context():
        assert sla_sweep(now=utcnow() + dt.timedelta(days=30))["closed"] == 2
        h.run_worker(app)
    closed_en = smtp_server.to(REPORTER)[-1].get_body(("plain",)).get_content()
    closed_id = smtp_server.to("budi@warga.example")[-1].get_body(("plain",)).get_content()
    assert "Closed automatically: the reporter did not answer within the reply window." in closed_en
    assert "Ditutup otomatis" not in closed_en and "Time: " in closed_en and " WITA" in closed_en
    assert "Ditutup otomatis: tidak ada tanggapan pelapor dalam batas waktu." in closed_id
    assert "Waktu: " in closed_id and " WITA" in closed_id
