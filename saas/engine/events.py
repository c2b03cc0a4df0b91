"""What message events do to enrollments: an uncertain send reconciled, exits (reply,
unsubscribe, bounce, per the sequence's settings) and email conditions waiting for an open, a
click or a reply.

Messaging records each MessageEvent and announces it (`saas.signals.message_event_recorded`);
`on_recorded` follows it, in the recorder's transaction (no commit here).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from saas.engine import clock
from saas.engine.accounts import stop_accounts
from saas.engine.bulk import decide_email_conditions
from saas.engine.graph import EMAIL_TYPES, load_graph
from saas.engine.lifecycle import end_enrollments
from saas.engine.models import RUNNING_STATUSES, Enrollment, EnrollmentStatus, StepRun
from saas.engine.uncertain import mark_reconciled
from saas.extensions import db
from saas.messaging.events import PROOF_OF_SENDING
from saas.records.models import Record
from saas.sequences.models import Sequence, StepType

# message_event.kind -> the engine's kind
ENGINE_KINDS = {"open": "opened", "click": "clicked", "reply": "replied", "bounce": "bounced",
                "unsubscribe": "unsubscribed", "spamreport": "spamreport",
                "delivered": "delivered"}
# Event kind (or suppression reason) -> the sequence setting that makes it an exit.
EXIT_SETTINGS = {"replied": "exit_on_reply", "reply": "exit_on_reply",
                 "unsubscribed": "exit_on_unsubscribe", "unsubscribe": "exit_on_unsubscribe",
                 "spamreport": "exit_on_unsubscribe", "stop": "exit_on_unsubscribe",
                 "bounced": "exit_on_bounce", "bounce": "exit_on_bounce",
                 "dropped": "exit_on_bounce"}
EXIT_REASONS = {"exit_on_reply": "replied", "exit_on_unsubscribe": "unsubscribed",
                "exit_on_bounce": "bounced"}


def step_run_of(step_run_id) -> StepRun | None:
    """The tenant's step run by id (another tenant's id, or no id, finds nothing)."""
    try:
        run_id = int(step_run_id)
    except (TypeError, ValueError):
        return None
    return db.session.execute(select(StepRun).where(StepRun.id == run_id)).scalar_one_or_none()


def on_recorded(_sender, *, kind: str, step_run_id: int | None, address: str | None,
                data: dict, occurred_at: datetime, notify: bool, suppressed: str | None,
                **_more) -> None:
    """A recorded provider event, in this order: an `unknown` run it proves was accepted is
    marked sent and moves on; a just-suppressed address's enrollments exit; the event itself
    moves exits, conditions and A/B results (unless `notify` is False)."""
    if step_run_id is not None and kind in PROOF_OF_SENDING:
        run = step_run_of(step_run_id)
        if run is not None:
            mark_reconciled(run, kind, data.get("provider_message_id"))
    if suppressed and address:
        exit_enrollments_for_address(address, suppressed)
    if notify and step_run_id is not None and kind in ENGINE_KINDS:
        on_message_event(step_run_id, ENGINE_KINDS[kind], occurred_at)


def exits_on(settings: dict | None, kind: str) -> bool:
    key = EXIT_SETTINGS.get(kind)
    return key is not None and bool((settings or {}).get(key, True))


def on_message_event(step_run_id: int, kind: str, occurred_at: datetime | None = None) -> str:
    """Apply one event of a sequence message; returns what it did: 'exited', 'decided' or
    'nothing'."""
    run = db.session.execute(select(StepRun).where(StepRun.id == step_run_id)).scalar_one_or_none()
    if run is None:
        return "nothing"
    enrollment = db.session.execute(
        select(Enrollment).where(Enrollment.id == run.enrollment_id).with_for_update()
    ).scalar_one_or_none()
    if enrollment is None or enrollment.status not in RUNNING_STATUSES:
        return "nothing"
    settings = db.session.execute(
        select(Sequence.settings).where(Sequence.id == enrollment.sequence_id)).scalar() or {}
    now = clock.now()
    if exits_on(settings, kind):
        reason = EXIT_REASONS[EXIT_SETTINGS[kind]]
        end_enrollments([enrollment.id], EnrollmentStatus.EXITED.value, reason, now)
        stop_accounts([enrollment.id], reason, now)
        return "exited"
    if enrollment.status != EnrollmentStatus.ACTIVE.value:
        return "nothing"  # paused: the condition is decided at its time limit, after resume
    waiting = db.session.execute(select(StepRun.step_id).where(
        StepRun.enrollment_id == enrollment.id, StepRun.status == "waiting",
        StepRun.step_type == StepType.EMAIL_CONDITION.value)).scalars().all()
    if not waiting:
        return "nothing"
    graph = load_graph(enrollment.sequence_id)
    decided = 0
    for step_id in waiting:
        reference = graph.closest_before(step_id, EMAIL_TYPES)
        if reference is None or reference.id != run.step_id:
            continue
        decided += decide_email_conditions(graph, graph.steps[step_id], [enrollment.id], now,
                                           timed_out=False, extra={run.id: {kind}})
    return "decided" if decided else "nothing"


def lock_for_events(step_run_ids, addresses) -> None:
    """Before a batch of provider events is applied in one transaction: lock, in id order (the
    one lock order), every running enrollment it may touch (those of the runs it names, and of
    the records behind addresses it may suppress), so that two batches, or a batch and a
    worker, never take them in opposite orders."""
    from saas.engine.lifecycle import lock_in_order

    run_ids = sorted({int(i) for i in step_run_ids})
    ids: set[int] = set()
    if run_ids:
        ids |= set(db.session.execute(select(StepRun.enrollment_id).where(
            StepRun.id.in_(run_ids))).scalars())
    wanted = sorted({a.strip().lower() for a in addresses if a and a.strip()})
    if wanted:
        ids |= set(db.session.execute(
            select(Enrollment.id).join(Record, Record.id == Enrollment.record_id)
            .where(Enrollment.status.in_(RUNNING_STATUSES),
                   or_(func.lower(Record.email).in_(wanted), Record.phone.in_(wanted)))
        ).scalars())
    lock_in_order(sorted(ids))


def exit_enrollments_for_address(address: str, reason: str) -> int:
    """A suppressed address (unsubscribe, bounce, spam report, STOP) leaves the sequences whose
    settings exit on that reason; returns how many enrollments ended."""
    address = (address or "").strip()
    if not address:
        return 0
    rows = db.session.execute(
        select(Enrollment.id, Sequence.settings)
        .join(Record, Record.id == Enrollment.record_id)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Enrollment.status.in_(RUNNING_STATUSES),
               or_(func.lower(Record.email) == address.lower(), Record.phone == address))).all()
    key = EXIT_SETTINGS.get(reason)
    ids = [row.id for row in rows if key is None or (row.settings or {}).get(key, True)]
    word = EXIT_REASONS.get(key, reason) if key else reason
    ended = end_enrollments(ids, EnrollmentStatus.EXITED.value, word)
    stop_accounts(ids, word)
    return ended
