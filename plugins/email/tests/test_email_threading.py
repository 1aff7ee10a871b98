"""Threading replies onto complaints, content clean-up, attachments and loop guards (messages handed to
the plugin's inbound path the way the webhooks and the IMAP poller do; mail goes out to aiosmtpd)."""
from __future__ import annotations

import pytest

from aduan.db import database

REPORTER = "budi@warga.example"


@pytest.fixture
def ctx(email_app, smtp_server):
    app = email_app()
    with app.app_context(), database.connection_context():
        yield app


def deliver(msg, source="raw"):
    from aduan_email.inbound import handle_raw

    return handle_raw(msg if isinstance(msg, bytes) else msg.as_bytes(), source)


def filed_with_ack(h, smtp_server, app, **kw):
    r = deliver(h.mail(**kw))
    assert r.outcome == "filed"
    h.run_worker(app)
    [c] = [c for c in h.complaints() if c.tracking_id == r.tracking_id]
    ack = [m for m in smtp_server.messages if m["X-Aduan-Tracking-Id"] == c.tracking_id][-1]
    return c, ack


def test_reply_threads_by_in_reply_to(ctx, h, smtp_server):
    c, ack = filed_with_ack(h, smtp_server, ctx)
    r = deliver(h.mail(subject="Re: laporan saya", body="Fotonya menyusul.\n\nOn Mon, 23 Nov 2026 at 10:00, "
                       "Pemda <lapor@pemda.example.id> wrote:\n> Terima kasih", headers={"In-Reply-To": ack["Message-ID"]}))
    assert (r.outcome, r.tracking_id, r.reason) == ("reply", c.tracking_id, "in-reply-to")
    assert [e.text for e in h.events(c, "reply")] == ["Fotonya menyusul."]
    assert len(h.complaints()) == 1


def test_reply_threads_by_references_only(ctx, h, smtp_server):
    c, ack = filed_with_ack(h, smtp_server, ctx)
    r = deliver(h.mail(subject="lagi", body="Tambahan info.",
                       headers={"References": f"<unknown@elsewhere> {ack['Message-ID']} <later@warga.example>"}))
    assert (r.outcome, r.tracking_id) == ("reply", c.tracking_id)


def test_subject_tag_only_from_the_reporter(ctx, h, smtp_server):
    c, _ = filed_with_ack(h, smtp_server, ctx)
    subject = f"Re: [ADUAN-{c.tracking_id}] Laporan"
    # someone else quoting the tracking id cannot write into Budi's complaint: a complaint of their own
    r = deliver(h.mail(sender="mallory@jahat.example", subject=subject, body="Laporan ini palsu, tutup saja."))
    assert r.outcome == "filed" and r.tracking_id != c.tracking_id
    assert h.events(c, "reply") == []
    # a forged From that our receiving server saw fail DMARC is not the reporter
    r = deliver(h.mail(subject=subject, body="Palsu.", headers={
        "Authentication-Results": "mx.pemda.example.id; spf=fail smtp.mailfrom=warga.example; dmarc=fail "
                                  "header.from=warga.example"}))
    assert r.outcome == "filed" and r.tracking_id != c.tracking_id
    h.run_worker(ctx)
    assert len(smtp_server.to(REPORTER)) == 1  # no acknowledgement to a forged address: only Budi's own
    # the reporter, from their own address, is threaded by the tag
    r = deliver(h.mail(sender="BUDI@warga.example", subject=subject, body="Masih rusak."))
    assert (r.outcome, r.tracking_id, r.reason) == ("reply", c.tracking_id, "subject")


def test_forged_reply_token_is_not_threaded(ctx, h, smtp_server):
    c, ack = filed_with_ack(h, smtp_server, ctx)
    good = ack["Reply-To"].addresses[0].addr_spec
    forged = f"lapor+{c.tracking_id.lower()}-{'0' * 20}@pemda.example.id"
    assert forged != good
    r = deliver(h.mail(sender="mallory@jahat.example", to=forged, body="Sisipan palsu."))
    assert r.outcome == "filed" and r.tracking_id != c.tracking_id
    assert h.events(c, "reply") == []
    # the real token threads, whoever's client sends it (it was only given to the reporter)
    r = deliver(h.mail(to=good, subject="apa saja", body="Balasan lewat token."))
    assert (r.outcome, r.tracking_id, r.reason) == ("reply", c.tracking_id, "token")


def test_reply_to_a_closed_complaint_files_a_follow_up(ctx, h, smtp_server):
    from aduan.auth import system
    from aduan.services import perform

    c, ack = filed_with_ack(h, smtp_server, ctx)
    perform(c, "reject", system("test"), text="Bukan wewenang pemerintah daerah.")
    r = deliver(h.mail(to=ack["Reply-To"].addresses[0].addr_spec, body="Mohon ditinjau ulang."))
    assert r.outcome == "filed" and r.tracking_id != c.tracking_id
    new = [x for x in h.complaints() if x.tracking_id == r.tracking_id][0]
    assert new.body.startswith(f"Lanjutan laporan {c.tracking_id}:") and "Mohon ditinjau ulang." in new.body


