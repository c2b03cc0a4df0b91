"""Live membership on PostgreSQL: a record change brought up to date in ONE statement.

A record saved in the app costs one round trip here, not four: a single statement checks that
the tenant's active segments are still the ones it was built for, tells for each segment which
of the records match and which are members, and writes the joins and leaves (members, events,
member counts) in the caller's transaction. It returns what changed, so the caller can assign
newcomers without an owner (only where the segment has assignment rules).

The statement is built once per tenant and kept, with a signature of what it was built from:
the active segments (id, record type, rules) and the custom fields (a rule on a custom field
compiles by its kind). The signature is computed again inside the statement, by the database,
in the same snapshot as the writes; when it differs (a segment saved, activated, deactivated or
deleted, a custom field added or removed, by this process or another), the statement writes
nothing, and the segments are read again, the statement rebuilt and run again. A stale copy can
cost a round trip, never a wrong membership. SQLite keeps the multi-statement path
(`membership.refresh_records`).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sqlalchemy import BigInteger, Integer, String, bindparam, func, literal_column, select
from sqlalchemy.dialects.postgresql import ARRAY

from saas.records.models import Record
from saas.timeutil import utcnow

# What a refresh depends on, as one md5 computed by the database where it is checked: the
# active segments (status 'active': SegmentStatus.ACTIVE) and the custom fields.
SIGNATURE = """(SELECT md5(coalesce(string_agg(s.id || ':' || s.record_type || ':' || s.rules::text,
                                   ';' ORDER BY s.id), '')
            || '|' || (SELECT coalesce(string_agg(f.id || ':' || f.record_type || ':' || f.key
                                                  || ':' || f.kind || ':' || f.choices::text,
                                                  ';' ORDER BY f.id), '')
                       FROM custom_field f WHERE f.tenant_id = %(tenant)s))
  FROM segment s WHERE s.tenant_id = %(tenant)s AND s.status = 'active')"""

ACTIVE = """SELECT checked.signature, s.id, s.record_type, s.rules
FROM (SELECT {signature} AS signature) AS checked
LEFT JOIN segment s ON s.tenant_id = %(tenant)s AND s.status = 'active'
ORDER BY s.id"""

NOTHING_ACTIVE = """SELECT {signature} AS signature, NULL::integer AS segment_id,
  NULL::bigint AS record_id, NULL::boolean AS joins, NULL::boolean AS to_assign"""

# `found`: the records with, per segment, s<id> (matches: 1/0) and m<id> (is a member), read
# only when the signature holds. Data-modifying CTEs run once, whether read or not.
REFRESH = """WITH checked AS (SELECT {signature} AS signature),
found AS ({found}),
changes AS (
  SELECT v.segment_id, found.id AS record_id, found.owner_id, v.joins
  FROM found CROSS JOIN LATERAL (VALUES {pairs}) AS v(segment_id, joins, member)
  WHERE v.joins <> v.member),
added AS (
  INSERT INTO segment_member (tenant_id, segment_id, record_id, joined_at)
  SELECT %(tenant)s, segment_id, record_id, %(now)s FROM changes WHERE joins),
removed AS (
  DELETE FROM segment_member m USING changes c
  WHERE m.tenant_id = %(tenant)s AND m.segment_id = c.segment_id
    AND m.record_id = c.record_id AND NOT c.joins),
events AS (
  INSERT INTO segment_event (tenant_id, segment_id, record_id, kind, created_at)
  SELECT %(tenant)s, segment_id, record_id, CASE WHEN joins THEN 'joined' ELSE 'left' END,
         %(now)s
  FROM changes ORDER BY joins DESC, segment_id, record_id),
counted AS (
  UPDATE segment s SET member_count = s.member_count + d.delta, updated_at = %(now)s
  FROM (SELECT segment_id, sum(CASE WHEN joins THEN 1 ELSE -1 END) AS delta
        FROM changes GROUP BY segment_id) AS d
  WHERE s.tenant_id = %(tenant)s AND s.id = d.segment_id AND d.delta <> 0)
SELECT checked.signature, c.segment_id, c.record_id, c.joins,
       c.joins AND c.owner_id IS NULL AND EXISTS (
         SELECT 1 FROM assignment_rule a
         WHERE a.tenant_id = %(tenant)s AND a.segment_id = c.segment_id) AS to_assign
