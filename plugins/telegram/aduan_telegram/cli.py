"""``aduan telegram ...``: register the webhook with the Bot API and show its state."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

telegram_cli = AppGroup("telegram", help="Telegram channel: webhook registration.")


def webhook_url() -> str:
    cfg = current_app.config
    return (cfg.get("TELEGRAM_PUBLIC_URL") or cfg["BASE_URL"]).rstrip("/") + "/hooks/telegram"


@telegram_cli.command("set-webhook")
@click.option("--url", default=None, help="Public HTTPS URL of /hooks/telegram (default: TELEGRAM_PUBLIC_URL).")
@click.option("--drop-pending", is_flag=True, help="Drop updates Telegram kept while no webhook was set.")
def set_webhook(url, drop_pending):
    """Register <TELEGRAM_PUBLIC_URL>/hooks/telegram with setWebhook and the secret token."""
    from aduan.jobs import PermanentFailure, RetryLater

    from .outbound import call

    cfg = current_app.config
    missing = [k for k in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET") if not cfg.get(k)]
    if missing:
        raise click.ClickException(f"set {' and '.join(missing)} first")
    url = url or webhook_url()
    try:
        call("setWebhook", {"url": url, "secret_token": cfg["TELEGRAM_WEBHOOK_SECRET"],
                            "allowed_updates": ["message", "callback_query", "my_chat_member"], "drop_pending_updates": drop_pending})
    except (PermanentFailure, RetryLater) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"webhook set: {url}")


@telegram_cli.command("webhook-info")
def webhook_info():
    """Show getWebhookInfo (URL, pending updates, last error)."""
    from aduan.jobs import PermanentFailure, RetryLater

    from .outbound import call

    try:
        info = call("getWebhookInfo", {}) or {}
    except (PermanentFailure, RetryLater) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"url: {info.get('url') or '-'}")
    click.echo(f"pending updates: {info.get('pending_update_count', 0)}")
    if info.get("last_error_message"):
        click.echo(f"last error: {info['last_error_message']}")
