"""The read side of analytics: every figure is a SQL aggregate (GROUP BY, FILTER), never a Python
loop over enrollments, step runs or events. The day-by-day aggregates live in `rollup`; this
module has the definitions, the periods, the steps tree and what is read live (the median,
overdue activities, A/B panels).

Definitions (shown on the page as well), with UTC days:
- Records: the enrollments of every version of the sequence *connected in the period*
  (started_at), by their status now; exited ones by exit reason. Goal reached: those whose record
  meets the sequence goal now (Sequence.settings["goal"]: the field equals the value). Median days
  to complete: over the completed ones, from connection to completion.
- Steps: the step runs *reached in the period* (created_at). Completed counts sent messages
  (status sent) and completed activities, waits and conditions; overdue are open activities past
  their due time. For message steps, delivered / opened / clicked / replied / bounced /
  unsubscribed count the sends with at least one such event, and rates are of the sends.
- Timeline: per UTC day, messages sent and replies received for the sequence's step runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, text

from saas.engine.models import AbTest, Enrollment, StepRun
from saas.extensions import db
from saas.i18n import _, _l
from saas.sequences.models import Sequence, Step, StepType

PERIODS = {"7": _l("Last 7 days"), "30": _l("Last 30 days"), "90": _l("Last 90 days"),
           "365": _l("Last 12 months"), "all": _l("All time")}
# The sentences of the page that name the period, one per period (no sentence from fragments).
RECORDS_HEADING = {"7": _l("connected last 7 days, all versions"),
                   "30": _l("connected last 30 days, all versions"),
                   "90": _l("connected last 90 days, all versions"),
                   "365": _l("connected last 12 months, all versions"),
                   "all": _l("connected all time, all versions")}
STEPS_HEADING = {"7": _l("reached last 7 days"), "30": _l("reached last 30 days"),
                 "90": _l("reached last 90 days"), "365": _l("reached last 12 months"),
                 "all": _l("reached all time")}
NONE_CONNECTED = {
    "7": _l("No record was connected last 7 days."),
    "30": _l("No record was connected last 30 days."),
    "90": _l("No record was connected last 90 days."),
    "365": _l("No record was connected last 12 months."),
    "all": _l("No record was connected all time."),
}
TIMELINE_DAYS_FOR_ALL = 90
MESSAGE_TYPES = (StepType.EMAIL.value, StepType.AUTO_EMAIL.value, StepType.SMS.value,
                 StepType.AUTO_SMS.value, StepType.AB_TEST.value)
DONE_STATUSES = ("completed", "sent")
# Event kinds as stored in MessageEvent, and the column each one fills.
EVENT_COLUMNS = {"delivered": "delivered", "open": "opened", "click": "clicked",
                 "reply": "replied", "bounce": "bounced", "unsubscribe": "unsubscribed"}
# Each column's heading on the page (the CSV keeps the column names above).
EVENT_LABELS = {"delivered": _l("Delivered"), "opened": _l("Opened"), "clicked": _l("Clicked"),
                "replied": _l("Replied"), "bounced": _l("Bounced"),
                "unsubscribed": _l("Unsubscribed")}


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime | None
    end: datetime

    @property
    def label(self) -> str:
        return str(PERIODS[self.key])

    @property
    def records_heading(self) -> str:
        return str(RECORDS_HEADING[self.key])

    @property
    def steps_heading(self) -> str:
        return str(STEPS_HEADING[self.key])

    @property
    def none_connected(self) -> str:
        return str(NONE_CONNECTED[self.key])

    @classmethod
    def parse(cls, key: str | None, now: datetime) -> Period:
        """From the start of the UTC day N days ago (analytics count whole days) until now."""
        key = key if key in PERIODS else "all"
        start = None
        if key != "all":
            first = (now - timedelta(days=int(key))).date()
            start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
        return cls(key, start, now)

    def timeline_days(self) -> list[date]:
        start = self.start or self.end - timedelta(days=TIMELINE_DAYS_FOR_ALL - 1)
        first, last = start.date(), self.end.date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass
class RecordSummary:
    connected: int = 0
    active: int = 0
    paused: int = 0
    completed: int = 0
    exited: int = 0
    disconnected: int = 0
    exited_by_reason: dict[str, int] = field(default_factory=dict)
    goal_reached: int | None = None   # None: the sequence has no goal
    median_days: float | None = None


@dataclass
class StepFigures:
    step: Step
    depth: int
    label: str                          # "3. Intro email" / "3.yes.1 Call"
    reached: int = 0
    completed: int = 0
    skipped: int = 0
    overdue: int = 0
    failed: int = 0
    events: dict[str, int] = field(default_factory=dict)

    @property
    def is_message(self) -> bool:
        return self.step.type in MESSAGE_TYPES

    def rate(self, value: int, of: int | None = None) -> float | None:
        base = self.completed if of is None else of
        return value / base if base else None


def dialect() -> str:
    return db.session.get_bind().dialect.name


def lineage_of(sequence: Sequence) -> int:
    return sequence.lineage_id or sequence.id


def versions(sequence: Sequence) -> list[Sequence]:
    return list(db.session.execute(
        select(Sequence).where(Sequence.lineage_id == lineage_of(sequence))
        .order_by(Sequence.version)).scalars()) or [sequence]


def _in_period(column, period: Period):
    clauses = [column <= period.end]
    if period.start is not None:
        clauses.append(column >= period.start)
    return clauses


def cohort(sequence: Sequence, period: Period) -> list:
    """The enrollments of every version connected in the period."""
    return [Enrollment.lineage_id == lineage_of(sequence),
            *_in_period(Enrollment.started_at, period)]


def median_days_to_complete(cohort: list) -> float | None:
    """percentile_cont on PostgreSQL; on SQLite the middle row(s) by ORDER BY/OFFSET."""
    done = [*cohort, Enrollment.status == "completed", Enrollment.ended_at.is_not(None)]
    if dialect() == "postgresql":
        seconds = func.extract("epoch", Enrollment.ended_at - Enrollment.started_at)
        value = db.session.execute(
            select(func.percentile_cont(0.5).within_group(seconds)).where(*done)).scalar()
        return None if value is None else float(value) / 86400
    days = func.julianday(Enrollment.ended_at) - func.julianday(Enrollment.started_at)
    count = db.session.execute(select(func.count()).select_from(Enrollment).where(*done)).scalar()
    if not count:
        return None
    middle = db.session.execute(
        select(days).where(*done).order_by(days).offset((count - 1) // 2)
        .limit(2 - count % 2)).scalars().all()
    return float(sum(middle) / len(middle))


def ordered_steps(sequence_id: int) -> list[tuple[Step, int, str]]:
    """The version's steps as the designer shows them: the main branch in order, each
    condition followed by its Yes then No branch (depth-first), with a path label."""
    steps = db.session.execute(
        select(Step).where(Step.sequence_id == sequence_id)
        .order_by(Step.parent_id, Step.branch, Step.position, Step.id)).scalars().all()
    children: dict[tuple[int | None, str], list[Step]] = {}
    for step in steps:
        children.setdefault((step.parent_id, step.branch), []).append(step)
    result: list[tuple[Step, int, str]] = []

    def walk(parent: int | None, branch: str, depth: int, prefix: str) -> None:
        for index, step in enumerate(children.get((parent, branch), []), start=1):
            label = f"{prefix}{index}"
            result.append((step, depth, label))
            for sub in ("yes", "no"):
                if (step.id, sub) in children:
                    walk(step.id, sub, depth + 1, f"{label}.{sub}.")

    walk(None, "main", 0, "")
    return result


@dataclass
class Activity:
    steps: list[StepFigures]
    days: list[tuple[date, int, int]]   # (day, messages sent, replies)


def overdue(chosen_id: int, period: Period, now: datetime) -> dict[int, int]:
    """Open activities past their due time, by step, among those reached in the period (read
    live: it changes with the clock, not with events)."""
    step_ids = list(db.session.execute(
        select(Step.id).where(Step.sequence_id == chosen_id)).scalars())
    if not step_ids:
        return {}
    return dict(db.session.execute(
        select(StepRun.step_id, func.count())
        .where(StepRun.step_id.in_(step_ids), StepRun.status == "open", StepRun.due_at < now,
               *_in_period(StepRun.created_at, period))
        .group_by(StepRun.step_id)).all())


def ab_tests(sequence: Sequence) -> list[tuple[AbTest, Step, Sequence]]:
    """The A/B tests of every version, newest version first."""
    by_id = {v.id: v for v in versions(sequence)}
    rows = db.session.execute(
        select(AbTest, Step).join(Step, Step.id == AbTest.step_id)
        .where(AbTest.sequence_id.in_(list(by_id)))
        .order_by(AbTest.sequence_id.desc(), Step.position, AbTest.id)).all()
    return [(test, step, by_id[test.sequence_id]) for test, step in rows]


def lineage_overview() -> list[tuple[Sequence, int, int]]:
    """Each sequence (its newest version) with its connections and running records."""
    newest = select(Sequence.lineage_id, func.max(Sequence.version).label("version")) \
        .group_by(Sequence.lineage_id).subquery()
    sequences = db.session.execute(
        select(Sequence).join(newest, (newest.c.lineage_id == Sequence.lineage_id)
                              & (newest.c.version == Sequence.version))
        .order_by(Sequence.name)).scalars().all()
    counts = {lineage: (total, running) for lineage, total, running in db.session.execute(
        select(Enrollment.lineage_id, func.count(),
               func.count().filter(Enrollment.status.in_(("active", "paused"))))
        .group_by(Enrollment.lineage_id))}
    return [(s, *counts.get(lineage_of(s), (0, 0))) for s in sequences]


@dataclass
class AbVersion:
    name: str                 # "A" or "B"
    label: str                # the version's own name
    sends: int
    conversions: int
    rate: float | None
    ci: tuple[float, float]
    winner: bool


@dataclass
class AbPanel:
    test: AbTest
    step: Step
    sequence: Sequence
    metric: str
    versions: list[AbVersion]
    p_value: float | None
    as_of: str | None          # when the figures were taken (ISO), None for live ones
    deadline: datetime | None

    @property
    def display_name(self) -> str:
        return (self.step.config or {}).get("display_name") or self.step.name


METRIC_LABELS = {"opens": "open", "clicks": "click", "goal": "goal"}  # codes, as the CSV has them
# What the page and the charts call each metric's rate and its conversions.
METRIC_RATES = {"open": _l("open rate"), "click": _l("click rate"), "goal": _l("goal rate")}
METRIC_COUNTS = {"open": _l("Opens"), "click": _l("Clicks"), "goal": _l("Goals")}


def metric_rate(metric: str) -> str:
    return str(METRIC_RATES.get(metric) or _("%(metric)s rate", metric=metric))


def metric_count(metric: str) -> str:
    return str(METRIC_COUNTS.get(metric) or metric.capitalize())



def ab_panels(sequence: Sequence, now: datetime) -> list[AbPanel]:
    """The A/B panel of each test: the figures kept by its last evaluation (what the decision
    rests on); a test not evaluated yet shows live figures, computed without saving anything."""
    from saas.engine import abtests, msprt

    panels = []
    for test, step, version in ab_tests(sequence):
        stats = test.stats or {}
        config = step.config or {}
        metric = stats.get("metric") or config.get("metric", "clicks")
        as_of = stats.get("evaluated_at")
        if stats.get("versions"):
            counts = {k: (int(v["sends"]), int(v["conversions"]))
                      for k, v in stats["versions"].items()}
            p_value = stats.get("p_value")
        elif test.status == "draft":
            counts, p_value = {"A": (0, 0), "B": (0, 0)}, None
        else:
            counts = abtests.figures(step, version, now)
            p_value = msprt.look(counts["A"][0], counts["A"][1], counts["B"][0],
                                 counts["B"][1]).p_value
            as_of = None
        winner = test.winner if test.outcome == "winner" else None
        rows = []
        for name in ("A", "B"):
            sends, conversions = counts.get(name, (0, 0))
            rows.append(AbVersion(
                name, ((config.get("versions") or {}).get(name) or {}).get("name") or name,
                sends, conversions, conversions / sends if sends else None,
                msprt.wilson_interval(conversions, sends) if sends else (0.0, 0.0),
                winner == name))
        panels.append(AbPanel(test, step, version, METRIC_LABELS.get(metric, metric), rows,
                              p_value, as_of, abtests.deadline(test, step)))
    return panels


def tune_session() -> None:
    """PostgreSQL: give this transaction's aggregates enough memory to hash in RAM instead of
    sorting on disk (SET LOCAL: it ends with the request's transaction)."""
    if dialect() == "postgresql":
        db.session.execute(text("SET LOCAL work_mem = '64MB'"))
        # JIT compiling these one-off aggregates costs more (~0.2 s) than it saves.
        db.session.execute(text("SET LOCAL jit = off"))
