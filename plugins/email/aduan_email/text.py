"""Turning mail bodies into the text a complaint keeps: HTML to readable text, quoted history and
signatures removed (Indonesian and English mail clients)."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote",
          "section", "article", "header", "footer", "pre", "hr", "dd", "dt"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}


class _Html2Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.quote = 0
        self.href: str | None = None
        self.pre = 0
        self.quote_div = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self.quote_div:
            if tag == "div":
                self.quote_div += 1
            return
        if tag in _SKIP:
            self.skip += 1
        elif tag == "blockquote":  # quoted history of a reply: dropped
            self.quote += 1
        elif tag == "div" and ("gmail_quote" in (a.get("class") or "") or
                               a.get("id") in ("divRplyFwdMsg", "appendonsend")):
            self.quote_div = 1
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in _BLOCK:
            self.out.append("\n")
        if tag == "a":
            self.href = a.get("href")
        if tag == "pre":
            self.pre += 1

    def handle_endtag(self, tag):
        if self.quote_div:
            if tag == "div":
                self.quote_div -= 1
            return
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.quote = max(0, self.quote - 1)
        elif tag in _BLOCK and tag != "li":
            self.out.append("\n")
        if tag == "a":
            self.href = None
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.skip or self.quote or self.quote_div:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)
        if self.href and self.href.startswith(("http://", "https://")) and self.href not in data:
            self.out.append(f" ({self.href})")


def html_to_text(markup: str) -> str:
    """Readable plain text of an HTML mail body (scripts, styles and quoted history dropped)."""
    p = _Html2Text()
    try:
        p.feed(markup)
        p.close()
    except Exception:  # noqa: BLE001 - malformed markup: fall back to stripping tags
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    text = "".join(p.out).replace("\xa0", " ")
    lines = [ln.strip() for ln in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# A line that opens the quoted history of a reply.
_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,200}\bwrote:\s*$", re.I),
    re.compile(r"^\s*Pada\b.{0,200}\b(menulis|wrote)\s*:\s*$", re.I),
    re.compile(r"^\s*Le\b.{0,200}\ba écrit\s*:\s*$", re.I),
    re.compile(r"^\s*Am\b.{0,200}\bschrieb\b.*:\s*$", re.I),
    re.compile(r"^\s*-{2,}\s*(Original Message|Pesan Asli|Forwarded message|Pesan yang diteruskan)\s*-{2,}", re.I),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook separator
    re.compile(r"^\s*(From|Dari)\s*:\s*.+", re.I),
]
# Lines that start a signature.
_SIGNATURE = [
    re.compile(r"^--\s?$"),
    re.compile(r"^\s*(Sent from my|Dikirim dari|Sent from Mail for|Get Outlook for|Dapatkan Outlook untuk)\b", re.I),
    re.compile(r"^\s*Sent from (Yahoo|Samsung|Huawei|Xiaomi)", re.I),
]


def _is_attribution(lines: list[str], i: int) -> bool:
    line = lines[i]
    if any(p.match(line) for p in _ATTRIBUTION[:-1]):
        return True
    # "From: x" only opens quoted history when a "Sent:/Date:/Subject:" header block follows (Outlook)
    if _ATTRIBUTION[-1].match(line):
        block = " ".join(lines[i + 1:i + 4]).lower()
        return any(k in block for k in ("sent:", "date:", "subject:", "dikirim:", "tanggal:", "subjek:", "perihal:"))
    # attribution wrapped over two lines: "On Mon, 1 Jan 2026 at 10:00, Someone <x@y>\nwrote:"
    if i + 1 < len(lines) and re.match(r"^\s*(On|Pada)\b", line, re.I) and \
            re.match(r"^.{0,80}\b(wrote|menulis)\s*:\s*$", lines[i + 1], re.I):
        return True
    return False


def strip_signature(text: str) -> str:
    """Drop a signature only (for a new complaint, whose forwarded or quoted content is evidence)."""
    return strip_reply(text, quotes=False)


def strip_reply(text: str, *, quotes: bool = True) -> str:
    """Keep what the sender wrote: drop quoted history (``>`` lines, "On ... wrote:", "Pada ...
    menulis:", Outlook headers) and signatures."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if quotes and _is_attribution(lines, i):
            break
        if any(p.match(line) for p in _SIGNATURE):
            break
        if quotes and line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    out = "\n".join(kept)
    return re.sub(r"\n{3,}", "\n\n", out).strip()
