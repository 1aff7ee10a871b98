"""Loading and checking category questions (Open311 attributes) from a JSON document.

The document maps a category code to its list of attributes::

    {"sampah": [{"code": "jenis", "datatype": "singlevaluelist", "required": true,
                 "description": "Jenis sampah", "order": 1,
                 "values": [{"key": "organik", "name": "Organik"}, {"key": "plastik", "name": "Plastik"}]}]}

Loading replaces a category's attributes with the listed ones, in one transaction.
"""
from __future__ import annotations

from typing import Any, Mapping

from aduan.db import database
from aduan.models import Category
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .models import DATATYPES, Open311Attribute


class ValueSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))


class AttributeSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    datatype = fields.String(load_default="string", validate=validate.OneOf(DATATYPES))
    variable = fields.Boolean(load_default=True)
    required = fields.Boolean(load_default=False)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    datatype_description = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    order = fields.Integer(load_default=1, validate=validate.Range(min=0, max=10000))
    values = fields.List(fields.Nested(ValueSchema), load_default=None, allow_none=True)

    @validates_schema
    def _lists(self, data, **kwargs):
        listed = data["datatype"] in ("singlevaluelist", "multivaluelist")
        if listed and not data.get("values"):
            raise ValidationError("a list datatype needs values", "values")
        if not listed and data.get("values"):
            raise ValidationError("values are only for singlevaluelist and multivaluelist", "values")
        keys = [v["key"] for v in data.get("values") or []]
        if len(keys) != len(set(keys)):
            raise ValidationError("value keys must be unique", "values")


def load(document: Mapping[str, Any]) -> dict[str, int]:
    """Replace the attributes of each category named in ``document``; returns counts per category.

    Raises :class:`marshmallow.ValidationError` (nothing written) on an unknown category or a bad
    attribute.
    """
    if not isinstance(document, Mapping):
        raise ValidationError("the document must map category codes to lists of attributes")
    parsed: dict[str, list[dict]] = {}
    errors: dict[str, Any] = {}
    for code, attrs in document.items():
        if Category.get_or_none(Category.code == code) is None:
            errors[code] = ["unknown category"]
            continue
        try:
            parsed[code] = AttributeSchema(many=True).load(attrs)
        except ValidationError as exc:
            errors[code] = exc.messages
            continue
        codes = [a["code"] for a in parsed[code]]
        if len(codes) != len(set(codes)):
            errors[code] = ["attribute codes must be unique within a category"]
    if errors:
        raise ValidationError(errors)
    counts = {}
    with database.atomic():
        for code, attrs in parsed.items():
            cat = Category.get(Category.code == code)
            Open311Attribute.delete().where(Open311Attribute.category == cat).execute()
            for a in attrs:
                Open311Attribute.create(category=cat, **a)
            counts[code] = len(attrs)
    return counts


def dump() -> dict[str, list[dict]]:
    """Every category's attributes, in the document form :func:`load` reads."""
    out: dict[str, list[dict]] = {}
    q = (Open311Attribute.select(Open311Attribute, Category).join(Category)
         .order_by(Category.code, Open311Attribute.order, Open311Attribute.code))
    for a in q:
        item = {"code": a.code, "datatype": a.datatype, "variable": a.variable, "required": a.required,
                "description": a.description, "datatype_description": a.datatype_description, "order": a.order}
        if a.values:
            item["values"] = a.values
        out.setdefault(a.category.code, []).append(item)
    return out
