"""The home page's figures: what waits for the user today and, for a sequence manager, how the
tenant's sequences are doing. Each figure is one indexed count; a part of the product the
tenant cannot use yet (licence, workspace) shows nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, select

from saas.auth.models import Role
from saas.extensions import db


@dataclass
class Waiting:
    """Connections without a seller: how many, and the sequence with the most of them."""

    total: int
    lineage_id: int
    name: str


@dataclass
class Uncertain:
    """Automated sends whose outcome is unknown: how many, and the sequence with the most."""

    total: int
    lineage_id: int
    name: str


@dataclass
class HomeFigures:
    worklist: dict[str, int] | None = None  # the user's own: "" (all), overdue, today, ...
    active_sequences: int | None = None
    running: int | None = None
    waiting: Waiting | None = None
    uncertain: Uncertain | None = None
    count_cap: int = 0
    sending_stopped: list[str] = field(default_factory=list)  # why messages are not going out
    paused_senders: list = field(default_factory=list)  # senders paused for their health


def worklist_open(tenant) -> bool:
    """The tenant can use sequences (licence, published workspace) and this app has them."""
    return bool(tenant.licence_includes_sequences and tenant.workspace_ready
                and "worklist.index" in current_app.view_functions)


def _most(by_lineage) -> tuple[int, str]:
    """The lineage with the most (the oldest on a tie) and its latest version's name."""
    from saas.sequences.models import Sequence

    lineage_id, _ = max(by_lineage, key=lambda row: (row[1], -row[0]))
    name = db.session.execute(select(Sequence.name).where(
        Sequence.lineage_id == lineage_id).order_by(Sequence.version.desc()).limit(1)).scalar()
    return lineage_id, name or ""


def _uncertain() -> Uncertain | None:
    """Counted through the partial index on unknown runs (tenant, completed_at)."""
    from saas.engine.models import Enrollment, StepRun

    by_lineage = db.session.execute(
        select(Enrollment.lineage_id, func.count())
        .select_from(StepRun).join(Enrollment, Enrollment.id == StepRun.enrollment_id)
        .where(StepRun.status == "unknown").group_by(Enrollment.lineage_id)).all()
    if not by_lineage:
        return None
    return Uncertain(sum(n for _, n in by_lineage), *_most(by_lineage))


def _waiting() -> Waiting | None:
    from saas.engine.models import RUNNING_STATUSES, Enrollment

    by_lineage = db.session.execute(
        select(Enrollment.lineage_id, func.count()).where(
            Enrollment.seller_id.is_(None), Enrollment.status.in_(RUNNING_STATUSES))
        .group_by(Enrollment.lineage_id)).all()
    if not by_lineage:
        return None
    return Waiting(sum(n for _, n in by_lineage), *_most(by_lineage))


def figures(user, tenant) -> HomeFigures:
    from saas.messaging.config import config_of

    out = HomeFigures(sending_stopped=config_of(tenant).sending_stopped())
    if user.has_role(Role.SEQUENCE_MANAGER) or user.is_admin:
        from saas.engine.senders import Sender

        out.paused_senders = list(db.session.execute(select(Sender).where(
            Sender.paused_at.is_not(None)).order_by(Sender.address)).scalars())
    if not worklist_open(tenant):
        return out
    from saas.engine import clock
    from saas.worklist import queries as worklist

    out.worklist = worklist.counts(user.id, worklist.DayBounds.for_user(clock.now(),
                                                                        user.time_zone))
    out.count_cap = worklist.COUNT_CAP
    if user.has_role(Role.SEQUENCE_MANAGER):
        from saas.sequences import queries as sequences
        from saas.sequences.models import Sequence, SequenceStatus

        out.active_sequences = db.session.execute(
            select(func.count()).select_from(Sequence)
            .where(Sequence.status == SequenceStatus.ACTIVE.value)).scalar_one()
        out.running = sum(sequences.running_by_lineage().values())
        out.waiting = _waiting()
        out.uncertain = _uncertain()
    return out
