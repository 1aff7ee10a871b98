"""Configuration from the environment, validated at start-up."""
import pytest

from aduan.config import ConfigError


def test_environment_values_keep_their_text_and_decode_json_where_a_structure_is_expected(make_app, monkeypatch):
    monkeypatch.setenv("ADUAN_REGION_PREFIXES", "52.10")
    monkeypatch.setenv("ADUAN_SLA_URGENCY_HOURS", '{"mendesak": 2, "penting": 12, "biasa": 24}')
    monkeypatch.setenv("ADUAN_HOLIDAYS_EXTRA", "2026-12-30,2026-12-31")
    monkeypatch.setenv("ADUAN_SLA_VERIFY_DAYS", "2")
    monkeypatch.setenv("ADUAN_INSTITUTION_NAME", "123")
    app = make_app()
    assert app.config["REGION_PREFIXES"] == ["52.10"]
    assert app.config["SLA_URGENCY_HOURS"] == {"mendesak": 2, "penting": 12, "biasa": 24}
    assert app.config["HOLIDAYS_EXTRA"] == ["2026-12-30", "2026-12-31"]
    assert app.config["SLA_VERIFY_DAYS"] == 2
    assert app.config["INSTITUTION_NAME"] == "123"


@pytest.mark.parametrize("key,value", [("SLA_VERIFY_DAYS", "tiga"), ("LANGUAGE", "fr"),
                                        ("SLA_URGENCY_HOURS", '{"darurat": 1}'), ("SLA_URGENCY_HOURS", "{oops")])
def test_invalid_values_stop_startup_naming_the_key(make_app, monkeypatch, key, value):
    monkeypatch.setenv(f"ADUAN_{key}", value)
    with pytest.raises(ConfigError, match=key):
        make_app()


def test_secret_values_never_appear_in_config_errors(make_app):
    with pytest.raises(ConfigError) as err:
        make_app({"SECRET_KEY": ["s3cr3t-value"], "DATABASE_POOL_SIZE": 0})
    assert "s3cr3t-value" not in str(err.value)


def test_the_development_secret_key_is_flagged(make_app, caplog):
    make_app({"TESTING": False, "SECRET_KEY": "dev-insecure-change-me"})
    assert "SECRET_KEY is the built-in development value" in caplog.text
    caplog.clear()
    make_app({"TESTING": False, "SECRET_KEY": "a-long-random-production-value"})
    assert "SECRET_KEY" not in caplog.text
