"""SMS texts: GSM 03.38 / UCS-2 segment counting, splitting and cutting. (The words themselves are the
core's conversation texts, :mod:`aduan.messaging`, translated in the core's gettext catalogue.)"""
from __future__ import annotations

import math

# GSM 03.38 default alphabet and its extension table (extension characters take two septets).
GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC) - {"\x1b"}
_EXT = frozenset(GSM7_EXT)


_GSM7 = _BASIC | _EXT
_NO_EXT = {ord(ch): None for ch in _EXT}  # str.translate table deleting the extension characters


def is_gsm7(text: str) -> bool:
    return _GSM7.issuperset(text)


def _units(text: str, gsm: bool) -> list[int]:
    """Size of each character in septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if gsm:
        return [2 if ch in _EXT else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _size(text: str, gsm: bool) -> int:
    """``sum(_units(text, gsm))`` without a loop in Python (it runs for every message and reply)."""
    if gsm:
        return 2 * len(text) - len(text.translate(_NO_EXT))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def encoding(text: str) -> str:
    return "gsm7" if is_gsm7(text) else "ucs2"


def segments(text: str) -> int:
    """How many SMS segments ``text`` takes (0 for an empty text)."""
    if not text:
        return 0
    gsm = is_gsm7(text)
    n = _size(text, gsm)
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
