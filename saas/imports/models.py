"""CSV imports: the uploaded file, its column mapping, progress, outcome and per-line errors."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.records.models import BigId
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class ImportStatus(enum.StrEnum):
    UPLOADED = "uploaded"      # waiting for the person to confirm the column mapping
    QUEUED = "queued"          # mapping confirmed, job enqueued
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"          # nothing was imported; failure_reason says why


class DuplicateMode(enum.StrEnum):
    SKIP = "skip"
    UPDATE = "update"


class ImportJob(TenantScoped, db.Model):
    __tablename__ = "import_job"
    __table_args__ = (Index("ix_import_job_tenant_id_id", "tenant_id", "id"),
                      Index("ix_import_job_status", "status", "heartbeat_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    record_type: Mapped[str] = mapped_column(String(16))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    delimiter: Mapped[str] = mapped_column(String(1), default=",")
    headers: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    duplicate_mode: Mapped[str] = mapped_column(String(8), default=DuplicateMode.SKIP.value)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.UPLOADED.value)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ImportError_(TenantScoped, db.Model):
    """One refused line of an import (line numbers count the header as line 1)."""

    __tablename__ = "import_error"
    __table_args__ = (Index("ix_import_error_job_line", "tenant_id", "import_id", "line"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("import_job.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)
