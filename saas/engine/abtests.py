"""A/B test lifecycle: which version a record gets, starting tests, and deciding them.

Lifecycle of one `AbTest` (one per ab_test step, i.e. per sequence version):

- draft: the step is being designed; everything is editable.
- running: the sequence version is active (`start_tests`); the settings (split, metric, versions,
  end) are locked; the display name too once the sequence is active and has connected records
  (`ab_settings_locked`). Records get A or B by the split, deterministically (`version_for`).
- completed with outcome "winner": the mSPRT found a difference (saas.engine.msprt); every
  record reaching the step afterwards gets the winner.
- completed with outcome "inconclusive": the end date passed (ends "at"), or 30 days passed
  since the start (ends "auto") with no winner; the default version is sent from then on.
- stopped (outcome "stopped"): a person chose the version sent from now on.

A decided test is never reused: a new sequence version has new steps, hence new tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from saas.engine.ab_split import choose_version
from saas.engine.models import AbTest, AbTestStatus, Enrollment
from saas.extensions import db
from saas.sequences.models import Sequence, SequenceStatus, Step, StepType
from saas.timeutil import aware

AUTO_END_DAYS = 30
DECIDED_STATUSES = (AbTestStatus.STOPPED.value, AbTestStatus.COMPLETED.value)


def now() -> datetime:
    """The engine's clock when it exists (tests move it), else the wall clock."""
    try:
        from saas.engine import clock
    except ImportError:  # pragma: no cover - the engine helper adds the clock
        from saas.timeutil import utcnow
        return utcnow()
    return clock.now()


def split_a(step: Step) -> int:
    try:
        value = int((step.config or {}).get("split_a", 50))
    except (TypeError, ValueError):
        value = 50
    return min(90, max(10, value))


def default_version(step: Step) -> str:
    value = (step.config or {}).get("default_version")
    return value if value in ("A", "B") else "A"


def ab_test_for(step_id: int, *, lock: bool = False) -> AbTest | None:
    stmt = select(AbTest).where(AbTest.step_id == step_id)
    if lock:
        stmt = stmt.with_for_update()
    return db.session.execute(stmt).scalar_one_or_none()


def deadline(test: AbTest, step: Step) -> datetime | None:
    """When the test ends without a winner: end_at (ends "at"), else 30 days after the start."""
    config = step.config or {}
    if config.get("ends") == "at" and config.get("end_at"):
        try:
            return aware(datetime.fromisoformat(str(config["end_at"]).replace("Z", "+00:00")))
        except ValueError:
            pass
    started = aware(test.started_at)
    return None if started is None else started + timedelta(days=AUTO_END_DAYS)


def version_for(step: Step, record_id: int) -> str:
    """'A' or 'B' for this record at this step: the decided version once the test is stopped or
    completed (or past its deadline, before the job marks it), else by the split."""
    test = ab_test_for(step.id)
    if test is not None:
        if test.status in DECIDED_STATUSES:
            return test.winner if test.winner in ("A", "B") else default_version(step)
        if test.status == AbTestStatus.RUNNING.value:
            end = deadline(test, step)
            if end is not None and now() >= end:
                return default_version(step)
    return choose_version(step.id, record_id, split_a(step))


def start_tests(sequence_id: int) -> list[AbTest]:
    """Mark the sequence version's A/B tests running (creating their rows); decided tests stay
    as they are. The caller commits."""
    steps = db.session.execute(
        select(Step).where(Step.sequence_id == sequence_id,
                           Step.type == StepType.AB_TEST.value)
    ).scalars().all()
    started: list[AbTest] = []
    moment = now()
    for step in steps:
        test = ab_test_for(step.id, lock=True)
        if test is None:
            test = AbTest(step_id=step.id, sequence_id=sequence_id, stats={})
            db.session.add(test)
        if test.status == AbTestStatus.DRAFT.value:
            test.status = AbTestStatus.RUNNING.value
            test.started_at = moment
            started.append(test)
    db.session.flush()
    return started


def ab_settings_locked(step: Step) -> bool:
    """True when the A/B settings (split, metric, versions, end) can no longer change: the test
    runs or ran. The display name is locked as well (see `ab_name_locked`)."""
    test = ab_test_for(step.id)
    return test is not None and test.status != AbTestStatus.DRAFT.value


def ab_name_locked(step: Step) -> bool:
    """The display name is locked once the sequence is active and has connected records."""
    sequence = db.session.execute(
        select(Sequence).where(Sequence.id == step.sequence_id)).scalar_one_or_none()
    if sequence is None or sequence.status != SequenceStatus.ACTIVE.value:
        return False
    return db.session.execute(
        select(Enrollment.id).where(Enrollment.sequence_id == sequence.id).limit(1)
    ).first() is not None