FROM checked LEFT JOIN changes c ON true"""


@dataclass(frozen=True)
class ActiveSegment:
    """What a refresh needs of an active segment; `fields_mark` keys the compiled rules."""

    id: int
    record_type: str
    rules: dict
    fields_mark: str


@dataclass(frozen=True)
class Statement:
    """A tenant's refresh statement and what it was built from; replaced, never changed (the
    threads of a process share them)."""

    signature: str
    segments: tuple[ActiveSegment, ...]
    relative: bool            # has "in the last N days" rules: their cut-off moves on
    minute: str = ""          # the minute those cut-offs were computed at
    sql: str = ""
    params: dict = field(default_factory=dict)


# Each tenant's refresh statement, compiled once and kept (a bounded LRU: the least recently
# used tenant's goes first). Why kept by us and not left to SQLAlchemy's compiled cache: the
# statement's shape is the tenant's own segment rules, so that cache would key it on the rules'
# structure and still walk and render them on every refresh; kept here, a refresh costs one
# signature check in the statement itself (a rule changed: rebuilt at once). The text comes
# from SQLAlchemy's public `SQLCompiler.construct_expanded_state()`, so the driver gets the
# same text every time and prepares it.
_STATEMENTS: OrderedDict[int, Statement] = OrderedDict()
_STATEMENTS_MAX = 1000
_KEEPING = threading.Lock()  # the tick refreshes tenants from several threads
ATTEMPTS = 3


def refresh_chunk(connection, tenant_id: int, ids: list[int],
                  columns_for: Callable) -> tuple[set, set, set] | None:
    """(joined, left, to assign) for these records, written. `to assign`: the joined pairs
    whose record has no owner, in a segment with assignment rules (without, there is no one to
    assign: `assign_records` would do nothing).
    `columns_for(segments)` gives the s<id>/m<id> columns. None when the segments kept
    changing under us: the caller falls back to the multi-statement path."""
    statement = _STATEMENTS.get(tenant_id)
    for _ in range(ATTEMPTS):
        if statement is None:
            statement = _load(connection, tenant_id)
        now = utcnow()
        minute = now.strftime("%Y%m%d%H%M") if statement.relative else ""
        if not statement.sql or statement.minute != minute:
            statement = _build(connection, statement, columns_for, minute)
        params = {**statement.params, "tenant": tenant_id, "signature": statement.signature,
                  "ids": ids, "now": now}
        rows = connection.exec_driver_sql(statement.sql, params).all()
        if rows[0].signature == statement.signature:
            _keep(tenant_id, statement)
            joined = {(r.segment_id, r.record_id) for r in rows if r.joins is True}
            left = {(r.segment_id, r.record_id) for r in rows if r.joins is False}
            to_assign = {(r.segment_id, r.record_id) for r in rows if r.to_assign}
            return joined, left, to_assign
        statement = None
    _STATEMENTS.pop(tenant_id, None)
    return None


def _keep(tenant_id: int, statement: Statement) -> None:
    with _KEEPING:
        _STATEMENTS[tenant_id] = statement
        _STATEMENTS.move_to_end(tenant_id)
        while len(_STATEMENTS) > _STATEMENTS_MAX:
            _STATEMENTS.popitem(last=False)


def _load(connection, tenant_id: int) -> Statement:
    rows = connection.exec_driver_sql(ACTIVE.format(signature=SIGNATURE),
                                      {"tenant": tenant_id}).all()
    signature = rows[0].signature
    segments = tuple(ActiveSegment(r.id, r.record_type, r.rules, signature)
                     for r in rows if r.id is not None)
    relative = any("in_last_days" in json.dumps(s.rules) for s in segments)
    return Statement(signature, segments, relative)


def _build(connection, statement: Statement, columns_for: Callable,
           minute: str) -> Statement:
    """Compile the statement: SQL text and the rules' own parameters, ready for the driver
    (the same text every time, so psycopg prepares it after a few runs)."""
    if not statement.segments:
        return replace(statement, minute=minute, sql=NOTHING_ACTIVE.format(signature=SIGNATURE))
    found = select(Record.id, Record.owner_id, *columns_for(statement.segments)).where(
        Record.tenant_id == bindparam("tenant", type_=Integer),
        Record.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))),
        literal_column("(SELECT signature FROM checked)") == bindparam("signature",
                                                                      type_=String))
    compiled = found.params(tenant=0, ids=[0], signature="").compile(
        dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    expanded = compiled.construct_expanded_state()
    processors = expanded.processors
    params = {name: processors[name](value) if name in processors else value
              for name, value in expanded.parameters.items()
              if name not in ("tenant", "ids", "signature")}
    pairs = ", ".join(f"({int(s.id)}, found.s{int(s.id)} = 1, found.m{int(s.id)})"
                      for s in statement.segments)
    return replace(statement, minute=minute, params=params,
                   sql=REFRESH.format(signature=SIGNATURE, found=expanded.statement, pairs=pairs))


def forget() -> None:
    """Drop every kept statement (tests; never needed for correctness)."""
    _STATEMENTS.clear()
