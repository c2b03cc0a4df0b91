"""The read side of imports: the list, a file's first lines, the error lines."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select

from saas.extensions import db
from saas.imports.csvfile import CsvProblem, decode, preview
from saas.imports.models import ImportError_, ImportJob
from saas.web.pagination import Page, keyset_page

SHOWN_ERRORS = 100


def imports_page(*, after: str | None = None) -> Page:
    """Newest first (ids only grow), 50 a page."""
    return keyset_page(select(ImportJob), [ImportJob.id], after, descending=True,
                       cursor_of=lambda job: (job.id,))


def preview_lines(job: ImportJob, count: int = 5) -> list[list[str]]:
    try:
        return preview(decode(job.content), job.delimiter, count)
    except CsvProblem:
        return []


def first_errors(import_id: int, limit: int = SHOWN_ERRORS) -> list[ImportError_]:
    return list(db.session.execute(
        select(ImportError_).where(ImportError_.import_id == import_id)
        .order_by(ImportError_.line).limit(limit)).scalars())


def error_lines(import_id: int) -> Iterator[tuple[int, str]]:
    """Every error line of an import, in file order, fetched a thousand at a time."""
    rows = db.session.execute(
        select(ImportError_.line, ImportError_.message)
        .where(ImportError_.import_id == import_id).order_by(ImportError_.line)
        .execution_options(yield_per=1000))
    yield from rows
