"""SMS texts: GSM 03.38 / UCS-2 segment counting and splitting, and the reply templates."""
from __future__ import annotations

import math

from flask import current_app

# GSM 03.38 default alphabet and its extension table (extension characters take two septets).
GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXT = frozenset(GSM7_EXT)


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXT for ch in text)


def _units(text: str, gsm: bool) -> list[int]:
    """Size of each character in septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if gsm:
        return [2 if ch in _EXT else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def encoding(text: str) -> str:
    return "gsm7" if is_gsm7(text) else "ucs2"


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (0 for an empty text)."""
    if not text:
        return 0
    gsm = is_gsm7(text)
    n = sum(_units(text, gsm))
    single, multi = (160, 153) if gsm else (70, 67)
    return 1 if n <= single else math.ceil(n / multi)


def split(text: str) -> list[str]:
    """Split into the parts a concatenated SMS carries (never inside an escape pair or surrogate pair)."""
    gsm = is_gsm7(text)
    units = _units(text, gsm)
    single, multi = (160, 153) if gsm else (70, 67)
    if sum(units) <= single:
        return [text] if text else []
    parts, cur, size = [], [], 0
    for ch, u in zip(text, units):
        if size + u > multi:
            parts.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += u
    if cur:
        parts.append("".join(cur))
    return parts


def fit(text: str, max_segments: int) -> str:
    """Cut ``text`` so that it takes at most ``max_segments`` segments, ending with an ellipsis."""
    if segments(text) <= max_segments:
        return text
    gsm = is_gsm7(text)
    single, multi = (160, 153) if gsm else (70, 67)
    budget = single if max_segments == 1 else multi * max_segments
    tail = "..."
    budget -= len(tail)
    out, size = [], 0
    for ch, u in zip(text, _units(text, gsm)):
        if size + u > budget:
            break
        out.append(ch)
        size += u
    return "".join(out).rstrip() + tail


TEMPLATES = {
    "id": {
        "filed": "{sender}: Laporan diterima. No. lacak {tid}, kode akses {code} (rahasiakan). "
                 "Cek status: CEK {tid}. Tambah info: BALAS {tid} <isi>.",
        "status": "{sender}: Laporan {tid}: {status}.{answer}",
        "status_public": "{sender}: Laporan {tid}: {status}.",
        "not_found": "{sender}: Laporan {tid} tidak ditemukan. Periksa nomor lacak Anda.",
        "replied": "{sender}: Balasan Anda untuk laporan {tid} sudah kami terima.",
        "not_yours": "{sender}: Balasan hanya dapat dikirim dari nomor yang membuat laporan {tid}.",
        "closed": "{sender}: Laporan {tid} sudah {status} dan tidak dapat dibalas. Kirim LAPOR <isi> untuk laporan baru.",
        "stopped": "{sender}: Anda tidak akan menerima pemberitahuan SMS lagi. Kirim MULAI untuk mengaktifkan kembali.",
        "started": "{sender}: Pemberitahuan SMS aktif kembali.",
        "help": "{sender}: Kirim LAPOR <isi laporan> untuk melapor, CEK <no lacak> untuk status, "
                "BALAS <no lacak> <isi> untuk menambah info, BERHENTI untuk berhenti menerima SMS.",
        "usage_cek": "{sender}: Format: CEK <no lacak>.",
        "usage_balas": "{sender}: Format: BALAS <no lacak> <isi balasan>.",
        "invalid": "{sender}: Pesan tidak dapat diproses: {error}",
        "notify": "{sender}: Laporan {tid}: {action}. {text}Status: {status}. Balas: BALAS {tid} <isi>",
        "answer": " Tanggapan terakhir: {text}",
    },
    "en": {
        "filed": "{sender}: Report received. Tracking no. {tid}, access code {code} (keep it secret). "
                 "Status: CHECK {tid}. Add info: REPLY {tid} <text>.",
        "status": "{sender}: Report {tid}: {status}.{answer}",
        "status_public": "{sender}: Report {tid}: {status}.",
        "not_found": "{sender}: Report {tid} not found. Please check the tracking number.",
        "replied": "{sender}: We received your reply for report {tid}.",
        "not_yours": "{sender}: Replies are accepted only from the number that filed report {tid}.",
        "closed": "{sender}: Report {tid} is {status} and cannot take replies. Send REPORT <text> for a new one.",
        "stopped": "{sender}: You will not receive SMS notifications any more. Send START to turn them back on.",
        "started": "{sender}: SMS notifications are on again.",
        "help": "{sender}: Send REPORT <your complaint> to file, CHECK <tracking no> for the status, "
                "REPLY <tracking no> <text> to add information, STOP to stop SMS.",
        "usage_cek": "{sender}: Format: CHECK <tracking no>.",
        "usage_balas": "{sender}: Format: REPLY <tracking no> <text>.",
        "invalid": "{sender}: Your message could not be processed: {error}",
        "notify": "{sender}: Report {tid}: {action}. {text}Status: {status}. Reply: REPLY {tid} <text>",
        "answer": " Latest answer: {text}",
    },
}


def template(key: str, lang: str = "id") -> str:
    lang = lang if lang in TEMPLATES else "id"
    return (current_app.config.get("SMS_TEMPLATES") or {}).get(lang, {}).get(key) or TEMPLATES[lang][key]


def render(key: str, lang: str = "id", **values) -> str:
    """The template ``key`` in ``lang`` (overridable with SMS_TEMPLATES), cut to SMS_MAX_SEGMENTS."""
    cfg = current_app.config
    lang = lang if lang in TEMPLATES else "id"
    tpl = template(key, lang)
    values.setdefault("sender", cfg.get("SMS_SENDER_NAME") or "ADUAN")
    try:
        text = tpl.format(**values)
    except (KeyError, IndexError, ValueError):  # a broken override: fall back to the built-in text
        text = TEMPLATES[lang][key].format(**values)
    return fit(text, cfg.get("SMS_MAX_SEGMENTS", 3))
