"""Automated sends (taken over by the messaging area from the engine's v1).

The tick has claimed the runs (pending -> sending, attempts + 1, committed). `deliver(ids)` locks
them again (SKIP LOCKED: a run another process is delivering is left to it) in chunks; per chunk:

1. each message is rendered from its template for its recipient, with the tracking added
   (`saas.messaging.compose`); a message that cannot be made is `failed` with the reason;
2. suppression is checked now, at send time: a suppressed address is `skipped` (outcome
   "suppressed") and its enrollment exits or moves on per the sequence's settings;
3. the rest go to the tenant's provider (`saas.messaging.batch`): the outbox in this transaction,
   SendGrid/Twilio concurrently;
4. outcomes: `sent` (provider message id) and moved on via the engine; `unknown` (timeout, 5xx:
   the provider may have it; reconciled from its events, `saas.messaging.reconcile`); `failed`
   (permanent, with the reason); a 429 or refused connection is pending again with a later due
   time (exponential backoff with jitter, at least until the provider's rate-limit reset; the
   chunk's untried messages wait with it, their attempt not counted), `failed` after
   `SEND_MAX_ATTEMPTS`. One message's outcome never touches another's.
5. one commit per chunk.

`recover_stale(tenant_id)`: a run still `sending` after the lease (its worker died mid-chunk) is
`sent` if its outbox message exists; else, with the outbox as provider, nothing left the house and
it is pending again; with a real provider the call may have been made: it is `unknown`.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

from flask import current_app
from sqlalchemy import case, exists, select, update

from saas.engine import clock
from saas.engine.bulk import advance_group
from saas.engine.graph import GraphCache, StepInfo
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging import batch
from saas.messaging.compose import ComposeError, Composer
from saas.messaging.config import config_for
from saas.messaging.models import OutboxMessage
from saas.messaging.rendering import RenderError
from saas.messaging.result import SendResult
from saas.messaging.suppression import normalize, suppressed_among
from saas.records.models import Record
from saas.sequences.models import StepType
from saas.templates_.models import MessageTemplate
from saas.tenancy import current_tenant_id

CHUNK = 200


def _setting(name: str, default: float) -> float:
    return float(current_app.config.get(name, default))


def _template_id(step: StepInfo, ab_version: str | None) -> int | None:
    config = step.config or {}
    if step.type == StepType.AB_TEST.value:
        config = (config.get("versions") or {}).get(ab_version or "A") or {}
    value = config.get("template_id")
    return int(value) if value else None


def backoff_seconds(attempts: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never before the provider's reset time."""
    base = _setting("SEND_RETRY_BASE_SECONDS", 30)
    cap = _setting("SEND_RETRY_MAX_SECONDS", 3600)
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    delay = random.uniform(delay / 2, delay)  # noqa: S311 - jitter, not security
    return max(delay, retry_after or 0.0)


def deliver(step_run_ids: list[int]) -> int:
    """Send these claimed runs of the tenant in context; returns how many were sent."""
    tenant_id = current_tenant_id()
    config = config_for(tenant_id)
    composer = Composer(config)
    graphs = GraphCache()
    chunk_size = int(current_app.config.get("SEND_CHUNK", CHUNK))
    ids = sorted(set(step_run_ids))
    sent_total = 0
    resume_at = None
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start:start + chunk_size]
        if resume_at is not None:  # the provider asked to slow down: the rest waits, untried
            _postpone(chunk, resume_at)
            continue
        moved, resume_at = _deliver_chunk(chunk, config, composer, graphs)
        sent_total += moved
    return sent_total


def _postpone(chunk: list[int], until) -> None:
    db.session.execute(
        update(StepRun).where(StepRun.id.in_(chunk), StepRun.status == "sending")
        .values(status="pending", due_at=until,
                attempts=case((StepRun.attempts > 0, StepRun.attempts - 1), else_=0),
                error="Waiting for the provider's rate limit to reset.")
        .execution_options(synchronize_session=False))
    db.session.commit()


