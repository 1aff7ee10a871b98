"""Staff accounts: signing in and out."""
from __future__ import annotations

from .web import bp, render


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    return render("portal/accounts/sign_in.html")
