"""Citizens' pages (no account): home, filing, confirmation, tracking, public list, report card."""
from __future__ import annotations

from .web import bp, render


@bp.get("/")
def home():
    return render("portal/citizen/home.html")
