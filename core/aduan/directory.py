"""Load agencies and categories from a file: ``aduan directory load FILE``.

A fresh deployment has no agency and no category, so nothing can be filed until they exist. A
regency keeps its directory in a file under version control and loads it (again) whenever it
changes: rows are matched by ``code`` (created, updated, or left alone when unchanged), so loading
the same file twice changes nothing. Rows absent from the file are left as they are (set
``active: false`` to retire one).

Two formats, the same fields:

* **YAML** (``.yaml``/``.yml``): ``agencies:`` and ``categories:`` lists of mappings;
* **CSV** (``.csv``, UTF-8, header row): a ``type`` column (``agency`` or ``category``) and the
  fields as columns; empty cells are "not set"; keywords separated by ``;`` or ``,``.

Agency fields: ``code``, ``name``, ``parent`` (an agency code), ``email``, ``phone``, ``active``.
Category fields: ``code``, ``name``, ``name_en``, ``description``, ``parent`` (a category code),
``default_agency`` (an agency code), ``urgency`` (``mendesak``, ``penting``, ``biasa``),
``sla_followup_days`` (overrides ``SLA_FOLLOWUP_DAYS``), ``keywords``, ``active``.

The whole file is checked before anything is written; any error (reported per row, with the row's
line in a CSV file or its position in a YAML list) means nothing is written.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from .db import database
from .models import URGENCIES, Agency, Category

CODE = validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$", error="must be 1-64 letters, digits, '.', '_' or '-'")


class _Blank(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _blanks(self, data, **_kw):
        """CSV cells are text: an empty cell is "not set"; YAML may give numbers for codes."""
        if not isinstance(data, dict):
            raise ValidationError("each entry must be a mapping of field names to values")
        out = {}
        for k, v in data.items():
            if isinstance(v, str):
                v = v.strip()
                if v == "":
                    continue
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k in ("code", "parent", "default_agency",
                                                                                 "phone"):
                v = str(v)
            out[str(k).strip()] = v
        return out


class AgencyRow(_Blank):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 255))
    parent = fields.String(load_default=None, validate=CODE)
    email = fields.Email(load_default=None)
    phone = fields.String(load_default=None, validate=validate.Length(max=32))
    active = fields.Boolean(load_default=True)


class CategoryRow(_Blank):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=validate.Length(1, 255))
    name_en = fields.String(load_default=None, validate=validate.Length(max=255))
    description = fields.String(load_default=None, validate=validate.Length(max=5000))
    parent = fields.String(load_default=None, validate=CODE)
    default_agency = fields.String(load_default=None, validate=CODE)
    urgency = fields.String(load_default="biasa", validate=validate.OneOf(URGENCIES))
    sla_followup_days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 365))
    keywords = fields.Raw(load_default=None)
    active = fields.Boolean(load_default=True)


class DirectoryError(ValueError):
    """The file cannot be loaded; ``errors`` lists one line per problem (row and field named)."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s) in the directory file")
        self.errors = errors


@dataclass
class LoadReport:
    created: dict[str, list[str]] = field(default_factory=lambda: {"agency": [], "category": []})
    updated: dict[str, list[str]] = field(default_factory=lambda: {"agency": [], "category": []})
    unchanged: dict[str, list[str]] = field(default_factory=lambda: {"agency": [], "category": []})

    def summary(self) -> str:
        parts = []
        for kind, label in (("agency", "agencies"), ("category", "categories")):
            parts.append(f"{label}: {len(self.created[kind])} created, {len(self.updated[kind])} updated, "
                         f"{len(self.unchanged[kind])} unchanged")
        return "; ".join(parts)


def read_file(path: str) -> tuple[list[tuple[str, dict]], list[tuple[str, dict]], list[str]]:
    """``(agencies, categories, errors)``: lists of ``(where, raw row)`` (``where`` names the row)
    and the problems found while reading."""
    ext = os.path.splitext(path)[1].lower()
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DirectoryError([f"{path}: not UTF-8 text"]) from None
    if ext in (".yaml", ".yml"):
        return _read_yaml(text)
    if ext == ".csv":
        return _read_csv(text)
    raise DirectoryError([f"{path}: unknown format {ext or '(none)'}; use .csv, .yaml or .yml"])


