"""The read side of records: filtered, searched, sorted lists with keyset pagination, and export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, false, func, select
from werkzeug.datastructures import MultiDict

from saas.auth.models import User, UserStatus
from saas.extensions import db
from saas.i18n import _, _l
from saas.records.conditions import ConditionError, compile_condition
from saas.records.fields import Field, fields_for, search_text
from saas.records.models import Record
from saas.web.pagination import Page, keyset_page

SORTS = {
    "newest": (_l("Newest first"), ("created_at", "id"), True),
    "oldest": (_l("Oldest first"), ("created_at", "id"), False),
    "name": (_l("Name A–Z"), ("last_name", "first_name", "id"), False),
    "name_desc": (_l("Name Z–A"), ("last_name", "first_name", "id"), True),
    "company": (_l("Company A–Z"), ("company", "id"), False),
    "updated": (_l("Recently updated"), ("updated_at", "id"), True),
}
QUICK_FILTERS = ("lead_source", "status", "stage", "language", "owner_id")
PAGE_SIZE = 50
COUNT_CAP = 10_000
MAX_CONDITIONS = 50  # advanced filters in one query string (the page offers a handful)


@dataclass
class Condition:
    field: str
    op: str
    value: str = ""


@dataclass
class ListQuery:
    """What the list shows, parsed from the query string (and written back into links)."""

    record_type: str
    q: str = ""
    conditions: list[Condition] = field(default_factory=list)
    sort: str = "newest"
    after: str | None = None
    errors: list[str] = field(default_factory=list)

    @classmethod
    def from_args(cls, record_type: str, args: MultiDict) -> ListQuery:
        """The list's query string: each value is checked where it is used (search bounded,
        sort a known one, conditions by saas/records/conditions.py, cursor by pagination)."""
        query = cls(record_type=record_type, q=(args.get("q") or "").strip()[:200],
                    sort=args.get("sort") if args.get("sort") in SORTS else "newest",
                    after=args.get("after") or None)
        for key in QUICK_FILTERS:
            if args.get(key):
                query.conditions.append(Condition(key, "equals", args[key]))
        rows = (args.getlist(key)[:MAX_CONDITIONS] for key in ("f", "op", "v"))
        for f, op, v in zip(*rows, strict=False):
            if f and op:
                query.conditions.append(Condition(f, op, v))
        return query

    def args(self, **changes) -> dict:
        """The query string for links (pagination, sort, export) keeping everything else."""
        values = {"q": self.q or None, "sort": self.sort if self.sort != "newest" else None}
        quick = {c.field: c.value for c in self.conditions
                 if c.field in QUICK_FILTERS and c.op == "equals"}
        values.update(quick)
        values["f"] = [c.field for c in self.advanced]
        values["op"] = [c.op for c in self.advanced]
        values["v"] = [c.value for c in self.advanced]
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", [])}

    @property
    def advanced(self) -> list[Condition]:
        return [c for c in self.conditions
                if not (c.field in QUICK_FILTERS and c.op == "equals")]

    def quick(self, key: str) -> str:
        for c in self.conditions:
            if c.field == key and c.op == "equals":
                return c.value
        return ""


def _where(query: ListQuery, fields: dict[str, Field]):
    clauses = [Record.record_type == query.record_type]
    if query.q:
        clauses.append(search_text().contains(query.q.lower(), autoescape=True))
    for condition in query.conditions:
        f = fields.get(condition.field)
        try:
            if f is None:
                raise ConditionError(_("“%(field)s” is not a field of this list.",
                                       field=condition.field))
            clauses.append(compile_condition(f, condition.op, condition.value))
        except ConditionError as error:
            clauses.append(false())  # a filter that cannot apply matches nothing, visibly
            if str(error) not in query.errors:
                query.errors.append(str(error))
    return and_(*clauses)


def check_filters(query: ListQuery) -> list[str]:
    """Compile the filters once so their errors are known before any output starts."""
    _where(query, fields_for(query.record_type))
    return query.errors


def records_page(query: ListQuery, fields: dict[str, Field] | None = None) -> Page:
    fields = fields or fields_for(query.record_type)
    __, key_names, descending = SORTS[query.sort]
    keys = [getattr(Record, name) for name in key_names]
    stmt = select(Record).where(_where(query, fields))
    return keyset_page(stmt, keys, query.after, descending=descending, limit=PAGE_SIZE,
                       cursor_of=lambda r: tuple(getattr(r, n) for n in key_names))


def count_capped(query: ListQuery, fields: dict[str, Field] | None = None) -> int:
    """How many records match, counting at most COUNT_CAP + 1 (so a huge list stays fast)."""
    fields = fields or fields_for(query.record_type)
    inner = select(Record.id).where(_where(query, fields)).limit(COUNT_CAP + 1).subquery()
    return db.session.execute(select(func.count()).select_from(inner)).scalar_one()


def iter_records(query: ListQuery, batch: int = 2000) -> Iterator[Record]:
    """Every matching record, in id order, loaded a batch at a time (for export)."""
    fields = fields_for(query.record_type)
    where = _where(query, fields)
    last_id = 0
    while True:
        rows = db.session.execute(select(Record).where(where, Record.id > last_id)
                                  .order_by(Record.id).limit(batch)).scalars().all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        for row in rows:
            db.session.expunge(row)


def owners() -> list[User]:
    return list(db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value).order_by(User.name)).scalars())


def owner_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))
    return dict(rows.all())


def owner_emails() -> dict[int, str]:
    return dict(db.session.execute(select(User.id, User.email)).all())
