"""Deciding conditions: email (opened/clicked/replied, any or all), call outcome, field rules."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, select

from saas.engine.graph import CALL_TYPES, EMAIL_TYPES, StepGraph, StepInfo
from saas.engine.models import StepRun
from saas.engine.sql import id_in
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


def reference_runs(graph: StepGraph, condition_step_id: int,
                   enrollment_ids: Iterable[int]) -> dict[int, StepRun]:
    """The run of the closest email-type step before the condition, per enrollment."""
    email_step = graph.closest_before(condition_step_id, EMAIL_TYPES)
    if email_step is None:
        return {}
    ids = sorted(set(enrollment_ids))
    runs: dict[int, StepRun] = {}
    for start in range(0, len(ids), 5000):
        for run in db.session.execute(select(StepRun).where(
                StepRun.step_id == email_step.id,
                id_in(StepRun.enrollment_id, ids[start:start + 5000]))
                .execution_options(populate_existing=True)).scalars():
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
    call_step = graph.closest_before(step.id, CALL_TYPES)
    if call_step is None:
        return "no"
    outcome = db.session.execute(select(StepRun.outcome).where(
        StepRun.enrollment_id == enrollment_id, StepRun.step_id == call_step.id)).scalar()
    return "yes" if outcome and outcome in ((step.config or {}).get("outcomes") or []) else "no"


def field_decision(step: StepInfo, record_id: int, record_type: str) -> str:
    rules = (step.config or {}).get("rules")
    if not rules:
        return "no"
    match = db.session.execute(select(Record.id).where(and_(
        Record.id == record_id, compile_rules(rules, fields_for(record_type))))).first()
    return "yes" if match else "no"
