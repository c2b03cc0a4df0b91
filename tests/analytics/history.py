"""Build sequence histories for analytics and A/B tests: sequences, steps, enrollments, step runs
and message events, written directly (bulk inserts) as the engine would have left them. Call
inside an app context and a tenant context; nothing here commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.sequences.models import Sequence, Step
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow


def make_sequence(name: str = "Trade show follow-up", *, status: str = "active",
                  settings: dict | None = None, lineage: Sequence | None = None) -> Sequence:
    sequence = Sequence(name=name, record_type="lead", status=status, settings=settings or {},
                        version=(lineage.version + 1) if lineage else 1,
                        lineage_id=lineage.lineage_id if lineage else None,
                        activated_at=utcnow() if status != "draft" else None)
    db.session.add(sequence)
    db.session.flush()
    if sequence.lineage_id is None:
        sequence.lineage_id = sequence.id
        db.session.flush()
    return sequence


def add_step(sequence: Sequence, type_: str, name: str, *, position: int, config=None,
             parent: Step | None = None, branch: str = "main") -> Step:
    step = Step(sequence_id=sequence.id, type=type_, name=name, position=position,
                config=config or {}, parent_id=parent.id if parent else None, branch=branch)
    db.session.add(step)
    db.session.flush()
    return step


def ab_config(**overrides) -> dict:
    config = {"display_name": "Subject line test", "split_a": 50, "metric": "clicks",
              "ends": "auto", "end_at": None, "default_version": "A",
              "versions": {"A": {"type": "auto_email", "name": "Short subject",
                                 "template_id": None},
                           "B": {"type": "auto_email", "name": "Question subject",
                                 "template_id": None}}}
    config.update(overrides)
    return config


def enroll(sequence: Sequence, record_ids: list[int], *, status: str = "active",
           exit_reason: str | None = None, started_at: datetime | None = None,
           ended_at: datetime | None = None) -> list[int]:
    started_at = started_at or utcnow() - timedelta(days=3)
    rows = [{"tenant_id": current_tenant_id(), "record_id": rid, "sequence_id": sequence.id,
             "lineage_id": sequence.lineage_id, "status": status, "exit_reason": exit_reason,
             "source": "manual", "steps_done": 0, "started_at": started_at,
             "ended_at": ended_at, "updated_at": started_at} for rid in record_ids]
    if not rows:
        return []
    return list(db.session.execute(insert(Enrollment).returning(Enrollment.id), rows).scalars())


def add_runs(step: Step, enrollments: list[tuple[int, int]], *, status: str,
             ab_version: str | None = None, step_type: str | None = None,
             created_at: datetime | None = None, completed_at: datetime | None = None,
             due_at: datetime | None = None) -> list[int]:
    """One step run per (enrollment id, record id)."""
    created_at = created_at or utcnow() - timedelta(days=2)
    rows = [{"tenant_id": current_tenant_id(), "enrollment_id": eid, "step_id": step.id,
             "sequence_id": step.sequence_id, "record_id": rid, "seller_id": None,
             "step_type": step_type or step.type, "status": status, "due_at": due_at,
             "created_at": created_at, "started_at": created_at, "completed_at": completed_at,
             "ab_version": ab_version, "attempts": 0} for eid, rid in enrollments]
    if not rows:
        return []
    return list(db.session.execute(insert(StepRun).returning(StepRun.id), rows).scalars())


def add_events(step_run_ids: list[int], kind: str, *, occurred_at: datetime | None = None,
               prefix: str = "") -> None:
    occurred_at = occurred_at or utcnow() - timedelta(days=1)
    rows = [{"tenant_id": current_tenant_id(), "step_run_id": sid, "kind": kind,
             "provider": "outbox", "provider_event_id": f"{prefix}{kind}-{sid}",
             "data": {}, "occurred_at": occurred_at, "created_at": occurred_at}
            for sid in step_run_ids]
    if rows:
        db.session.execute(insert(MessageEvent), rows)


def ab_sends(step: Step, record_ids: list[int], conversions: dict[str, int], *,
             sent_at: datetime | None = None, kind: str = "click") -> dict[str, list[int]]:
    """Enroll the records, send each the version version_for gives it, and add `kind` events to
    the first conversions[version] sends of each version. Returns step run ids by version."""
    from saas.engine.abtests import version_for

    sent_at = sent_at or utcnow() - timedelta(days=3)
    sequence = db.session.execute(
        select(Sequence).where(Sequence.id == step.sequence_id)).scalar_one()
    by_version: dict[str, list[int]] = {"A": [], "B": []}
    pairs: dict[str, list[tuple[int, int]]] = {"A": [], "B": []}
    enrollment_ids = enroll(sequence, record_ids, started_at=sent_at - timedelta(hours=1))
    for eid, rid in zip(enrollment_ids, record_ids, strict=True):
        pairs[version_for(step, rid)].append((eid, rid))
    for version in ("A", "B"):
        by_version[version] = add_runs(step, pairs[version], status="sent", ab_version=version,
                                       step_type="auto_email", created_at=sent_at,
                                       completed_at=sent_at)
        add_events(by_version[version][: conversions.get(version, 0)], kind,
                   occurred_at=sent_at + timedelta(hours=2))
    return by_version
