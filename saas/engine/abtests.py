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

Figures (`figures`): a *send* is a step run of the A/B step with a version, in status sent or
completed (a manual email version is completed when the seller sends it), counted only once its
observation window (Sequence.settings["ab_observation_hours"], default 24) has passed since it went
out (completed_at, else started_at), so both versions' sends had the same time to convert. A send
*converts* on
- "opens": it has a MessageEvent of kind "open" (step_run_id = the send);
- "clicks": it has a MessageEvent of kind "click";
- "goal": its record meets the sequence's goal (Sequence.settings["goal"] = {field, value}: the
  record's field equals the value, compiled like a segment rule) when the test is evaluated.
Both versions are sent over the same period, so counting conversions up to now biases neither.

Decision (`evaluate`): the mSPRT of saas.engine.msprt on those counts, alpha 0.05, at least 100
sends per version. Ends "auto": a winner as soon as the always-valid p-value reaches alpha, else
inconclusive 30 days after the start. Ends "at": the test runs until end_at; then the winner if
p <= alpha, else inconclusive. Inconclusive sends the default version from then on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, exists, false, func, select

from saas.engine import clock, msprt
from saas.engine.ab_split import choose_version
from saas.engine.models import AbTest, AbTestStatus, Enrollment, StepRun
from saas.extensions import db
from saas.i18n import _
from saas.messaging.models import MessageEvent
from saas.records.models import Record
from saas.sequences.models import Sequence, SequenceStatus, Step, StepType
from saas.signals import ab_test_concluded
from saas.timeutil import aware

AUTO_END_DAYS = 30
DEFAULT_OBSERVATION_HOURS = 24
SENT_STATUSES = ("sent", "completed")
METRIC_EVENT = {"opens": "open", "clicks": "click"}
DECIDED_STATUSES = (AbTestStatus.STOPPED.value, AbTestStatus.COMPLETED.value)


def now() -> datetime:
    """The engine's clock (tests move it)."""
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
    return versions_for(step, [record_id])[record_id]


def decided_version(step: Step) -> str | None:
    """The version every record gets from now on (the test stopped, completed or past its
    deadline), else None (each record by the split). One query: the test's state."""
    test = ab_test_for(step.id)
    if test is not None:
        if test.status in DECIDED_STATUSES:
            return test.winner if test.winner in ("A", "B") else default_version(step)
        if test.status == AbTestStatus.RUNNING.value:
            end = deadline(test, step)
            if end is not None and now() >= end:  # the job decides it within minutes
                stats = test.stats or {}
                significant = float(stats.get("p_value", 1.0)) <= msprt.ALPHA
                leader = stats.get("leader")
                return leader if significant and leader in ("A", "B") else default_version(step)
    return None


def versions_for(step: Step, record_ids: list[int]) -> dict[int, str]:
    """version_for() for many records at once: one query for the test, the split in Python."""
    decided = decided_version(step)
    if decided is not None:
        return dict.fromkeys(record_ids, decided)
    split = split_a(step)
    return {record_id: choose_version(step.id, record_id, split) for record_id in record_ids}


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
            test = AbTest(step_id=step.id, sequence_id=sequence_id, stats={},
                          status=AbTestStatus.DRAFT.value)
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


# --- figures and decisions -------------------------------------------------------------------

def observation_hours(sequence: Sequence) -> float:
    try:
        return max(0.0, float((sequence.settings or {}).get(
            "ab_observation_hours", DEFAULT_OBSERVATION_HOURS)))
    except (TypeError, ValueError):
        return float(DEFAULT_OBSERVATION_HOURS)


def goal_clause(sequence: Sequence):
    """SQL: the record meets the sequence goal (false when no usable goal is set)."""
    from saas.records.conditions import ConditionError, compile_condition
    from saas.records.fields import fields_for

    goal = (sequence.settings or {}).get("goal") or {}
    field = fields_for(sequence.record_type).get(goal.get("field") or "")
    if field is None or goal.get("value") in (None, ""):
        return false()
    try:
        return compile_condition(field, "equals", goal["value"])
    except ConditionError:
        return false()


def conversion_clause(step: Step, sequence: Sequence, metric: str):
    """SQL on StepRun: this send converted on the metric."""
    if metric == "goal":
        return exists().where(Record.id == StepRun.record_id,
                              Record.tenant_id == StepRun.tenant_id, goal_clause(sequence))
    return exists().where(MessageEvent.tenant_id == StepRun.tenant_id,
                          MessageEvent.step_run_id == StepRun.id,
                          MessageEvent.kind == METRIC_EVENT.get(metric, "click"))


def figures(step: Step, sequence: Sequence, at: datetime) -> dict[str, tuple[int, int]]:
    """{"A": (sends, conversions), "B": (...)} counting sends whose window has passed."""
    metric = (step.config or {}).get("metric", "clicks")
    cutoff = at - timedelta(hours=observation_hours(sequence))
    sent_at = func.coalesce(StepRun.completed_at, StepRun.started_at)
    rows = db.session.execute(
        select(StepRun.ab_version, func.count(),
               func.count().filter(conversion_clause(step, sequence, metric)))
        .where(StepRun.step_id == step.id, StepRun.ab_version.in_(("A", "B")),
               StepRun.status.in_(SENT_STATUSES), and_(sent_at.is_not(None), sent_at <= cutoff))
        .group_by(StepRun.ab_version)
    ).all()
    result = {"A": (0, 0), "B": (0, 0)}
    for version, sends, conversions in rows:
        result[version] = (int(sends), int(conversions))
    return result


