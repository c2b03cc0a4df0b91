"""Automated sends (v1: the outbox, or `saas.messaging.delivery` once it exists).

The tick has claimed the runs (pending -> sending, attempts + 1, committed). `deliver(ids)` locks
them again (SKIP LOCKED: a run another process is delivering is left to it), renders each
message from its template, sends it and marks it sent / unknown / failed (or pending again with a
later due time for a retry), then moves the sent ones on in bulk. One commit per chunk: the outbox
message and the `sent` mark are written together, so a crash sends nothing twice.

`recover_stale(tenant_id)`: a run still `sending` after the lease (its worker died) is `sent` if
its outbox message exists, else pending again (nothing left the house).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, select, update

from saas.engine import clock
from saas.engine.bulk import advance_group
from saas.engine.graph import GraphCache, StepInfo
from saas.engine.models import StepRun
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.records.models import Record
from saas.sequences.models import StepType
from saas.templates_.models import MessageTemplate

CHUNK = 200
UNSUBSCRIBE_PLACEHOLDER = "{{unsubscribe_url}}"


def _template_id(step: StepInfo, ab_version: str | None) -> int | None:
    config = step.config or {}
    if step.type == StepType.AB_TEST.value:
        config = (config.get("versions") or {}).get(ab_version or "A") or {}
    value = config.get("template_id")
    return int(value) if value else None


def _send(run: StepRun, record: Record, template: MessageTemplate | None) -> tuple[str, str]:
    """(status, error-or-provider-id) for one message."""
    from saas.templates_.services import context_for, render

    if template is None:
        return "failed", "The step has no template."
    address = record.phone if run.step_type == StepType.AUTO_SMS.value else record.email
    if not address:
        return "failed", "The record has no address for this channel."
    message = render(template, context_for(record, UNSUBSCRIBE_PLACEHOLDER))
    if message.error:
        return "failed", message.error
    try:
        from saas.messaging import delivery
    except ImportError:
        delivery = None
    if delivery is not None:
        if run.step_type == StepType.AUTO_SMS.value:
            result = delivery.send_sms(run.tenant_id, to=address, body=message.body,
                                       step_run_id=run.id)
        else:
            result = delivery.send_email(run.tenant_id, to=address, subject=message.subject,
                                         html=message.html, text=message.text,
                                         step_run_id=run.id)
        run.provider = result.provider
        if result.status == "sent":
            run.provider_message_id = result.message_id
        return result.status, result.error or ""
    if run.step_type == StepType.AUTO_SMS.value:
        return "failed", "No SMS provider is configured."
    from saas.messaging.outbox import store_email

    stored = store_email(purpose="sequence", to=address, subject=message.subject,
                         text=message.text, html=message.html)
    stored.step_run_id = run.id
    run.provider = "outbox"
    return "sent", ""


def deliver(step_run_ids: list[int]) -> int:
    """Send these claimed runs of the tenant in context; returns how many were sent."""
    graphs = GraphCache()
    sent_total = 0
    ids = sorted(set(step_run_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        runs = list(db.session.execute(
            select(StepRun).where(StepRun.id.in_(chunk), StepRun.status == "sending")
            .order_by(StepRun.id).with_for_update(skip_locked=True)).scalars())
        if not runs:
            db.session.rollback()
            continue
        records = {r.id: r for r in db.session.execute(
            select(Record).where(Record.id.in_({run.record_id for run in runs}))).scalars()}
        template_ids = {}
        for run in runs:
            step = graphs.get(run.sequence_id).steps[run.step_id]
            template_ids[run.id] = _template_id(step, run.ab_version)
        templates = {t.id: t for t in db.session.execute(select(MessageTemplate).where(
            MessageTemplate.id.in_({t for t in template_ids.values() if t}))).scalars()}
        now = clock.now()
        sent: dict[tuple[int, int], list[int]] = defaultdict(list)
        for run in runs:
            record = records.get(run.record_id)
            status, detail = _send(run, record, templates.get(template_ids[run.id]))
            if status == "retry":
                run.status, run.due_at, run.error = "pending", now + timedelta(minutes=5), detail
                continue
            run.status = status
            run.error = detail or None
            if status == "sent":
                run.completed_at = now
                sent[(run.sequence_id, run.step_id)].append(run.enrollment_id)
        db.session.flush()
        for (sequence_id, step_id), enrollment_ids in sent.items():
            advance_group(graphs.get(sequence_id), enrollment_ids, step_id, None, now)
            sent_total += len(enrollment_ids)
        db.session.commit()
    return sent_total


def lease_seconds() -> float:
    return float(current_app.config.get("ENGINE_SENDING_LEASE", 60))


def recover_stale(tenant_id: int) -> int:
    """Runs left `sending` by a dead worker: sent if the outbox has them, else pending again."""
    now = clock.now()
    cutoff = now - timedelta(seconds=lease_seconds())
    stale = select(StepRun.id).where(StepRun.tenant_id == tenant_id,
                                     StepRun.status == "sending", StepRun.started_at < cutoff)
    if db.engine.dialect.name != "sqlite":
        stale = stale.with_for_update(skip_locked=True)
    ids = list(db.session.execute(stale).scalars())
    if not ids:
        db.session.rollback()
        return 0
    in_outbox = exists().where(OutboxMessage.step_run_id == StepRun.id)
    done = db.session.execute(
        select(StepRun.id, StepRun.sequence_id, StepRun.step_id, StepRun.enrollment_id)
        .where(StepRun.id.in_(ids), in_outbox)).all()
    db.session.execute(update(StepRun).where(StepRun.id.in_(ids), ~in_outbox)
                       .values(status="pending", due_at=now)
                       .execution_options(synchronize_session=False))
    if done:
        db.session.execute(update(StepRun).where(StepRun.id.in_([d.id for d in done]))
                           .values(status="sent", provider="outbox", completed_at=now)
                           .execution_options(synchronize_session=False))
        graphs = GraphCache()
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for d in done:
            groups[(d.sequence_id, d.step_id)].append(d.enrollment_id)
        for (sequence_id, step_id), enrollment_ids in groups.items():
            advance_group(graphs.get(sequence_id), enrollment_ids, step_id, None, now)
    db.session.commit()
    return len(ids)
