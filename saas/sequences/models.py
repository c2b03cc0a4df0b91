"""Sequences and their steps.

A sequence is versioned: every version is its own `sequence` row; the versions of one sequence
share `lineage_id` (the id of version 1). Enrollments point at the version they started on.

Steps form a tree of ordered branches. A branch is the list of steps with the same
(`parent_id`, `branch`) ordered by `position`: the main branch has no parent (`branch="main"`);
a condition step owns two branches, `yes` and `no`. Branches do not rejoin: a record that reaches
the end of its branch has completed the sequence. An A/B test is one step whose `config` holds
versions A and B.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from saas.extensions import db
from saas.tenancy import TenantScoped
from saas.timeutil import UtcDateTime, utcnow


class SequenceStatus(enum.StrEnum):
    DRAFT = "draft"          # being designed (a new sequence, or the next version of one)
    ACTIVE = "active"        # the version new connections get
    INACTIVE = "inactive"    # deactivated: no new connections; running records stop
    RETIRED = "retired"      # an older version replaced by a newer active one; its records finish


class StepType(enum.StrEnum):
    EMAIL = "email"                     # manual: the seller sends from the composer
    AUTO_EMAIL = "auto_email"           # sent by the workers from its template
    SMS = "sms"
    AUTO_SMS = "auto_sms"
    CALL = "call"
    TASK = "task"
    WAIT = "wait"
    AB_TEST = "ab_test"
    EMAIL_CONDITION = "email_condition"  # opened / clicked / replied, any or all, time limit
    CALL_CONDITION = "call_condition"    # outcome of the previous phone call
    FIELD_CONDITION = "field_condition"  # a record field's value
    UPDATE_FIELD = "update_field"        # command
    MOVE_TO_SEQUENCE = "move_to_sequence"  # command, always last in its branch
    # LinkedIn activities (manual: the seller acts on LinkedIn and marks them done; the product
    # links to the record's LinkedIn page and never automates LinkedIn).
    LINKEDIN_RESEARCH = "linkedin_research"
    LINKEDIN_INTRODUCTION = "linkedin_introduction"
    LINKEDIN_CONNECT = "linkedin_connect"
    LINKEDIN_INMAIL = "linkedin_inmail"

    @property
    def is_condition(self) -> bool:
        return self in (StepType.EMAIL_CONDITION, StepType.CALL_CONDITION,
                        StepType.FIELD_CONDITION)

    @property
    def is_manual(self) -> bool:
        """Becomes an activity on the seller's worklist."""
        return self in (StepType.EMAIL, StepType.SMS, StepType.CALL, StepType.TASK) \
            or self.is_linkedin

    @property
    def is_linkedin(self) -> bool:
        """A LinkedIn activity: Up next and the worklist link to the record's LinkedIn page."""
        return self in LINKEDIN_TYPES

    @property
    def is_automated_send(self) -> bool:
        return self in (StepType.AUTO_EMAIL, StepType.AUTO_SMS)

    @property
    def is_command(self) -> bool:
        return self in (StepType.UPDATE_FIELD, StepType.MOVE_TO_SEQUENCE)


LINKEDIN_TYPES = (StepType.LINKEDIN_RESEARCH, StepType.LINKEDIN_INTRODUCTION,
                  StepType.LINKEDIN_CONNECT, StepType.LINKEDIN_INMAIL)  # in the designer's order


class Branch(enum.StrEnum):
    MAIN = "main"
    YES = "yes"
    NO = "no"


class Sequence(TenantScoped, db.Model):
    __tablename__ = "sequence"
    __table_args__ = (
        Index("ix_sequence_lineage", "tenant_id", "lineage_id", "version"),
        Index("ix_sequence_status", "tenant_id", "status", "record_type"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lineage_id: Mapped[int | None] = mapped_column(Integer)  # id of version 1 (itself for v1)
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    record_type: Mapped[str] = mapped_column(String(16), default="lead")
    status: Mapped[str] = mapped_column(String(16), default=SequenceStatus.DRAFT.value)
    # exit_on_reply / exit_on_unsubscribe / exit_on_bounce (bool), sending_window
    # {"days": [0..6], "start": "08:00", "end": "18:00"}, goal {"field", "value"},
    # allow_skip_wait (bool), daily caps, A/B observation window...
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    activated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow,
                                                 onupdate=utcnow)


class Step(TenantScoped, db.Model):
    __tablename__ = "step"
    __table_args__ = (
        Index("ix_step_branch", "tenant_id", "sequence_id", "parent_id", "branch", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence_id: Mapped[int] = mapped_column(ForeignKey("sequence.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("step.id", ondelete="CASCADE"))
    branch: Mapped[str] = mapped_column(String(8), default=Branch.MAIN.value)
    position: Mapped[int] = mapped_column(Integer, default=0)
    type: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    config: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def step_type(self) -> StepType:
        return StepType(self.type)