def snapshot(step: Step, counts: dict[str, tuple[int, int]], result: msprt.Look,
             at: datetime, previous: dict) -> dict:
    """What AbTest.stats keeps: the figures behind the current state, JSON-ready."""
    versions = {}
    for version, (sends, conversions) in counts.items():
        low, high = msprt.wilson_interval(conversions, sends)
        versions[version] = {"sends": sends, "conversions": conversions,
                             "rate": conversions / sends if sends else None,
                             "ci": [low, high]}
    (n_a, x_a), (n_b, x_b) = counts["A"], counts["B"]
    interval = msprt.difference_interval(n_a, x_a, n_b, x_b)
    return {**previous,
            "metric": (step.config or {}).get("metric", "clicks"),
            "versions": versions, "p_value": result.p_value,
            "likelihood_ratio": result.likelihood_ratio, "leader": result.leader,
            "difference": result.rate_b - result.rate_a,
            "difference_ci": list(interval) if interval else None,
            "looks": int(previous.get("looks", 0)) + 1, "evaluated_at": at.isoformat(),
            "alpha": msprt.ALPHA, "tau": msprt.TAU, "min_sends": msprt.MIN_SENDS}


def evaluate(test_id: int, at: datetime | None = None) -> AbTest | None:
    """Look at one running test once, under a row lock (two workers take turns; the second sees
    the first's result). Decides it when the figures or the calendar say so. The caller commits."""
    test = db.session.execute(
        select(AbTest).where(AbTest.id == test_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if test is None or test.status != AbTestStatus.RUNNING.value:
        return test
    step = db.session.execute(select(Step).where(Step.id == test.step_id)).scalar_one()
    sequence = db.session.execute(
        select(Sequence).where(Sequence.id == test.sequence_id)).scalar_one()
    at = at or now()
    counts = figures(step, sequence, at)
    previous = dict(test.stats or {})
    result = msprt.look(counts["A"][0], counts["A"][1], counts["B"][0], counts["B"][1],
                        float(previous.get("p_value", 1.0)))
    stats = snapshot(step, counts, result, at, previous)
    end = deadline(test, step)
    ends_at = (step.config or {}).get("ends") == "at"
    past_end = end is not None and at >= end
    if result.decided and (past_end or not ends_at):
        _decide(test, "winner", result.leader, at, stats)
    elif past_end:
        _decide(test, "inconclusive", default_version(step), at, stats)
    else:
        test.stats = stats
    test.evaluated_at = at
    db.session.flush()
    if test.status != AbTestStatus.RUNNING.value:
        ab_test_concluded.send(None, test_id=test.id)
    return test


def _decide(test: AbTest, outcome: str, version: str | None, at: datetime, stats: dict) -> None:
    test.status = AbTestStatus.COMPLETED.value
    test.outcome = outcome
    test.winner = version
    test.decided_at = at
    test.stats = {**stats, "outcome": outcome, "decided_at": at.isoformat()}


class AbTestError(ValueError):
    """A lifecycle change that is not allowed (the message says why)."""


def stop_test(test_id: int, version: str, user_id: int | None) -> AbTest:
    """A person stops a running test and chooses the version sent from now on. The caller
    commits. Raises AbTestError when the test is not running or the version is not A or B."""
    if version not in ("A", "B"):
        raise AbTestError(_("Choose version A or version B."))
    test = db.session.execute(
        select(AbTest).where(AbTest.id == test_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if test is None:
        raise AbTestError(_("This A/B test does not exist."))
    if test.status != AbTestStatus.RUNNING.value:
        if test.status == AbTestStatus.DRAFT.value:
            raise AbTestError(_("Only a running test can be stopped; this one is a draft."))
        if test.status == AbTestStatus.COMPLETED.value:
            raise AbTestError(_("Only a running test can be stopped; this one is completed."))
        raise AbTestError(_("Only a running test can be stopped; this one is stopped."))
    at = now()
    test.status = AbTestStatus.STOPPED.value
    test.outcome = "stopped"
    test.winner = version
    test.decided_at = at
    test.stats = {**(test.stats or {}), "outcome": "stopped", "decided_at": at.isoformat(),
                  "stopped_by": user_id}
    db.session.flush()
    ab_test_concluded.send(None, test_id=test.id)
    return test


def evaluate_running(at: datetime | None = None) -> int:
    """Evaluate the current tenant's running tests, committing each; returns how many."""
    ids = db.session.execute(
        select(AbTest.id).where(AbTest.status == AbTestStatus.RUNNING.value)
        .order_by(AbTest.id)).scalars().all()
    for test_id in ids:
        evaluate(test_id, at)
        db.session.commit()
    return len(ids)


def evaluate_all_tenants(at: datetime | None = None) -> int:
    """Every tenant's running tests, each tenant in its own context; returns how many."""
    from saas.tenancy import tenant_context

    tenant_ids = db.session.execute(
        select(AbTest.tenant_id).where(AbTest.status == AbTestStatus.RUNNING.value).distinct()
        .execution_options(all_tenants=True)).scalars().all()
    done = 0
    for tenant_id in sorted(tenant_ids):
        with tenant_context(tenant_id):
            done += evaluate_running(at)
    return done

