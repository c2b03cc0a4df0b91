"""The input boundary for query strings and form fields.

Every parameter the app receives passes through `CleanParameters`: NUL and the other C0 control
characters (all but tab, line feed and carriage return) are removed from names and values as
the request is parsed, before any view, form or service sees them. PostgreSQL refuses NUL in text
("a 500 from a search box"), and no field of ours means anything by a control character.

The helpers below read typed, bounded values from a query string (`request.args`): a value
outside its range or set is treated as absent, never passed on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask import Flask, Request, request
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict

from saas.web.ids import INT_MAX, parse_id

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_TEXT = 200  # the default bound of a free-text query parameter (search boxes)


def clean_text(value: str) -> str:
    """`value` without NUL and the other C0 controls (tab and line breaks are kept)."""
    return _CONTROLS.sub("", value)


def _clean(value):
    return clean_text(value) if isinstance(value, str) else value


def _pairs(mapping) -> Iterable:
    if mapping is None:
        return ()
    if isinstance(mapping, MultiDict):
        return mapping.items(multi=True)
    if isinstance(mapping, Mapping):
        return ((k, v) for k, vs in mapping.items()
                for v in (vs if isinstance(vs, list | tuple) else [vs]))
    return mapping


class CleanParameters(ImmutableMultiDict):
    """The parameter storage of every request: keys and text values cleaned of C0 controls."""

    def __init__(self, mapping=None):
        super().__init__([(_clean(k), v if isinstance(v, FileStorage) else _clean(v))
                          for k, v in _pairs(mapping)])


class BoundaryRequest(Request):
    parameter_storage_class = CleanParameters


def install(app: Flask) -> None:
    app.request_class = BoundaryRequest


def text_arg(name: str, max_length: int = MAX_TEXT) -> str:
    """A free-text query parameter, stripped and cut to `max_length` characters."""
    return (request.args.get(name) or "").strip()[:max_length]


def choice_arg(name: str, choices: Iterable[str], default: str = "") -> str:
    """A query parameter that must be one of `choices`; anything else is `default`."""
    value = request.args.get(name, default)
    return value if value in set(choices) else default


def int_arg(name: str, low: int = 0, high: int = INT_MAX, default: int | None = None
            ) -> int | None:
    """A whole number in [low, high] (ASCII digits, optional minus), else `default`."""
    text = (request.args.get(name) or "").strip()
    body = text[1:] if text.startswith("-") else text
    if not body or len(body) > 19 or not (body.isascii() and body.isdigit()):
        return default
    number = int(text)
    return number if low <= number <= high else default


def id_arg(name: str, limit: int = INT_MAX) -> int | None:
    """An object id from the query string, or None when absent or not a valid id."""
    return parse_id(request.args.get(name), limit)
