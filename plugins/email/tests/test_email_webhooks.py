"""Webhooks: Mailgun (HMAC + replay protection), SendGrid Inbound Parse (shared secret), raw MIME (HMAC)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
import time

import pytest

from aduan.db import database


def mailgun_sig(key="mailgun-key", ts=None, token=None):
    ts = str(int(time.time())) if ts is None else str(ts)
    token = token or secrets.token_hex(25)
    sig = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    return {"timestamp": ts, "token": token, "signature": sig}


def state(app):
    """Everything a webhook could change."""
    from aduan.models import Attachment, Complaint, Event, Job
    from aduan_email.models import EmailMessage, EmailNonce

    with app.app_context(), database.connection_context():
        return {m.__name__: m.select().count() for m in (Complaint, Event, Attachment, Job, EmailMessage, EmailNonce)}


def raw_sig(body: bytes, secret="raw-secret", ts=None):
    ts = str(int(time.time())) if ts is None else str(ts)
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Aduan-Timestamp": ts, "X-Aduan-Signature": "sha256=" + sig, "Content-Type": "message/rfc822"}


def test_mailgun_valid_request_files_and_bad_ones_change_nothing(email_app, h):
    app = email_app()
    client = app.test_client()
    raw = h.mail(msgid="<mg-1@warga.example>").as_string()
    before = state(app)

    # wrong key, tampered signature, missing signature, stale timestamp: 403, nothing changes
    bad = [mailgun_sig(key="not-the-key"),
           {**mailgun_sig(), "signature": "0" * 64},
           {k: v for k, v in mailgun_sig().items() if k != "signature"},
           mailgun_sig(ts=int(time.time()) - 3600)]
    tampered = mailgun_sig()
    tampered["token"] = tampered["token"][:-1] + ("a" if tampered["token"][-1] != "a" else "b")
    bad.append(tampered)
    for sig in bad:
        r = client.post("/hooks/email/mailgun", data={**sig, "body-mime": raw})
        assert r.status_code == 403, sig
    assert state(app) == before

    good = mailgun_sig()
    r = client.post("/hooks/email/mailgun", data={**good, "body-mime": raw, "recipient": h.FROM,
                                                  "sender": "budi@warga.example"})
    assert r.status_code == 200 and r.get_json()["outcome"] == "filed"
    after = state(app)
    assert after["Complaint"] == 1

    # the same signed request again (a replay), even carrying another message: 403, nothing changes
    other = h.mail(msgid="<mg-2@warga.example>", body="Pesan lain").as_string()
    r = client.post("/hooks/email/mailgun", data={**good, "body-mime": other})
    assert r.status_code == 403
    assert state(app) == after


def test_mailgun_parsed_fields_with_attachment(email_app, h):
    import json

    app = email_app()
    headers = [["From", "Siti Aminah <siti@warga.example>"], ["To", h.FROM], ["Subject", "Drainase tersumbat"],
               ["Message-Id", "<mg-parsed@warga.example>"], ["Content-Type", "multipart/mixed; boundary=x"]]
    data = {**mailgun_sig(), "message-headers": json.dumps(headers), "body-plain": "Saluran air tersumbat.",
            "sender": "siti@warga.example", "recipient": h.FROM, "attachment-count": "1",
            "attachment-1": (io.BytesIO(h.PNG), "foto.png", "image/png")}
    r = app.test_client().post("/hooks/email/mailgun", data=data, content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    with app.app_context(), database.connection_context():
        [c] = h.complaints()
        assert c.title == "Drainase tersumbat" and c.body == "Saluran air tersumbat."
        assert c.reporter.name == "Siti Aminah"
        [att] = list(c.attachments)
        assert att.filename == "foto.png" and att.content_type == "image/png"


def test_mailgun_bad_input_is_a_4xx(email_app, h):
    app = email_app()
    r = app.test_client().post("/hooks/email/mailgun", data={**mailgun_sig(), "message-headers": "{not json"})
    assert r.status_code == 400
    r = app.test_client().post("/hooks/email/mailgun", data=mailgun_sig())
    assert r.status_code == 400
    assert state(app)["Complaint"] == 0


def test_sendgrid_needs_the_secret(email_app, h):
    app = email_app()
    client = app.test_client()
    form = {"headers": f"From: Wayan <wayan@warga.example>\nTo: {h.FROM}\nSubject: Lampu mati\n"
                       "Message-ID: <sg-1@warga.example>\n",
            "html": "<html><body><p>Lampu jalan <b>mati</b> sejak kemarin.</p><p>Terima&nbsp;kasih</p>"
                    "<style>p{color:red}</style></body></html>",
            "envelope": '{"to": ["%s"], "from": "wayan@warga.example"}' % h.FROM}
    before = state(app)
    assert client.post("/hooks/email/sendgrid", data=form).status_code == 403
    assert client.post("/hooks/email/sendgrid?key=wrong", data=form).status_code == 403
    bad_auth = {"Authorization": "Basic " + base64.b64encode(b"sendgrid:wrong").decode()}
    assert client.post("/hooks/email/sendgrid", data=form, headers=bad_auth).status_code == 403
    assert state(app) == before

    good_auth = {"Authorization": "Basic " + base64.b64encode(b"sendgrid:sendgrid-secret").decode()}
    r = client.post("/hooks/email/sendgrid", data=form, headers=good_auth)
    assert r.status_code == 200 and r.get_json()["outcome"] == "filed"
    # SendGrid retries deliver the same message again: filed once
    r = client.post("/hooks/email/sendgrid", data=form, headers=good_auth)
    assert r.get_json()["outcome"] == "duplicate"
    # the raw-MIME variant of Inbound Parse
    raw = h.mail(msgid="<sg-2@warga.example>", subject="Air PDAM keruh", body="Air keruh dua hari.").as_string()
    r = client.post("/hooks/email/sendgrid?key=sendgrid-secret", data={"email": raw})
    assert r.status_code == 200
    with app.app_context(), database.connection_context():
        cs = h.complaints()
        assert len(cs) == 2
        # an HTML-only mail becomes readable text
        assert cs[0].body == "Lampu jalan mati sejak kemarin.\n\nTerima kasih"
        assert cs[1].title == "Air PDAM keruh"


def test_raw_mime_signed(email_app, h):
    app = email_app()
    client = app.test_client()
    body = h.mail(msgid="<raw-1@warga.example>").as_bytes()
    before = state(app)
    assert client.post("/hooks/email/raw", data=body, headers={"Content-Type": "message/rfc822"}).status_code == 403
    tampered = body.replace(b"Jalan berlubang", b"Jalan mulus")
    assert client.post("/hooks/email/raw", data=tampered, headers=raw_sig(body)).status_code == 403
    assert client.post("/hooks/email/raw", data=body,
                       headers=raw_sig(body, ts=int(time.time()) - 3600)).status_code == 403
    assert state(app) == before
    signed = raw_sig(body)
    r = client.post("/hooks/email/raw", data=body, headers=signed)
    assert r.status_code == 200 and r.get_json()["outcome"] == "filed"
    after = state(app)
    r = client.post("/hooks/email/raw", data=body, headers=signed)
    assert r.status_code == 403 and r.get_json()["message"] == "Permintaan ulangan (sudah pernah diterima)."  # replayed
    r = client.post("/hooks/email/raw?lang=en", data=body, headers=signed)
    assert r.get_json()["message"] == "Replayed request."
    assert state(app) == after


@pytest.mark.parametrize("path", ["/hooks/email/mailgun", "/hooks/email/sendgrid", "/hooks/email/raw"])
def test_unconfigured_webhooks_refuse(make_app, h, path):
    app = make_app({"PLUGINS": ["email"]})
    r = app.test_client().post(path, data={**mailgun_sig(key=""), "body-mime": h.mail().as_string()})
    assert r.status_code == 403
    assert state(app)["Complaint"] == 0
