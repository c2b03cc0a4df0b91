"""The import job: the whole file cleaned, then written in one transaction (all or nothing).

1. Claim the import (queued -> running) and read every line of the file.
2. Plan by email, before cleaning the rest: a line whose email repeats an earlier line's is skipped
   (skip mode keeps the first line, update mode the last), and one whose email is already a record
   is skipped or becomes an update of only the imported columns.
3. Clean the remaining lines in batches with the record form's own rules; a line with an error is
   reported with its line number and not imported; the others are written in bulk SQL.
4. Commit records, error lines and the summary together. Any failure rolls everything back, so the
   import is failed with a reason in plain words and nothing was imported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from saas.auth.models import User
from saas.auth.tenants import current_tenant
from saas.extensions import db
from saas.i18n import _, ngettext, speaking
from saas.imports.bulk import BATCH, JOB, RECORD, Progress, RecordWriter, Superseded, chunks
from saas.imports.csvfile import N_, CsvProblem, data_lines, decode, unguarded
from saas.imports.mapping import importable_fields
from saas.imports.models import DuplicateMode, ImportJob, ImportStatus
from saas.records.fields import Field
from saas.records.models import Record
from saas.records.services import cleaning_context
from saas.records.validation import Context, clean_values
from saas.segments.membership import refresh_records
from saas.tenancy import tenant_context
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
IN_CHUNK = 1000
# Stored in English and translated when shown (the other reasons and the line errors are
# written in the language of the person who started the import: the run speaks it).
UNEXPECTED = N_("Something went wrong on our side while importing; nothing was imported. "
                "Start it again; if it fails again, contact support.")


class ImportFailed(Exception):  # noqa: N818 - the outcome's name in the product
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def run_import(import_id: int, tenant_id: int, language: str | None = None) -> None:
    """RQ entry point (ids in); does nothing unless the import is queued: repeats are harmless.

    The run speaks `language` (the page that started it), else the starter's own choice, else
    the workspace's: its line errors and failure reasons are stored as that person reads them.
    """
    with tenant_context(tenant_id):
        started_at = _claim(import_id)
        if started_at is None:
            return
        with speaking(*_languages(import_id, language)):
            _run(import_id, tenant_id, started_at)


def _languages(import_id: int, language: str | None) -> tuple[str | None, str | None]:
    """The language to speak, and the workspace's as the fallback."""
    if language is None:
        language = db.session.execute(
            select(User.language).join(ImportJob, ImportJob.created_by_id == User.id)
            .where(ImportJob.id == import_id)).scalar_one_or_none()
    return language, current_tenant().language


def _run(import_id: int, tenant_id: int, started_at: datetime) -> None:
    try:
        with Progress(db.engine, import_id=import_id, tenant_id=tenant_id,
                      started_at=started_at) as progress:
            ImportRun(import_id, started_at, progress).run()
    except Superseded:
        db.session.rollback()
    except ImportFailed as failure:
        db.session.rollback()
        _fail(import_id, started_at, failure.reason)
    except Exception:
        db.session.rollback()
        log.exception("import %s failed", import_id)
        _fail(import_id, started_at, UNEXPECTED)
        raise


