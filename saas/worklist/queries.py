"""The worklist: a seller's open activities, one query per page over ix_step_run_worklist.

Every row is one open `StepRun` (a record's current manual activity in one sequence), joined to its
record, step and sequence version in the same statement (no N+1). The default order (due time, id)
follows the partial index (tenant_id, seller_id, due_at, id) WHERE status = 'open', so the first
page reads 51 index entries whatever the size of the list; the keyset cursor keeps later pages as
cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, literal, or_, select, tuple_

from saas.auth.models import Role, User, UserStatus
from saas.engine.models import Enrollment, EnrollmentStatus, StepRun, StepRunStatus
from saas.extensions import db
from saas.i18n import _l
from saas.records.fields import search_text
from saas.records.models import Record
from saas.sequences.models import Sequence, SequenceStatus, Step, StepType
from saas.sequences.steps import LINKEDIN_ICONS, LINKEDIN_LABELS
from saas.tenancy import current_tenant_id
from saas.web.ids import parse_id
from saas.web.pagination import cursor_position, encode_cursor

PAGE_SIZE = 50

# The worklist's groups, sorted by due time: before the viewer's today, today, after today.
DUE_GROUPS = {"overdue": _l("Overdue"), "today": _l("Today"), "later": _l("Later")}
WHEN = {"": _l("All"), "overdue": _l("Overdue"), "today": _l("Due today"),
        "upcoming": _l("Upcoming"), "snoozed": _l("Snoozed")}
SORTS = {"due": _l("Due time"), "name": _l("Name")}
ACTIVITY_TYPES = {StepType.EMAIL.value: _l("Email"), StepType.SMS.value: _l("Text message"),
                  StepType.CALL.value: _l("Phone call"), StepType.TASK.value: _l("Task"),
                  **LINKEDIN_LABELS}
# Plain symbols every system font has (no colour emoji needed).
ICONS = {"email": "✉", "sms": "✆", "call": "☎", "task": "☑", "wait": "◷",
         "auto_email": "✉", "auto_sms": "✆", "ab_test": "A/B", **LINKEDIN_ICONS}


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass
class DayBounds:
    """'Now' and the seller's today, in UTC. Overdue: due before today; due today; upcoming:
    due after today."""

    now: datetime
    start: datetime
    end: datetime

    @classmethod
    def for_user(cls, now: datetime, time_zone: str | None) -> DayBounds:
        tz = zone(time_zone)
        local = now.astimezone(tz)
        start = datetime.combine(local.date(), time.min, tzinfo=tz)
        return cls(now, start.astimezone(now.tzinfo), (start + timedelta(days=1))
                   .astimezone(now.tzinfo))


def snooze_default(now: datetime, time_zone: str | None) -> str:
    """Tomorrow 09:00 in the user's time zone, as a datetime-local value."""
    local = now.astimezone(zone(time_zone)) + timedelta(days=1)
    return local.strftime("%Y-%m-%dT09:00")


@dataclass
class WorklistQuery:
    seller_id: int
    when: str = ""
    activity_type: str = ""
    sequence: int | None = None      # a lineage id: every version of the sequence
    record_type: str = ""
    sort: str = "due"
    q: str = ""
    after: str | None = None
    seller_param: int | None = None  # a manager looking at another seller's list

    @classmethod
    def from_args(cls, seller_id: int, args) -> WorklistQuery:
        sequence = (args.get("sequence") or "").strip()
        query = cls(
            seller_id=seller_id,
            when=args.get("when", "") if args.get("when", "") in WHEN else "",
            activity_type=args.get("type", "") if args.get("type", "") in ACTIVITY_TYPES else "",
            sequence=parse_id(sequence),
            record_type=args.get("record_type", "")
            if args.get("record_type", "") in ("lead", "opportunity") else "",
            sort=args.get("sort", "due") if args.get("sort", "due") in SORTS else "due",
            q=(args.get("q") or "").strip()[:100],
            after=args.get("after") or None,
        )
        return query

    def args(self, **overrides) -> dict[str, Any]:
        """The query string (without defaults) for links: filters, sort, pages."""
        values = {"seller": self.seller_param, "when": self.when, "type": self.activity_type,
                  "sequence": self.sequence, "record_type": self.record_type,
                  "sort": self.sort if self.sort != "due" else "",
                  "q": self.q, "after": self.after}
        values.update(overrides)
        return {k: v for k, v in values.items() if v not in ("", None)}

    @property
    def filtered(self) -> bool:
        return bool(self.when or self.activity_type or self.sequence or self.record_type or self.q)


