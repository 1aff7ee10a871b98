"""Inbound by IMAP against a real IMAP server (pymap), outbound to a real SMTP server (aiosmtpd)."""
from __future__ import annotations

import re

import pytest

from aduan.auth import check_access_code, system
from aduan.db import database
from aduan.services import perform

REPORTER = "budi@warga.example"


def dsn(h, failed_rcpt: str, original_msgid: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.warga.example>\r\n"
        f"To: {h.FROM}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.warga.example>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BOUND"\r\n'
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n"
        "--BOUND\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.warga.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed_rcpt}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "\r\n"
        "--BOUND\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: {h.FROM}\r\n"
        f"To: {failed_rcpt}\r\n"
        f"Message-ID: {original_msgid}\r\n"
        "Subject: whatever\r\n"
        "\r\n"
        "--BOUND--\r\n").encode()


def test_poll_files_threads_ignores_and_marks_bounces(email_app, imap_server, smtp_server, h):
    from aduan_email.common import is_failing
    from aduan_email.imap import poll

    app = email_app(h.imap_config(imap_server))
    imap_server.append(h.mail(msgid="<first-1@warga.example>"))
    with app.app_context(), database.connection_context():
        counts = h.run_worker(app)  # the email.poll schedule, then the acknowledgement job
        assert counts["schedules"] >= 1
        [c] = h.complaints()
        assert c.channel == "email"
        assert c.title == "Jalan rusak di Jl. Pejanggik"
        assert "Jalan berlubang besar di depan pasar" in c.body
        assert c.reporter.email == REPORTER and c.reporter.name == "Budi Santoso"
        tid = c.tracking_id

    # processed mail left the inbox for the Processed folder
    assert imap_server.uids("INBOX") == []
    assert len(imap_server.uids("Processed")) == 1

    # the acknowledgement reached the reporter, threaded on their mail, with a working access code
    [ack] = smtp_server.to(REPORTER)
    assert ack["Subject"].startswith(f"[ADUAN-{tid}]")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<first-1@warga.example>"
    assert "<first-1@warga.example>" in ack["References"]
    assert re.fullmatch(r"<[^<>@\s]+@pemda\.example\.id>", ack["Message-ID"])
    reply_to = ack["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith(f"lapor+{tid.lower()}-") and reply_to.endswith("@pemda.example.id")
    text = ack.get_body(("plain",)).get_content()
    assert tid in text and "Laporan Anda telah kami terima" in text
    code = re.search(r"Kode akses: (\S+)", text).group(1)
    html = ack.get_body(("html",)).get_content()
    assert code in html
    with app.app_context(), database.connection_context():
        assert check_access_code(h.complaints()[0], code)

    # the reporter replies (quoting our mail), an out-of-office arrives, and a bounce for their address
    imap_server.append(h.mail(
        to=reply_to, subject="Re: " + ack["Subject"], msgid="<reply-1@warga.example>",
        body="Masih rusak, sekarang makin parah.\n\nSalam,\nBudi\n-- \nBudi Santoso\n\n"
             "Pada Sen, 23 Nov 2026 pukul 10.00 Pemda <lapor@pemda.example.id> menulis:\n> Terima kasih.\n"))
    imap_server.append(h.mail(to=reply_to, subject="Out of Office: " + ack["Subject"], msgid="<ooo-1@warga.example>",
                              body="Saya sedang cuti sampai 1 Desember."))
    imap_server.append(h.mail(to=h.FROM, subject="Balasan otomatis: laporan", msgid="<ooo-2@warga.example>",
                              body="Terima kasih, email Anda akan kami balas.",
                              headers={"Auto-Submitted": "auto-replied"}))
    imap_server.append(dsn(h, REPORTER, ack["Message-ID"]))
    with app.app_context(), database.connection_context():
        counts = poll()
        assert counts == {"reply": 1, "ignored": 2, "bounce": 1}
        [c] = h.complaints()  # no complaint filed by the auto-replies nor the bounce
        [reply] = h.events(c, "reply")
        assert reply.text == "Masih rusak, sekarang makin parah.\n\nSalam,\nBudi"
        assert reply.actor_role == "reporter" and reply.source == "email"
        assert reply.external_id == "reply-1@warga.example"
        assert is_failing(REPORTER)
        # a failing address gets no more mail: the verification is not emailed
        perform(c, "verify", system("test"), agency_id=_agency())
        h.run_worker(app)
        # a second poll files nothing new
        assert poll() == {}
        assert len(h.complaints()) == 1 and len(h.events(c, "reply")) == 1
    assert len(smtp_server.to(REPORTER)) == 1  # only the acknowledgement: nothing answered the auto-replies
    assert imap_server.uids("INBOX") == []


def _agency():
    from aduan.models import Agency

    return Agency.create(code="PUPR", name="Dinas PUPR").id


def test_dropped_connection_then_poll_files_each_message_once(email_app, imap_server, smtp_server, h):
    from aduan_email.imap import ImapError, poll

    proxy = h.DroppingProxy(imap_server.port, b"UID MOVE", b"UID COPY")
    app = email_app(h.imap_config(imap_server, port=proxy.port))
    imap_server.append(h.mail(msgid="<a-1@warga.example>", body="Lampu jalan mati di Ampenan."))
    imap_server.append(h.mail(sender="siti@warga.example", msgid="<b-1@warga.example>", subject="Sampah",
                              body="Sampah menumpuk di Cakranegara."))
    try:
        with app.app_context(), database.connection_context():
            with pytest.raises(ImapError) as err:
                poll()  # the connection drops after the first message was filed, before it was moved
            assert proxy.dropped
            assert "warga" not in str(err.value)  # no address in the error
            assert len(h.complaints()) == 1
            assert poll() == {"duplicate": 1, "filed": 1}
            cs = h.complaints()
            assert sorted(c.body for c in cs) == ["Lampu jalan mati di Ampenan.", "Sampah menumpuk di Cakranegara."]
            assert all(len(h.events(c, "file")) == 1 for c in cs)
            assert poll() == {}
            assert len(h.complaints()) == 2
    finally:
        proxy.close()
    assert imap_server.uids("INBOX") == []
    assert len(imap_server.uids("Processed")) == 2


def test_uidvalidity_change_restarts_without_refiling(email_app, imap_server, smtp_server, h):
    from aduan_email.imap import poll
    from aduan_email.models import EmailImapState

    app = email_app({**h.imap_config(imap_server), "EMAIL_IMAP_PROCESSED_FOLDER": ""})
    imap_server.append(h.mail(msgid="<keep-1@warga.example>"))
    with app.app_context(), database.connection_context():
        assert poll() == {"filed": 1}
        # flag mode: the message stays in the inbox, marked as handled
        assert len(imap_server.uids("INBOX")) == 1
        assert poll() == {}
        # the server renumbered the mailbox: polling starts over, Message-IDs keep it from filing twice
        EmailImapState.update(uidvalidity=1, last_uid=0).execute()
        assert poll() == {"duplicate": 1}
        assert len(h.complaints()) == 1
    c = imap_server.client()
    c.select("INBOX")
    typ, data = c.uid("FETCH", str(imap_server.uids("INBOX")[0]), "(FLAGS)")
    c.logout()
    assert b"\\Seen" in data[0]


def test_poll_over_starttls(email_app, smtp_server, h, tmp_path):
    import imaplib
    import ssl

    from aduan_email.imap import ImapError, poll

    cert, key = h.self_signed(tmp_path)
    proc, port = h.start_pymap(cert, key)
    try:
        ctx = ssl.create_default_context(cafile=cert)
        seed = imaplib.IMAP4("127.0.0.1", port)
        seed.starttls(ssl_context=ctx)
        seed.login(h.IMAP_USER, h.IMAP_PASSWORD)
        seed.append("INBOX", None, None, h.mail(msgid="<tls-1@warga.example>").as_bytes())
        seed.logout()
        app = email_app({**h.imap_config(None, port=port), "EMAIL_IMAP_SECURITY": "starttls",
                         "EMAIL_SMTP_CA_FILE": cert})
        with app.app_context(), database.connection_context():
            assert poll() == {"filed": 1}
        # without trusting the server's certificate, the poller refuses to talk to it
        app = email_app({**h.imap_config(None, port=port), "EMAIL_IMAP_SECURITY": "starttls"})
        with app.app_context(), database.connection_context():
            with pytest.raises(ImapError):
                poll()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
