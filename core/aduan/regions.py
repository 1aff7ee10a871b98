"""Loading the Kemendagri region table shipped in ``aduan/data/wilayah.csv.gz``."""
from __future__ import annotations

import csv
import gzip
import io
from functools import lru_cache
from importlib import resources
from typing import Iterable

from .db import database
from .models import Region


def iter_regions(prefixes: Iterable[str] = ()):
    prefixes = [p.strip() for p in prefixes if p.strip()]
    with resources.files("aduan").joinpath("data/wilayah.csv.gz").open("rb") as raw:
        reader = csv.DictReader(io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8"))
        for row in reader:
            code = row["kode"].strip()
            if prefixes and not any(code == p or code.startswith(p + ".") for p in prefixes):
                continue
            parts = code.split(".")
            yield {"code": code, "name": row["nama"].strip(), "level": len(parts),
                   "parent_code": ".".join(parts[:-1]) or None}


@lru_cache(maxsize=4)
def _rows(prefixes: tuple[str, ...]) -> tuple[dict, ...]:
    return tuple(iter_regions(prefixes))


def load_regions(prefixes: Iterable[str] = ()) -> int:
    """Insert or update region codes; returns how many were loaded."""
    rows = [dict(r) for r in _rows(tuple(sorted(p.strip() for p in prefixes if p.strip())))]
    with database.atomic():
        for i in range(0, len(rows), 500):
            batch = rows[i:i + 500]
            (Region.insert_many(batch)
             .on_conflict(conflict_target=[Region.code], preserve=[Region.name, Region.level, Region.parent_code])
             .execute())
    from .services import forget_lookups

    forget_lookups()
    return len(rows)
