"""``aduan whatsapp ...``: check the Cloud API set-up."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

whatsapp_cli = AppGroup("whatsapp", help="WhatsApp channel: set-up check.")


@whatsapp_cli.command("check")
def check():
    """Say what is missing, show the webhook URL and the business number the access token reaches."""
    from aduan.jobs import PermanentFailure, RetryLater

    from .outbound import graph

    cfg = current_app.config
    missing = [k for k in ("WHATSAPP_ACCESS_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN",
                           "WHATSAPP_PHONE_NUMBER_ID") if not cfg.get(k)]
    click.echo(f"webhook: {cfg['BASE_URL'].rstrip('/')}/hooks/whatsapp (fields: messages)")
    if missing:
        raise click.ClickException(f"not configured: {', '.join(missing)}")
    try:
        info = graph("GET", cfg["WHATSAPP_PHONE_NUMBER_ID"],
                     params={"fields": "display_phone_number,verified_name,quality_rating"})
    except (PermanentFailure, RetryLater) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"number: {info.get('display_phone_number', '-')} ({info.get('verified_name', '-')}), "
               f"quality {info.get('quality_rating', '-')}")
