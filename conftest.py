"""Root conftest: the core's fixtures (aduan.testing) for the core and every plugin's tests."""
pytest_plugins = ["aduan.testing"]