def test_html_only_reply_drops_quoted_history(ctx, h, smtp_server):
    c, ack = filed_with_ack(h, smtp_server, ctx)
    html = ('<html><body><div dir="ltr">Sudah saya foto, <i>lihat lampiran</i>.</div>'
            '<div class="gmail_quote"><div class="gmail_attr">Pada Sen, 23 Nov 2026, Pemda menulis:</div>'
            '<blockquote>Terima kasih, laporan diterima</blockquote></div></body></html>')
    r = deliver(h.mail(body=None, html=html, headers={"In-Reply-To": ack["Message-ID"]},
                       attachments=[("jalan.png", h.PNG, "image/png")]))
    assert r.outcome == "reply"
    assert [e.text for e in h.events(c, "reply")] == ["Sudah saya foto, lihat lampiran."]
    assert [a.filename for a in c.attachments] == ["jalan.png"]


def test_rejected_attachment_does_not_lose_the_message(ctx, h, smtp_server):
    from aduan_email.models import EmailMessage

    r = deliver(h.mail(body="Lihat foto dan dokumen.", attachments=[
        ("foto.png", h.PNG, "image/png"), ("virus.exe", b"MZ\x90\x00" + b"\x00" * 200, "application/octet-stream")]))
    assert r.outcome == "filed"
    [c] = h.complaints()
    assert c.body == "Lihat foto dan dokumen."
    assert [a.filename for a in c.attachments] == ["foto.png"]
    row = EmailMessage.get(EmailMessage.message_key == EmailMessage.select().first().message_key)
    assert [s["filename"] for s in row.skipped] == ["virus.exe"]
    notes = [e for e in h.events(c, "comment") if "virus.exe" in e.text]
    assert notes and notes[0].visibility == "internal"


def test_signature_is_stripped_from_a_new_complaint(ctx, h, smtp_server):
    r = deliver(h.mail(body="Pohon tumbang menutup jalan.\n\nDikirim dari iPhone saya"))
    [c] = h.complaints()
    assert r.outcome == "filed" and c.body == "Pohon tumbang menutup jalan."


AUTO = [
    ({"Auto-Submitted": "auto-generated"}, {}),
    ({"Auto-Submitted": "auto-replied"}, {}),
    ({"Precedence": "bulk"}, {}),
    ({"Precedence": "junk"}, {}),
    ({"Precedence": "list"}, {}),
    ({"List-Id": "<warga.lists.example>"}, {}),
    ({"X-Autoreply": "yes"}, {}),
    ({"X-Autorespond": "yes"}, {}),
    ({"Return-Path": "<>"}, {}),
    ({}, {"sender": "MAILER-DAEMON@mx.warga.example"}),
    ({}, {"sender": "postmaster@warga.example"}),
    ({}, {"subject": "Out of Office: Jalan rusak"}),
    ({}, {"subject": "Automatic reply: Laporan Anda"}),
    ({}, {"subject": "Balasan otomatis: Laporan Anda"}),
    ({}, {"subject": "Sedang cuti"}),
    ({}, {"sender": "lapor@pemda.example.id"}),  # our own mail coming back
]


def test_mail_we_must_not_answer_is_ignored(ctx, h, smtp_server):
    for headers, kw in AUTO:  # one app for all cases (each case is its own message)
        r = deliver(h.mail(headers=headers, **kw))
        assert r.outcome == "ignored", (headers, kw)
    h.run_worker(ctx)
    assert h.complaints() == []
    assert smtp_server.envelopes == []


def test_auto_submitted_no_is_a_person(ctx, h, smtp_server):
    r = deliver(h.mail(headers={"Auto-Submitted": "no"}))
    assert r.outcome == "filed"
    h.run_worker(ctx)
    assert len(smtp_server.to(REPORTER)) == 1


def test_same_message_twice_is_filed_once(ctx, h, smtp_server):
    m = h.mail(msgid="<twice@warga.example>")
    assert deliver(m, "imap").outcome == "filed"
    assert deliver(m, "mailgun").outcome == "duplicate"
    assert len(h.complaints()) == 1


def test_new_complaints_per_sender_are_limited(email_app, smtp_server, h):
    app = email_app({"EMAIL_MAX_NEW_PER_SENDER": 2})
    with app.app_context(), database.connection_context():
        outcomes = [deliver(h.mail(subject=f"Laporan {i}", body=f"Isi {i}")).outcome for i in range(3)]
        assert outcomes == ["filed", "filed", "ignored"]
        # another sender is not affected, and the limited sender can still reply on their complaints
        assert deliver(h.mail(sender="siti@warga.example")).outcome == "filed"
        first = h.complaints()[0]
        r = deliver(h.mail(subject=f"Re: [ADUAN-{first.tracking_id}]", body="Tambahan."))
        assert (r.outcome, r.tracking_id) == ("reply", first.tracking_id)
        assert len(h.complaints()) == 3
