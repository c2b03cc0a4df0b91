"""The input boundary for query strings and form fields.

Every parameter the app receives passes through `CleanParameters`: NUL and the other C0 control
characters (all but tab, line feed and carriage return) are removed from names and values as
the request is parsed, before any view, form or service sees them. PostgreSQL refuses NUL in text
("a 500 from a search box"), and no field of ours means anything by a control character.

The helpers below are the only readers of `request.args`, `request.form` and `request.values`
(tests/test_no_raw_request.py fails when another module reads them):

- query strings (`*_arg`): a value outside its range or set is treated as absent, never passed
  on; free text is cut to its bound (a search box);
- form fields without a WTForms form (`form_*`): text longer than its bound is refused with a
  400 naming the field (the bound is the column's, or above the service's own check where that
  check answers with a message in the page); ids and choices out of range are absent;
- `next_arg`/`next_field`: a `next` only through `safe_next`;
- `query_fields`/`form_fields`: the cleaned parameters whole, for the few parsers of their own
  that check every value they read (the list in tests/test_no_raw_request.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask import Flask, Request, abort, request
from werkzeug.datastructures import FileStorage, ImmutableMultiDict, MultiDict

from saas.i18n import _
from saas.web.ids import BIGINT_MAX, INT_MAX, parse_id, parse_ids
from saas.web.numbers import format_number
from saas.web.safe_url import safe_next

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
MAX_TEXT = 200  # the default bound of a free-text query parameter (search boxes)
MAX_LINE = 10_000  # the default bound of a one-line form field (the services check tighter)
MAX_DESCRIPTION = 10_000  # a description typed into a textarea (a Text column)
MAX_CURSOR = 2_000  # characters of a keyset cursor (pagination checks it further)
MAX_IDS = 10_000  # ids in one bulk action (a page of selections, or "select all" on a list)


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


# --- query strings -----------------------------------------------------------------------------

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


def exact_arg(name: str, max_length: int, default: str = "") -> str:
    """A query parameter as sent (a signed value: a URL, an address), or `default` when absent
    or longer than `max_length`: never cut, so a signature checked over it stays meaningful."""
    value = request.args.get(name)
    return value if value is not None and len(value) <= max_length else default


def bool_arg(name: str, true: str = "1") -> bool:
    """A flag in the query string: True only when the parameter is exactly `true`."""
    return request.args.get(name) == true


def cursor_arg(name: str = "after") -> str | None:
    """A keyset cursor, bounded here and checked by saas/web/pagination.py (signature, types)."""
    value = request.args.get(name) or None
    return value if value is None or len(value) <= MAX_CURSOR else None


def next_arg() -> str | None:
    """`?next=` when it is a path on this site (saas/web/safe_url.py), else None."""
    return safe_next(request.args.get("next"))


def query_fields() -> MultiDict:
    """The cleaned query string whole, for a parser that checks every value it reads."""
    return request.args


# --- form fields without a WTForms form -------------------------------------------------------

def form_text(name: str, max_length: int = MAX_LINE, default: str | None = "", *,
              cut: bool = False) -> str | None:
    """A form field's text as sent (not stripped), `default` when absent. Longer than
    `max_length`: a 400 naming the field, or with `cut` (webhooks, which answer providers and
    keep what fits) the first `max_length` characters."""
    value = request.form.get(name)
    if value is None:
        return default
    if len(value) > max_length:
        if cut:
            return value[:max_length]
        abort(400, description=_("The field “%(name)s” is too long: at most %(max)s "
                                 "characters.", name=name[:40], max=format_number(max_length)))
    return value


def form_choice(name: str, choices: Iterable[str], default: str = "") -> str:
    """A form field that must be one of `choices`; anything else is `default`."""
    value = request.form.get(name, default)
    return value if value in set(choices) else default


def form_bool(name: str, true: str = "on") -> bool:
    """A checkbox: True only when the field is exactly `true`."""
    return request.form.get(name) == true


def form_id(name: str, limit: int = INT_MAX) -> int | None:
    """An object id from a form field, or None when absent or not a valid id."""
    return parse_id(request.form.get(name), limit)


def form_ids(name: str = "ids", limit: int = BIGINT_MAX) -> list[int]:
    """The valid ids among a repeated form field (at most MAX_IDS of them are read)."""
    return parse_ids(request.form.getlist(name)[:MAX_IDS], limit)


def next_field() -> str | None:
    """A form's `next` when it is a path on this site (saas/web/safe_url.py), else None."""
    return safe_next(request.form.get("next"))


def form_fields() -> MultiDict:
    """The cleaned form whole, for a parser that checks every field it reads."""
    return request.form
