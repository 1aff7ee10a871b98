"""The lists' text search ``q``: a case-insensitive substring of a complaint's title or body
(:func:`aduan.listing.filtered`, behind ``GET /api/v1/complaints`` and the portal's lists).

On SQLite, and on PostgreSQL while the table is small, the search is the plain condition
``title ILIKE '%q%' OR body ILIKE '%q%'``; on PostgreSQL the ``pg_trgm`` GIN indexes of migration
0011 serve it, the planner choosing between them and a walk of the ``(created_at, id)`` index.

At a million complaints one kind of term is slow that way: a rare phrase made of common trigrams
("gantung di Senaru": the trigrams of " di " are in almost every body, "gan" in a third). GIN
matches a ``LIKE`` by intersecting the posting lists of *every* trigram of the pattern, and it walks
each list from end to end whatever the rarest one says: 0.2 s for 297 matches (bench/HISTORY.md,
"Staff lists"). :func:`text_match` then asks the index only for a few *rare* trigrams of the term
(``title ILIKE '%tun%' AND title ILIKE '%nar%' …``, each a substring of the term, so a necessary
condition), checks the exact substring on the few candidates (``strpos(lower(col), lower(q)) > 0``,
which is what ``ILIKE '%q%'`` computes), and sorts those candidates instead of walking the list's
index. What a search matches does not change; only the way the database finds it.

Which trigrams are rare, and whether the term is rare at all, comes from a sample of the table
(:data:`SAMPLE_ROWS` complaints, ``TABLESAMPLE SYSTEM``, secret complaints left out) kept per
process for :data:`STATS_SECONDS`: a term found in at least :data:`WALK_FRACTION` of the sample keeps the plain
condition (the planner walks the list's index, and 50 matches come quickly).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import current_app
from peewee import DatabaseError, Tuple, fn

from .db import database, is_postgres
from .models import Complaint

#: Below this many complaints (the planner's estimate) the plain condition is used.
MIN_ROWS = 50_000
#: Complaints sampled for the statistics (the table's pages are sampled, ``TABLESAMPLE SYSTEM``).
SAMPLE_ROWS = 5_000
#: How long a process keeps its sample.
STATS_SECONDS = 3600.0
#: A term in at least this share of the sample is common: the plain condition, and the planner's walk.
WALK_FRACTION = 0.005
#: At most this many trigrams are asked of the index for a rare term.
MAX_PIECES = 4
#: Trigrams in more than this share of the sample are not asked of the index.
COMMON_TRIGRAM = 0.10


@dataclass
class Stats:
    """A sample of the complaints' texts (lowercased title and body) and the table's estimated size;
    how many sampled texts contain a trigram is counted when first asked, then remembered."""
    rows: float = 0.0
    texts: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    fractions: dict = field(default_factory=dict)

    def fraction(self, term: str) -> float:
        """The share of the sampled texts that contain ``term`` (remembered for the next pages)."""
        t = term.lower()
        f = self.fractions.get(t)
        if f is None:
            if len(self.fractions) >= 1024:
                self.fractions.clear()
            f = self.fractions[t] = sum(1 for x in self.texts if t in x) / max(len(self.texts), 1)
        return f

    def count(self, trigram: str) -> int:
        n = self.counts.get(trigram)
        if n is None:
            n = self.counts[trigram] = sum(1 for x in self.texts if trigram in x)
        return n


_lock = threading.Lock()


def _load_stats() -> Stats | None:
    db = database.obj
    try:
        return _sample(db)
    except DatabaseError:  # e.g. a role that may not read pg_class: the plain condition
        return None


def _sample(db) -> Stats | None:
    rows = db.execute_sql("SELECT reltuples FROM pg_class WHERE oid = 'complaint'::regclass").fetchone()[0]
    rows = max(float(rows or 0), 0.0)
    if rows < MIN_ROWS:
        return Stats(rows=rows)
    if not db.execute_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").fetchone():
        return None  # no trigram index to serve anything: the plain condition (a scan)
    pct = min(100.0, 100.0 * SAMPLE_ROWS / max(rows, 1.0))
    # secret (rahasia) complaints stay out of the sample: their text is never kept in a cache, not even
    # one that only chooses a plan (they are a small share, so the estimates barely move)
    texts = [r[0] for r in db.execute_sql(
        f"SELECT lower(title || ' ' || body) FROM complaint TABLESAMPLE SYSTEM ({pct:.6f}) REPEATABLE (11) "
        "WHERE NOT secret")]
    return Stats(rows=rows, texts=texts)


def stats() -> Stats | None:
    """This process's sample for the current app (loaded on first use, renewed after STATS_SECONDS);
    None where PostgreSQL has no ``pg_trgm``."""
    ext = current_app.extensions.setdefault("aduan_search", {})
    entry = ext.get("stats")
    if entry is None or time.monotonic() - entry[1] > STATS_SECONDS:
        with _lock:  # one thread loads it, the others wait for it
            entry = ext.get("stats")
            if entry is None or time.monotonic() - entry[1] > STATS_SECONDS:
                entry = ext["stats"] = (_load_stats(), time.monotonic())
    return entry[0]


def trigram_pieces(term: str, st: Stats) -> list[str]:
    """Up to MAX_PIECES rare trigrams of ``term`` (three ASCII letters or digits in a row, so that
    ``ILIKE '%piece%'`` is implied by ``ILIKE '%term%'`` however either side is lowercased), the
    rarest of each word first, then the rarest left (first those that do not overlap one taken); none
    when the term has no such trigram, or only common ones (in more than COMMON_TRIGRAM of the
    sample: asking the index for them alone would fetch a large share of the table)."""
    words, word = [], ""
    for c in term + " ":
        if c.isascii() and c.isalnum():
            word += c.lower()
        else:
            if len(word) >= 3:
                words.append(word)
            word = ""
    n = max(len(st.texts), 1)
    count = st.count
    per_word = []
    for w in words:
        grams = sorted({w[i:i + 3] for i in range(len(w) - 2)}, key=lambda t: (count(t), t))
        per_word.append(grams)
    picked: list[str] = []
    for grams in sorted(per_word, key=lambda g: count(g[0])):
        if len(picked) < MAX_PIECES and grams[0] not in picked:
            picked.append(grams[0])
    rest = [t for t in sorted({t for g in per_word for t in g} - set(picked), key=lambda t: (count(t), t))
            if count(t) / n <= COMMON_TRIGRAM]
    # first those that do not overlap a piece taken ("ntu" after "tun" says less than "sen"), then any
    for overlapping in (False, True):
        for t in rest:
            if len(picked) < MAX_PIECES and t not in picked and overlapping == any(
                    t[1:] == p[:2] or t[:2] == p[1:] for p in picked):
                picked.append(t)
    return [t for t in picked if count(t) / n <= COMMON_TRIGRAM]


def text_match(term: str):
    """``(condition, order)`` for ``q=term`` on the complaints list: the condition to add to the
    query, and the ORDER BY of the page, newest first by ``(created_at, id)``. For a rare term on a
    large PostgreSQL table the order is written as one row value: the same order, which the
    ``(created_at, id)`` index cannot serve, so the planner sorts the few candidates the trigram
    index found instead of walking the whole list to find 50 of them."""
    plain = Complaint.title.contains(term) | Complaint.body.contains(term)
    order = (Complaint.created_at.desc(), Complaint.id.desc())
    if not is_postgres():
        return plain, order
    st = stats()
    if st is None or st.rows < MIN_ROWS or st.fraction(term) >= WALK_FRACTION:
        return plain, order
    pieces = trigram_pieces(term, st)
    if not pieces:
        return plain, order

    def all_in(col):
        cond = None
        for p in pieces:
            c = col.ilike(f"%{p}%")
            cond = c if cond is None else cond & c
        return cond

    exact = ((fn.strpos(fn.lower(Complaint.title), fn.lower(term)) > 0) |
             (fn.strpos(fn.lower(Complaint.body), fn.lower(term)) > 0))
    return (all_in(Complaint.title) | all_in(Complaint.body)) & exact, (Tuple(Complaint.created_at, Complaint.id).desc(),)
