"""The request parser of every flask-smorest route (the core's and the plugins'): webargs'
``FlaskParser`` whose validation errors come out in the reader's language.

flask-smorest reads its parser from ``Blueprint.ARGUMENTS_PARSER`` (its documented customisation
point); :func:`install` sets ours there once, so a plugin's plain ``flask_smorest.Blueprint`` gets
it too. Field messages are translated by :func:`aduan.i18n.validation.translate_messages`.
"""
from __future__ import annotations

import typing

from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser, abort

from ..i18n import gettext
from ..i18n.validation import translate_messages


class AduanParser(FlaskParser):
    """webargs' Flask parser with field messages in the current language."""

    def handle_error(self, error, req, schema, *, error_status_code, error_headers) -> typing.NoReturn:
        error.messages = translate_messages(error.messages)
        super().handle_error(error, req, schema, error_status_code=error_status_code, error_headers=error_headers)

    def _handle_invalid_json_error(self, error, req, *args, **kwargs) -> typing.NoReturn:
        abort(400, exc=error, messages={"json": [gettext("Invalid JSON body.")]})


PARSER = AduanParser()


def _translated_error(error, req, schema, *, error_status_code, error_headers) -> typing.NoReturn:
    PARSER.handle_error(error, req, schema, error_status_code=error_status_code, error_headers=error_headers)


def install() -> None:
    """Make :data:`PARSER` the parser of every flask-smorest blueprint in this process.

    A route decorated before this ran (a plugin module imported early) holds flask-smorest's shared
    default parser: its validation errors are routed through ours too (webargs' documented
    ``error_handler`` registration), so import order does not matter.
    """
    default = Blueprint.ARGUMENTS_PARSER
    if default is not PARSER:
        default.error_handler(_translated_error)
    Blueprint.ARGUMENTS_PARSER = PARSER
