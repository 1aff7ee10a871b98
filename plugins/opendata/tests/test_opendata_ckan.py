"""A stock CKAN harvest of the catalogue: ckanext-dcat's RDF parser (profile euro_dcat_ap_3, the
default of current ckanext-dcat) reads every dataset, and CKAN's default package schema validates
each one as the DCAT RDF harvester would create it (owned by the harvest source's organisation,
by the site user). No CKAN server: CKAN's model runs on an in-memory SQLite database."""
from __future__ import annotations

import pytest

API = "/api/v1/plugins/opendata"


@pytest.fixture(scope="module")
def ckan_site():
    import sqlalchemy as sa
    from sqlalchemy.dialects.postgresql import JSONB
    from sqlalchemy.ext.compiler import compiles

    @compiles(JSONB, "sqlite")
    def _jsonb(element, compiler, **kw):  # CKAN's tables use PostgreSQL's JSONB; SQLite stores JSON
        return "JSON"

    import ckan.model as model

    engine = sa.create_engine("sqlite://")
    model.init_model(engine)
    model.meta.metadata.create_all(engine)
    site_user = model.User(name="site_user", email="site@example.org", password="x" * 16, sysadmin=True)
    org = model.Group(name="pemprov-ntb", title="Pemprov NTB", type="organization", is_organization=True)
    model.Session.add_all([site_user, org])
    model.Session.commit()
    yield model, site_user, org
    model.Session.remove()


def _harvest(model, site_user, org, turtle: str):
    """What ckanext-dcat's DCAT RDF harvester does with each dataset before package_create."""
    from ckan.lib.munge import munge_title_to_name
    from ckan.lib.navl.dictization_functions import validate
    from ckan.logic.schema import default_create_package_schema
    from ckanext.dcat.processors import RDFParser

    parser = RDFParser(profiles=["euro_dcat_ap_3"])
    parser.parse(turtle, _format="text/turtle")
    out = []
    for d in parser.datasets():
        d["name"] = munge_title_to_name(d["title"])
        d["owner_org"] = org.id
        context = {"model": model, "session": model.Session, "user": site_user.name, "auth_user_obj": site_user}
        data, errors = validate(d, default_create_package_schema(), context)
        out.append((d, data, errors))
    return out


def test_ckan_accepts_every_dataset_of_the_catalogue(published, ckan_site):
    from aduan_opendata.tables import TABLES

    client = published.app.test_client()
    turtle = client.get(f"{API}/catalog.ttl").get_data(as_text=True)
    results = _harvest(*ckan_site, turtle)
    assert len(results) == len(TABLES)
    for parsed, data, errors in results:
        assert errors == {}, (parsed["title"], errors)
        assert data["license_id"] == "cc-by"  # matched in CKAN's licence register
        assert {t["name"] for t in data["tags"]} == {"pengaduan", "aspirasi", "layanan publik", "SP4N-LAPOR",
                                                     "complaints"}
        assert data["resources"]
        for res in data["resources"]:
            assert res["url"].startswith("https://aduan.ntbprov.example/api/v1/plugins/opendata/")
            fmt = res["url"].rsplit(".", 1)[1]
            assert (res["format"], res["mimetype"]) == {"csv": ("CSV", "text/csv"),
                                                        "json": ("JSON", "application/json"),
                                                        "parquet": ("Parquet", "application/vnd.apache.parquet")
                                                        }[fmt]
        uri = parsed.get("uri") or next(e["value"] for e in parsed.get("extras", []) if e["key"] == "uri")
        assert uri.startswith("https://aduan.ntbprov.example/opendata/datasets/")  # matched on later harvests


def test_ckan_rejects_what_the_old_catalogue_had(published, ckan_site):
    """The validators are really applied: the former keyword and licence would not pass."""
    client = published.app.test_client()
    turtle = client.get(f"{API}/catalog.ttl").get_data(as_text=True)
    turtle = turtle.replace('"SP4N-LAPOR"@id', '"SP4N-LAPOR!"@id')
    turtle = turtle.replace('dct:title "Creative Commons Attribution"', 'dct:title "CC BY 4.0"')
    _parsed, data, errors = _harvest(*ckan_site, turtle)[0]
    assert "tags" in errors  # CKAN's tag_name_validator
    assert data.get("license_id", "") == ""


def test_keywords_that_ckan_would_reject_stop_start_up(make_app):
    from aduan.config import ConfigError

    with pytest.raises(ConfigError, match="KEYWORDS"):
        make_app({"PLUGINS": ["opendata"], "OPENDATA_KEYWORDS": "pengaduan,SP4N-LAPOR!"})
