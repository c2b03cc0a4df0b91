"""Assignment rules: who becomes the owner of a record that joins a segment.

A segment's rules are tried in order (`position`), first match wins. A rule matches a record when
its conditions (the same tree as `Segment.rules`, compiled to SQL) and its optional "created in
the last N hours" hold, and it has an eligible seller for that record: an active user with the
seller role who is available, among any sellers, the chosen ones, or those whose attribute equals
the record's (only `country` for now). Round robin goes through the sellers by id after the last
one the rule chose; load balancing picks the seller with the fewest open records (lead status
new/contacted, opportunity status open: the measure until the sequence engine's activities exist).

A seller who is away (switched unavailable, or on time off today) or full (holding their
capacity of open records, saas.sellers.availability) is skipped. A record a rule matched while
every seller it names was away or full waits, with that reason (`AssignmentWait`), until the
periodic task (saas.sellers.waiting) finds one back or with room.

Only records without an owner are assigned, and only by the segment that owns them: the
highest-priority active segment they belong to. Everything runs in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import String, and_, cast, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from saas.admin import audit
from saas.auth.models import Role, User, UserStatus
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import _, _l
from saas.records.fields import fields_for
from saas.records.models import Record
from saas.segments.models import (
    AssignmentLog,
    AssignmentRule,
    AssignmentWait,
    Distribution,
    Segment,
    SegmentMember,
    SegmentStatus,
    SellerTarget,
    WaitReason,
)
from saas.segments.rules import compile_rules, empty_rules, validate
from saas.sellers.availability import OPEN_STATUSES, Load, away_ids, is_full, open_load
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

MATCH_ATTRIBUTES = {"country": _l("Country")}  # kept small on purpose: record and user both have it


def is_seller_clause():
    # roles is a small JSON list; matching its serialised form works on SQLite and PostgreSQL.
    return cast(User.roles, String).like(f'%"{Role.SELLER.value}"%')


def active_sellers() -> list[User]:
    """Active users with the seller role, by id (away or full ones too: see assign_records)."""
    return list(db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value, is_seller_clause())
        .order_by(User.id)).scalars())


def eligible_sellers_for_choice() -> list[User]:
    """Active sellers, available or not (a rule may name someone who is away today)."""
    return list(db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value, is_seller_clause())
        .order_by(User.name, User.id)).scalars())


def rules_of(segment_id: int, lock: bool = False) -> list[AssignmentRule]:
    """The segment's rules in order. `lock` takes their rows FOR UPDATE (always in id order, so
    two batches cannot deadlock) and reloads them: concurrent batches then take turns, and the
    second continues the round robin where the first stopped."""
    stmt = select(AssignmentRule).where(AssignmentRule.segment_id == segment_id)
    if lock:
        stmt = (stmt.order_by(AssignmentRule.id).with_for_update()
                .execution_options(populate_existing=True))
    rules = list(db.session.execute(stmt).scalars())
    return sorted(rules, key=lambda r: (r.position, r.id))


def _owned_here(segment: Segment):
    """The record belongs to this segment and to no active segment that outranks it."""
    other = aliased(Segment)
    outranked = exists().where(
        SegmentMember.record_id == Record.id, SegmentMember.segment_id == other.id,
        other.tenant_id == segment.tenant_id, other.status == SegmentStatus.ACTIVE.value,
        or_(other.priority > segment.priority,
            and_(other.priority == segment.priority, other.id < segment.id)))
    mine = aliased(SegmentMember)
    member = exists().where(mine.record_id == Record.id, mine.segment_id == segment.id)
    return and_(member, ~outranked)


def _candidates_for(rule: AssignmentRule, record, sellers: list[User]) -> list[User]:
    if rule.target == SellerTarget.SPECIFIC.value:
        chosen = {int(i) for i in rule.seller_ids or []}
        return [s for s in sellers if s.id in chosen]
    if rule.target == SellerTarget.MATCHING.value:
        attribute = rule.match_attribute or "country"
        value = getattr(record, attribute, None)
        if attribute not in MATCH_ATTRIBUTES or not value:
            return []
        return [s for s in sellers if (getattr(s, attribute) or "").upper() == value.upper()]
    return sellers


def _pick(rule: AssignmentRule, candidates: list[User], load: Load, record_type: str) -> User:
    if rule.distribution == Distribution.LOAD_BALANCING.value:
        return min(candidates, key=lambda s: (load.of(s.id, record_type), s.id))
    last = rule.last_assigned_user_id or 0
    return next((s for s in candidates if s.id > last), candidates[0])


def assign_records(segment_id: int, record_ids: Iterable[int]) -> int:
    """Give an owner to the unowned records among these that this segment owns; returns how many."""
    ids = sorted(set(record_ids))
    segment = db.session.execute(
        select(Segment).where(Segment.id == segment_id)).scalar_one_or_none()
    if not ids or segment is None or segment.status != SegmentStatus.ACTIVE.value:
        return 0
    rules = rules_of(segment.id)
    sellers = active_sellers()
    if not rules or not sellers:
        _write_waits(ids, {})
        return 0
    remaining = {row.id: row for row in db.session.execute(
        select(Record.id, Record.country, Record.status).where(
            Record.id.in_(ids), Record.owner_id.is_(None),
            Record.record_type == segment.record_type, _owned_here(segment))
        .order_by(Record.id))}
    if not remaining:
        _write_waits(ids, {})
        return 0
    rules = rules_of(segment.id, lock=True)
    fields = fields_for(segment.record_type)
    now = utcnow()
    load = open_load(s.id for s in sellers)
    away = away_ids(sellers, now)
    open_statuses = OPEN_STATUSES.get(segment.record_type, ())
    chosen: dict[int, list[int]] = {}   # seller id -> record ids
    logs: list[dict] = []
    waits: dict[int, tuple[int, str]] = {}  # record id -> (rule id, reason)
    for rule in rules:
        if not remaining:
            break
        where = [Record.id.in_(list(remaining)), compile_rules(rule.conditions or empty_rules(),
                                                               fields)]
        if rule.created_within_hours:
            where.append(Record.created_at >= now - timedelta(hours=rule.created_within_hours))
        matching = db.session.execute(
            select(Record.id).where(*where).order_by(Record.id)).scalars().all()
        for record_id in matching:
            candidates = _candidates_for(rule, remaining[record_id], sellers)
            if not candidates:
                continue  # no one to take it under this rule: the next rule may have someone
            free = [s for s in candidates if s.id not in away and not is_full(s, load)]
            if not free:  # the next rule may have someone; else it waits for the first's
                waits.setdefault(record_id, (rule.id, _wait_reason(candidates, away)))
                continue
            seller = _pick(rule, free, load, segment.record_type)
            rule.last_assigned_user_id = seller.id
            if remaining[record_id].status in open_statuses:
                load.add(seller.id, segment.record_type)
            waits.pop(record_id, None)
            chosen.setdefault(seller.id, []).append(record_id)
            logs.append({"tenant_id": segment.tenant_id, "record_id": record_id,
                         "segment_id": segment.id, "rule_id": rule.id, "user_id": seller.id,
                         "created_at": now})
            del remaining[record_id]
    for seller_id, records in chosen.items():
        db.session.execute(update(Record).where(Record.id.in_(records))
                           .values(owner_id=seller_id, updated_at=now)
                           .execution_options(synchronize_session="fetch"))
    if logs:
        db.session.execute(insert(AssignmentLog), logs)
        audit.record("segment.records_assigned", segment.name, segment_id=segment.id,
                     count=len(logs), by_seller={str(k): len(v) for k, v in chosen.items()})
    _write_waits(ids, waits, segment.id, now)
    return len(logs)


def _wait_reason(candidates: list[User], away: set[int]) -> str:
    gone = sum(1 for s in candidates if s.id in away)
    if gone == len(candidates):
        return WaitReason.AWAY.value
    return WaitReason.FULL.value if not gone else WaitReason.AWAY_OR_FULL.value


def _write_waits(ids: list[int], waits: dict[int, tuple[int, str]],
                 segment_id: int | None = None, now=None) -> None:
    """The records among `ids` that wait now are those of `waits` (their reason kept up to
    date, their `since` kept); the others among `ids` wait no more."""
    existing = {row.record_id: row for row in db.session.execute(
        select(AssignmentWait.record_id, AssignmentWait.rule_id, AssignmentWait.reason)
        .where(AssignmentWait.record_id.in_(ids)))} if ids else {}
    gone = [record_id for record_id in existing if record_id not in waits]
    if gone:
        db.session.execute(delete(AssignmentWait).where(AssignmentWait.record_id.in_(gone))
                           .execution_options(synchronize_session=False))
    for record_id, (rule_id, reason) in waits.items():
        row = existing.get(record_id)
        if row is not None and (row.rule_id, row.reason) != (rule_id, reason):
            db.session.execute(update(AssignmentWait)
                               .where(AssignmentWait.record_id == record_id)
                               .values(rule_id=rule_id, reason=reason, segment_id=segment_id)
                               .execution_options(synchronize_session=False))
    new = [{"tenant_id": current_tenant_id(), "record_id": record_id, "segment_id": segment_id,
            "rule_id": rule_id, "reason": reason, "since": now}
           for record_id, (rule_id, reason) in waits.items() if record_id not in existing]
    if new:
        db.session.execute(insert(AssignmentWait), new)


# Rules, as the assignment page edits them.

def rule_errors(segment: Segment, *, name: str, conditions: dict | None, target: str,
                seller_ids: Iterable[int] = (), match_attribute: str | None = None,
                distribution: str = Distribution.ROUND_ROBIN.value,
                created_within_hours: int | None = None) -> dict[str, str]:
    """Every problem with a rule at once, by form field; conditions by path as
    'conditions:<path>'. Empty means `add_rule` will save it."""
    errors: dict[str, str] = {}
    if not (name or "").strip():
        errors["name"] = _("Give the rule a name.")
    for path, message in condition_errors(segment, conditions or empty_rules()).items():
        errors[f"conditions:{path}"] = message
    if target not in {t.value for t in SellerTarget}:
        errors["target"] = _("Choose which sellers this rule assigns to.")
    if target == SellerTarget.SPECIFIC.value:
        wanted = {int(i) for i in seller_ids or ()}
        if not wanted:
            errors["seller_ids"] = _("Choose at least one seller.")
        elif set(db.session.execute(select(User.id).where(
                User.id.in_(wanted), is_seller_clause())).scalars()) != wanted:
            errors["seller_ids"] = _("Choose sellers of this workspace.")
    if target == SellerTarget.MATCHING.value and (match_attribute or "country") \
            not in MATCH_ATTRIBUTES:
        errors["match_attribute"] = _("Sellers can be matched on their country.")
    if distribution not in {d.value for d in Distribution}:
        errors["distribution"] = _("Choose round robin or load balancing.")
    if created_within_hours is not None and created_within_hours < 1:
        errors["created_within_hours"] = _("Enter a number of hours of 1 or more.")
    return errors


def add_rule(segment: Segment, *, name: str, conditions: dict | None, target: str,
             seller_ids: Iterable[int] = (), match_attribute: str | None = None,
             distribution: str = Distribution.ROUND_ROBIN.value,
             created_within_hours: int | None = None) -> AssignmentRule:
    """Validate and append a rule at the end of the segment's list."""
    errors = rule_errors(segment, name=name, conditions=conditions, target=target,
                         seller_ids=seller_ids, match_attribute=match_attribute,
                         distribution=distribution, created_within_hours=created_within_hours)
    if errors:
        field, message = next(iter(errors.items()))
        raise ServiceError(message, field.split(":")[0])
    position = db.session.execute(
        select(func.coalesce(func.max(AssignmentRule.position), -1))
        .where(AssignmentRule.segment_id == segment.id)).scalar_one() + 1
    specific = target == SellerTarget.SPECIFIC.value
    rule = AssignmentRule(
        segment_id=segment.id, name=name.strip()[:120], position=position,
        conditions=conditions or empty_rules(), target=target,
        seller_ids=sorted({int(i) for i in seller_ids or ()}) if specific else [],
        match_attribute=(match_attribute or "country")
        if target == SellerTarget.MATCHING.value else None,
        distribution=distribution, created_within_hours=created_within_hours)
    db.session.add(rule)
    db.session.flush()
    audit.record("assignment_rule.added", f"{segment.name}: {rule.name}", segment_id=segment.id)
    return rule


def condition_errors(segment: Segment, conditions: dict) -> dict[str, str]:
    """Problems by path, as `rules.validate` reports them; no conditions is fine (every member)."""
    if not conditions.get("rules"):
        return {}
    return validate(conditions, fields_for(segment.record_type))


def delete_rule(rule: AssignmentRule) -> None:
    audit.record("assignment_rule.deleted", rule.name, segment_id=rule.segment_id)
    db.session.delete(rule)
    db.session.flush()
    _renumber(rule.segment_id)


def move_rule(rule: AssignmentRule, direction: str) -> None:
    """Swap the rule with its neighbour above ('up') or below ('down')."""
    rules = rules_of(rule.segment_id)
    index = rules.index(rule)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, item in enumerate(rules):
        item.position = position


def _renumber(segment_id: int) -> None:
    for position, item in enumerate(rules_of(segment_id)):
        item.position = position


def set_available(user: User, available: bool) -> None:
    user.available = available
    audit.record("user.availability", user.email, actor=user, available=available)
