"""CSV export of a filtered list, streamed; its headers are the fields' English labels, which the
import matches whatever the language of the person importing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from saas.records.fields import OWNER, fields_for
from saas.records.queries import ListQuery, iter_records, owner_emails

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str, kind: str) -> str:
    """Keep spreadsheet programs from running a cell as a formula (CSV injection).

    E.164 phone numbers (+ and digits) are left alone: they are not formulas.
    """
    if value.startswith(FORMULA_START) and not (kind == "phone" and value[1:].isdigit()):
        return "'" + value
    return value


def csv_lines(query: ListQuery) -> Iterator[str]:
    """The header line first (filters are compiled by then), then one line per record."""
    fields = list(fields_for(query.record_type).values())
    emails = owner_emails()
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([f.header for f in fields])  # English: the import matches it anywhere
    records = iter_records(query)
    yield "\ufeff" + flush()
    for n, record in enumerate(records, 1):
        row = []
        for f in fields:
            value = f.value_of(record)
            if f.kind == OWNER:
                value = emails.get(value, "")
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            row.append(safe_cell("" if value is None else str(value), f.kind))
        writer.writerow(row)
        if n % 500 == 0:
            yield flush()
    yield flush()