def _deliver_chunk(chunk: list[int], config, composer: Composer, graphs: GraphCache):
    """Send one chunk; returns (how many moved on, when to resume if the provider said to
    wait, else None)."""
    runs = list(db.session.execute(
        select(StepRun).where(StepRun.id.in_(chunk), StepRun.status == "sending")
        .order_by(StepRun.id).with_for_update(skip_locked=True)).scalars())
    if not runs:
        db.session.rollback()
        return 0, None
    records = {r.id: r for r in db.session.execute(
        select(Record).where(Record.id.in_({run.record_id for run in runs}))).scalars()}
    composer.load_sellers({r.owner_id for r in records.values()} | {run.seller_id for run in runs})
    template_ids = {run.id: _template_id(graphs.get(run.sequence_id).steps[run.step_id],
                                         run.ab_version) for run in runs}
    templates = {t.id: t for t in db.session.execute(select(MessageTemplate).where(
        MessageTemplate.id.in_({t for t in template_ids.values() if t}))).scalars()}
    now = clock.now()
    suppressed = suppressed_among(
        (r.phone if run.step_type == StepType.AUTO_SMS.value else r.email)
        for run in runs if (r := records.get(run.record_id)) is not None)

    by_id = {run.id: run for run in runs}
    skipped: list = []
    stored: dict[int, OutboxMessage] = {}

    def composed():
        """Messages for real providers, one by one; the others are settled here: failed,
        skipped (suppressed) or stored in the outbox."""
        for run in runs:
            channel = "sms" if run.step_type == StepType.AUTO_SMS.value else "email"
            run.provider = batch.provider_for(config, channel)
            try:
                message = composer.compose(
                    step_run_id=run.id, channel=channel, record=records.get(run.record_id),
                    template=templates.get(template_ids[run.id]), seller_id=run.seller_id,
                    sequence_id=run.sequence_id)
            except (ComposeError, RenderError) as error:
                _fail(run, str(error), now)
                continue
            if normalize(message.to) in suppressed:
                skipped.append((run, message.to))
            elif run.provider == "outbox":
                stored[run.id] = batch.store(config, message)
            else:
                yield message

    results, untried = batch.send_many(config, composed())
    # Runs the generator never reached (the provider said "slow down" first) are untried too.
    reached = set(results) | set(stored) | set(untried) | {run.id for run, _ in skipped}
    untried += [run.id for run in runs if run.id not in reached and run.status == "sending"]
    if stored:
        db.session.flush()
        for run_id, row in stored.items():
            results[run_id] = SendResult("sent", "outbox", message_id=f"outbox-{row.id}")

    sent: dict[tuple[int, int], list[int]] = defaultdict(list)
    pause = None
    for run_id, result in results.items():
        run = by_id[run_id]
        run.provider = result.provider
        if result.status == "sent":
            run.status, run.completed_at, run.error = "sent", now, None
            run.provider_message_id = result.message_id
            sent[(run.sequence_id, run.step_id)].append(run.enrollment_id)
        elif result.status == "unknown":
            run.status, run.completed_at = "unknown", now
            run.error = (f"Uncertain send (attempt {run.attempts}): {result.error}. Waiting for "
                         "the provider's events before sending again.")[:2000]
        elif result.status == "retry":
            delay = backoff_seconds(run.attempts, result.retry_after)
            pause = max(pause or 0.0, result.retry_after or 0.0, delay)
            _retry(run, result.error or "retry", now, delay)
        else:
            _fail(run, result.error or "The provider refused the message.", now)
    for run_id in untried:  # not tried: the provider asked us to wait
        run = by_id[run_id]
        run.attempts = max(0, (run.attempts or 1) - 1)
        spread = min(1.0, max(pause or 0.0, 0.05))  # spread the restart a little
        run.status, run.due_at = "pending", now + timedelta(
            seconds=(pause or 0.0) + random.uniform(0, spread))  # noqa: S311 - not security
        run.error = "Waiting for the provider's rate limit to reset."
    db.session.flush()
    moved = 0
    for (sequence_id, step_id), enrollment_ids in sent.items():
        advance_group(graphs.get(sequence_id), enrollment_ids, step_id, None, now)
        moved += len(enrollment_ids)
    if skipped:
        _skip_suppressed(skipped, graphs, now)
    db.session.commit()
    resume_at = now + timedelta(seconds=pause) if pause is not None else None
    return moved, resume_at


