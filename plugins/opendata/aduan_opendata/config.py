"""Configuration keys of the opendata plugin (``OPENDATA_*``, environment ``ADUAN_OPENDATA_*``)."""
from __future__ import annotations

import re

from aduan.config import StrList
from aduan.config import describe_key as _d
from aduan.models import STATUSES
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

FORMATS = ("csv", "json", "parquet")
DEFAULT_RECORD_STATUSES = ("dispatched", "in_progress", "on_hold", "resolved", "closed", "archived")

#: SPDX identifier -> (licence document, title). The title is the one of CKAN's default licence
#: register (``ckan/model/license.py``), which ckanext-dcat matches to set the dataset's
#: ``license_id`` (cc-by, cc-by-sa, cc-zero, odc-odbl, odc-pddl); the URI names the exact version.
#: Other licences need OPENDATA_LICENSE_URL.
LICENSES = {
    "CC-BY-4.0": ("https://creativecommons.org/licenses/by/4.0/", "Creative Commons Attribution"),
    "CC-BY-SA-4.0": ("https://creativecommons.org/licenses/by-sa/4.0/", "Creative Commons Attribution Share-Alike"),
    "CC0-1.0": ("https://creativecommons.org/publicdomain/zero/1.0/", "Creative Commons CCZero"),
    "ODbL-1.0": ("https://opendatacommons.org/licenses/odbl/1-0/", "Open Data Commons Open Database License (ODbL)"),
    "PDDL-1.0": ("https://opendatacommons.org/licenses/pddl/1-0/",
                 "Open Data Commons Public Domain Dedication and License (PDDL)"),
}
#: CKAN's tag rule (``ckan.logic.validators.tag_name_validator`` and ``tag_length_validator``):
#: letters, digits, spaces, ``-``, ``_`` and ``.``, 2 to 100 characters.
TAG_RE = re.compile(r"^[\w \-.]{2,100}$", re.UNICODE)




class OpendataConfig(Schema):
    MIN_CELL_SIZE = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=2), metadata=_d(
        "Small-cell threshold k: an aggregate count below this is suppressed (with complementary suppression), "
        "and a median or average is only published over at least this many complaints. Default: "
        "STATS_MIN_CELL_SIZE (the public /stats threshold)."))
    FREEZE_DAYS = fields.Integer(load_default=7, validate=validate.Range(min=0, max=366), metadata=_d(
        "Days after the end of a month before its aggregates are published and frozen (never recomputed), "
        "so that most of its complaints are verified by then."))
    HXL = fields.Boolean(load_default=False, metadata=_d(
        "Add a row of HXL hashtags (#adm2+code, #date+reported, ...) under the CSV header, as HDX and Ushahidi "
        "read it; datapackage.json declares it as a comment row."))
    REGIONS_FILE = fields.String(load_default=None, allow_none=True, metadata=_d(
        "CSV of regions with BPS codes and population (columns code,bps_code,name,level,population,"
        "population_year,population_source); default: the NTB table shipped with the plugin (BPS SP2020)."))
    RECORD_STATUSES = StrList(load_default=lambda: list(DEFAULT_RECORD_STATUSES), metadata=_d(
        "Statuses whose complaints appear in the record-level table. Default leaves out `received` "
        "(unverified, may be spam) and `rejected` (and archived complaints that were rejected)."))
    AGGREGATE_REGION_LEVEL = fields.Integer(load_default=3, validate=validate.Range(min=1, max=3), metadata=_d(
        "Region level of the aggregate table: 1 province, 2 regency/city, 3 kecamatan."))
    FORMATS = StrList(load_default=lambda: list(FORMATS), metadata=_d(
        "Formats written for each table: csv, json, parquet (parquet needs the [parquet] extra, pyarrow)."))
    LICENSE = fields.String(load_default="CC-BY-4.0", metadata=_d(
        "SPDX identifier of the licence of the data (CC-BY-4.0, CC-BY-SA-4.0, CC0-1.0, ODbL-1.0, PDDL-1.0, or "
        "another one together with OPENDATA_LICENSE_URL)."))
    LICENSE_URL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "URL of the licence document; derived from OPENDATA_LICENSE for the known identifiers."))
    PUBLISHER = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Name of the publisher of the data; default INSTITUTION_NAME."))
    ATTRIBUTION = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Attribution text users must reproduce; default '<publisher>, aduan open data (<BASE_URL>)'."))
    CONTACT_EMAIL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "E-mail address of the data steward, published as the catalogue's contact point."))
    TITLE = fields.String(load_default="Data pengaduan masyarakat", metadata=_d(
        "Title of the catalogue and data package (Indonesian); the institution name is appended."))
    KEYWORDS = StrList(load_default=lambda: ["pengaduan", "aspirasi", "layanan publik", "SP4N-LAPOR",
                                             "complaints"], metadata=_d(
        "Keywords of the datasets; each must pass CKAN's tag rule (letters, digits, spaces, - _ ., 2-100 "
        "characters) or a harvesting portal rejects the dataset."))
    SNAPSHOT_DIR = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Where published snapshots are stored (one folder per version). Default: opendata/ in the instance "
        "folder. Web processes on other machines must see the same folder (shared storage)."))
    SNAPSHOT_SECONDS = fields.Float(load_default=86400, validate=validate.Range(min=60), metadata=_d(
        "How often the worker publishes a new snapshot (schedule opendata.publish)."))
    SNAPSHOT_KEEP = fields.Integer(load_default=14, validate=validate.Range(min=1), metadata=_d(
        "How many snapshot versions are kept; older ones are deleted."))
    ID_KEY = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Key of the HMAC that makes public record ids; default derived from SECRET_KEY. Changing it changes "
        "every public id.", secret=True))

    @validates_schema
    def _check(self, data, **kwargs):
        bad = [f for f in data.get("FORMATS", []) if f not in FORMATS]
        if bad:
            raise ValidationError(f"unknown format(s) {', '.join(bad)}; choose from {', '.join(FORMATS)}", "FORMATS")
        bad = [s for s in data.get("RECORD_STATUSES", []) if s not in STATUSES]
        if bad:
            raise ValidationError(f"unknown status(es) {', '.join(bad)}; choose from {', '.join(STATUSES)}",
                                  "RECORD_STATUSES")
        bad = [k for k in data.get("KEYWORDS", []) if not TAG_RE.match(k)]
        if bad:
            raise ValidationError(f"keyword(s) {', '.join(map(repr, bad))} would be rejected by CKAN's tag "
                                  "validator: use letters, digits, spaces, - _ . (2-100 characters)", "KEYWORDS")
        if data.get("LICENSE") not in LICENSES and not data.get("LICENSE_URL"):
            raise ValidationError(f"unknown licence {data.get('LICENSE')!r}: set OPENDATA_LICENSE_URL too", "LICENSE")
