"""The lapor plugin's fixtures live in aduan_lapor.testing (importable from the test modules too)."""
from aduan_lapor.testing import lapor, sim  # noqa: F401
