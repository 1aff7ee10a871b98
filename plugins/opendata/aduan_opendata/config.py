"""Configuration keys of the opendata plugin (``OPENDATA_*``, environment ``ADUAN_OPENDATA_*``)."""
from __future__ import annotations

from aduan.config import StrList
from aduan.config import describe_key as _d
from aduan.models import STATUSES
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

FORMATS = ("csv", "json", "parquet")
DEFAULT_RECORD_STATUSES = ("dispatched", "in_progress", "on_hold", "resolved", "closed", "archived")

#: SPDX identifier -> (licence document, title). Other licences need OPENDATA_LICENSE_URL.
LICENSES = {
    "CC-BY-4.0": ("https://creativecommons.org/licenses/by/4.0/", "Creative Commons Attribution 4.0 International"),
    "CC-BY-SA-4.0": ("https://creativecommons.org/licenses/by-sa/4.0/",
                     "Creative Commons Attribution Share-Alike 4.0 International"),
    "CC0-1.0": ("https://creativecommons.org/publicdomain/zero/1.0/", "CC0 1.0 Universal"),
    "ODbL-1.0": ("https://opendatacommons.org/licenses/odbl/1-0/", "Open Data Commons Open Database License 1.0"),
    "PDDL-1.0": ("https://opendatacommons.org/licenses/pddl/1-0/", "Open Data Commons Public Domain Dedication 1.0"),
}




class OpendataConfig(Schema):
    MIN_CELL_SIZE = fields.Integer(load_default=5, validate=validate.Range(min=2), metadata=_d(
        "Small-cell threshold: an aggregate count below this is suppressed (with complementary suppression), "
        "and a median or average is only published over at least this many complaints."))
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
    KEYWORDS = StrList(load_default=lambda: ["pengaduan", "aspirasi", "layanan publik", "SP4N-LAPOR!",
                                             "complaints"], metadata=_d("Keywords of the datasets."))
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
        if data.get("LICENSE") not in LICENSES and not data.get("LICENSE_URL"):
            raise ValidationError(f"unknown licence {data.get('LICENSE')!r}: set OPENDATA_LICENSE_URL too", "LICENSE")
