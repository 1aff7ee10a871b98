"""Agencies, categories and regions (public to read; coordinators and admins edit)."""
from __future__ import annotations

import peewee as pw
from flask import abort
from flask.views import MethodView
from flask_smorest import Blueprint

from ..db import database
from ..i18n import gettext as _
from ..models import Agency, Category, Region
from ..services import InvalidInput, forget_lookups
from . import require
from .schemas import (AgencyIn, AgencyOut, AgencyPatch, CategoryIn, CategoryOut, CategoryPatch, RegionOut,
                      RegionQuery)

blp = Blueprint("directory", __name__, url_prefix="/api/v1", description="Agencies, categories and region codes.")


def _agency_out(a: Agency) -> dict:
    return {"id": a.id, "code": a.code, "name": a.name, "parent_id": a.parent_id, "email": a.email,
            "phone": a.phone, "active": a.active}


def _category_out(c: Category) -> dict:
    return {"id": c.id, "code": c.code, "name": c.name, "name_en": c.name_en, "description": c.description,
            "keywords": c.keywords, "parent_id": c.parent_id, "default_agency_id": c.default_agency_id,
            "default_urgency": c.default_urgency, "sla_followup_days": c.sla_followup_days, "active": c.active}


_UNKNOWN = {
    "parent_id": lambda v: _("Unknown parent: %(value)s", value=v),
    "default_agency_id": lambda v: _("Unknown agency: %(value)s", value=v),
}


def _check_refs(data: dict, refs: dict) -> None:
    errors = {}
    for key, model in refs.items():
        if data.get(key) is not None and model.get_or_none(model.id == data[key]) is None:
            errors[key] = [_UNKNOWN.get(key, _UNKNOWN["parent_id"])(data[key])]
    if errors:
        raise InvalidInput(errors)


def _save(model, obj_id, data, refs):
    _check_refs(data, refs)
    fields = {k[:-3] if k.endswith("_id") else k: v for k, v in data.items()}
    try:
        with database.atomic():
            if obj_id is None:
                obj = model.create(**fields)
            else:
                n = model.update(**fields).where(model.id == obj_id).execute() if fields else 1
                if not n:
                    abort(404, _("Not found."))
                obj = model.get_by_id(obj_id)
        forget_lookups()  # filings in this process see the change at once (others within LOOKUP_CACHE_SECONDS)
        return obj
    except pw.IntegrityError:
        raise InvalidInput({"code": [_("Already in use.")]}) from None


@blp.route("/agencies")
class Agencies(MethodView):
    @blp.response(200, AgencyOut(many=True))
    def get(self):
        """All agencies (OPD), for filing forms and dispatch."""
        return [_agency_out(a) for a in Agency.select().order_by(Agency.name)]

    @require("admin", "coordinator")
    @blp.arguments(AgencyIn)
    @blp.response(201, AgencyOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Create an agency."""
        return _agency_out(_save(Agency, None, data, {"parent_id": Agency}))


@blp.route("/agencies/<int:agency_id>")
class AgencyDetail(MethodView):
    @blp.response(200, AgencyOut)
    def get(self, agency_id):
        """One agency."""
        a = Agency.get_or_none(Agency.id == agency_id) or abort(404, _("No such agency."))
        return _agency_out(a)

    @require("admin", "coordinator")
    @blp.arguments(AgencyPatch)
    @blp.response(200, AgencyOut)
    @blp.doc(security=[{"bearer": []}])
    def patch(self, data, agency_id):
        """Change an agency."""
        Agency.get_or_none(Agency.id == agency_id) or abort(404, _("No such agency."))
        return _agency_out(_save(Agency, agency_id, data, {"parent_id": Agency}))


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, CategoryOut(many=True))
    def get(self):
        """All categories with their default agency and SLA override."""
        return [_category_out(c) for c in Category.select().order_by(Category.name)]

    @require("admin", "coordinator")
    @blp.arguments(CategoryIn)
    @blp.response(201, CategoryOut)
    @blp.doc(security=[{"bearer": []}])
    def post(self, data):
        """Create a category."""
        return _category_out(_save(Category, None, data, {"parent_id": Category, "default_agency_id": Agency}))


@blp.route("/categories/<int:category_id>")
class CategoryDetail(MethodView):
    @blp.response(200, CategoryOut)
    def get(self, category_id):
        """One category."""
        c = Category.get_or_none(Category.id == category_id) or abort(404, _("No such category."))
        return _category_out(c)

    @require("admin", "coordinator")
    @blp.arguments(CategoryPatch)
    @blp.response(200, CategoryOut)
    @blp.doc(security=[{"bearer": []}])
    def patch(self, data, category_id):
        """Change a category."""
        Category.get_or_none(Category.id == category_id) or abort(404, _("No such category."))
        return _category_out(_save(Category, category_id, data, {"parent_id": Category, "default_agency_id": Agency}))


@blp.route("/regions")
class Regions(MethodView):
    @blp.arguments(RegionQuery, location="query")
    @blp.response(200, RegionOut(many=True))
    def get(self, args):
        """Search Kemendagri region codes by name (``q``), parent code or level."""
        q = Region.select()
        if args.get("q"):
            q = q.where(Region.name.contains(args["q"]))
        if args.get("parent"):
            q = q.where(Region.parent_code == args["parent"])
        if args.get("level"):
            q = q.where(Region.level == args["level"])
        return [{"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code}
                for r in q.order_by(Region.code).limit(args["limit"])]


@blp.route("/regions/<code>")
class RegionDetail(MethodView):
    @blp.response(200, RegionOut)
    def get(self, code):
        """One region code."""
        r = Region.get_or_none(Region.code == code) or abort(404, _("No such region."))
        return {"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code}
