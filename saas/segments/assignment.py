"""Assignment rules: who becomes the owner of a record that joins a segment.

A segment's rules are tried in order (`position`), first match wins. A rule matches a record when
its conditions (the same tree as `Segment.rules`, compiled to SQL) and its optional "created in
the last N hours" hold, and it has an eligible seller for that record: an active user with the
seller role who is available, among any sellers, the chosen ones, or those whose attribute equals
the record's (only `country` for now). Round robin goes through the sellers by id after the last
one the rule chose; load balancing picks the seller with the fewest open records (lead status
new/contacted, opportunity status open: the measure until the sequence engine's activities exist).

Only records without an owner are assigned, and only by the segment that owns them: the
highest-priority active segment they belong to. Everything runs in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import String, and_, cast, exists, func, insert, or_, select, update
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
    Distribution,
    Segment,
    SegmentMember,
    SegmentStatus,
    SellerTarget,
)
from saas.segments.rules import compile_rules, empty_rules, validate
from saas.timeutil import utcnow

OPEN_STATUSES = {"lead": ("new", "contacted"), "opportunity": ("open",)}
MATCH_ATTRIBUTES = {"country": _l("Country")}  # kept small on purpose: record and user both have it


def is_seller_clause():
    # roles is a small JSON list; matching its serialised form works on SQLite and PostgreSQL.
    return cast(User.roles, String).like(f'%"{Role.SELLER.value}"%')


def eligible_sellers() -> list[User]:
    """Active, available users with the seller role, by id."""
    return list(db.session.execute(
        select(User).where(User.status == UserStatus.ACTIVE.value, User.available.is_(True),
                           is_seller_clause()).order_by(User.id)).scalars())


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


def _open_load(record_type: str, seller_ids: list[int]) -> dict[int, int]:
    load = dict.fromkeys(seller_ids, 0)
    if seller_ids:
        load.update((owner, count) for owner, count in db.session.execute(
            select(Record.owner_id, func.count())
            .where(Record.record_type == record_type, Record.owner_id.in_(seller_ids),
                   Record.status.in_(OPEN_STATUSES.get(record_type, ())))
            .group_by(Record.owner_id)))
    return load


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


def _pick(rule: AssignmentRule, candidates: list[User], load: dict[int, int]) -> User:
    if rule.distribution == Distribution.LOAD_BALANCING.value:
        return min(candidates, key=lambda s: (load[s.id], s.id))
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
    sellers = eligible_sellers()
    if not rules or not sellers:
        return 0
    remaining = {row.id: row for row in db.session.execute(
        select(Record.id, Record.country).where(
            Record.id.in_(ids), Record.owner_id.is_(None),
            Record.record_type == segment.record_type, _owned_here(segment))
        .order_by(Record.id))}
    if not remaining:
        return 0
    rules = rules_of(segment.id, lock=True)
    fields = fields_for(segment.record_type)
    load = _open_load(segment.record_type, [s.id for s in sellers])
    now = utcnow()
    chosen: dict[int, list[int]] = {}   # seller id -> record ids
    logs: list[dict] = []
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
            seller = _pick(rule, candidates, load)
            rule.last_assigned_user_id = seller.id
            load[seller.id] += 1
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
    return len(logs)


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
