"""Structured logs: JSON lines in production, readable text in development, a request id on every
line written while a request is handled, and an access log.

* :func:`configure_logging` sets up the process's root logger once (``aduan serve`` and
  ``aduan worker`` call it): ``LOG_FORMAT`` ``json`` | ``text`` | ``auto`` (text on a terminal,
  JSON otherwise, so systemd, Docker and log shippers get JSON), ``LOG_LEVEL``.
* Each request gets an id: the caller's ``X-Request-ID`` when it is a plain token (letters, digits,
  ``._:-``, at most 128), otherwise a new one; it is echoed in the response's ``X-Request-ID`` and
  put on every log line of that request (``request_id``).
* The access log (logger ``aduan.access``, ``ACCESS_LOG``) writes one line per request with the
  method, the route *pattern* (``/api/v1/complaints/<tracking_id>``, never the query string or the
  raw path), status, duration and the actor's role. No names, phone numbers, addresses, tokens or
  access codes: a test files complaints full of such markers and scans every line. As a last line of
  defence every message is passed through :func:`scrub` (e-mail addresses, long digit runs).
"""
from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import sys
import traceback
import uuid

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("aduan_request_id", default=None)

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
#: Attributes every LogRecord has; anything else given with ``extra=`` is written as a field.
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None))) | {"message", "asctime", "request_id"}
_HANDLER_MARK = "_aduan_handler"


def new_request_id(incoming: str | None) -> str:
    if incoming and _REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (or ``None``) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


#: Last line of defence for messages the code does not control (a mail server's refusal quoting an
#: address, a gateway's error quoting a number): e-mail addresses and runs of 9-16 digits (phone
#: numbers, NIK) are masked in every message and traceback.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_DIGITS = re.compile(r"(?<![\w.])\+?\d{9,16}(?![\w.])")


def scrub(text: str) -> str:
    return _DIGITS.sub("<number>", _EMAIL.sub("<email>", text))


def _exception_text(exc_info) -> str:
    """The traceback, without the exception's own message when it is a database error: drivers put
    the offending values (a name, a phone number) in those messages."""
    etype, value, tb = exc_info
    lines = traceback.format_tb(tb)
    try:
        import peewee

        redact = isinstance(value, peewee.DatabaseError)
    except ImportError:  # pragma: no cover
        redact = False
    message = f"{etype.__name__}: (message withheld: may contain data)" if redact else \
        "".join(traceback.format_exception_only(etype, value)).strip()
    return scrub("Traceback (most recent call last):\n" + "".join(lines) + message)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts`` (UTC), ``level``, ``logger``, ``msg``, ``request_id`` and any
    ``extra=`` fields (``route``, ``status``, ``duration_ms``, ``role``...)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        rid = getattr(record, "request_id", None)
        if rid:
            out["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exc"] = _exception_text(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2026-12-01 19:50:00,123 INFO aduan.access [rid] GET /api/v1/... 200 (12.3 ms)``."""

    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s%(rid)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        record.rid = f" [{rid[:12]}]" if rid else ""
        text = scrub(super().format(record))
        del record.rid
        return text

    def formatException(self, ei) -> str:  # noqa: N802 - logging API
        return _exception_text(ei)


def configure_logging(level: str = "INFO", fmt: str = "auto", stream=None) -> None:
    """Install one handler on the root logger (replacing one installed earlier by this function)."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "text" if getattr(stream, "isatty", lambda: False)() else "json"
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, _HANDLER_MARK, False):
            root.removeHandler(h)
    handler = logging.StreamHandler(stream)
    setattr(handler, _HANDLER_MARK, True)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(level)
    # waitress reports each queue backlog as a warning; keep its own lines but at our level
    logging.getLogger("waitress").setLevel(level)
    logging.getLogger("peewee").setLevel(logging.WARNING)  # SQL debug lines carry parameters


def configure_from_app(app) -> None:
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"])
