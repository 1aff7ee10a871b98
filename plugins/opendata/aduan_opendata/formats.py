"""Writers: CSV (RFC 4180, UTF-8), JSON (an array of objects) and Parquet (optional, pyarrow).

Each writer takes rows one at a time, so a table is written in one pass without holding it.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from typing import Any

from aduan.i18n import _l

from .tables import Table

MEDIA_TYPES = {"csv": "text/csv", "json": "application/json", "parquet": "application/vnd.apache.parquet"}
PARQUET_MISSING = ("Parquet is off: pyarrow is not installed. Install the extra with "
                   "`pip install 'aduan-opendata[parquet]'` to publish .parquet files.")
_l("Parquet is off: pyarrow is not installed. Install the extra with "
   "`pip install 'aduan-opendata[parquet]'` to publish .parquet files.")  # for extraction (make messages)


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


def csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def json_value(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v


def typed_row(table: Table, row: dict) -> dict:
    """Values as their Table Schema type (the record query gives text): for JSON and Parquet."""
    out = {}
    for f in table.fields:
        v = row.get(f.name)
        if v is None or not isinstance(v, str):
            out[f.name] = v
        elif f.type == "integer":
            out[f.name] = int(v)
        elif f.type == "number":
            out[f.name] = float(v)
        elif f.type == "boolean":
            out[f.name] = v == "true"
        elif f.type == "date":
            out[f.name] = dt.date.fromisoformat(v)
        else:
            out[f.name] = v
    return out


class CsvWriter:
    def __init__(self, path: str, table: Table, hxl: bool = False):
        self.fh = open(path, "w", encoding="utf-8", newline="")
        self.names = table.field_names
        self.w = csv.writer(self.fh, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        self.w.writerow(self.names)
        if hxl:
            self.w.writerow([table.hxl[n] for n in self.names])

    def write(self, row: dict) -> None:
        self.w.writerow([csv_value(row.get(n)) for n in self.names])

    def close(self) -> None:
        self.fh.close()


class JsonWriter:
    def __init__(self, path: str, table: Table, hxl: bool = False):
        self.fh = open(path, "w", encoding="utf-8")
        self.names = table.field_names
        self.first = True
        self.fh.write("[")

    def write(self, row: dict) -> None:
        self.fh.write("\n" if self.first else ",\n")
        self.first = False
        self.fh.write(json.dumps({n: json_value(row.get(n)) for n in self.names}, ensure_ascii=False))

    def close(self) -> None:
        self.fh.write("\n]\n")
        self.fh.close()


class ParquetWriter:
    BATCH = 5000

    def __init__(self, path: str, table: Table, hxl: bool = False):
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"string": pa.string(), "integer": pa.int64(), "number": pa.float64(), "boolean": pa.bool_(),
                 "date": pa.date32(), "yearmonth": pa.string()}
        self.pa = pa
        self.names = table.field_names
        self.schema = pa.schema([pa.field(f.name, types[f.type], nullable=not f.constraints.get("required"),
                                          metadata={"description": f.table_schema()["description"]})
                                 for f in table.fields])
        self.w = pq.ParquetWriter(path, self.schema)
        self.batch: list[dict] = []

    def write(self, row: dict) -> None:
        self.batch.append(row)
        if len(self.batch) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        cols = {n: [r.get(n) for r in self.batch] for n in self.names}
        self.w.write_table(self.pa.Table.from_pydict(cols, schema=self.schema))
        self.batch = []

    def close(self) -> None:
        if self.batch:
            self._flush()
        self.w.close()


WRITERS = {"csv": CsvWriter, "json": JsonWriter, "parquet": ParquetWriter}
