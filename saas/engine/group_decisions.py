"""The steps decided at once, for a whole group of enrollments (the batch path's, bulk.py).

advance_group() reaches a step that needs each record's own answer: an A/B test (which version),
a call or field condition (yes or no), a field update (done or failed). advance_from() decides it
record by record; here it is decided for the group in a few set-based statements, with the same
outcome per enrollment:

- A/B test: the version per record in Python (abtests.versions_for: one query for the test's
  state, the split by the deterministic hash of ab_split); each version's subgroup gets its run
  with the type that version acts as (open, or pending at the sending window's opening in the
  record's zone), in one statement per version (and zone);
- call condition: one query for the group's outcomes of the closest call step before it;
- field condition: one `SELECT id FROM record WHERE id IN (...) AND <compiled rules>` per record
  type;
- field update: one set-based update per record type (records.services.set_field_many: the
  segments refreshed and disqualified leads exited once for the group); a value the field
  refuses marks every run failed with the error, and the sequence goes on; an update that ends
  the enrollment (disqualified) writes its run and stops there.

A decided step's runs are written completed (started and ended now), in one statement per
outcome, moving the enrollments to that step and counting it (and the step before, when
counted); the caller goes on down each outcome's branch with advance_group. Anything else (move
to another sequence, an A/B version acting as a step of another kind, a running enrollment
without a record) goes one by one through advance_from, the reference.

Locks: only the enrollments' own rows (UPDATE ... of the group, already held by the caller's
claim) and then their runs, as everywhere (the one lock order); the ORM's tenant scoping names
the tenant in every statement.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select

from saas.engine.abtests import versions_for
from saas.engine.advance import acting_type
from saas.engine.conditions import call_decisions, field_matches
from saas.engine.graph import StepGraph, StepInfo
from saas.engine.models import RUNNING_STATUSES, Enrollment
from saas.engine.run_rows import due_times, write_step
from saas.engine.sql import id_in
from saas.errors import ServiceError
from saas.extensions import db
from saas.i18n import speaking
from saas.records.models import Record
from saas.sequences.models import StepType

# (enrollment ids, the step they stand at, the branch to take) for the caller to go on with
Later = list[tuple[list[int], int, str | None]]
DECIDED_HERE = (StepType.AB_TEST, StepType.CALL_CONDITION, StepType.FIELD_CONDITION,
                StepType.UPDATE_FIELD)


def _running(ids: list[int]) -> list[tuple[int, int | None, str | None]]:
    """(enrollment id, record id, record type) of the running enrollments among `ids`."""
    return db.session.execute(
        select(Enrollment.id, Enrollment.record_id, Record.record_type)
        .outerjoin(Record, Record.id == Enrollment.record_id)
        .where(id_in(Enrollment.id, ids), Enrollment.status.in_(RUNNING_STATUSES))
        .order_by(Enrollment.id)).all()


def decide_group(graph: StepGraph, step: StepInfo, ids: list[int], now: datetime,
                 counted: bool) -> tuple[Later, list[int]]:
    """Decide `step` for these enrollments (moved on past the step before it, counted or not);
    returns (where each decided subgroup goes on, the enrollments left to advance_from)."""
    kind = StepType(step.type)
    if kind not in DECIDED_HERE:
        return [], ids
    rows = _running(ids)
    alone = [e for e, r, t in rows if r is None or t is None]
    rows = [row for row in rows if row[1] is not None and row[2] is not None]
    if not rows:
        return [], alone
    if kind is StepType.AB_TEST:
        return [], alone + _ab_test(graph, step, rows, now, counted)
    if kind is StepType.UPDATE_FIELD:
        return _update_field(step, rows, now, counted), alone
    if kind is StepType.CALL_CONDITION:
        decisions = call_decisions(graph, step, [e for e, _, _ in rows])
    else:
        decisions = {}
        for record_type, pairs in _by_type(rows).items():
            yes = field_matches(step, [r for _, r in pairs], record_type)
            decisions.update({e: "yes" if r in yes else "no" for e, r in pairs})
    later: Later = []
    for outcome in ("yes", "no"):
        chosen = [e for e, _, _ in rows if decisions[e] == outcome]
        if chosen:
            _decided(chosen, step, outcome, now, counted)
            later.append((chosen, step.id, outcome))
    return later, alone


def _by_type(rows) -> dict[str, list[tuple[int, int]]]:
    grouped: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for enrollment_id, record_id, record_type in rows:
        grouped[record_type].append((enrollment_id, record_id))
    return grouped


def _decided(ids: list[int], step: StepInfo, outcome: str, now: datetime, counted: bool, *,
             error: str | None = None, running_only: bool = True) -> None:
    """The step decided at once for these enrollments: a completed run each (due, started and
    ended now), the enrollments at that step with it (and the step before, if counted) done."""
    write_step(ids, step, "completed", [(None, now)], now, int(counted) + 1, started=True,
               outcome=outcome, error=error, running_only=running_only)


def _ab_test(graph: StepGraph, step: StepInfo, rows, now: datetime, counted: bool
             ) -> list[int]:
    """Each version's subgroup gets its run; returns the enrollments whose version acts as a
    step of another kind (left to advance_from)."""
    versions = versions_for(step, [r for _, r, _ in rows])
    alone: list[int] = []
    for version in ("A", "B"):
        ids = [e for e, r, _ in rows if versions[r] == version]
        if not ids:
            continue
        kind = StepType(acting_type(step, version))
        if not (kind.is_manual or kind.is_automated_send):
            alone += ids
            continue
        status = "open" if kind.is_manual else "pending"
        write_step(ids, step, status, due_times(graph, step, ids, now, kind), now,
                   int(counted), step_type=kind.value, ab_version=version)
    return alone


def _update_field(step: StepInfo, rows, now: datetime, counted: bool) -> Later:
    """Set the field on the group's records (one update per record type), then write the runs:
    done, or failed with the error the field gave. Every enrollment goes on after the step,
    but those the update itself ended (disqualified): advance_group moves only running ones."""
    from saas.records.services import set_field_many

    config = step.config or {}
    key, value = str(config.get("field") or ""), str(config.get("value") or "")
    later: Later = []
    for record_type, pairs in _by_type(rows).items():
        ids = [e for e, __ in pairs]
        error = None
        try:
            with speaking("en"):  # the refusal is stored language-neutral (engine/reasons.py)
                set_field_many([r for __, r in pairs], record_type, key, value)
        except ServiceError as exc:
            error = str(exc)
        # every one was running when the field was set: an exited one keeps its run, as on
        # the single-record path
        _decided(ids, step, "failed" if error else "done", now, counted, error=error,
                 running_only=False)
        later.append((ids, step.id, None))
    return later
