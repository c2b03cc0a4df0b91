"""Reading an uploaded CSV file: encoding, separator, header, data lines with their numbers.

Line numbers are the file's physical lines with the header as line 1, so a person can find a line
in a text editor; a record whose quoted cell spans several lines is numbered by its first line.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator

from saas.i18n import _, _l

MAX_BYTES = 50 * 1024 * 1024


def N_(text: str) -> str:  # noqa: N802 - gettext's name for "extract, translate when shown"
    """Mark an English message stored as it is (a failure reason) and translated when shown."""
    return text


TOO_LARGE = _l("This file is larger than 50 MB. Split it into smaller files and import them one "
               "after the other.")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SAVE_AS_UTF8 = _l("Save it as “CSV UTF-8” in your spreadsheet program (Excel: File → Save as "
                  "→ CSV UTF-8) and upload it again.")


class CsvProblem(ValueError):
    """The file cannot be read as CSV; the message says why and what to do."""


def decode(content: bytes) -> str:
    """The file as text: UTF-8 with or without a byte order mark, or a message saying why not."""
    if content.startswith(b"PK\x03\x04"):
        raise CsvProblem(_("This is a spreadsheet workbook (.xlsx), not a CSV file. %(advice)s",
                           advice=SAVE_AS_UTF8))
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvProblem(_("This file is UTF-16 text, not UTF-8. %(advice)s", advice=SAVE_AS_UTF8))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = content[:error.start].count(b"\n") + 1
        raise CsvProblem(_("This file is not UTF-8 text (line %(line)s has characters in another "
                           "encoding). %(advice)s", line=line, advice=SAVE_AS_UTF8)) from None
    if "\x00" in text:
        raise CsvProblem(_("This file contains binary data, not text. %(advice)s",
                           advice=SAVE_AS_UTF8))
    return text


def detect_separator(text: str) -> str:
    """`;` or `,`: whichever the header line uses more (Excel in many locales writes `;`)."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _reader(text: str, separator: str):
    # strict: a quote left open or text after a closing quote is an error naming the line,
    # rather than the rest of the file silently read into one cell.
    return csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)


def read_header(text: str, separator: str) -> list[str]:
    """The column names of the first line (blank names become “Column N”)."""
    try:
        header = next(_reader(text, separator), [])
    except csv.Error as error:
        raise CsvProblem(_("The first line could not be read as CSV: %(reason)s.",
                           reason=error)) from None
    if not any(cell.strip() for cell in header):
        raise CsvProblem(_("The first line must name the columns (e.g. First name, Last name, "
                           "Email); it is empty."))
    return [cell.strip() or _("Column %(number)s", number=n) for n, cell in enumerate(header, 1)]


def data_lines(text: str, separator: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every data line after the header; blank lines are left out.

    Raises CsvProblem naming the line when the csv module cannot read it.
    """
    reader = _reader(text, separator)
    previous_end, header_done = 0, False
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise CsvProblem(_("Line %(line)s could not be read as CSV (%(reason)s). Check its "
                               "quotes, save the file again and upload it.",
                               line=previous_end + 1, reason=error)) from None
        start, previous_end = previous_end + 1, reader.line_num
        if not header_done:
            header_done = True
            continue
        if not any(cell.strip() for cell in cells):
            continue
        yield start, cells


def preview(text: str, separator: str, count: int = 5) -> list[list[str]]:
    """The first data lines' cells, for the mapping page (a broken line ends the preview)."""
    rows: list[list[str]] = []
    try:
        for __, cells in data_lines(text, separator):
            rows.append(cells)
            if len(rows) == count:
                break
    except CsvProblem:
        pass
    return rows


def normalise(name: str) -> str:
    """A column name or field label reduced for matching: no accents, case or punctuation."""
    decomposed = unicodedata.normalize("NFKD", name)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", " ", plain.lower()).strip()


def unguarded(value: str) -> str:
    """A cell without the apostrophe our export (and spreadsheets) put before = + - @, so an
    exported file imports back as it was (e.g. a negative value written as '-100)."""
    if value[:1] == "'" and value[1:2] in ("=", "+", "-", "@"):
        return value[1:]
    return value


def safe_cell(value: str) -> str:
    """Keep spreadsheet programs from running a cell of a downloaded file as a formula."""
    return "'" + value if value.startswith(FORMULA_START) else value


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """A downloadable CSV (with a BOM so Excel reads it as UTF-8), a few hundred lines a chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield "\ufeff" + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(rows, 1):
        writer.writerow([safe_cell(str(cell)) for cell in row])
        if n % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
