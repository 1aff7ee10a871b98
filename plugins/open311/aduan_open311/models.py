"""The open311 plugin's table: the questions a category asks (Open311 service attributes)."""
from __future__ import annotations

import peewee as pw
from aduan.models import BaseModel, Category, JSONField

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


class Open311Attribute(BaseModel):
    """One question of a category, served as an attribute of its service definition.

    ``values`` is a list of ``{"key", "name"}`` for the list datatypes; ``variable`` false means the
    attribute only informs the user (no input).
    """

    category = pw.ForeignKeyField(Category, backref="open311_attributes", on_delete="CASCADE")
    code = pw.CharField(max_length=64)
    datatype = pw.CharField(max_length=16, default="string")
    variable = pw.BooleanField(default=True)
    required = pw.BooleanField(default=False)
    description = pw.TextField(default="")
    datatype_description = pw.TextField(null=True)
    order = pw.IntegerField(default=1)
    values = JSONField(null=True)

    class Meta:
        table_name = "open311_attribute"
        indexes = ((("category", "code"), True),)
