"""The published tables and their data dictionary (one definition, used by every output: the
CSV/JSON/Parquet writers, the Table Schemas of ``datapackage.json``, the DCAT catalogue and the
landing page).

Titles and descriptions are English ``msgid``s translated through the gettext catalogue
(:mod:`aduan.i18n`, Indonesian by default): ``str(field.title)`` gives the current language,
:func:`aduan.i18n.gettext_in` a given one. HXL hashtags (https://hxlstandard.org) are optional
(``OPENDATA_HXL``): a second header row in the CSV files.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from aduan.i18n import _l, gettext_in
from aduan.models import KINDS, STATUSES, URGENCIES


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Table Schema type: string, integer, number, boolean, date, yearmonth
    title: object  # lazy msgid (English)
    description: object  # lazy msgid (English)
    constraints: dict = field(default_factory=dict)
    hxl: str = ""

    def table_schema(self) -> dict:
        title_id, desc_id = gettext_in("id", self.title._args[0]), gettext_in("id", self.description._args[0])
        out = {"name": self.name, "type": self.type, "title": title_id,
               "description": f"{desc_id} / EN: {self.description._args[0]}"}
        if self.type == "date":
            out["format"] = "%Y-%m-%d"
        if self.constraints:
            out["constraints"] = dict(self.constraints)
        return out


@dataclass(frozen=True)
class Table:
    name: str
    title: object
    description: object
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...] = ()
    aggregate: bool = True  # frozen per closed month; False: the record table (recomputed each release)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def text(self, attr: str, lang: str) -> str:
        return gettext_in(lang, getattr(self, attr)._args[0])

    @property
    def hxl(self) -> dict[str, str]:
        return {f.name: f.hxl for f in self.fields}

    def table_schema(self) -> dict:
        out = {"fields": [f.table_schema() for f in self.fields], "missingValues": [""]}
        if self.primary_key:
            out["primaryKey"] = list(self.primary_key)
        return out


_REQ = {"required": True}
_DAYS = {"minimum": 0}
_COUNT = {"minimum": 0}


def _enum(values, required=True):
    return {"required": required, "enum": list(values)}


REGION = Field("region", "string", _l("Region code"),
               _l("Kemendagri region code down to kecamatan (district), e.g. 52.71.01; empty when unknown."),
               hxl="#adm3+code")
REGION_NAME = Field("region_name", "string", _l("Region"), _l("Name of the region (district, regency/city or "
                                                              "province)."), hxl="#adm3+name")
KABUPATEN = Field("kabupaten", "string", _l("Regency/city code"),
                  _l("Kemendagri code of the regency or city (kabupaten/kota), e.g. 52.71; join it with the "
                     "regions table for BPS codes and population."), hxl="#adm2+code")
CATEGORY = Field("category", "string", _l("Category code"), _l("Complaint category code."), hxl="#sector+code")
CATEGORY_NAME = Field("category_name", "string", _l("Category"), _l("Category name."), hxl="#sector+name")
AGENCY = Field("agency", "string", _l("Agency code"),
               _l("Code of the government agency (OPD/SKPD) currently handling the complaint."), hxl="#org+code")
AGENCY_NAME = Field("agency_name", "string", _l("Agency"), _l("Agency name."), hxl="#org+name")
STATUS = Field("status", "string", _l("Status"),
               _l("Status: dispatched (verified), in_progress, on_hold, resolved, closed, archived, received "
                  "(not yet verified), rejected."), _enum(STATUSES), hxl="#status")
CHANNEL = Field("channel", "string", _l("Channel"),
                _l("Channel the complaint came in through (web, sms, email, whatsapp, lapor, ...)."),
                {"required": True}, hxl="#meta+channel")
MONTH = Field("month", "yearmonth", _l("Month"), _l("Month the complaint was filed (deployment time zone), "
                                                    "YYYY-MM."), _REQ, hxl="#date+month")
COMPLAINTS_N = Field("complaints", "integer", _l("Complaints"),
                     _l("Number of complaints, secret, unverified and rejected ones included; empty when "
                        "suppressed."), _COUNT, hxl="#affected+complaints")
SUPPRESSED = Field("suppressed", "boolean", _l("Suppressed"),
                   _l("true when the cell's figures are withheld because the cell is small (or to protect "
                      "another cell); its figures are then empty."), _REQ, hxl="#meta+suppressed")


def _date(name, title, desc, hxl=""):
    return Field(name, "date", title, desc, hxl=hxl)


def _on_time(name, title, desc):
    return Field(name, "boolean", title, desc, hxl="#indicator+" + name.replace("_", ""))


COMPLAINTS = Table(
    "complaints", _l("Complaints (record level, anonymised)"),
    _l("One row per verified complaint. No names, phone numbers, e-mails, NIK, complaint text, attachments or "
       "coordinates. Secret complaints, unverified ones and rejected ones are left out."),
    (
        Field("public_id", "string", _l("Public id"),
              _l("Public id of the complaint (an HMAC), stable across releases; not the tracking id."),
              {"required": True, "unique": True, "pattern": "[0-9a-f]{16}"}, hxl="#id"),
        _date("created_date", _l("Date filed"), _l("Date the complaint was filed (deployment time zone)."),
              "#date+reported"),
        Field("kind", "string", _l("Kind"),
              _l("Kind: complaint (pengaduan), aspiration (aspirasi) or information request."), _enum(KINDS),
              hxl="#meta+kind"),
        CATEGORY, CATEGORY_NAME, AGENCY, AGENCY_NAME, REGION, REGION_NAME, KABUPATEN, CHANNEL,
        Field("urgency", "string", _l("Urgency"), _l("Urgency: mendesak (urgent), penting (important), biasa "
                                                     "(normal)."), _enum(URGENCIES), hxl="#severity"),
        STATUS,
        _date("verified_date", _l("Date verified"), _l("Date a coordinator verified the complaint and disposed "
                                                       "it to an agency."), "#date+verified"),
        _date("first_response_date", _l("Date of first answer"), _l("Date of the first public answer from "
                                                                     "staff."), "#date+responded"),
        Field("first_response_days", "number", _l("Days to first answer"),
              _l("Days (decimal, 2 places) from filing to the first public answer."), _DAYS,
              hxl="#indicator+days+response"),
        _date("first_response_due_date", _l("First answer due"), _l("Date the first answer is due (urgency "
                                                                    "deadline)."), "#date+due+response"),
        _on_time("first_response_on_time", _l("Answered on time"),
                 _l("Whether the first answer came before its deadline; empty while there is no answer and "
                    "the deadline has not passed.")),
        _date("resolved_date", _l("Date resolved"), _l("Date the final answer (resolution) was given."),
              "#date+resolved"),
        Field("resolution_days", "number", _l("Days to resolution"),
              _l("Days (decimal, 2 places) from filing to resolution."), _DAYS, hxl="#indicator+days+resolution"),
        _date("resolution_due_date", _l("Resolution due"), _l("Date the resolution is due."),
              "#date+due+resolution"),
        _on_time("resolved_on_time", _l("Resolved on time"),
                 _l("Whether it was resolved within the resolution deadline; empty while not resolved and the "
                    "deadline has not passed.")),
        _date("closed_date", _l("Date closed"), _l("Date the complaint was closed (confirmed by the reporter, or "
                                                   "automatically after the reply window)."), "#date+closed"),
        Field("transfers", "integer", _l("Transfers"), _l("How many times the complaint was transferred to "
                                                          "another agency."), {"required": True, "minimum": 0},
              hxl="#meta+transfers"),
        Field("reopens", "integer", _l("Reopened"), _l("How many times the reporter reopened the complaint."),
              {"required": True, "minimum": 0}, hxl="#meta+reopens"),
        _on_time("sla_met", _l("Within service level"),
                 _l("true when the complaint is finished and no deadline (first answer, verification, follow-up, "
                    "resolution) was missed; false as soon as one is missed; empty while it is open and no "
                    "deadline has been missed.")),
        Field("rating", "integer", _l("Rating"), _l("The reporter's rating from 1 to 5; empty when not rated."),
              {"minimum": 1, "maximum": 5}, hxl="#indicator+rating"),
    ),
    primary_key=("public_id",), aggregate=False,
)

TOTALS = Table(
    "totals", _l("Complaint totals by month, province and regency/city"),
    _l("Every complaint counted, secret, unverified and rejected ones included: one row for the whole "
       "deployment, one per province and one per regency/city (kabupaten/kota) and month, never suppressed, "
       "with the population to compute rates per 10,000 inhabitants."),
    (
        Field("level", "string", _l("Level"), _l("all (the whole deployment), province, or kabupaten "
                                                 "(regency/city)."), _enum(("all", "province", "kabupaten")),
              hxl="#meta+level"),
        Field("region", "string", _l("Region code"), _l("Kemendagri code of the province or regency/city; empty "
                                                        "for level all or an unknown region."), hxl="#adm2+code"),
        Field("region_name", "string", _l("Region"), _l("Name of the province or regency/city."), hxl="#adm2+name"),
        Field("region_bps", "string", _l("BPS code"), _l("Statistics Indonesia (BPS) code of the region, which "
                                                         "is a different scheme from Kemendagri's."),
              hxl="#adm2+code+bps"),
        MONTH,
        Field("complaints", "integer", _l("Complaints"), _l("Number of complaints filed that month."),
              {"required": True, "minimum": 0}, hxl="#affected+complaints"),
        Field("population", "integer", _l("Population"), _l("Population of the region (see population_year and "
                                                            "the regions table for the source)."), _COUNT,
              hxl="#population"),
        Field("population_year", "integer", _l("Population year"), _l("Year of the population figure."),
              hxl="#date+year+population"),
    ),
)

REPORT_CARD = Table(
    "agency_report_card", _l("Agency report card by month"),
    _l("Per agency (the one handling the complaint now; empty: not disposed yet) and month of filing: complaints, "
       "answered on time, median days to the first answer, reporter satisfaction. The same figures as the "
       "statistics page. Small cells are suppressed."),
    (MONTH, AGENCY, AGENCY_NAME, COMPLAINTS_N,
     Field("answered_on_time", "integer", _l("Answered on time"),
           _l("Complaints whose first answer came before the urgency deadline."), _COUNT,
           hxl="#affected+ontime"),
     Field("median_first_response_days", "number", _l("Median days to first answer"),
           _l("Median days to the first public answer, over at least k answered complaints."), _DAYS,
           hxl="#indicator+median+response"),
     Field("ratings", "integer", _l("Ratings"), _l("Number of reporter ratings, shown from k ratings."), _COUNT,
           hxl="#indicator+ratings"),
     Field("rating_average", "number", _l("Average rating"), _l("Average reporter rating (1-5), over at least k "
                                                                "ratings."), {"minimum": 1, "maximum": 5},
           hxl="#indicator+rating+avg"),
     SUPPRESSED),
)

BY_CATEGORY = Table(
    "monthly_by_category", _l("Complaints by month and category"),
    _l("Complaints per category and month of filing, with how many are resolved and the median days to "
       "resolution. Small cells are suppressed."),
    (MONTH, CATEGORY, CATEGORY_NAME, COMPLAINTS_N,
     Field("resolved", "integer", _l("Resolved"), _l("Complaints resolved (an answer given) when the month was "
                                                     "published."), _COUNT, hxl="#affected+resolved"),
     Field("median_resolution_days", "number", _l("Median days to resolution"),
           _l("Median days to resolution, over at least k resolved complaints."), _DAYS,
           hxl="#indicator+median+resolution"),
     SUPPRESSED),
)

BY_CHANNEL = Table(
    "monthly_by_channel", _l("Complaints by month and channel"),
    _l("Complaints per channel (web, SMS, e-mail, ...) and month of filing. Small cells are suppressed."),
    (MONTH, CHANNEL, COMPLAINTS_N, SUPPRESSED),
)

BY_STATUS = Table(
    "monthly_by_status", _l("Complaints by month and status"),
    _l("Complaints per status and month of filing; the status is the one when the month was first published "
       "(frozen). Small cells are suppressed."),
    (MONTH, STATUS, COMPLAINTS_N, SUPPRESSED),
)

MONTHLY = Table(
    "monthly_counts", _l("Complaints by month, district, category, status and channel"),
    _l("The fine cross of month, district (kecamatan), category, status and channel, kept where it survives "
       "suppression, with median days to the first answer and to resolution. Cells inside a suppressed cell of "
       "a marginal table are suppressed too."),
    (REGION, REGION_NAME, MONTH, CATEGORY, STATUS, CHANNEL, COMPLAINTS_N, SUPPRESSED,
     Field("median_first_response_days", "number", _l("Median days to first answer"),
           _l("Median days to the first public answer, over at least k answered complaints."), _DAYS,
           hxl="#indicator+median+response"),
     Field("median_resolution_days", "number", _l("Median days to resolution"),
           _l("Median days to resolution, over at least k resolved complaints."), _DAYS,
           hxl="#indicator+median+resolution")),
)

REGIONS = Table(
    "regions", _l("Regions: Kemendagri and BPS codes, population"),
    _l("Reference table of the province and its regencies/cities: Kemendagri code, BPS code (a different "
       "scheme), name and population with its year and source, to compute rates per 10,000 inhabitants."),
    (
        Field("code", "string", _l("Region code"), _l("Kemendagri code (Kepmendagri 300.2.2-2138/2025)."),
              {"required": True, "unique": True}, hxl="#adm2+code"),
        Field("bps_code", "string", _l("BPS code"), _l("Statistics Indonesia (BPS) code."), hxl="#adm2+code+bps"),
        Field("name", "string", _l("Region"), _l("Name of the province or regency/city."), hxl="#adm2+name"),
        Field("level", "integer", _l("Level"), _l("1 province, 2 regency/city."), {"required": True},
              hxl="#meta+level"),
        Field("population", "integer", _l("Population"), _l("Population counted by the census."), _COUNT,
              hxl="#population"),
        Field("population_year", "integer", _l("Population year"), _l("Year of the population figure."),
              hxl="#date+year"),
        Field("population_source", "string", _l("Source"), _l("Source of the population figure."),
              hxl="#meta+source"),
    ),
    primary_key=("code",), aggregate=False,
)

AGGREGATES = (TOTALS, REPORT_CARD, BY_CATEGORY, BY_CHANNEL, BY_STATUS, MONTHLY)
TABLES = (COMPLAINTS,) + AGGREGATES + (REGIONS,)
BY_NAME = {t.name: t for t in TABLES}
