"""Helpers of the portal-citizen tests: an app with the portal and the channel plugins, seeded
complaints, and the CSRF token of a page."""
from __future__ import annotations

import re
from dataclasses import dataclass

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

CHANNEL_CONFIG = {
    "SMS_PUBLIC_NUMBER": "0811 3900 100",
    "EMAIL_FROM_ADDRESS": "lapor@ntbprov.example",
    "TELEGRAM_BOT_USERNAME": "NTBCareBot",
    "WHATSAPP_PUBLIC_NUMBER": "0811 3900 200",
}


def config(**extra):
    cfg = {"PLUGINS": ["portal", "sms", "email", "telegram", "whatsapp"], "BASE_URL": "https://aduan.ntbprov.example",
           "LANGUAGE": "id", **CHANNEL_CONFIG}
    cfg.update(extra)
    return cfg


def csrf(client, path="/portal/file") -> str:
    html = client.get(path).get_data(as_text=True)
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, f"no CSRF token on {path}"
    return m.group(1)


@dataclass
class Filed:
    tid: str
    code: str


def file_via_form(client, **fields) -> Filed:
    """File through the portal's form like a browser, follow the redirect, read the codes shown."""
    data = {"csrf_token": csrf(client), "body": "Jalan di depan Pasar Cakranegara berlubang besar.",
            "title": "Jalan berlubang", "submit": "1", **fields}
    r = client.post("/portal/file", data=data, content_type="multipart/form-data")
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    tid = re.search(r'<code id="tid">([^<]+)</code>', page).group(1)
    code = re.search(r'<code id="code">([^<]+)</code>', page).group(1)
    return Filed(tid, code)


def text_of(html: str) -> str:
    """The visible text of a page, tags removed and whitespace squeezed (for plain assertions)."""
    import html as h

    no_tags = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    no_tags = re.sub(r"<[^>]+>", " ", no_tags)
    return " ".join(h.unescape(no_tags).split())