@dataclass
class Row:
    """One line of the worklist."""

    step_run_id: int
    record_id: int
    record_name: str
    company: str
    record_type: str
    email: str | None
    phone: str | None
    activity_type: str
    activity_name: str
    sequence_name: str
    sequence_id: int
    due_at: datetime | None
    snoozed_until: datetime | None
    overdue: bool
    record_time_zone: str | None = None
    linkedin_url: str | None = None
    group: str = "later"  # "overdue", "today" or "later", in the viewer's day (DUE_GROUPS)

    @property
    def is_linkedin(self) -> bool:
        return self.activity_type in LINKEDIN_LABELS

    @property
    def icon(self) -> str:
        return ICONS.get(self.activity_type, "•")

    @property
    def type_label(self) -> str:
        return str(ACTIVITY_TYPES.get(self.activity_type, self.activity_type))

    @property
    def primary(self) -> str:
        """The row's main action, what the activity asks for: "compose" an email or a text,
        "call", or "open" the record (a task, a LinkedIn step)."""
        if self.activity_type in (StepType.EMAIL.value, StepType.SMS.value):
            return "compose"
        if self.activity_type == StepType.CALL.value:
            return "call"
        return "open"


@dataclass
class Page:
    rows: list[Row]
    next_after: str | None


def _open_runs(seller_id: int):
    return and_(StepRun.seller_id == seller_id, StepRun.status == StepRunStatus.OPEN.value)


def _awake(day: DayBounds):
    """Snoozed activities leave the worklist until their time (then they are due again)."""
    return or_(StepRun.snoozed_until.is_(None), StepRun.snoozed_until <= day.now)


def _when_clause(when: str, day: DayBounds):
    if when == "snoozed":
        return StepRun.snoozed_until > day.now
    if when == "overdue":
        return StepRun.due_at < day.start
    if when == "today":
        return and_(StepRun.due_at >= day.start, StepRun.due_at < day.end)
    if when == "upcoming":
        return StepRun.due_at >= day.end
    return None


def sequence_versions(lineage_id: int) -> list[int]:
    return list(db.session.execute(
        select(Sequence.id).where(Sequence.lineage_id == lineage_id)).scalars())


def _filters(query: WorklistQuery, day: DayBounds) -> list:
    clauses = [_open_runs(query.seller_id)]
    clauses.append(_when_clause(query.when, day) if query.when == "snoozed" else _awake(day))
    when = _when_clause(query.when, day)
    if when is not None and query.when != "snoozed":
        clauses.append(when)
    if query.activity_type:
        clauses.append(StepRun.step_type == query.activity_type)
    if query.sequence:
        clauses.append(StepRun.sequence_id.in_(sequence_versions(query.sequence) or [-1]))
    if query.record_type:
        clauses.append(Record.record_type == query.record_type)
    if query.q:
        clauses.append(search_text().contains(query.q.lower(), autoescape=True))
    return clauses


def _sort_keys(sort: str) -> list:
    if sort == "name":
        return [Record.last_name, Record.first_name, StepRun.id]
    return [StepRun.due_at, StepRun.id]


def _cursor_of(sort: str, row) -> tuple:
    if sort == "name":
        return (row.last_name, row.first_name, row.id)
    return (row.due_at.isoformat() if row.due_at else None, row.id)


def worklist_page(query: WorklistQuery, day: DayBounds, limit: int = PAGE_SIZE) -> Page:
    """One page of the worklist: a single statement joining record, step and sequence."""
    keys = _sort_keys(query.sort)
    stmt = (
        select(StepRun.id, StepRun.record_id, StepRun.step_type, StepRun.due_at,
               StepRun.snoozed_until, StepRun.sequence_id, Record.first_name, Record.last_name,
               Record.company, Record.record_type, Record.email, Record.phone,
               Record.linkedin_url,
               Record.time_zone.label("record_time_zone"), Step.name.label("step_name"),
               Sequence.name.label("sequence_name"))
        .join(Record, Record.id == StepRun.record_id)
        .join(Step, Step.id == StepRun.step_id)
        .join(Sequence, Sequence.id == StepRun.sequence_id)
        # A paused enrollment keeps its activity open but nothing can be done on it.
        .join(Enrollment, and_(Enrollment.id == StepRun.enrollment_id,
                               Enrollment.status == EnrollmentStatus.ACTIVE.value))
        .where(*_filters(query, day))
    )
    position = cursor_position(query.after, keys)  # None: a bad cursor starts at the top
    if position is not None and all(v is not None for v in position):
        typed = [literal(v, k.type) for v, k in zip(position, keys, strict=True)]
        stmt = stmt.where(tuple_(*keys) > tuple_(*typed))
    rows = db.session.execute(stmt.order_by(*keys).limit(limit + 1)).all()
    next_after = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_after = encode_cursor(_cursor_of(query.sort, last))
    return Page([_row(r, day) for r in rows], next_after)