def _claim(import_id: int) -> datetime | None:
    """queued -> running; the start time identifies this run in every later write."""
    now = utcnow()
    result = db.session.execute(
        update(ImportJob).where(ImportJob.id == import_id,
                                ImportJob.status == ImportStatus.QUEUED.value)
        .values(status=ImportStatus.RUNNING.value, started_at=now, heartbeat_at=now,
                finished_at=None, failure_reason=None, processed_rows=0,
                created_count=0, updated_count=0, skipped_count=0, error_count=0)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return now if result.rowcount == 1 else None


def _fail(import_id: int, started_at: datetime, reason: str) -> None:
    db.session.execute(
        update(ImportJob).where(ImportJob.id == import_id, ImportJob.started_at == started_at,
                                ImportJob.status == ImportStatus.RUNNING.value)
        .values(status=ImportStatus.FAILED.value, failure_reason=reason, finished_at=utcnow(),
                created_count=0, updated_count=0, skipped_count=0, error_count=0)
        .execution_options(synchronize_session=False))
    db.session.commit()


@dataclass(slots=True)
class Line:
    number: int
    cells: list[str]
    email: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    action: str = "create"  # create | update | skip
    record_id: int | None = None


class ImportRun:
    """One run of one import, inside the job's transaction (see the module's docstring)."""

    def __init__(self, import_id: int, started_at: datetime, progress: Progress):
        self.job = db.session.execute(
            select(ImportJob).where(ImportJob.id == import_id)).scalar_one()
        self.started_at, self.progress = started_at, progress
        self.update_mode = self.job.duplicate_mode == DuplicateMode.UPDATE
        self.skipped = 0

    def run(self) -> None:
        job = self.job
        if job.record_type not in current_tenant().record_types:
            raise ImportFailed(_("Opportunities are no longer enabled in this workspace; "
                                 "nothing was imported."))
        self.fields = importable_fields(job.record_type)
        self.columns = {int(index): key for index, key in job.mapping.items()}
        gone = [key for key in self.columns.values() if key not in self.fields]
        if gone:
            raise ImportFailed(_("A field chosen for a column was removed from the settings; "
                                 "nothing was imported. Upload the file again and choose the "
                                 "columns."))
        self.rest = {k: f for k, f in self.fields.items() if k != "email"}
        self.ctx: Context = cleaning_context()
        lines = self._read()
        self.progress.total(len(lines))
        self._plan(lines)
        conn = db.session.connection()
        writer = RecordWriter(conn, tenant_id=job.tenant_id, import_id=job.id,
                              record_type=job.record_type, now=utcnow())
        errors, done = 0, 0
        for batch in chunks(lines, BATCH):
            errors += self._clean(batch, writer)
            writer.flush()
            done += len(batch)
            self.progress.processed(done)
        writer.flush(final=True)
        self._update_segments(writer.now)
        self._finish(len(lines), writer, errors)

    def _update_segments(self, written_at: datetime) -> None:
        """Live membership: the records this run wrote join or leave segments, same commit."""
        touched = db.session.execute(select(Record.id).where(
            Record.record_type == self.job.record_type, Record.updated_at == written_at)
        ).scalars().all()
        refresh_records(touched)

    def _read(self) -> list[Line]:
        content = db.session.execute(
            select(ImportJob.content).where(ImportJob.id == self.job.id)).scalar_one()
        try:
            text = decode(content)
            return [Line(number, cells) for number, cells in data_lines(text, self.job.delimiter)]
        except CsvProblem as problem:
            raise ImportFailed(_("%(problem)s Nothing was imported.", problem=problem)) from None

    def _plan(self, lines: list[Line]) -> None:
        """Emails cleaned first: they decide which lines are skipped, created or updated."""
        email_column = next((i for i, key in self.columns.items() if key == "email"), None)
        if email_column is None:
            return
        only_email = {"email": self.fields["email"]}
        chosen: dict[str, Line] = {}
        for n, line in enumerate(lines, 1):
            raw = line.cells[email_column].strip() if email_column < len(line.cells) else ""
            if raw:
                values, errors = clean_values({"email": raw}, only_email, self.job.record_type,
                                              self.ctx, partial=True)
                line.errors.update(errors)
                line.email = values.get("email")
            if line.email:
                earlier = chosen.get(line.email)
                if earlier is None or self.update_mode:
                    if earlier is not None:
                        earlier.action = "skip"  # update mode: the later line wins
                    chosen[line.email] = line
                else:
                    line.action = "skip"  # skip mode: the first line wins
            if n % 5000 == 0:
                self.progress.beat()
        existing = self._existing(list(chosen))
        for email, line in chosen.items():
            if email in existing:
                line.action, line.record_id = (("update", existing[email]) if self.update_mode
                                               else ("skip", None))

    def _existing(self, emails: list[str]) -> dict[str, int]:
        """Record ids by email, a thousand emails a query.

        On PostgreSQL each email is looked up on its own through the unique index: right after
        a large import the table has no statistics yet, and a plain `email IN (...)` was then
        planned as a scan of the tenant's records per query (minutes for 100,000 emails).
        """
        tenant_id, record_type = self.job.tenant_id, self.job.record_type
        found: dict[str, int] = {}
        for batch in chunks(emails, IN_CHUNK):
            if db.engine.dialect.name == "postgresql":
                wanted = func.unnest(bindparam("emails", list(batch), type_=ARRAY(String))) \
                    .table_valued("email").render_derived(name="wanted")
                record_id = select(RECORD.c.id).where(
                    RECORD.c.tenant_id == tenant_id, RECORD.c.record_type == record_type,
                    RECORD.c.email == wanted.c.email).scalar_subquery()
                stmt = select(wanted.c.email, record_id)
            else:
                stmt = select(RECORD.c.email, RECORD.c.id).where(
                    RECORD.c.tenant_id == tenant_id, RECORD.c.record_type == record_type,
                    RECORD.c.email.in_(batch))
            found.update({email: record_id for email, record_id in db.session.execute(stmt)
                          if record_id is not None})
        return found

    def _clean(self, batch, writer: RecordWriter) -> int:
        """Clean and hand over one batch; returns how many of its lines had errors."""
        errors = 0
        width = len(self.job.headers)
        for line in batch:
            if line.action == "skip":
                self.skipped += 1
                continue
            cells = line.cells
            raw = {key: unguarded(cells[i]) if i < len(cells) else ""
                   for i, key in self.columns.items()
                   if key != "email"}
            partial = line.action == "update"
            values, problems = clean_values(raw, self.rest, self.job.record_type, self.ctx,
                                            partial=partial)
            problems.update(line.errors)
            extra = len(cells) > width and any(c.strip() for c in cells[width:])
            if problems or extra:
                writer.error(line.number, self._message(problems, len(cells) if extra else 0))
                errors += 1
            elif partial:
                writer.update(line.record_id, values)
            else:
                writer.create({**values, "email": line.email})
        return errors

    def _message(self, problems: dict[str, str], cells: int) -> str:
        """“Field label: what is wrong” for each problem, in the fields' order."""
        columns = len(self.job.headers)
        parts = [ngettext("This line has %(values)s values but the header names %(num)d column "
                          "(a missing quote or an extra separator?)",
                          "This line has %(values)s values but the header names %(num)d columns "
                          "(a missing quote or an extra separator?)", columns, values=cells)
                 ] if cells else []
        parts += [_("%(field)s: %(problem)s", field=self._label(key), problem=problems[key])
                  for key in sorted(problems, key=self._position)]
        return "; ".join(parts)

    def _label(self, key: str) -> str:
        f: Field | None = self.fields.get(key)
        return f.label if f else key.replace("_", " ").capitalize()

    def _position(self, key: str) -> int:
        keys = list(self.fields)
        return keys.index(key) if key in keys else len(keys)

    def _finish(self, total: int, writer: RecordWriter, errors: int) -> None:
        """Summary and records commit together, only if this run still owns the import."""
        result = db.session.connection().execute(
            update(JOB).where(JOB.c.id == self.job.id, JOB.c.tenant_id == self.job.tenant_id,
                              JOB.c.status == ImportStatus.RUNNING.value,
                              JOB.c.started_at == self.started_at)
            .values(status=ImportStatus.COMPLETED.value, total_rows=total, processed_rows=total,
                    created_count=writer.created, updated_count=writer.updated,
                    skipped_count=self.skipped + writer.conflicts, error_count=errors,
                    finished_at=utcnow(), heartbeat_at=utcnow(), content=b""))
        if result.rowcount != 1:
            raise Superseded()
        db.session.commit()
