"""The sequence runtime's tables: enrollments, step runs (history, activities and send outbox in
one), segment connections, connect jobs and A/B tests."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.records.models import BigId
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class EnrollmentStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    EXITED = "exited"              # exit_reason says why (reply, unsubscribe, bounce, ...)
    DISCONNECTED = "disconnected"


RUNNING_STATUSES = (EnrollmentStatus.ACTIVE.value, EnrollmentStatus.PAUSED.value)
UNASSIGNED = "seller_id IS NULL AND status IN ('active', 'paused')"


class Enrollment(TenantScoped, db.Model):
    """A record connected to one version of a sequence, worked by one seller."""

    __tablename__ = "enrollment"
    __table_args__ = (
        # At most one running enrollment per (record, sequence lineage).
        Index("uq_enrollment_running", "tenant_id", "lineage_id", "record_id", unique=True,
              postgresql_where=text("status IN ('active', 'paused')"),
              sqlite_where=text("status IN ('active', 'paused')")),
        Index("ix_enrollment_record", "tenant_id", "record_id", "status"),
        Index("ix_enrollment_sequence", "tenant_id", "sequence_id", "status", "id"),
        Index("ix_enrollment_lineage", "tenant_id", "lineage_id", "status", "id"),
        # The connected-records tab's "Unassigned" count and list (few rows, or none).
        Index("ix_enrollment_unassigned", "tenant_id", "lineage_id", "id",
              postgresql_where=text(UNASSIGNED), sqlite_where=text(UNASSIGNED)),
        # Enrollments an out-of-office reply paused, by when they resume (saas.engine.replies).
        Index("ix_enrollment_resume", "tenant_id", "resume_at",
              postgresql_where=text("resume_at IS NOT NULL"),
              sqlite_where=text("resume_at IS NOT NULL")),
    )

    # One foreign key only, to the record (its deletion must reach connections being written).
    # Every other is a trigger per row written, and connecting or moving 100,000 records at
    # once paid for checks done better once per statement: tenant, seller, current step and
    # segment are written by the engine from rows it just read (a deleted segment's connections
    # are cleared by delete_segment); the sequence version is locked FOR KEY SHARE by
    # enroll.target_version and deleted, with its enrollments, by delete_sequence.
    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # NULL once the record is deleted: the enrollment stays, exited ("record_deleted").
    record_id: Mapped[int | None] = mapped_column(
        ForeignKey("record.id", ondelete="SET NULL"))
    sequence_id: Mapped[int] = mapped_column(Integer)  # see enroll.target_version, delete_sequence
    lineage_id: Mapped[int] = mapped_column(Integer)
    seller_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=EnrollmentStatus.ACTIVE.value)
    current_step_id: Mapped[int | None] = mapped_column(Integer)
    exit_reason: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16), default="manual")  # manual|bulk|segment|move
    segment_id: Mapped[int | None] = mapped_column(Integer)
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow,
                                                 onupdate=utcnow)
    # Set while an out-of-office reply holds it paused: when the periodic resume wakes it.
    resume_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The address its automated emails go out from, once chosen (saas.engine.senders).
    sender: Mapped[str | None] = mapped_column(String(254))


class StepRunStatus(enum.StrEnum):
    OPEN = "open"            # a manual activity on the seller's worklist
    WAITING = "waiting"      # a wait or a condition, until due_at (or the awaited event)
    PENDING = "pending"      # an automated send or a command, due at due_at
    SENDING = "sending"      # claimed for the provider call
    SENT = "sent"            # handed to the provider (provider_message_id set)
    UNKNOWN = "unknown"      # the call may have reached the provider; reconcile from events
    FAILED = "failed"        # permanent error (error says why)
    COMPLETED = "completed"  # done (manual completion, wait expired, condition decided, command)
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # the enrollment ended before this ran


DUE_STATUSES = (StepRunStatus.WAITING.value, StepRunStatus.PENDING.value)


SNOOZED = "status = 'open' AND snoozed_until IS NOT NULL"
FINISHED_WITH_DETAIL = ("status IN ('completed', 'sent', 'skipped', 'cancelled') "
                        "AND (notes IS NOT NULL OR error IS NOT NULL)")


class StepRun(TenantScoped, db.Model):
    """One step reached by one enrollment: when it became due, when it ran, how it ended."""

    __tablename__ = "step_run"
    __table_args__ = (
        Index("uq_step_run_enrollment_step", "enrollment_id", "step_id", unique=True),
        # The tick's claim: due work across tenants.
        # The tick claims per tenant (fairness): tenant first, then due time.
        Index("ix_step_run_tenant_due", "tenant_id", "due_at", postgresql_where=text(
            "status IN ('waiting', 'pending')"),
            sqlite_where=text("status IN ('waiting', 'pending')")),
        # The send jobs: due automated sends per tenant (a paused one's is held: due_at NULL).
        Index("ix_step_run_tenant_sends", "tenant_id", "due_at",
              postgresql_where=text("status = 'pending' AND due_at IS NOT NULL"),
              sqlite_where=text("status = 'pending' AND due_at IS NOT NULL")),
        # Sends left `sending` by a dead worker.
        Index("ix_step_run_sending", "tenant_id", "started_at",
              postgresql_where=text("status = 'sending'"),
              sqlite_where=text("status = 'sending'")),
        # Uncertain sends waiting for a provider event (resent after a window without one).
        Index("ix_step_run_unknown", "tenant_id", "completed_at",
              postgresql_where=text("status = 'unknown'"),
              sqlite_where=text("status = 'unknown'")),
        # The worklist: a seller's open activities by due time.
        Index("ix_step_run_worklist", "tenant_id", "seller_id", "due_at", "id",
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        # The worklist's Snoozed tab and count: the few open activities a seller snoozed.
        Index("ix_step_run_snoozed", "tenant_id", "seller_id", "snoozed_until",
              postgresql_where=text(SNOOZED), sqlite_where=text(SNOOZED)),
        Index("ix_step_run_step", "tenant_id", "step_id", "status"),
        Index("ix_step_run_record", "tenant_id", "record_id", "id"),
        Index("ix_step_run_message", "provider_message_id",
              postgresql_where=text("provider_message_id IS NOT NULL"),
              sqlite_where=text("provider_message_id IS NOT NULL")),
        # Finished runs that still hold a seller's notes or an error, by when they finished:
        # the retention job (saas/admin/retention.py) blanks them after the tenant's days.
        Index("ix_step_run_detail", "tenant_id", "completed_at",
              postgresql_where=text(FINISHED_WITH_DETAIL),
              sqlite_where=text(FINISHED_WITH_DETAIL)),
        # A sender's sends by time: its caps and its health (saas.engine.senders).
        Index("ix_step_run_sender", "tenant_id", "sender", "started_at",
              postgresql_where=text("sender IS NOT NULL"),
              sqlite_where=text("sender IS NOT NULL")),
    )

    # No foreign keys (as for enrollments): the engine writes a step run for an enrollment it
    # holds; enrollments are deleted only with their sequence, by delete_sequence, runs first.
    tenant_id: Mapped[int] = mapped_column(Integer, nullable=False)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(BigId, nullable=False)
    step_id: Mapped[int] = mapped_column(Integer)
    # Copied from the enrollment/step so the worklist and analytics read one table.
    sequence_id: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[int] = mapped_column(BigId)
    seller_id: Mapped[int | None] = mapped_column(Integer)
    step_type: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_by_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str | None] = mapped_column(String(32))  # yes/no, call outcome, skip...
    notes: Mapped[str | None] = mapped_column(Text)
    snoozed_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ab_version: Mapped[str | None] = mapped_column(String(1))  # "A" or "B"
    provider: Mapped[str | None] = mapped_column(String(16))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    # A send's claim: its outcome is written only while the run is `sending` with this token.
    claim_token: Mapped[str | None] = mapped_column(String(32))
    # While its enrollment is paused, a waiting or pending run's due time waits here (due_at is
    # NULL: the run is out of the tick's due index); resume puts it back.
    held_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # An automated email's sender address: set when claimed (counted against the sender's caps
    # and in its health), or while it waits for a paused sender (saas.engine.senders).
    sender: Mapped[str | None] = mapped_column(String(254))

    @property
    def planned_at(self) -> datetime | None:
        """When it is due, paused or not."""
        return self.due_at or self.held_due_at


class SegmentConnection(TenantScoped, db.Model):
    """A segment connected to a sequence (all versions): its members are connected, now and as
    they join."""

    __tablename__ = "segment_connection"
    __table_args__ = (
        Index("uq_segment_connection", "tenant_id", "lineage_id", "segment_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage_id: Mapped[int] = mapped_column(Integer)
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id", ondelete="CASCADE"))
    connected_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ConnectJob(TenantScoped, db.Model):
    """Connecting many records in the background (a segment, a large selection)."""

    __tablename__ = "connect_job"
    __table_args__ = (
        # The tick's search for tenants with forgotten queued jobs.
        Index("ix_connect_job_queued", "tenant_id", "created_at",
              postgresql_where=text("status = 'queued'"), sqlite_where=text("status = 'queued'")),
        # The tick's search for running jobs whose worker stopped beating.
        Index("ix_connect_job_running", "tenant_id", "heartbeat_at",
              postgresql_where=text("status = 'running'"),
              sqlite_where=text("status = 'running'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    segment_id: Mapped[int | None] = mapped_column(
        ForeignKey("segment.id", ondelete="SET NULL"))
    record_ids: Mapped[list | None] = mapped_column(JSON)
    requested_by_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    connected: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    needs_seller: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_record_id: Mapped[int | None] = mapped_column(BigId)  # the last committed chunk's end
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AbTestStatus(enum.StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"
    COMPLETED = "completed"


class AbTest(TenantScoped, db.Model):
    """The state of one A/B test step: status, outcome, winner and the figures behind it."""

    __tablename__ = "ab_test"
    __table_args__ = (Index("uq_ab_test_step", "tenant_id", "step_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"))
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=AbTestStatus.DRAFT.value)
    outcome: Mapped[str | None] = mapped_column(String(16))  # winner|inconclusive|stopped
    winner: Mapped[str | None] = mapped_column(String(1))    # the version sent from now on
    stats: Mapped[dict] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


RESEND_DUE = "status = 'pending'"


class MessageResend(TenantScoped, db.Model):
    """An automated email sent again after a soft bounce (`blocked`: the recipient's server
    refused it for now), by saas.engine.resends: attempt 1 and 2 of a step run's message (the
    third soft bounce in a row makes the address undeliverable). Its own claim (pending ->
    sending with a token, a lease from started_at), as a step run's send: the enrollment has
    moved on since the first send, so the run itself stays `sent`."""

    __tablename__ = "message_resend"
    __table_args__ = (
        Index("uq_message_resend_attempt", "tenant_id", "step_run_id", "attempt", unique=True),
        Index("ix_message_resend_due", "tenant_id", "due_at",
              postgresql_where=text(RESEND_DUE), sqlite_where=text(RESEND_DUE)),
        Index("ix_message_resend_sending", "tenant_id", "started_at",
              postgresql_where=text("status = 'sending'"),
              sqlite_where=text("status = 'sending'")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    step_run_id: Mapped[int] = mapped_column(BigId, nullable=False)
    enrollment_id: Mapped[int] = mapped_column(BigId, nullable=False)
    attempt: Mapped[int] = mapped_column(Integer, nullable=False)
    # pending | sending | sent | unknown | failed | cancelled
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    provider_message_id: Mapped[str | None] = mapped_column(String(128))
    # The soft bounce that asked for it (the provider's reason), then any error of its own.
    reason: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
