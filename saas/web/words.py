"""Counts in messages people read, in the viewer's language (gettext plurals)."""

from __future__ import annotations

from saas.i18n import ngettext
from saas.web.numbers import format_number


def records(count: int) -> str:
    """'one record' or '1,234 records' ("un enregistrement", "1 234 enregistrements").

    Prefer one msgid per whole sentence with `ngettext` in new code: this phrase only serves
    callers that still put it inside a sentence of their own."""
    return ngettext("one record", "%(count)s records", count, count=format_number(count))