def _read_yaml(text: str):
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DirectoryError([f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}"]) from None
    if not isinstance(doc, dict) or not set(doc) & {"agencies", "categories"}:
        raise DirectoryError(["the YAML file must be a mapping with 'agencies' and/or 'categories' lists"])
    unknown = set(doc) - {"agencies", "categories"}
    errors = [f"unknown top-level key {k!r} (expected agencies, categories)" for k in sorted(map(str, unknown))]
    out = []
    for key, kind in (("agencies", "agency"), ("categories", "category")):
        items = doc.get(key) or []
        if not isinstance(items, list):
            errors.append(f"'{key}' must be a list")
            items = []
        out.append([(f"{key}[{i + 1}]", row) for i, row in enumerate(items)])
    return out[0], out[1], errors


def _read_csv(text: str):
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "type" not in [f.strip() for f in reader.fieldnames]:
        raise DirectoryError(["the CSV file needs a header row with a 'type' column (agency or category)"])
    agencies, categories, errors = [], [], []
    for row in reader:
        where = f"line {reader.line_num}"
        row = {(k or "").strip(): v for k, v in row.items() if k is not None}
        kind = (row.pop("type", "") or "").strip().lower()
        if kind in ("agency", "agencies", "opd"):
            agencies.append((where, row))
        elif kind in ("category", "categories", "kategori"):
            categories.append((where, row))
        elif any((v or "").strip() for v in row.values() if isinstance(v, str)):
            errors.append(f"{where}: type: must be 'agency' or 'category', not {kind!r}")
    return agencies, categories, errors


def _keywords(value: Any) -> str | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else str(value).replace(";", ",").split(",")
    words = [str(w).strip() for w in items if str(w).strip()]
    return ",".join(words) or None


def load(path: str, *, dry_run: bool = False) -> LoadReport:
    """Check and load one file (see the module docstring). Raises :class:`DirectoryError`."""
    agencies_raw, categories_raw, errors = read_file(path)
    agencies: list[tuple[str, dict]] = []
    categories: list[tuple[str, dict]] = []
    for kind, schema, raws, out in (("agency", AgencyRow(), agencies_raw, agencies),
                                    ("category", CategoryRow(), categories_raw, categories)):
        seen: dict[str, str] = {}
        for where, raw in raws:
            try:
                row = schema.load(raw)
            except ValidationError as exc:
                code = raw.get("code") if isinstance(raw, dict) else None
                label = f"{where} ({kind} {code})" if code else f"{where} ({kind})"
                msgs = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
                for f, m in sorted(msgs.items()):
                    text = "; ".join(map(str, m if isinstance(m, list) else [m]))
                    errors.append(f"{label}: {text}" if f in ("_", "_schema") else f"{label}: {f}: {text}")
                continue
            if row["code"] in seen:
                errors.append(f"{where} ({kind} {row['code']}): code: already given at {seen[row['code']]}")
                continue
            seen[row["code"]] = where
            out.append((where, row))

    with database.atomic() as tx:
        agency_codes = {a.code for a in Agency.select(Agency.code)} | {r["code"] for _, r in agencies}
        category_codes = {c.code for c in Category.select(Category.code)} | {r["code"] for _, r in categories}
        for where, r in agencies:
            if r["parent"] and r["parent"] not in agency_codes:
                errors.append(f"{where} (agency {r['code']}): parent: no agency with code {r['parent']!r}")
            if r["parent"] == r["code"]:
                errors.append(f"{where} (agency {r['code']}): parent: an agency cannot be its own parent")
        for where, r in categories:
            if r["parent"] and r["parent"] not in category_codes:
                errors.append(f"{where} (category {r['code']}): parent: no category with code {r['parent']!r}")
            if r["parent"] == r["code"]:
                errors.append(f"{where} (category {r['code']}): parent: a category cannot be its own parent")
            if r["default_agency"] and r["default_agency"] not in agency_codes:
                errors.append(f"{where} (category {r['code']}): default_agency: no agency with code "
                              f"{r['default_agency']!r}")
        errors += _cycles("agency", agencies, Agency) + _cycles("category", categories, Category)
        if errors:
            tx.rollback()
            raise DirectoryError(errors)
        report = LoadReport()
        _upsert(Agency, "agency", agencies, report, lambda r: {
            "name": r["name"], "email": r["email"], "phone": r["phone"], "active": r["active"]})
        _upsert(Category, "category", categories, report, lambda r: {
            "name": r["name"], "name_en": r["name_en"], "description": r["description"],
            "keywords": _keywords(r["keywords"]), "default_urgency": r["urgency"],
            "sla_followup_days": r["sla_followup_days"], "active": r["active"]})
        ids = {a.code: a.id for a in Agency.select(Agency.id, Agency.code)}
        cids = {c.code: c.id for c in Category.select(Category.id, Category.code)}
        for model, kind, rows, refs in ((Agency, "agency", agencies, {"parent": ids}),
                                        (Category, "category", categories, {"parent": cids, "default_agency": ids})):
            for _, r in rows:
                obj = model.get(model.code == r["code"])
                change = {}
                for ref, table in refs.items():
                    want = table[r[ref]] if r[ref] else None
                    if getattr(obj, ref + "_id") != want:
                        change[ref] = want
                if change:
                    model.update(**change).where(model.id == obj.id).execute()
                    if r["code"] in report.unchanged[kind]:
                        report.unchanged[kind].remove(r["code"])
                        report.updated[kind].append(r["code"])
        if dry_run:
            tx.rollback()
    if not dry_run:
        from .services import forget_lookups

        forget_lookups()
    return report


def _upsert(model, kind: str, rows, report: LoadReport, values) -> None:
    for _, r in rows:
        want = values(r)
        obj = model.get_or_none(model.code == r["code"])
        if obj is None:
            model.create(code=r["code"], **want)
            report.created[kind].append(r["code"])
            continue
        change = {k: v for k, v in want.items() if getattr(obj, k) != v}
        if change:
            model.update(**change).where(model.id == obj.id).execute()
            report.updated[kind].append(r["code"])
        else:
            report.unchanged[kind].append(r["code"])


def _cycles(kind: str, rows, model) -> list[str]:
    """Parents as they will be after the load (file over database): a loop is an error."""
    parent = {m.code: None for m in model.select(model.code)}
    by_id = {m.id: m.code for m in model.select(model.id, model.code)}
    for m in model.select(model.code, model.parent):
        parent[m.code] = by_id.get(m.parent_id)
    for _, r in rows:
        parent[r["code"]] = r["parent"]
    errors = []
    for where, r in rows:
        if r["parent"] == r["code"]:
            continue  # reported as "its own parent"
        path, cur = [r["code"]], parent.get(r["code"])
        while cur is not None:
            if cur in path:
                errors.append(f"{where} ({kind} {r['code']}): parent: makes a loop ({' → '.join([*path, cur])})")
                break
            path.append(cur)
            cur = parent.get(cur)
    return errors
