"""The edge of every request: what reaches a view, a plugin route or the database is already clean.

Every route (core, admin and plugin routes alike, smorest or plain Flask) gets the same treatment
before its view runs:

* **JSON nesting** is limited to :data:`MAX_JSON_DEPTH` levels (and a JSON body to
  :data:`MAX_JSON_BYTES`, a 413 beyond). The raw body of any request that is
  not a form (whatever its ``Content-Type``: some gateways post JSON as ``text/plain``) is scanned
  *before* any parser sees it, so a body nested 2,000 deep is a 400, never a ``RecursionError``.
  :func:`loads` (used by the API's argument parser, ``request.get_json()`` and the plugins' signed
  webhooks) checks the same limit before parsing.
* **Text content** (JSON strings and keys, form fields, upload file names) is cleaned: NUL
  characters are dropped (PostgreSQL cannot store them) and lone UTF-16 surrogates (``"\\ud800"``,
  the remains of an emoji cut in half by a buggy client) become U+FFFD, so a citizen's complaint is
  never lost over one bad character. The raw body is left untouched, so webhook signatures computed
  over it still verify.
* **Identifiers and filters** (the path, query parameters and header values) carrying a NUL are
  refused with a 400 that names the parameter: silently changing a filter would answer a different
  question. (Werkzeug already decodes invalid UTF-8 in URLs to U+FFFD, so no surrogate gets there.)
* **Integers** fit a database integer column (PostgreSQL ``integer``, which peewee uses for ids,
  foreign keys and integer fields: signed 32-bit): ``<int:…>`` route segments beyond ``2**31 - 1``
  do not match (404), and an integer anywhere in parsed arguments outside that range is a 422
  naming the field (the OpenAPI document states the bounds), never an ``OverflowError`` on SQLite or
  a ``DataError`` on PostgreSQL.
"""
from __future__ import annotations

import json
import re
import threading
from typing import Any

import flask
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter, ValidationError

from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request
from webargs.flaskparser import abort as webargs_abort

from .i18n import _

#: Deepest JSON nesting accepted (objects and arrays). aduan's own payloads nest three levels.
MAX_JSON_DEPTH = 64
#: Largest JSON body accepted (a complaint is at most 10,000 characters; files go as multipart).
MAX_JSON_BYTES = 512 * 1024
#: Bounds of every integer the API accepts: a PostgreSQL ``integer`` (ids are ``serial``).
INT_MIN = -(2 ** 31)
INT_MAX = 2 ** 31 - 1

_SURROGATE = re.compile("[\ud800-\udfff]")
# A complete JSON string (removed before counting, so brackets inside strings do not count).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_CURLY_TO_SQUARE = bytes.maketrans(b"{}", b"[]")
_JSON_START = re.compile(rb"\s*[\[{]")
_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class BadInput(BadRequest):
    """A 400 whose body carries ``errors`` keyed by field or location (see the error handler)."""

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.data = {"message": message, "errors": errors or {}}


