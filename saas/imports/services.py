"""State changes of imports: upload, choose the columns and start, start again, reap the stale."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from flask import current_app, has_request_context
from flask_babel import get_locale
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import delete, select, update

from saas.admin import audit
from saas.auth.tenants import current_tenant
from saas.errors import ServiceError
from saas.extensions import db, get_redis
from saas.i18n import _
from saas.imports.csvfile import (
    MAX_BYTES,
    N_,
    TOO_LARGE,
    CsvProblem,
    data_lines,
    decode,
    detect_separator,
    read_header,
)
from saas.imports.job import run_import
from saas.imports.mapping import importable_fields, mapping_problem
from saas.imports.models import DuplicateMode, ImportError_, ImportJob, ImportStatus
from saas.records.models import RecordType
from saas.timeutil import utcnow

log = logging.getLogger(__name__)
QUEUE = "default"
JOB_TIMEOUT = 3600
# Stored in English by the tick (no one's language there) and translated when shown.
INTERRUPTED = N_("The import was interrupted; nothing was imported. Start it again.")


def _check_type(record_type: str) -> None:
    if record_type not in current_tenant().record_types:
        if record_type == RecordType.OPPORTUNITY:
            message = _("Opportunities are not enabled in this workspace; import leads.")
        else:
            message = _("These records are not enabled in this workspace; import leads.")
        raise ServiceError(message, "record_type")


def create_import(*, record_type: str, filename: str, content: bytes,
                  user_id: int | None) -> ImportJob:
    """Keep an uploaded file for the mapping step, or say next to the field what is wrong."""
    _check_type(record_type)
    if len(content) > MAX_BYTES:
        raise ServiceError(str(TOO_LARGE), "file")
    if not content.strip():
        raise ServiceError(_("This file is empty."), "file")
    try:
        text = decode(content)
        separator = detect_separator(text)
        headers = read_header(text, separator)
        lines = sum(1 for __ in data_lines(text, separator))  # a broken line is refused now
    except CsvProblem as problem:
        raise ServiceError(str(problem), "file") from None
    if not lines:
        raise ServiceError(_("This file names its columns but has no lines below them to "
                             "import."), "file")
    job = ImportJob(record_type=record_type, created_by_id=user_id,
                    filename=os.path.basename(filename or "import.csv")[:255] or "import.csv",
                    content=content, delimiter=separator, headers=headers, mapping={},
                    duplicate_mode=DuplicateMode.SKIP.value, total_rows=lines,
                    status=ImportStatus.UPLOADED.value)
    db.session.add(job)
    db.session.commit()
    return job


def start_import(job: ImportJob, *, mapping: dict[int, str], duplicate_mode: str) -> None:
    """Keep the chosen columns, queue the import, and only after the commit enqueue its job."""
    if job.status != ImportStatus.UPLOADED:
        raise ServiceError(_("This import has already started."))
    _check_type(job.record_type)
    mode = DuplicateMode(duplicate_mode).value
    fields = importable_fields(job.record_type)
    columns = {int(i): key for i, key in mapping.items() if key}
    if any(key not in fields for key in columns.values()) \
            or any(not 0 <= i < len(job.headers) for i in columns):
        raise ServiceError(_("Choose fields from the lists."))
    if len(set(columns.values())) != len(columns):
        raise ServiceError(_("Choose each field for one column only."))
    problem = mapping_problem(columns, fields, mode)
    if problem:
        raise ServiceError(problem)
    job.mapping = {str(i): key for i, key in sorted(columns.items())}
    job.duplicate_mode = mode
    job.status = ImportStatus.QUEUED.value
    job.heartbeat_at = utcnow()
    audit.record("import.started", job.filename, record_type=job.record_type,
                 duplicates=mode)
    db.session.commit()
    enqueue_import(job.id, job.tenant_id, language=page_language())


def restart_import(job: ImportJob) -> None:
    """Run a failed import again on the same file and columns."""
    if job.status != ImportStatus.FAILED:
        raise ServiceError(_("Only an import that failed can be started again."))
    db.session.execute(delete(ImportError_).where(ImportError_.import_id == job.id))
    job.status = ImportStatus.QUEUED.value
    job.failure_reason = None
    job.started_at = job.finished_at = None
    job.heartbeat_at = utcnow()
    job.processed_rows = 0
    audit.record("import.restarted", job.filename, record_type=job.record_type)
    db.session.commit()
    enqueue_import(job.id, job.tenant_id, replace_ended=True, language=page_language())


def page_language() -> str | None:
    """The language the page that starts an import speaks: the job writes its line errors in it."""
    locale = get_locale() if has_request_context() else None
    return str(locale.language) if locale is not None else None


def enqueue_import(import_id: int, tenant_id: int, *, replace_ended: bool = False,
                   language: str | None = None) -> bool:
    """Enqueue the job once (unique id); False if it is already waiting or Redis is away.

    `language`: the one the person starting the import reads (their page's); without it (the
    tick enqueuing a forgotten import) the job speaks the starter's own choice or the
    workspace's.

    With `replace_ended`, an earlier run's job left in Redis (failed, or started by a worker
    that died) is removed first. If Redis is away, the tick enqueues the import later.
    """
    job_id = f"import-{import_id}"
    try:
        redis = get_redis()
        queue = Queue(QUEUE, connection=redis)
        for attempt in range(2):
            try:
                queue.enqueue(run_import, import_id, tenant_id, language, job_id=job_id,
                              unique=True,
                              job_timeout=JOB_TIMEOUT, result_ttl=0, failure_ttl=86400)
                return True
            except DuplicateJobError:
                if not replace_ended or attempt:
                    return False
                try:
                    previous = Job.fetch(job_id, connection=redis)
                except NoSuchJobError:
                    continue
                if previous.get_status() in (JobStatus.QUEUED, JobStatus.DEFERRED,
                                             JobStatus.SCHEDULED):
                    return False
                previous.delete()
    except RedisError:
        log.warning("could not enqueue import %s; the tick will retry", import_id,
                    exc_info=True)
    return False


def reap_stale_imports(stale_after: timedelta | None = None) -> int:
    """Periodic, across tenants: fail imports whose worker died; enqueue the forgotten queued ones.

    A running import whose heartbeat is older than IMPORT_STALE_SECONDS lost its worker: its
    transaction was rolled back with it, so nothing was imported. A queued import that old lost
    its job (Redis flushed, or down when it was started): it is enqueued again (unique job id).
    Returns how many imports were marked interrupted.
    """
    if stale_after is None:
        stale_after = timedelta(seconds=current_app.config["IMPORT_STALE_SECONDS"])
    now = utcnow()
    cutoff = now - stale_after
    reaped = db.session.execute(
        update(ImportJob).where(ImportJob.status == ImportStatus.RUNNING.value,
                                ImportJob.heartbeat_at < cutoff)
        .values(status=ImportStatus.FAILED.value, failure_reason=INTERRUPTED, finished_at=now)
        .execution_options(all_tenants=True, synchronize_session=False)).rowcount
    waiting = db.session.execute(
        select(ImportJob.id, ImportJob.tenant_id).where(
            ImportJob.status == ImportStatus.QUEUED.value, ImportJob.heartbeat_at < cutoff)
        .execution_options(all_tenants=True)).all()
    if waiting:
        db.session.execute(
            update(ImportJob).where(ImportJob.id.in_([i for i, __ in waiting]))
            .values(heartbeat_at=now)
            .execution_options(all_tenants=True, synchronize_session=False))
    db.session.commit()
    for import_id, tenant_id in waiting:
        enqueue_import(import_id, tenant_id)
    if reaped:
        log.warning("%s interrupted import(s) marked failed", reaped)
    return reaped
