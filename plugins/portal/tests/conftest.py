"""Fixtures shared by the portal's tests: an app with the portal enabled, seeded basics, clients."""
from __future__ import annotations

import pytest

BASE_URL = "https://aduan.ntbprov.example"


@pytest.fixture
def p_app(make_app):
    """The portal alone (add plugins with ``make_app`` directly where a test needs them)."""
    return make_app({"PLUGINS": ["portal"], "BASE_URL": BASE_URL, "PORTAL_SITE_NAME": "NTB Care"})


@pytest.fixture
def p_seed(p_app):
    """The core's seeded basics (agencies PUPR and DIKES, category jalan, users admin, koord, off_a,
    off_b, integ with their API tokens)."""
    from aduan.db import database
    from aduan.testing import seed_basics

    with p_app.app_context(), database.connection_context():
        return seed_basics()


@pytest.fixture
def pc(p_app, p_seed):
    """A browser-like client of the portal (keeps cookies)."""
    return p_app.test_client()


@pytest.fixture
def user_of(p_app):
    """``user_of("koord")`` → the seeded User row."""

    def get(username):
        from aduan.db import database
        from aduan.models import User

        with p_app.app_context(), database.connection_context():
            return User.get(User.username == username)

    return get
