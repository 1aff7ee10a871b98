"""Segment counting follows GSM 03.38 (GSM-7 with its extension table) and UCS-2; texts are kept
within the configured number of segments; keywords are understood however they are typed."""
import pytest

from aduan_sms.inbound import parse
from aduan_sms.text import encoding, fit, segments, split


@pytest.mark.parametrize("text,enc,n", [
    ("", "gsm7", 0),
    ("a" * 160, "gsm7", 1),
    ("a" * 161, "gsm7", 2),
    ("a" * 306, "gsm7", 2),
    ("a" * 307, "gsm7", 3),
    ("€" * 80, "gsm7", 1),  # extension characters take two septets
    ("€" * 81, "gsm7", 2),
    ("[tes]" + "a" * 154, "gsm7", 2),
    ("Jalan rusak, harap diperbaiki @ Rp 5.000 £ ¥ è é Ä Ö Ñ Ü §", "gsm7", 1),
    ("ê" * 70, "ucs2", 1),  # not in GSM-7: the whole text goes UCS-2
    ("ê" * 71, "ucs2", 2),
    ("🙏" * 35, "ucs2", 1),  # an emoji is two UTF-16 units
    ("🙏" * 36, "ucs2", 2),
])
def test_segments(text, enc, n):
    assert segments(text) == n
    if text:
        assert encoding(text) == enc


def test_split_never_breaks_escape_or_surrogate_pairs():
    parts = split("a" * 152 + "€" + "b" * 10)
    assert parts[0] == "a" * 152 and parts[1].startswith("€")
    parts = split("x" + "😀" * 40)
    assert all(len(p.encode("utf-16-le")) // 2 <= 67 for p in parts)
    assert "".join(parts) == "x" + "😀" * 40


@pytest.mark.parametrize("limit", [1, 2, 3])
@pytest.mark.parametrize("text", ["Tanggapan: " + "perbaikan jalan " * 60, "Tanggapan 🙏 " + "ditindaklanjuti " * 60])
def test_fit_keeps_within_the_limit(text, limit):
    cut = fit(text, limit)
    assert segments(cut) <= limit and cut.endswith("...") and text.startswith(cut[:-3].rstrip())
    assert fit("pendek", limit) == "pendek"


@pytest.mark.parametrize("text,cmd,tid,body", [
    ("LAPOR jalan rusak", "lapor", "", "jalan rusak"),
    ("lapor: jalan rusak", "lapor", "", "jalan rusak"),
    ("  Lapor, jalan rusak!", "lapor", "", "jalan rusak!"),
    ("jalan rusak di Ampenan", "lapor", "", "jalan rusak di Ampenan"),
    ("Laporkan jalan rusak", "lapor", "", "Laporkan jalan rusak"),  # not the keyword: free text
    ("CEK ABCD2345", "cek", "ABCD2345", ""),
    ("cek #abcd-2345", "cek", "ABCD2345", ""),
    ("Cek. abcd 2345", "cek", "ABCD2345", ""),
    ("check ABCD2345", "cek", "ABCD2345", ""),
    ("CEK ABCD2345 tolong dibantu", "cek", "ABCD2345", ""),
    ("BALAS ABCD2345 sudah saya foto", "balas", "ABCD2345", "sudah saya foto"),
    ("balas#abcd2345#sudah saya foto", "balas", "ABCD2345", "sudah saya foto"),
    ("Reply: ABCD2345, thanks", "balas", "ABCD2345", "thanks"),
    ("STOP", "stop", "", ""),
    ("berhenti.", "stop", "", ""),
    ("Stop lampu merah rusak", "lapor", "", "Stop lampu merah rusak"),
    ("bantuan?", "help", "", ""),
    ("INFO", "help", "", ""),
    ("mulai", "start", "", ""),
])
def test_parse(text, cmd, tid, body):
    p = parse(text)
    assert (p.command, p.tracking_id, p.body) == (cmd, tid, body)