def json_depth_exceeds(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests objects/arrays deeper than ``limit``, without recursion.

    Every step runs at C speed (a body of :data:`MAX_JSON_BYTES` is judged in a fraction of a second): strings are removed
    (brackets inside them do not count), everything but brackets is dropped, ``{}`` become ``[]``,
    then each pass removes the innermost pairs, one nesting level per pass. Malformed text is not
    judged here: the parser reports it afterwards.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    if b'"' in raw:
        raw = _JSON_STRING.sub(b"", raw)
    brackets = raw.translate(_CURLY_TO_SQUARE, _NOT_BRACKETS)
    for level in range(limit):
        if not brackets:
            return False
        inner_removed = brackets.replace(b"[]", b"")
        if len(inner_removed) == len(brackets):
            # No pair left, only "]]…[[": unbalanced, so not JSON; but the parser would still
            # descend into the trailing openers before it finds out.
            return level + brackets.count(b"[") > limit
        brackets = inner_removed
    return b"[" in brackets


def clean_text(value: str) -> str:
    """``value`` without NUL characters, with lone surrogates replaced by U+FFFD."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if _SURROGATE.search(value):
        value = _SURROGATE.sub("\ufffd", value)
    return value


def clean(value: Any) -> Any:
    """Clean every string (keys included) of a parsed JSON value (depth already bounded)."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(k) if isinstance(k, str) else k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


class _TooLarge(BadInput):
    code = 413


def too_large() -> BadInput:
    return _TooLarge(_("The JSON body is too large (at most %(n)d bytes).", n=MAX_JSON_BYTES),
                     {"json": [_("Larger than %(n)d bytes.", n=MAX_JSON_BYTES)]})


def too_deep() -> BadInput:
    return BadInput(_("The JSON body is nested too deeply (at most %(n)d levels).", n=MAX_JSON_DEPTH),
                    {"json": [_("Nested more than %(n)d levels deep.", n=MAX_JSON_DEPTH)]})


def loads(raw: bytes | str) -> Any:
    """Parse JSON safely: depth checked before parsing, strings cleaned after.

    Raises :class:`BadInput` (400) when too deep, and ``ValueError`` (``json.JSONDecodeError`` or
    ``UnicodeDecodeError``) when the text is not JSON, like :func:`json.loads`.
    """
    if len(raw) > MAX_JSON_BYTES:
        raise too_large()
    if json_depth_exceeds(raw):
        raise too_deep()
    return clean(json.loads(raw))


class _EdgeJson:
    """What ``request.get_json()`` parses with."""

    loads = staticmethod(loads)

    @staticmethod
    def dumps(obj, **kwargs):
        return flask.json.dumps(obj, **kwargs)


class AduanRequest(flask.Request):
    """The request class of an aduan app: JSON parsed by :func:`loads`, form text cleaned."""

    # Flask assigns ``request.json_module = app.json`` to every request it builds (flask/ctx.py):
    # a plain class attribute would be overwritten, and ``get_json()`` would then skip the edge.
    @property
    def json_module(self):
        return _EdgeJson

    @json_module.setter
    def json_module(self, value):
        pass  # the edge's parser stays, whatever Flask assigns

    def on_json_loading_failed(self, e: ValueError | None):
        if isinstance(e, BadRequest):
            raise e
        raise BadInput(_("The request body is not valid JSON."), {"json": [_("Not valid JSON.")]})

    def _load_form_data(self) -> None:
        super()._load_form_data()
        d = self.__dict__
        form = d.get("form")
        if form is not None and any(isinstance(v, str) and (k != clean_text(k) or v != clean_text(v))
                                    for k, v in form.items(multi=True)):
            d["form"] = form.__class__((clean_text(k), clean_text(v)) for k, v in form.items(multi=True))
        for f in (d.get("files") or MultiDict()).values():
            if isinstance(f, FileStorage) and f.filename:
                f.filename = clean_text(f.filename)


class BoundedIntConverter(IntegerConverter):
    """``<int:…>`` bounded to what a database integer column holds: larger segments do not match."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value.lstrip("-+0")) > 10:  # also spares int() Python's 4,300-digit refusal
            raise ValidationError()
        return super().to_python(value)


def check_request(request: flask.Request) -> None:
    """Refuse NUL in the path, query and headers; refuse JSON nested too deeply. Runs first."""
    if "\x00" in request.path:
        raise BadInput(_("The address contains a NUL character."),
                       {"path": [_("NUL characters are not allowed.")]})
    errors: dict[str, list[str]] = {}
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            errors[clean_text(key) or "query"] = [_("NUL characters are not allowed.")]
    for key, value in request.headers.items():
        if "\x00" in value:
            errors[key] = [_("NUL characters are not allowed.")]
    if errors:
        raise BadInput(_("A parameter contains a NUL character."), errors)
    if request.mimetype in _FORM_TYPES or not request.content_length and not request.headers.get(
            "Transfer-Encoding"):
        return
    raw = request.get_data(cache=True)
    if _JSON_START.match(raw):
        if len(raw) > MAX_JSON_BYTES:
            raise too_large()
        if json_depth_exceeds(raw):
            raise too_deep()


def out_of_range_integers(value: Any, path: str = "") -> dict[str, list[str]]:
    """Field paths of integers outside the accepted range (:data:`INT_MIN`..:data:`INT_MAX`)."""
    found: dict[str, list[str]] = {}
    if isinstance(value, bool):
        return found
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            found[path or "value"] = [_("Must be between %(lo)d and %(hi)d.", lo=INT_MIN, hi=INT_MAX)]
    elif isinstance(value, dict):
        for k, v in value.items():
            found.update(out_of_range_integers(v, f"{path}.{k}" if path else str(k)))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found.update(out_of_range_integers(v, f"{path}.{i}" if path else str(i)))
    return found


def bound_integers(schema) -> None:
    """Give every integer field of a marshmallow schema (nested ones too) without an upper or lower
    bound the database's (:data:`INT_MIN`..:data:`INT_MAX`), so an overflow is reported with the
    schema's other field messages."""
    import marshmallow as ma

    from .i18n import _l

    if getattr(schema, "_aduan_bounded", False):
        return
    with _BOUND_LOCK:  # the first requests of a new process may race here
        if getattr(schema, "_aduan_bounded", False):
            return
        for f in schema.fields.values():
            _bound_field(f, ma, _l)
        schema._aduan_bounded = True


_BOUND_LOCK = threading.RLock()


def _bound_field(f, ma, _l) -> None:
    if isinstance(f, ma.fields.Integer):
        ranges = [v for v in f.validators if isinstance(v, ma.validate.Range)]
        lo = None if any(r.min is not None for r in ranges) else INT_MIN
        hi = None if any(r.max is not None for r in ranges) else INT_MAX
        if lo is not None or hi is not None:
            f.validators = [*f.validators, ma.validate.Range(
                min=lo, max=hi, error=_l("Must be an integer from {min} to {max}.")
                if lo is not None and hi is not None else None)]
    elif isinstance(f, ma.fields.Nested):
        nested = f.schema
        if isinstance(nested, ma.Schema):
            bound_integers(nested)
    elif isinstance(f, ma.fields.List):
        _bound_field(f.inner, ma, _l)
    elif isinstance(f, ma.fields.Tuple):
        for inner in f.tuple_fields:
            _bound_field(inner, ma, _l)
    elif isinstance(f, ma.fields.Dict) and f.value_field is not None:
        _bound_field(f.value_field, ma, _l)


class EdgeParser(FlaskParser):
    """webargs' Flask parser with the edge's JSON loader and integer bounds
    (:class:`aduan.api.parser.AduanParser` adds translated field messages on top)."""

    _schemas: dict = {}

    def _get_schema(self, argmap, req):
        # ``@blp.arguments(SomeSchema)`` hands webargs the class, which it instantiates on every
        # request (with its nested schemas and the integer bounds): one instance per class serves
        # every request (marshmallow schemas keep no state between loads).
        if isinstance(argmap, type):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = super()._get_schema(argmap, req)
                bound_integers(schema)
                self._schemas[argmap] = schema
            return schema
        schema = super()._get_schema(argmap, req)
        bound_integers(schema)
        return schema

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return webargs_core.missing
        raw = req.get_data(cache=True)
        if not raw:
            return webargs_core.missing
        return loads(raw)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        webargs_abort(400, exc=error, messages={"json": [_("Not valid JSON.")]},
                      message=_("The request body is not valid JSON."))

    def parse(self, argmap, req=None, *, location=None, unknown=webargs_core._UNKNOWN_DEFAULT_PARAM,
              validate=None, error_status_code=None, error_headers=None):
        data = super().parse(argmap, req, location=location, unknown=unknown, validate=validate,
                             error_status_code=error_status_code, error_headers=error_headers)
        bad = out_of_range_integers(data)  # a safety net: bound_integers already covers schemas
        if bad:
            webargs_abort(error_status_code or self.DEFAULT_VALIDATION_STATUS,
                          messages={location or self.location: bad})
        return data


def install_parser() -> None:
    """Make every flask-smorest blueprint (core and plugins) parse its arguments through the edge.

    Called when :mod:`aduan` is imported, so it precedes every ``@blp.arguments`` of the core and of
    plugins (which import :mod:`aduan` first); :mod:`aduan.api.parser` then installs its subclass.
    """
    from flask_smorest.arguments import ArgumentsMixin

    if not isinstance(ArgumentsMixin.ARGUMENTS_PARSER, EdgeParser):
        ArgumentsMixin.ARGUMENTS_PARSER = EdgeParser()
