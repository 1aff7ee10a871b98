"""Language and time for every text a person reads: gettext catalogues and the deployment's clock.

**Messages.** Source strings are English (``msgid``); the Indonesian catalogue
``aduan/i18n/locales/id/LC_MESSAGES/aduan.po`` is the default language of a deployment. Catalogues
are plain ``.po`` files a translator edits; they are compiled in memory when first used (no ``.mo``
file to forget to rebuild). A plugin ships its own ``locales/`` folder and registers it with
:func:`add_catalog_dir` (its texts are merged over the core's).

Use in code::

    from aduan.i18n import _, _l, ngettext, use_language

    _("Complaint %(tid)s was received.", tid=c.tracking_id)   # translated now, in the current language
    LABEL = _l("Verified")                                       # lazy: translated when rendered
    with use_language(reporter.language):                         # worker: the reporter's language
        text = _("Your complaint %(tid)s was answered.", tid=tid)

The current language is, in order: the one set by :func:`use_language`; the request's (``?lang=``,
then ``Accept-Language``, chosen in ``before_request`` by :func:`negotiate`); the configured
``LANGUAGE``; Indonesian. The reporter's language is recorded on the complaint at filing
(:func:`complaint_language`): notifications are written in it, and so is the reporter's own view
(with the access code) when the request does not ask for a language itself.

**Field messages.** marshmallow's and webargs' English defaults are translated centrally on their
way out (:mod:`aduan.i18n.validation`, called by the request parser of every flask-smorest route);
messages the code writes are ``_()`` at request time or ``_l()`` in schemas. An error handler turns
any lazy string into ``str`` before it builds a JSON body.

**System notes.** A text the system writes on a timeline (auto-close, missed deadline, a channel's
note) is kept as a :func:`note` (its msgid and variables) in the event's data, next to its text in
the deployment's language for other systems; :func:`event_text` renders it for each reader.

After adding or changing texts, run ``make messages`` and fill every ``msgstr`` of the Indonesian
catalogue; the tests fail on a missing translation or a stale catalogue.

**Times.** Stored naive UTC. :func:`isoformat` serves them with the deployment's offset
(``2026-12-07T01:58:00+08:00``); :func:`format_datetime` writes them for people in the
deployment's zone with its name (``Senin, 7 Desember 2026 01.58 WITA``; English ``01:58``).
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import io
import threading
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, Translations

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
DOMAIN = "aduan"

_CATALOG_DIRS: list[Path] = [Path(__file__).parent / "locales"]
_cache: dict[str, Translations] = {}
_lock = threading.Lock()
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("aduan_language", default=None)


def add_catalog_dir(path: str | Path) -> None:
    """Register a folder laid out as ``<lang>/LC_MESSAGES/*.po`` (a plugin's own texts)."""
    p = Path(path)
    with _lock:
        if p not in _CATALOG_DIRS:
            _CATALOG_DIRS.append(p)
            _cache.clear()


def _compile(po_path: Path, lang: str) -> Translations:
    with open(po_path, "rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain=DOMAIN)


def translations(lang: str) -> Translations:
    """The merged catalogue for a language (compiled from ``.po`` once per process)."""
    tr = _cache.get(lang)
    if tr is not None:
        return tr
    with _lock:
        merged = Translations(domain=DOMAIN)
        for base in _CATALOG_DIRS:
            folder = base / lang / "LC_MESSAGES"
            if folder.is_dir():
                for po in sorted(folder.glob("*.po")):
                    compiled = _compile(po, lang)
                    merged.merge(compiled)
                    merged.plural = compiled.plural  # merge() keeps the empty catalogue's English rule
        _cache[lang] = merged
        return merged


def _configured_default() -> str:
    try:
        from flask import current_app

        lang = current_app.config.get("LANGUAGE")
    except RuntimeError:  # outside an app context
        lang = None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    """The language texts are written in right now (see the module docstring for the order)."""
    lang = _current.get()
    if lang:
        return lang
    try:
        from flask import g, has_request_context

        if has_request_context():
            lang = g.get("aduan_language")
            if lang:
                return lang
    except RuntimeError:
        pass
    return _configured_default()


def normalize(lang: str | None) -> str | None:
    """``"id-ID"``, ``"ID"``, ``"in"`` → ``"id"``; unknown → ``None``."""
    if not lang:
        return None
    base = str(lang).strip().replace("_", "-").split("-")[0].lower()
    if base == "in":  # the old ISO 639 code for Indonesian, still sent by some Android phones
        base = "id"
    return base if base in LANGUAGES else None


@contextlib.contextmanager
def use_language(lang: str | None) -> Iterator[str]:
    """Write texts in ``lang`` inside the block (unknown or empty: the current language)."""
    chosen = normalize(lang) or current_language()
    token = _current.set(chosen)
    try:
        yield chosen
    finally:
        _current.reset(token)


def requested_language(request) -> str | None:
    """The language a request states itself (``?lang=``, then ``Accept-Language``), or ``None``."""
    asked = normalize(request.args.get("lang"))
    if asked:
        return asked
    if not any(value != "*" and quality > 0 for value, quality in request.accept_languages):
        return None  # no header, or "*": no preference of its own
    best = request.accept_languages.best_match(["id", "id-ID", "in", "en", "en-US", "en-GB"])
    return normalize(best)


def negotiate(request, default: str | None = None) -> str:
    """The language a request asks for: ``?lang=``, then ``Accept-Language``, then ``default``."""
    return requested_language(request) or normalize(default) or DEFAULT_LANGUAGE


def configured_language() -> str:
    """The deployment's language (``LANGUAGE``), whatever the request asked."""
    return _configured_default()


def complaint_language(complaint) -> str:
    """The reporter's language for a complaint: recorded at filing (``Complaint.language``), else
    the reporter's (``Reporter.language``), else the deployment's. Used for notifications and for
    the reporter's own view when the request does not ask for a language itself."""
    lang = normalize(getattr(complaint, "language", None))
    if not lang and getattr(complaint, "reporter_id", None):
        lang = normalize(complaint.reporter.language)
    return lang or _configured_default()


def gettext(message: str, /, **variables: Any) -> str:
    """Translate ``message`` into the current language; ``%(name)s`` placeholders take ``variables``."""
    text = translations(current_language()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> str:
    """Plural-aware :func:`gettext`; ``num`` is also available as ``%(num)d``."""
    variables.setdefault("num", num)
    return translations(current_language()).ungettext(singular, plural, num) % variables


def pgettext(context: str, message: str, /, **variables: Any) -> str:
    """:func:`gettext` with a context (``msgctxt``), for one English word with two translations."""
    text = translations(current_language()).upgettext(context, message)
    return text % variables if variables else text


def lazy_pgettext(context: str, message: str, /, **variables: Any) -> LazyProxy:
    """Lazy :func:`pgettext`."""
    return LazyProxy(pgettext, context, message, enable_cache=False, **variables)


def lazy_gettext(message: str, /, **variables: Any) -> LazyProxy:
    """A string translated each time it is used (module-level labels, schema messages)."""
    return LazyProxy(gettext, message, enable_cache=False, **variables)


_ = gettext
_l = lazy_gettext


def N_(message: str) -> str:
    """Marks a text for extraction (``make messages``) without translating it (e.g. a :func:`note`)."""
    return message


def gettext_in(lang: str | None, message: str, /, **variables: Any) -> str:
    """:func:`gettext` in a given language (e.g. the reporter's), whatever the current one."""
    with use_language(lang):
        return gettext(message, **variables)


# --- texts the system writes on a timeline -------------------------------------------------------

def note(message: str, /, **variables: Any) -> dict[str, Any]:
    """A system-written timeline text kept as its ``msgid`` (mark it with ``N_`` or ``_l`` so
    ``make messages`` extracts it) and its variables, so each reader gets it in their own language.

    Put the result under ``data["note"]`` of the event and the text in the deployment's language in
    ``text`` (what other systems read). A variable given as ``{"utc": "<naive UTC ISO>"}`` is
    written as a local time with the zone's name (:func:`format_datetime`); a variable given as
    ``{"label": "status"|"action"|"kind"|"urgency", "value": ...}`` as that label.
    """
    return {"msgid": str(message), "vars": variables}


def render_note(n: dict[str, Any], lang: str | None = None) -> str:
    """The text of a :func:`note` in ``lang`` (default: the current language)."""
    with use_language(lang):
        values = {}
        for k, v in (n.get("vars") or {}).items():
            if isinstance(v, dict) and "utc" in v:
                try:
                    v = format_datetime(dt.datetime.fromisoformat(v["utc"]))
                except (TypeError, ValueError):
                    v = str(v["utc"])
            elif isinstance(v, dict) and "label" in v:
                table = {"status": STATUS_LABELS, "action": ACTION_LABELS, "kind": KIND_LABELS,
                         "urgency": URGENCY_LABELS}.get(v["label"], {})
                v = _label(table, str(v.get("value")), None)
            values[k] = v
        try:
            return gettext(n["msgid"], **values)
        except (KeyError, TypeError, ValueError):
            return gettext(n["msgid"])


def event_text(event, lang: str | None = None) -> str:
    """An event's text for a reader: a system note in the reader's language, else the text as written."""
    n = (event.data or {}).get("note") if isinstance(event.data, dict) else None
    if isinstance(n, dict) and n.get("msgid"):
        return render_note(n, lang)
    return event.text or ""


# --- HTTP errors -------------------------------------------------------------------------------

_HTTP_DEFAULTS = {
    400: lazy_gettext("The request could not be understood."),
    401: lazy_gettext("Authentication is required."),
    403: lazy_gettext("You are not allowed to do this."),
    404: lazy_gettext("Not found. Check the address."),
    405: lazy_gettext("This method is not allowed here."),
    406: lazy_gettext("No acceptable representation of this resource."),
    409: lazy_gettext("The request conflicts with the current state."),
    410: lazy_gettext("This resource is gone."),
    411: lazy_gettext("The request needs a Content-Length header."),
    413: lazy_gettext("The request is too large."),
    414: lazy_gettext("The address is too long."),
    415: lazy_gettext("This content type is not supported."),
    422: lazy_gettext("The input is not valid."),
    429: lazy_gettext("Too many requests; try again later."),
    431: lazy_gettext("The request headers are too large."),
    500: lazy_gettext("Internal error; it has been logged."),
    501: lazy_gettext("Not implemented."),
    503: lazy_gettext("The service is unavailable; try again later."),
}


def http_message(exc) -> str:
    """The message of an HTTP error for people: the text the code gave (already translated), or,
    for werkzeug's English defaults (unknown route, wrong method...), a translated one."""
    description = getattr(exc, "description", None)
    default = getattr(type(exc), "description", None)
    if description is None or description == default:
        text = _HTTP_DEFAULTS.get(getattr(exc, "code", None) or 500)
        if text is not None:
            return str(text)
    return str(description or "")


# --- time -------------------------------------------------------------------------------------

def deployment_zone() -> ZoneInfo:
    """The deployment's zone (``TIMEZONE``), UTC+8 ``Asia/Makassar`` outside an app."""
    try:
        from flask import current_app

        return ZoneInfo(current_app.config.get("TIMEZONE") or "Asia/Makassar")
    except RuntimeError:
        return ZoneInfo("Asia/Makassar")


def to_local(value: dt.datetime | None, tz: ZoneInfo | None = None) -> dt.datetime | None:
    """A stored naive-UTC (or aware) datetime in the deployment's zone."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(tz or deployment_zone())


_DAY_OFFSETS: dict = {}


def _day_offset(tz: ZoneInfo, day: int):
    """``(offset, "+08:00")`` when ``tz`` keeps one offset for the whole UTC day ``day`` (an
    ordinal), else False; remembered (a zone changes its offset on a handful of days in a century)."""
    key = (tz, day)
    hit = _DAY_OFFSETS.get(key)
    if hit is None:
        start = dt.datetime.fromordinal(day).replace(tzinfo=dt.timezone.utc)
        try:
            first = start.astimezone(tz).utcoffset()
            last = (start + dt.timedelta(days=1, microseconds=-1)).astimezone(tz).utcoffset()
        except OverflowError:  # the first or last day a datetime can hold: the conversion decides
            first, last = None, False
        hit = False
        if first == last:
            hit = (first, dt.datetime(2000, 1, 1, tzinfo=dt.timezone(first)).isoformat()[19:])
        if len(_DAY_OFFSETS) >= 65536:
            _DAY_OFFSETS.clear()
        _DAY_OFFSETS[key] = hit
    return hit


def isoformat(value: dt.datetime | None, tz: ZoneInfo | None = None) -> str | None:
    """ISO 8601 with the deployment's offset, whole seconds: ``2026-12-07T01:58:00+08:00``.

    A list page writes hundreds of these: a stored (naive UTC) time on a day when the zone keeps one
    offset is shifted by that offset and written with it, which gives the same text as converting
    it with the zone, several times faster (``tests/test_i18n.py`` compares both)."""
    if value is None:
        return None
    if value.tzinfo is None:
        day = _day_offset(tz or deployment_zone(), value.toordinal())
        if day:
            try:
                return (value + day[0]).isoformat(timespec="seconds") + day[1]
            except OverflowError:
                pass  # as below (which raises as it always did)
    local = to_local(value, tz)
    return local.replace(microsecond=0).isoformat()


def zone_name(value: dt.datetime | None = None, tz: ZoneInfo | None = None) -> str:
    """The zone's short name at ``value`` (``WIB``, ``WITA``, ``WIT``; else the offset)."""
    local = to_local(value or dt.datetime.now(dt.timezone.utc), tz)
    return local.tzname() or local.strftime("%z")


def format_datetime(value: dt.datetime | None, lang: str | None = None, *, tz: ZoneInfo | None = None,
                    weekday: bool = True) -> str:
    """A time for people, with the zone's name: ``Senin, 7 Desember 2026 01.58 WITA`` (Indonesian
    writes hours and minutes with a dot) / ``Monday, 7 December 2026 01:58 WITA``."""
    from babel.dates import format_datetime as babel_format

    local = to_local(value, tz)
    if local is None:
        return ""
    lang = normalize(lang) or current_language()
    pattern = ("EEEE, " if weekday else "") + ("d MMMM y HH.mm" if lang == "id" else "d MMMM y HH:mm")
    return f"{babel_format(local, pattern, locale=lang)} {local.tzname() or local.strftime('%z')}"


def format_date(value: dt.date | dt.datetime | None, lang: str | None = None, *, tz: ZoneInfo | None = None) -> str:
    """A date for people: ``7 Desember 2026`` (a datetime is first put in the deployment's zone)."""
    from babel.dates import format_date as babel_format

    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_local(value, tz).date()
    return babel_format(value, "d MMMM y", locale=normalize(lang) or current_language())


# --- labels shared by every channel (the same words on the web, by SMS and by email) ------------

STATUS_LABELS = {
    "received": lazy_pgettext("status", "Not yet verified"),
    "dispatched": lazy_pgettext("status", "Verified"),
    "in_progress": lazy_pgettext("status", "In progress"),
    "on_hold": lazy_pgettext("status", "On hold"),
    "resolved": lazy_pgettext("status", "Resolved"),
    "closed": lazy_pgettext("status", "Closed"),
    "rejected": lazy_pgettext("status", "Rejected"),
    "archived": lazy_pgettext("status", "Archived"),
}
KIND_LABELS = {"pengaduan": _l("Complaint"), "aspirasi": _l("Aspiration"),
               "permintaan_informasi": _l("Information request")}
URGENCY_LABELS = {"mendesak": _l("Urgent"), "penting": _l("Important"), "biasa": _l("Normal")}
ACTION_LABELS = {
    "file": lazy_pgettext("action", "Report received"),
    "verify": lazy_pgettext("action", "Verified and dispatched"),
    "transfer": lazy_pgettext("action", "Transferred (not our authority)"),
    "start": lazy_pgettext("action", "Work started"),
    "respond": lazy_pgettext("action", "Response"),
    "hold": lazy_pgettext("action", "On hold: waiting for the reporter"),
    "resume": lazy_pgettext("action", "Resumed"),
    "resolve": lazy_pgettext("action", "Resolved"),
    "close": lazy_pgettext("action", "Closed"),
    "reopen": lazy_pgettext("action", "Reopened"),
    "reject": lazy_pgettext("action", "Rejected"),
    "archive": lazy_pgettext("action", "Archived"),
    "rate": lazy_pgettext("action", "Rating"),
    "comment": lazy_pgettext("action", "Note"),
    "reply": lazy_pgettext("action", "Reporter's reply"),
    "sla_breach": lazy_pgettext("action", "Deadline missed"),
    "attach": lazy_pgettext("action", "Attachment added"),
    "external": lazy_pgettext("action", "Follow-up"),
}


def _label(table: dict, key: str, lang: str | None) -> str:
    entry = table.get(key)
    if entry is None:
        return key
    if lang is None:  # the current language: no switch needed
        return str(entry)
    with use_language(lang):
        return str(entry)


def status_label(status: str, lang: str | None = None) -> str:
    return _label(STATUS_LABELS, status, lang)


def action_label(action: str, lang: str | None = None) -> str:
    return _label(ACTION_LABELS, action, lang)


def kind_label(kind: str, lang: str | None = None) -> str:
    return _label(KIND_LABELS, kind, lang)


def urgency_label(urgency: str, lang: str | None = None) -> str:
    return _label(URGENCY_LABELS, urgency, lang)
