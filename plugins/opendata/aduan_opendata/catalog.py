"""Metadata: the Frictionless ``datapackage.json`` and the DCAT-AP 3 catalogue (Turtle, JSON-LD).

URIs are built from ``BASE_URL`` only, never from a version, so a harvester (CKAN with
ckanext-dcat, profile ``euro_dcat_ap_3``, e.g. Satu Data Indonesia) sees the same datasets and
distributions on every run; only their ``dct:modified``, size and checksum change.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD

from aduan.i18n import _l, gettext_in

from .config import LICENSES
from .formats import MEDIA_TYPES
from .tables import BY_NAME, TABLES

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
EU_FILE_TYPE = "http://publications.europa.eu/resource/authority/file-type/"
EU_THEME = "http://publications.europa.eu/resource/authority/data-theme/GOVE"
EU_LANG = "http://publications.europa.eu/resource/authority/language/"
EU_FREQ = "http://publications.europa.eu/resource/authority/frequency/"
IANA = "https://www.iana.org/assignments/media-types/"
FILE_LABELS = {"csv": "CSV", "json": "JSON", "parquet": "Parquet"}  # CKAN's resource_formats.json labels
FORMAT_TITLES = {"csv": "CSV", "json": "JSON", "parquet": "Apache Parquet"}


@dataclass
class Urls:
    base: str

    def __post_init__(self):
        self.base = self.base.rstrip("/")

    @property
    def api(self) -> str:
        return f"{self.base}/api/v1/plugins/opendata"

    @property
    def landing(self) -> str:
        return f"{self.base}/opendata/"

    @property
    def catalog(self) -> str:
        return f"{self.base}/opendata/catalog"

    def dataset(self, name: str) -> str:
        return f"{self.base}/opendata/datasets/{name}"

    def distribution(self, name: str, fmt: str) -> str:
        return f"{self.base}/opendata/datasets/{name}/{fmt}"

    def download(self, filename: str) -> str:
        return f"{self.api}/{filename}"

    def versioned(self, version: str, filename: str) -> str:
        return f"{self.api}/snapshots/{version}/{filename}"

    def period(self, month: str, table: str, fmt: str = "csv") -> str:
        """Permanent URL of one frozen month of an aggregate table (its content never changes)."""
        return f"{self.api}/periods/{month}/{table}.{fmt}"


@dataclass
class Release:
    """One publication: what was written and when."""

    version: str
    created: dt.datetime  # aware UTC
    issued: dt.datetime  # first publication (aware UTC)
    files: list[dict]  # {"resource", "format", "name", "bytes", "sha256", "rows", "media_type"}
    temporal: tuple[dt.date, dt.date] | None = None
    formats: list[str] = field(default_factory=list)
    issued_by_table: dict[str, dt.datetime] = field(default_factory=dict)


def settings(app) -> dict:
    cfg = app.config
    publisher = cfg.get("OPENDATA_PUBLISHER") or cfg["INSTITUTION_NAME"]
    lic = cfg["OPENDATA_LICENSE"]
    url, title = LICENSES.get(lic, (None, lic))
    return {
        "publisher": publisher,
        "license": lic,
        "license_url": cfg.get("OPENDATA_LICENSE_URL") or url,
        "license_title": title,
        "attribution": cfg.get("OPENDATA_ATTRIBUTION") or f"{publisher}, data terbuka aduan ({cfg['BASE_URL']})",
        "title": f"{cfg['OPENDATA_TITLE']} — {cfg['INSTITUTION_NAME']}",
        "keywords": list(cfg["OPENDATA_KEYWORDS"]),
        "contact": cfg.get("OPENDATA_CONTACT_EMAIL"),
        "urls": Urls(cfg["BASE_URL"]),
        "k": cfg.get("OPENDATA_MIN_CELL_SIZE") or cfg["STATS_MIN_CELL_SIZE"],
        "every": cfg["OPENDATA_SNAPSHOT_SECONDS"],
    }


DESCRIPTION = ("Anonymised open data on public complaints: no names, contact details, NIK, complaint text, "
               "attachments or coordinates. Aggregate cells under %(k)s complaints are suppressed; a month is "
               "published once it has ended and never changes afterwards.")
_l("Anonymised open data on public complaints: no names, contact details, NIK, complaint text, "
   "attachments or coordinates. Aggregate cells under %(k)s complaints are suppressed; a month is "
   "published once it has ended and never changes afterwards.")  # for extraction (make messages)


def description(lang: str, k: int) -> str:
    return gettext_in(lang, DESCRIPTION, k=k)


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def datapackage(app, release: Release) -> dict:
    s = settings(app)
    resources = []
    hxl = app.config["OPENDATA_HXL"]
    for f in release.files:
        if f["format"] != "csv":
            continue
        t = BY_NAME[f["resource"]]
        name = f["name"][:-4]
        title = t.text("title", "id") + (f" ({f['year']})" if f.get("year") else "")
        dialect = {"delimiter": ",", "lineTerminator": "\r\n", "quoteChar": '"', "header": True}
        if hxl:
            dialect["commentRows"] = [2]  # the HXL hashtag row
        resources.append({
            "name": name, "path": f["name"], "title": title,
            "description": f"{t.text('description', 'id')} / EN: {t.text('description', 'en')}",
            "profile": "tabular-data-resource", "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
            "bytes": f["bytes"], "hash": f"sha256:{f['sha256']}",
            "dialect": dialect,
            "schema": t.table_schema(),
        })
    return {
        "profile": "tabular-data-package",
        "name": "aduan-opendata",
        "id": s["urls"].catalog,
        "title": s["title"],
        "description": description("id", s["k"]) + " / EN: " + description("en", s["k"]),
        "version": release.version,
        "created": _iso(release.created),
        "homepage": s["urls"].landing,
        "keywords": s["keywords"],
        "licenses": [{"name": s["license"], "path": s["license_url"], "title": s["license_title"]}],
        "contributors": [{"title": s["publisher"], "role": "publisher", "path": app.config["BASE_URL"]}],
        "attribution": s["attribution"],
        "resources": resources,
    }


def graph(app, release: Release) -> Graph:
    s = settings(app)
    u: Urls = s["urls"]
    g = Graph()
    for p, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("vcard", VCARD), ("spdx", SPDX),
                  ("skos", SKOS), ("xsd", XSD), ("rdfs", RDFS)):
        g.bind(p, ns)
    cat = URIRef(u.catalog)
    pub = URIRef(f"{u.base}/opendata/publisher")
    lic = URIRef(s["license_url"])
    modified = Literal(_iso(release.created), datatype=XSD.dateTime)
    issued = Literal(_iso(release.issued), datatype=XSD.dateTime)
    landing = URIRef(u.landing)
    ind, eng = URIRef(EU_LANG + "IND"), URIRef(EU_LANG + "ENG")

    g.add((pub, RDF.type, FOAF.Agent))
    g.add((pub, FOAF.name, Literal(s["publisher"])))
    g.add((lic, RDF.type, DCTERMS.LicenseDocument))
    g.add((lic, DCTERMS.title, Literal(s["license_title"])))
    g.add((landing, RDF.type, FOAF.Document))
    for lang in (ind, eng):
        g.add((lang, RDF.type, DCTERMS.LinguisticSystem))

    g.add((cat, RDF.type, DCAT.Catalog))
    g.add((cat, DCTERMS.title, Literal(s["title"], lang="id")))
    g.add((cat, DCTERMS.title, Literal(f"Public complaints open data — {app.config['INSTITUTION_NAME']}", lang="en")))
    g.add((cat, DCTERMS.description, Literal(description("id", s["k"]), lang="id")))
    g.add((cat, DCTERMS.description, Literal(description("en", s["k"]), lang="en")))
    g.add((cat, DCTERMS.publisher, pub))
    g.add((cat, DCTERMS.license, lic))
    g.add((cat, DCTERMS.modified, modified))
    g.add((cat, DCTERMS.issued, issued))
    g.add((cat, DCTERMS.language, ind))
    g.add((cat, DCTERMS.language, eng))
    g.add((cat, FOAF.homepage, landing))

    contact = None
    if s["contact"]:
        contact = URIRef(f"{u.base}/opendata/contact")
        g.add((contact, RDF.type, VCARD.Kind))
        g.add((contact, VCARD.fn, Literal(s["publisher"])))
        g.add((contact, VCARD.hasEmail, URIRef("mailto:" + s["contact"])))
    freq = URIRef(EU_FREQ + ("DAILY" if s["every"] <= 86400 else "WEEKLY" if s["every"] <= 7 * 86400 else "MONTHLY"))
    g.add((freq, RDF.type, DCTERMS.Frequency))
    theme, themes = URIRef(EU_THEME), URIRef(EU_THEME.rsplit("/", 1)[0])
    g.add((theme, RDF.type, SKOS.Concept))
    g.add((theme, SKOS.prefLabel, Literal("Government and public sector", lang="en")))
    g.add((theme, SKOS.inScheme, themes))
    g.add((themes, RDF.type, SKOS.ConceptScheme))
    g.add((themes, DCTERMS.title, Literal("Data theme", lang="en")))
    g.add((SPDX.checksumAlgorithm_sha256, RDF.type, SPDX.ChecksumAlgorithm))

    # dct:format is a dct:IMT node (rdf:value "text/csv", rdfs:label "CSV"): ckanext-dcat reads it
    # as the resource's mimetype and format, which CKAN's previews and DataStore need; DCMI declares
    # dct:IMT a subclass of dct:MediaType and so of dct:MediaTypeOrExtent, as DCAT-AP 3 asks.
    g.add((DCTERMS.IMT, RDFS.subClassOf, DCTERMS.MediaType))
    g.add((DCTERMS.MediaType, RDFS.subClassOf, DCTERMS.MediaTypeOrExtent))
    formats_node = {}
    for fmt in MEDIA_TYPES:
        node = URIRef(f"{u.base}/opendata/formats/{fmt}")
        g.add((node, RDF.type, DCTERMS.IMT))
        g.add((node, RDF.value, Literal(MEDIA_TYPES[fmt])))
        g.add((node, RDFS.label, Literal(FILE_LABELS[fmt])))
        formats_node[fmt] = node

    for t in TABLES:
        ds = URIRef(u.dataset(t.name))
        t_issued = release.issued_by_table.get(t.name, release.issued)
        title_id, title_en = t.text("title", "id"), t.text("title", "en")
        g.add((cat, DCAT.dataset, ds))
        g.add((ds, RDF.type, DCAT.Dataset))
        g.add((ds, DCTERMS.identifier, Literal(u.dataset(t.name))))
        g.add((ds, DCTERMS.title, Literal(title_id, lang="id")))
        g.add((ds, DCTERMS.title, Literal(title_en, lang="en")))
        g.add((ds, DCTERMS.description, Literal(t.text("description", "id"), lang="id")))
        g.add((ds, DCTERMS.description, Literal(t.text("description", "en"), lang="en")))
        g.add((ds, DCTERMS.publisher, pub))
        g.add((ds, DCTERMS.issued, Literal(_iso(t_issued), datatype=XSD.dateTime)))
        g.add((ds, DCTERMS.modified, modified))
        g.add((ds, DCTERMS.language, ind))
        g.add((ds, DCTERMS.accrualPeriodicity, freq))
        g.add((ds, DCAT.theme, theme))
        g.add((ds, DCAT.landingPage, URIRef(u.landing + "#" + t.name)))
        g.add((URIRef(u.landing + "#" + t.name), RDF.type, FOAF.Document))
        g.add((ds, URIRef(str(DCAT) + "version"), Literal(release.version)))
        for kw in s["keywords"]:
            g.add((ds, DCAT.keyword, Literal(kw, lang="id")))
        if contact is not None:
            g.add((ds, DCAT.contactPoint, contact))
        if release.temporal:
            period = BNode()
            g.add((ds, DCTERMS.temporal, period))
            g.add((period, RDF.type, DCTERMS.PeriodOfTime))
            g.add((period, DCAT.startDate, Literal(release.temporal[0].isoformat(), datatype=XSD.date)))
            g.add((period, DCAT.endDate, Literal(release.temporal[1].isoformat(), datatype=XSD.date)))
        for f in release.files:
            if f["resource"] != t.name or (f.get("year") and f["format"] != "csv"):
                continue
            fmt = f["format"]
            year = f.get("year")
            dist = URIRef(u.distribution(t.name, fmt) + (f"/{year}" if year else ""))
            label = FORMAT_TITLES[fmt] + (f", {year}" if year else "")
            g.add((ds, DCAT.distribution, dist))
            g.add((dist, RDF.type, DCAT.Distribution))
            g.add((dist, DCTERMS.title, Literal(f"{title_id} ({label})", lang="id")))
            g.add((dist, DCTERMS.title, Literal(f"{title_en} ({label})", lang="en")))
            g.add((dist, DCTERMS.description, Literal(t.text("description", "en"), lang="en")))
            g.add((dist, DCAT.accessURL, landing))
            g.add((dist, DCAT.downloadURL, URIRef(u.download(f["name"]))))
            g.add((dist, DCTERMS.format, formats_node[fmt]))
            g.add((dist, DCTERMS.license, lic))
            g.add((dist, DCTERMS.issued, Literal(_iso(t_issued), datatype=XSD.dateTime)))
            g.add((dist, DCTERMS.modified, modified))
            g.add((dist, DCAT.byteSize, Literal(f["bytes"], datatype=XSD.nonNegativeInteger)))
            if fmt == "csv":
                g.add((dist, DCTERMS.conformsTo, URIRef(u.download("datapackage.json"))))
                g.add((URIRef(u.download("datapackage.json")), RDF.type, DCTERMS.Standard))
            chk = BNode()
            g.add((dist, SPDX.checksum, chk))
            g.add((chk, RDF.type, SPDX.Checksum))
            g.add((chk, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
            g.add((chk, SPDX.checksumValue, Literal(f["sha256"], datatype=XSD.hexBinary)))
    return g


JSONLD_CONTEXT = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "vcard": str(VCARD),
                  "spdx": str(SPDX), "skos": str(SKOS), "rdfs": str(RDFS),
                  "xsd": str(XSD)}


def write_catalog(app, release: Release, turtle_path: str, jsonld_path: str) -> None:
    g = graph(app, release)
    g.serialize(destination=turtle_path, format="turtle", encoding="utf-8")
    g.serialize(destination=jsonld_path, format="json-ld", context=JSONLD_CONTEXT, encoding="utf-8")
