"""Live segment membership, kept in SQL.

- `refresh_records(ids)`: after records are created, edited or imported, each active segment of
  their type learns which of them now match or no longer match (a few statements whatever the
  number of segments, one on PostgreSQL: see `live`; no full rebuild). Joins and leaves are
  written as `segment_event` rows in the caller's transaction: the sequence engine consumes the
  `joined` ones.
- `rebuild(segment)`: the full re-evaluation, for activation, rule changes, and as a repair tool.
- `simulate(record_type, rules)`: how many records match and the first ones, before saving.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import String, and_, bindparam, case, delete, exists, func, insert, literal, select

from saas.extensions import db
from saas.records.fields import fields_for, standard_fields
from saas.records.models import CustomField, Record
from saas.segments import live
from saas.segments.assignment import assign_records
from saas.segments.models import Segment, SegmentEvent, SegmentMember, SegmentStatus
from saas.segments.rules import compile_rules
from saas.tenancy import current_tenant_id
from saas.timeutil import utcnow

CHUNK = 1000
SIMULATE_SHOWN = 25


def active_segments():
    """Rows (id, record_type, rules, fields_mark) of the active segments: all a refresh needs.
    `fields_mark` changes whenever a custom field is added, removed or added again with another
    kind (SQLite gives a removed field's id to the next one: the ids alone do not tell); it
    keys the cache of compiled expressions, read in the same round trip."""
    tenant_id = current_tenant_id()  # Core execution: the tenant is written out
    mark = select(func.coalesce(func.aggregate_strings(
        CustomField.id.cast(String) + literal(":") + CustomField.kind, ","), "")
    ).where(CustomField.tenant_id == tenant_id).scalar_subquery()
    return db.session.connection().execute(
        select(Segment.id, Segment.record_type, Segment.rules, mark.label("fields_mark"))
        .where(Segment.tenant_id == tenant_id, Segment.status == SegmentStatus.ACTIVE.value)
        .order_by(Segment.id)).all()


# Compiled rule expressions by (tenant, segment, rules, custom fields); "in the last N days"
# rules also by the minute, so their cut-off moves on. Rebuilding them cost more than the SQL.
_EXPRESSIONS: dict[tuple, object] = {}
_EXPRESSIONS_MAX = 2000


def _expression(segment, fields_by_type: dict):
    rules = segment.rules
    mark = getattr(segment, "fields_mark", None)  # only refresh rows carry it; rebuild compiles
    if mark is None:
        return _compile(segment, rules, fields_by_type)
    text_rules = json.dumps(rules, sort_keys=True)
    minute = utcnow().strftime("%Y%m%d%H%M") if "in_last_days" in text_rules else ""
    cache_key = (current_tenant_id(), segment.id, text_rules, mark, minute)
    cached = _EXPRESSIONS.get(cache_key)
    if cached is not None:
        return cached
    expression = _compile(segment, rules, fields_by_type)
    if len(_EXPRESSIONS) >= _EXPRESSIONS_MAX:
        _EXPRESSIONS.clear()
    _EXPRESSIONS[cache_key] = expression
    return expression


def membership_columns(segments) -> list:
    """Per segment: does the record match (s<id>, 1 or 0) and is it a member (m<id>)."""
    fields_by_type: dict = {}
    columns = []
    for s in segments:
        expression = _expression(s, fields_by_type)
        columns.append(case((and_(Record.record_type == s.record_type, expression), 1), else_=0)
                       .label(f"s{s.id}"))
        columns.append(exists().where(SegmentMember.segment_id == s.id,
                                      SegmentMember.record_id == Record.id).label(f"m{s.id}"))
    return columns


def _membership_query(segments):
    """For records `:ids` of tenant `:tenant`: per active segment, does each match (s<id>) and
    is it a member (m<id>). Built once per set of segment expressions."""
    fields_by_type: dict = {}
    expressions = [_expression(s, fields_by_type) for s in segments]
    cache_key = ("query", *(id(e) for e in expressions))
    cached = _EXPRESSIONS.get(cache_key)
    if cached is not None:
        return cached
    query = select(Record.id, Record.owner_id, *membership_columns(segments)).where(
        Record.tenant_id == bindparam("tenant"), Record.id.in_(bindparam("ids", expanding=True)))
    if all(getattr(s, "fields_mark", None) is not None for s in segments):
        _EXPRESSIONS[cache_key] = query
    return query


def _compile(segment, rules: dict, fields_by_type: dict):
    key = (segment.record_type, _uses_custom_fields(rules))
    if key not in fields_by_type:  # custom fields cost a query: load them only when used
        fields_by_type[key] = fields_for(segment.record_type) if key[1] else {
            f.key: f for f in standard_fields(segment.record_type)}
    return compile_rules(rules, fields_by_type[key])


def _uses_custom_fields(node: dict) -> bool:
    if "rules" in node:
        return any(_uses_custom_fields(child) for child in node["rules"])
    return str(node.get("field", "")).startswith("custom.")


def on_records_changed(_sender, *, record_ids: list[int], **_more) -> None:
    """Records were created, edited or imported (`saas.signals.records_changed`)."""
    refresh_records(record_ids)


def refresh_records(record_ids: Iterable[int]) -> dict[str, int]:
    """Bring the active segments up to date for these records; returns joins and leaves.

    On PostgreSQL one statement per chunk does it all (`live`). Elsewhere one query per chunk
    tells, for every active segment, whether each record matches and whether it is a member;
    the differences are written in bulk.
    """
    ids = sorted(set(record_ids))
    totals = {"joined": 0, "left": 0}
    if not ids:
        return totals
    tenant_id = current_tenant_id()
    connection = db.session.connection()
    on_postgresql = connection.dialect.name == "postgresql"
    segments = None  # the multi-statement path reads them once
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        changes = live.refresh_chunk(connection, tenant_id, chunk, membership_columns) \
            if on_postgresql else None
        if changes is None:
            if segments is None:
                segments = active_segments()
            changes = _refresh_chunk(tenant_id, chunk, segments)
        joined, left, to_assign = changes
        _assign(to_assign)
        totals["joined"] += len(joined)
        totals["left"] += len(left)
    return totals


def _refresh_chunk(tenant_id: int, chunk: list[int], segments) -> tuple[set, set, set]:
    """(joined, left, joined pairs whose record had no owner), in a few statements."""
    joined, left, unowned = set(), set(), set()
    if not segments:
        return joined, left, unowned
    # Core execution (tenant written out): the ORM layer doubled the cost of one record.
    for row in db.session.connection().execute(_membership_query(segments),
                                               {"tenant": tenant_id, "ids": chunk}):
        for s in segments:
            should, member = getattr(row, f"s{s.id}"), getattr(row, f"m{s.id}")
            if should and not member:
                joined.add((s.id, row.id))
                if row.owner_id is None:
                    unowned.add((s.id, row.id))
            elif member and not should:
                left.add((s.id, row.id))
    _write(joined, left)
    return joined, left, unowned


def _assign(joined: set[tuple[int, int]]) -> None:
    """New members without an owner get one from their segment's assignment rules."""
    for segment_id in sorted({s for s, _ in joined}):
        assign_records(segment_id, [r for s, r in joined if s == segment_id])


def _write(joined: set[tuple[int, int]], left: set[tuple[int, int]]) -> None:
    """Core statements (the hot path of every record change): tenant_id is written out."""
    now = utcnow()
    tenant_id = current_tenant_id()
    members, events, segments = (SegmentMember.__table__, SegmentEvent.__table__,
                                 Segment.__table__)
    if joined:
        db.session.execute(members.insert(), [
            {"tenant_id": tenant_id, "segment_id": s, "record_id": r, "joined_at": now}
            for s, r in joined])
    for segment_id in {s for s, _ in left}:
        records = [r for s, r in left if s == segment_id]
        db.session.execute(members.delete().where(
            members.c.tenant_id == tenant_id, members.c.segment_id == segment_id,
            members.c.record_id.in_(records)))
    if joined or left:
        db.session.execute(events.insert(), [
            {"tenant_id": tenant_id, "segment_id": s, "record_id": r, "kind": kind,
             "created_at": now}
            for kind, pairs in (("joined", joined), ("left", left)) for s, r in pairs])
    changes: dict[int, int] = {}
    for s, _ in joined:
        changes[s] = changes.get(s, 0) + 1
    for s, _ in left:
        changes[s] = changes.get(s, 0) - 1
    changes = {s: d for s, d in changes.items() if d}
    if changes:
        delta = case(*((segments.c.id == s, d) for s, d in changes.items()), else_=0)
        db.session.execute(segments.update().where(
            segments.c.tenant_id == tenant_id, segments.c.id.in_(list(changes)))
            .values(member_count=segments.c.member_count + delta))


def rebuild(segment: Segment) -> dict[str, int]:
    """Re-evaluate the whole segment in a few set-based statements."""
    now = utcnow()
    tenant_id = current_tenant_id()
    # INSERT ... SELECT is not an ORM select: the tenant filter is written out here.
    matches = and_(Record.tenant_id == tenant_id, Record.record_type == segment.record_type,
                   _expression(segment, {}))
    is_member = exists().where(SegmentMember.tenant_id == tenant_id,
                               SegmentMember.segment_id == segment.id,
                               SegmentMember.record_id == Record.id)
    newcomers = select(literal(tenant_id), literal(segment.id), Record.id).where(
        matches, ~is_member)
    unowned = db.session.execute(select(Record.id).where(
        matches, ~is_member, Record.owner_id.is_(None))).scalars().all()
    joined = db.session.execute(insert(SegmentEvent).from_select(
        ["tenant_id", "segment_id", "record_id", "kind"],
        newcomers.add_columns(literal("joined")))).rowcount
    db.session.execute(insert(SegmentMember).from_select(
        ["tenant_id", "segment_id", "record_id"], newcomers))
    still = exists().where(Record.id == SegmentMember.record_id, matches)
    leavers = select(literal(tenant_id), literal(segment.id), SegmentMember.record_id,
                     literal("left")).where(SegmentMember.segment_id == segment.id, ~still)
    left = db.session.execute(insert(SegmentEvent).from_select(
        ["tenant_id", "segment_id", "record_id", "kind"], leavers)).rowcount
    db.session.execute(delete(SegmentMember).where(
        SegmentMember.segment_id == segment.id, ~still))
    for start in range(0, len(unowned), CHUNK):  # newcomers without an owner get one
        assign_records(segment.id, unowned[start:start + CHUNK])
    segment.member_count = db.session.execute(
        select(func.count()).select_from(SegmentMember)
        .where(SegmentMember.segment_id == segment.id)).scalar_one()
    segment.evaluated_at = now
    return {"joined": joined, "left": left}


def clear(segment: Segment) -> None:
    """Forget the members of a deactivated segment (they are not 'leaving': no events)."""
    db.session.execute(delete(SegmentMember).where(SegmentMember.segment_id == segment.id))
    segment.member_count = 0


def simulate(record_type: str, rules: dict) -> tuple[int, list[Record]]:
    fields = fields_for(record_type)
    where = and_(Record.record_type == record_type, compile_rules(rules, fields))
    count = db.session.execute(select(func.count()).select_from(Record).where(where)).scalar_one()
    first = list(db.session.execute(select(Record).where(where)
                                    .order_by(Record.created_at.desc(), Record.id.desc())
                                    .limit(SIMULATE_SHOWN)).scalars())
    return count, first


def owning_segment(record_id: int) -> Segment | None:
    """Of the active segments a record belongs to, the highest-priority one owns it."""
    return db.session.execute(
        select(Segment).join(SegmentMember, SegmentMember.segment_id == Segment.id)
        .where(SegmentMember.record_id == record_id,
               Segment.status == SegmentStatus.ACTIVE.value)
        .order_by(Segment.priority.desc(), Segment.id).limit(1)).scalar_one_or_none()