def _fail(run: StepRun, reason: str, now) -> None:
    run.status, run.completed_at, run.error = "failed", now, reason[:2000]


def _retry(run: StepRun, reason: str, now, delay: float) -> None:
    limit = int(_setting("SEND_MAX_ATTEMPTS", 6))
    if (run.attempts or 0) >= limit:
        _fail(run, f"Gave up after {run.attempts} attempts; last: {reason}", now)
        return
    run.status, run.due_at = "pending", now + timedelta(seconds=delay)
    run.error = f"Attempt {run.attempts} not accepted ({reason}); retrying."[:2000]


def _skip_suppressed(skipped: list, graphs: GraphCache, now) -> None:
    """Suppressed at send time: the run is skipped; the enrollment exits per its sequence's
    settings (the engine decides), else moves on past the step."""
    from saas.engine.events import exit_enrollments_for_address
    from saas.messaging.suppression import reason_for

    for run, address in skipped:
        reason = reason_for(address) or "manual"
        run.status, run.completed_at, run.outcome = "skipped", now, "suppressed"
        run.error = f"{address} is on the suppression list ({reason}): not sent."
        db.session.flush()
        exit_enrollments_for_address(address, reason)
    active = set(db.session.execute(select(Enrollment.id).where(
        Enrollment.id.in_({run.enrollment_id for run, _ in skipped}),
        Enrollment.status == "active")).scalars())
    groups: dict[tuple[int, int], list[int]] = defaultdict(list)
    for run, _ in skipped:
        if run.enrollment_id in active:
            groups[(run.sequence_id, run.step_id)].append(run.enrollment_id)
    for (sequence_id, step_id), enrollment_ids in groups.items():
        advance_group(graphs.get(sequence_id), enrollment_ids, step_id, None, now)


def lease_seconds() -> float:
    return _setting("ENGINE_SENDING_LEASE", 60)


def recover_stale(tenant_id: int) -> int:
    """Runs left `sending` by a dead worker: sent if the outbox has them; else pending again when
    nothing could have left (outbox provider), `unknown` when a provider may have the message."""
    now = clock.now()
    cutoff = now - timedelta(seconds=lease_seconds())
    stale = select(StepRun.id, StepRun.step_type).where(
        StepRun.tenant_id == tenant_id, StepRun.status == "sending", StepRun.started_at < cutoff)
    if db.engine.dialect.name != "sqlite":
        stale = stale.with_for_update(skip_locked=True)
    rows = db.session.execute(stale).all()
    if not rows:
        db.session.rollback()
        return 0
    ids = [r.id for r in rows]
    config = config_for(tenant_id)
    in_outbox = exists().where(OutboxMessage.step_run_id == StepRun.id)
    done = db.session.execute(
        select(StepRun.id, StepRun.sequence_id, StepRun.step_id, StepRun.enrollment_id)
        .where(StepRun.id.in_(ids), in_outbox)).all()
    done_ids = {d.id for d in done}
    local, remote = [], []
    for row in rows:
        if row.id in done_ids:
            continue
        channel = "sms" if row.step_type == StepType.AUTO_SMS.value else "email"
        (local if batch.provider_for(config, channel) == "outbox" else remote).append(row.id)
    if local:
        db.session.execute(update(StepRun).where(StepRun.id.in_(local))
                           .values(status="pending", due_at=now)
                           .execution_options(synchronize_session=False))
    if remote:
        db.session.execute(update(StepRun).where(StepRun.id.in_(remote)).values(
            status="unknown", completed_at=now,
            error="The worker stopped during the send: the provider may have the message. "
                  "Waiting for its events before sending again.")
            .execution_options(synchronize_session=False))
    if done:
        db.session.execute(update(StepRun).where(StepRun.id.in_(list(done_ids)))
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
