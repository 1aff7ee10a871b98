"""The DCAT-AP 3 catalogue: parses (Turtle and JSON-LD), names every distribution with a working
download URL, conforms to the DCAT-AP 3 shapes, and keeps its URIs across releases."""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from urllib.parse import urlparse

import pytest
from rdflib import Graph, URIRef
from types import SimpleNamespace

from rdflib import namespace as ns

V = SimpleNamespace(DCAT=ns.DCAT, DCTERMS=ns.DCTERMS, RDF=ns.RDF)
SPDX = "http://spdx.org/rdf/terms#"
SHAPES = Path(__file__).parent / "data" / "dcat-ap-3.0.0-SHACL.ttl"


def _catalogue(client, ext="ttl", fmt="turtle"):
    resp = client.get(f"/api/v1/plugins/opendata/catalog.{ext}")
    assert resp.status_code == 200
    g = Graph()
    g.parse(data=resp.get_data(as_text=True), format=fmt)
    return g


@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_catalogue_parses_and_names_every_distribution(published):
    client = published.app.test_client()
    g = _catalogue(client)
    gj = _catalogue(client, "jsonld", "json-ld")
    assert len(g) == len(gj) > 100
    index = client.get("/api/v1/plugins/opendata/").get_json()
    from aduan_opendata.tables import TABLES

    # every table in CSV, JSON and Parquet, whole; per-year files in the catalogue as CSV only
    files = [f for f in index["latest"]["files"] if not f.get("year") or f["format"] == "csv"]
    assert len([f for f in files if not f.get("year")]) == 3 * len(TABLES)
    catalogs = list(g.subjects(V.RDF.type, V.DCAT.Catalog))
    assert catalogs == [URIRef("https://aduan.ntbprov.example/opendata/catalog")]
    datasets = set(g.objects(catalogs[0], V.DCAT.dataset))
    assert len(datasets) == len(TABLES)
    dists = {str(g.value(d, V.DCAT.downloadURL)): d for d in g.subjects(V.RDF.type, V.DCAT.Distribution)}
    assert set(dists) == {f["url"] for f in files}
    for f in files:
        d = dists[f["url"]]
        assert any(d in set(g.objects(ds, V.DCAT.distribution)) for ds in datasets)
        fmt = g.value(d, V.DCTERMS["format"])  # a dct:IMT node: CKAN reads mimetype and format from it
        assert (fmt, V.RDF.type, V.DCTERMS.IMT) in g
        media = str(g.value(fmt, V.RDF.value))
        lic = g.value(d, V.DCTERMS.license)
        assert str(lic) == "https://creativecommons.org/licenses/by/4.0/"
        assert (lic, V.RDF.type, V.DCTERMS.LicenseDocument) in g
        # the URL serves the very bytes the catalogue describes
        resp = client.get(urlparse(f["url"]).path)
        assert resp.status_code == 200
        body = resp.get_data()
        chk = g.value(d, URIRef(SPDX + "checksum"))
        assert str(g.value(chk, URIRef(SPDX + "checksumValue"))) == hashlib.sha256(body).hexdigest()
        assert int(g.value(d, V.DCAT.byteSize)) == len(body)
        assert resp.headers["Content-Type"].split(";")[0] == media
    # and it conforms to the DCAT-AP 3 shapes (pyshacl)
    from pyshacl import validate

    shapes = Graph().parse(SHAPES, format="turtle")
    conforms, _, text = validate(g, shacl_graph=shapes, inference="rdfs")
    assert conforms, text


def test_dataset_uris_are_stable_across_releases(published):
    from aduan_opendata.publish import publish

    client = published.app.test_client()
    before = _catalogue(client)
    with published.app.app_context():
        publish(published.app, now=dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) + dt.timedelta(days=1))
    after = _catalogue(client)
    subjects = lambda g, cls: sorted(map(str, g.subjects(V.RDF.type, cls)))  # noqa: E731
    for cls in (V.DCAT.Catalog, V.DCAT.Dataset, V.DCAT.Distribution):
        assert subjects(before, cls) == subjects(after, cls)
    assert all(s.startswith("https://aduan.ntbprov.example/") for s in subjects(after, V.DCAT.Dataset))
    ds = URIRef("https://aduan.ntbprov.example/opendata/datasets/complaints")
    assert before.value(ds, V.DCTERMS.modified) != after.value(ds, V.DCTERMS.modified)
    assert before.value(ds, V.DCTERMS.issued) == after.value(ds, V.DCTERMS.issued)  # first publication
