"""Fixtures for the SMS plugin's tests: an app with every adapter configured, and request signers.

Outside systems are real local servers (pytest-httpserver); Twilio requests are signed with the
twilio package's own RequestValidator.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

TWILIO_TOKEN = "twilio-test-token-0123456789abcdef"
TWILIO_SID = "AC00000000000000000000000000000000"
ANDROID_KEY = "android-signing-key"
GENERIC_SECRET = "generic-shared-secret"
SMSSYNC_SECRET = "smssync-secret"
PUBLIC = "https://aduan.ntbprov.go.id"


def base_config(**extra):
    cfg = {
        "PLUGINS": ["sms"],
        "SMS_PUBLIC_URL": PUBLIC,
        "SMS_SENDER_NAME": "NTBCare",
        "SMS_TWILIO_ACCOUNT_SID": TWILIO_SID,
        "SMS_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "SMS_TWILIO_FROM": "+15005550006",
        "SMS_ANDROID_SIGNING_KEY": ANDROID_KEY,
        "SMS_GENERIC_SECRET": GENERIC_SECRET,
        "SMS_SMSSYNC_SECRET": SMSSYNC_SECRET,
    }
    cfg.update(extra)
    return cfg


@pytest.fixture
def sms_app(make_app):
    def factory(**extra):
        return make_app(base_config(**extra))

    return factory


def twilio_post(client, path, params, *, url=None, token=TWILIO_TOKEN, tamper=None):
    """POST form params signed by twilio's RequestValidator for the public URL."""
    from twilio.request_validator import RequestValidator

    sig = RequestValidator(token).compute_signature(url or PUBLIC + path, params)
    body = dict(params)
    if tamper:
        body.update(tamper)
    return client.post(path, data=body, headers={"X-Twilio-Signature": sig})


def android_post(client, envelope, *, key=ANDROID_KEY, ts=None, raw=None):
    body = raw if raw is not None else json.dumps(envelope).encode()
    ts = str(int(time.time()) if ts is None else ts)
    sig = hmac.new(key.encode(), body + ts.encode(), hashlib.sha256).hexdigest()
    return client.post("/hooks/sms/android", data=body, content_type="application/json",
                       headers={"X-Signature": sig, "X-Timestamp": ts})


def generic_post(client, payload, *, path="/hooks/sms/generic", secret=GENERIC_SECRET, raw=None, ts=None,
                 content_type="application/json"):
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(time.time()) if ts is None else ts)
    sig = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return client.post(path, data=body, content_type=content_type,
                       headers={"X-Aduan-Signature": "sha256=" + sig, "X-Aduan-Timestamp": ts})


def received_sms(n, sender="081234567890", text="Jalan di depan SDN 3 Mataram berlubang besar", **extra):
    return {"deviceId": "dev1", "event": "sms:received", "id": f"env-{n}", "webhookId": "wh1",
            "payload": {"messageId": "abc123", "message": text, "phoneNumber": sender, "simNumber": 1,
                        "receivedAt": "2026-11-23T10:00:00.000+08:00", **extra}}


@pytest.fixture
def signers():
    class S:
        twilio = staticmethod(twilio_post)
        android = staticmethod(android_post)
        generic = staticmethod(generic_post)
        android_sms = staticmethod(received_sms)
    return S