def _group(due_at: datetime | None, day: DayBounds) -> str:
    if due_at is not None and due_at < day.start:
        return "overdue"
    if due_at is not None and due_at < day.end:
        return "today"
    return "later"


def _row(r, day: DayBounds) -> Row:
    name = " ".join(p for p in (r.first_name, r.last_name) if p) or "(no name)"
    return Row(step_run_id=r.id, record_id=r.record_id, record_name=name, company=r.company,
               record_type=r.record_type, email=r.email, phone=r.phone,
               activity_type=r.step_type, activity_name=r.step_name,
               sequence_name=r.sequence_name, sequence_id=r.sequence_id, due_at=r.due_at,
               snoozed_until=r.snoozed_until, record_time_zone=r.record_time_zone,
               linkedin_url=r.linkedin_url, group=_group(r.due_at, day),
               overdue=r.due_at is not None and r.due_at < day.start)


COUNT_CAP = 10_000


def counts(seller_id: int, day: DayBounds) -> dict[str, int]:
    """How many open activities fall in each time filter, each counted up to COUNT_CAP + 1 (a
    range of the partial index per filter), so a seller with 100,000 activities waits no longer
    than one with 10,000: the page shows "10,000+". Snoozed ones come from their own small
    partial index. Like the list, activities of paused enrollments are left out."""
    base = (_open_runs(seller_id), StepRun.tenant_id == current_tenant_id())
    running = (Enrollment, and_(Enrollment.id == StepRun.enrollment_id,
                                Enrollment.status == EnrollmentStatus.ACTIVE.value))
    buckets: dict[str, list] = {"": [_awake(day)]}
    for when in ("overdue", "today", "upcoming"):
        buckets[when] = [_awake(day), _when_clause(when, day)]
    buckets["snoozed"] = [StepRun.snoozed_until.is_not(None), _when_clause("snoozed", day)]
    columns = [
        select(func.count()).select_from(
            select(StepRun.id).join(*running).where(*base, *clauses)
            .limit(COUNT_CAP + 1).subquery()
        ).scalar_subquery().label(f"n_{key or 'all'}")
        for key, clauses in buckets.items()]
    row = db.session.execute(select(*columns)).one()
    return dict(zip(buckets, row, strict=True))


def next_record_id(seller_id: int, now: datetime,
                   exclude_record_id: int | None = None) -> int | None:
    """The record of the seller's next open activity (for auto-advance)."""
    stmt = select(StepRun.record_id).join(
        Enrollment, and_(Enrollment.id == StepRun.enrollment_id,
                         Enrollment.status == EnrollmentStatus.ACTIVE.value)
    ).where(_open_runs(seller_id), _awake(DayBounds(now, now, now)))
    if exclude_record_id is not None:
        stmt = stmt.where(StepRun.record_id != exclude_record_id)
    return db.session.execute(
        stmt.order_by(StepRun.due_at, StepRun.id).limit(1)).scalar_one_or_none()


def sellers() -> list[User]:
    """Who a manager can pick: active users holding the seller role."""
    users = db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value).order_by(User.name)
    ).scalars().all()
    return [u for u in users if Role.SELLER.value in (u.roles or [])]


def sequence_choices() -> list[tuple[int, str]]:
    """Sequences to filter by: (lineage id, name of its newest version), drafts left out."""
    rows = db.session.execute(
        select(Sequence.lineage_id, Sequence.name, Sequence.id)
        .where(Sequence.status != SequenceStatus.DRAFT.value)
        .order_by(Sequence.lineage_id, Sequence.version.desc())
    ).all()
    names: dict[int, str] = {}
    for lineage_id, name, sequence_id in rows:
        names.setdefault(lineage_id or sequence_id, name)
    return sorted(names.items(), key=lambda item: item[1].lower())
