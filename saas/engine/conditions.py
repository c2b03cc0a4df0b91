"""Deciding conditions: email (opened/clicked/replied, any or all), call outcome, field rules."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, Row, and_, func, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from saas.engine.graph import CALL_TYPES, EMAIL_TYPES, StepGraph, StepInfo
from saas.engine.models import StepRun
from saas.engine.sql import id_any, id_array, id_in
from saas.extensions import db
from saas.messaging.models import MessageEvent
from saas.records.fields import fields_for
from saas.records.models import Record
from saas.segments.rules import compile_rules

# Provider words (open/click/reply) and the engine's (opened/clicked/replied) mean the same.
EVENT_WORDS = {"open": "opened", "opened": "opened", "click": "clicked", "clicked": "clicked",
               "reply": "replied", "replied": "replied"}
# A click implies the message was opened (images may be blocked).
IMPLIED = {"clicked": {"opened"}, "replied": {"opened"}}
DEAD_EMAIL = ("skipped", "failed", "cancelled")


def normalise(kinds: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for kind in kinds:
        word = EVENT_WORDS.get(kind)
        if word:
            out.add(word)
            out |= IMPLIED.get(word, set())
    return out


def email_condition_met(config: dict, kinds: set[str]) -> bool:
    wanted = [e for e in (config.get("events") or ["opened"]) if e in EVENT_WORDS]
    if not wanted:
        return False
    if config.get("match") == "all":
        return all(EVENT_WORDS[e] in kinds for e in wanted)
    return any(EVENT_WORDS[e] in kinds for e in wanted)


def events_by_run(step_run_ids: Iterable[int]) -> dict[int, set[str]]:
    ids = sorted(set(step_run_ids))
    found: dict[int, set[str]] = {}
    for start in range(0, len(ids), 5000):
        rows = db.session.execute(
            select(MessageEvent.step_run_id, MessageEvent.kind)
            .where(id_in(MessageEvent.step_run_id, ids[start:start + 5000])).distinct())
        for run_id, kind in rows:
            found.setdefault(run_id, set()).add(kind)
    return {run_id: normalise(kinds) for run_id, kinds in found.items()}


def runs_of_step(step_id: int, enrollment_ids: list[int]) -> ColumnElement[bool]:
    """The step runs of one step for these enrollments. On PostgreSQL `(enrollment_id, step_id)
    IN (SELECT unnest(:ids), :step)`: looked up by the unique (enrollment_id, step_id) index,
    row by row, never by scanning every run of the step, which the planner does for `step_id =
    :step AND enrollment_id IN (...)` when the statistics predate the step's runs (they are
    written by the batch that reads them)."""
    if db.engine.dialect.name != "postgresql":
        return and_(StepRun.step_id == step_id, id_in(StepRun.enrollment_id, enrollment_ids))
    return tuple_(StepRun.enrollment_id, StepRun.step_id).in_(select(
        func.unnest(id_array(enrollment_ids)),
        literal(step_id, BigInteger)))


def reference_runs(graph: StepGraph, condition_step_id: int,
                   enrollment_ids: Iterable[int]) -> dict[int, Row]:
    """The run (its id and status, as in the database now) of the closest email-type step
    before the condition, per enrollment."""
    email_step = graph.closest_before(condition_step_id, EMAIL_TYPES)
    if email_step is None:
        return {}
    ids = sorted(set(enrollment_ids))
    runs: dict[int, Row] = {}
    for start in range(0, len(ids), 5000):
        for run in db.session.execute(select(
                StepRun.enrollment_id, StepRun.id, StepRun.status).where(
                runs_of_step(email_step.id, ids[start:start + 5000]))):
            runs[run.enrollment_id] = run
    return runs


def email_decisions(graph: StepGraph, step: StepInfo, enrollment_ids: list[int], *,
                    timed_out: bool, extra: dict[int, set[str]] | None = None
                    ) -> dict[int, str | None]:
    """'yes'/'no' per enrollment, or None while the condition should keep waiting.

    Yes as soon as the events match when the step moves on at once (or at the time limit
    otherwise); No at the time limit, or at once when the email was skipped or failed."""
    refs = reference_runs(graph, step.id, enrollment_ids)
    events = events_by_run(r.id for r in refs.values())
    for run_id, kinds in (extra or {}).items():
        events[run_id] = events.get(run_id, set()) | normalise(kinds)
    decisions: dict[int, str | None] = {}
    for enrollment_id in enrollment_ids:
        ref = refs.get(enrollment_id)
        if ref is None or ref.status in DEAD_EMAIL:
            decisions[enrollment_id] = "no"
            continue
        met = email_condition_met(step.config or {}, events.get(ref.id, set()))
        if met and (timed_out or (step.config or {}).get("move_on_event")):
            decisions[enrollment_id] = "yes"
        elif timed_out:
            decisions[enrollment_id] = "no"
        else:
            decisions[enrollment_id] = None
    return decisions


def call_decision(graph: StepGraph, step: StepInfo, enrollment_id: int) -> str:
    return call_decisions(graph, step, [enrollment_id])[enrollment_id]


def call_decisions(graph: StepGraph, step: StepInfo, enrollment_ids: list[int]
                   ) -> dict[int, str]:
    """'yes'/'no' per enrollment: the outcome of its run of the closest call step before the
    condition is one of the condition's outcomes. One query per chunk of 5,000."""
    decisions = dict.fromkeys(enrollment_ids, "no")
    call_step = graph.closest_before(step.id, CALL_TYPES)
    if call_step is None:
        return decisions
    wanted = set((step.config or {}).get("outcomes") or [])
    ids = sorted(set(enrollment_ids))
    seen: set[int] = set()
    for start in range(0, len(ids), 5000):
        for enrollment_id, outcome in db.session.execute(select(
                StepRun.enrollment_id, StepRun.outcome).where(
                runs_of_step(call_step.id, ids[start:start + 5000]))):
            if enrollment_id in seen:  # one run per step and enrollment; the first one says
                continue
            seen.add(enrollment_id)
            decisions[enrollment_id] = "yes" if outcome and outcome in wanted else "no"
    return decisions


def field_decision(step: StepInfo, record_id: int, record_type: str) -> str:
    return "yes" if field_matches(step, [record_id], record_type) else "no"


def field_matches(step: StepInfo, record_ids: list[int], record_type: str) -> set[int]:
    """The records (all of `record_type`) that meet the field condition's rules: one
    `SELECT id FROM record WHERE id = ANY(...) AND <compiled rules>` per chunk of 5,000.
    `= ANY`, not `IN (SELECT unnest(...))`: the records were often just changed (a field update
    right before the condition), so the statistics say no record matches the rules; the planner
    then scanned every record of the table "for one row" and ran the whole unnest again for each
    of them (measured: 119 ms a group of 200 among 22,000 records, 0.3 ms with `= ANY`)."""
    rules = (step.config or {}).get("rules")
    if not rules:
        return set()
    clause = compile_rules(rules, fields_for(record_type))
    ids = sorted(set(record_ids))
    found: set[int] = set()
    for start in range(0, len(ids), 5000):
        found.update(db.session.execute(select(Record.id).where(and_(
            id_any(Record.id, ids[start:start + 5000]), clause))).scalars())
    return found
