"""Configuration keys of the Telegram plugin (``TELEGRAM_*``, environment ``ADUAN_TELEGRAM_*``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from aduan.config import StrList
from aduan.config import describe_key as _d

NOTIFY_DEFAULT = ["verify", "transfer", "respond", "hold", "resume", "resolve", "close", "reject", "reopen",
                  "comment"]


class TelegramConfig(Schema):
    BOT_TOKEN = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Bot token from @BotFather (123456:ABC...). Without it the channel is off.", secret=True))
    WEBHOOK_SECRET = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[A-Za-z0-9_-]{1,256}$", error="1-256 characters A-Z, a-z, 0-9, _ and -"), metadata=_d(
        "Secret token given to setWebhook; Telegram sends it in X-Telegram-Bot-Api-Secret-Token and "
        "requests without it are refused. Without it the webhook is off.", secret=True))
    PUBLIC_URL = fields.String(load_default=None, allow_none=True, metadata=_d(
        "Public HTTPS base URL Telegram calls (`aduan telegram set-webhook` registers "
        "<PUBLIC_URL>/hooks/telegram). Default: BASE_URL."))
    API_URL = fields.String(load_default="https://api.telegram.org", metadata=_d(
        "Bot API base URL (a local telegram-bot-api server, or a stand-in in tests)."))
    INBOUND_PER_HOUR = fields.Integer(load_default=20, validate=validate.Range(min=1), metadata=_d(
        "Messages processed per chat per hour; more are logged and ignored."))
    REPLIES_PER_HOUR = fields.Integer(load_default=10, validate=validate.Range(min=0), metadata=_d(
        "Automatic replies per chat per hour."))
    BLOCKLIST = StrList(load_default=list, metadata=_d("Chat ids whose messages are ignored."))
    BOT_USERNAME = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$"), metadata=_d(
        "The bot's username citizens write to (e.g. NTBCareBot), shown with a t.me link on the portal's "
        "home page; none: the channel is not advertised."))
    NOTIFY_EVENTS = StrList(load_default=lambda: list(NOTIFY_DEFAULT), metadata=_d(
        "Public timeline events that message the reporter's chat."))
    SEND_PER_SECOND = fields.Integer(load_default=25, validate=validate.Range(min=1, max=1000), metadata=_d(
        "Messages sent per second by all workers together (the Bot API allows about 30); the rest wait."))
    MAX_LENGTH = fields.Integer(load_default=4096, validate=validate.Range(min=100, max=4096), metadata=_d(
        "Longest text sent (the Bot API takes 4096 characters)."))
