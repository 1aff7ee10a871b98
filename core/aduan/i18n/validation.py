"""Field error messages of marshmallow and webargs, in the reader's language.

marshmallow and webargs write their default messages in English ("Missing data for required
field.", "Not a valid integer.", "Shorter than minimum length 2."...). Rather than patch the
libraries' classes, the messages are translated in one central place, on the way out: the request
parser installed by :mod:`aduan.api` (for the core's and every plugin's flask-smorest routes) hands
each validation error to :func:`translate_messages`, which maps every English default — exactly,
or through its template for messages with values such as ``{min}`` or ``{choices}`` — to the
catalogue's text in the current language. Messages the code wrote itself are already translated
(``_()`` / ``_l()``) and pass through unchanged.

The list below must hold every default message of the installed marshmallow and webargs; a test
compares it with the libraries so an upgrade that adds a message fails until it is listed here.
Messages keep marshmallow's ``{name}`` placeholders (translators keep them as they are).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from . import N_, gettext


#: Every English default message of marshmallow (fields, validators, schemas) and webargs.
MESSAGES: tuple[str, ...] = (
    # fields
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Invalid type."),
    N_("Not a valid boolean."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid list."),
    N_("Not a valid tuple."),
    N_("Not a valid mapping type."),
    N_("Not a valid email address."),
    N_("Not a valid URL."),
    N_("Not a valid UUID."),
    N_("Not a valid IP address."),
    N_("Not a valid IP interface."),
    N_("Not a valid IPv4 address."),
    N_("Not a valid IPv4 interface."),
    N_("Not a valid IPv6 address."),
    N_("Not a valid IPv6 interface."),
    N_("Not a valid period of time."),
    N_("Not a valid date."),
    N_("Not a valid datetime."),
    N_("Not a valid time."),
    N_("Not a valid aware datetime."),
    N_("Not a valid naive datetime."),
    N_("Not a valid aware time."),
    N_("Not a valid naive time."),
    N_("Not a valid {awareness} {obj_type}."),
    N_("Not a valid {obj_type}."),
    N_("\"{input}\" cannot be formatted as a date."),
    N_("\"{input}\" cannot be formatted as a datetime."),
    N_("\"{input}\" cannot be formatted as a time."),
    N_("\"{input}\" cannot be formatted as a {obj_type}."),
    N_("{input!r} cannot be formatted as a timedelta."),
    # validators
    N_("Must be one of: {choices}."),
    N_("One or more of the choices you made was in: {values}."),
    N_("One or more of the choices you made was not in: {choices}."),
    N_("Must be equal to {other}."),
    N_("Shorter than minimum length {min}."),
    N_("Longer than maximum length {max}."),
    N_("Length must be between {min} and {max}."),
    N_("Length must be {equal}."),
    N_("Invalid input."),
    N_("String does not match expected pattern."),
    N_("Must be greater than or equal to {min}."),
    N_("Must be greater than {min}."),
    N_("Must be less than or equal to {max}."),
    N_("Must be less than {max}."),
    N_("Must be greater than or equal to {min} and less than or equal to {max}."),
    N_("Must be greater than or equal to {min} and less than {max}."),
    N_("Must be greater than {min} and less than or equal to {max}."),
    N_("Must be greater than {min} and less than {max}."),
    # schemas
    N_("Invalid input type."),
    N_("Unknown field."),
    # webargs
    N_("Invalid JSON body."),
    N_("Not a valid delimited list."),
    N_("Not a valid delimited tuple."),
)

_FIELD = re.compile(r"\{(\w+)(![rsa])?\}")


def _pattern(template: str) -> re.Pattern | None:
    if not _FIELD.search(template):
        return None
    out, pos = [], 0
    for m in _FIELD.finditer(template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>.+?)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("^" + "".join(out) + "$", re.S)


@lru_cache(maxsize=1)
def _tables() -> tuple[frozenset[str], list[tuple[re.Pattern, str]]]:
    exact = frozenset(m for m in MESSAGES if not _FIELD.search(m))
    # the most specific template first: "Must be greater than {min} and less than {max}." before
    # "Must be greater than {min}." (whose placeholder would swallow the rest)
    patterns = sorted(((p, m) for m in MESSAGES if (p := _pattern(m)) is not None),
                      key=lambda pm: -len(_FIELD.sub("", pm[1])))
    return exact, patterns


def translate_message(message: str) -> str:
    """One marshmallow/webargs message in the current language (other texts are returned as they are)."""
    if not isinstance(message, str):
        return str(message)
    exact, patterns = _tables()
    if message in exact:
        return gettext(message)
    for pattern, template in patterns:
        m = pattern.match(message)
        if m:
            translated = gettext(template)
            values = m.groupdict()
            # the values were already rendered (repr included): put them back as they were
            return _FIELD.sub(lambda f: values.get(f.group(1), f.group(0)), translated)
    return message


def translate_messages(messages: Any) -> Any:
    """Every message of a (nested) marshmallow error structure, translated; keys stay as they are."""
    if isinstance(messages, dict):
        return {k: translate_messages(v) for k, v in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [translate_messages(v) for v in messages]
    if isinstance(messages, str):
        return translate_message(messages)
    if messages is None or isinstance(messages, (int, float, bool)):
        return messages
    return translate_message(str(messages))  # a lazy string
