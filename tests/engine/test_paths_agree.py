"""Property (issue 15, "One dispatch"): the single-record path and the batch path end in the same
state.

Per seed, one random sequence (tests/engine/random_sequences.py, rich: waits in days and hours,
automated emails in a sending window, email, call and field conditions, field updates that
succeed, fail or disqualify the lead, A/B tests, tasks, calls and manual emails) is built in two
identical tenants, each with the same records (same fields; zones from New York, Paris, Lord
Howe, Havana, Chatham, Santiago, UTC, an unknown and an empty zone; one record without an email
address), connected at the same engine time:

- tenant A moves only by the single-record path: each record connected with `connect_record`;
  at each due time, per due step run, the wait marked expired (or the email condition decided at
  its limit, or the send delivered) and `advance()` called for that one record;
- tenant B moves only by the batch path: `connect_many` and the tick (`run_tick`: claims,
  `advance_group`, `decide_email_conditions`, sends through the outbox).

The seller's actions (complete with call outcomes, skip, skip a wait), pauses, resumes,
disconnections and message events (opens, clicks, replies, through `saas.messaging.events.record`)
are the same on both sides, on the same records, at the same engine time. The engine clock is
frozen (no real time passes between A and B) and moved forward round after round (by minutes,
hours, a day, or to the next due time), from starts around daylight-saving changes; at each
time A's due work is moved on until none is left, and the tick runs until it claims nothing (it
runs every few seconds: many ticks pass before the clock's next move). After every step, record
by record (matched by position), the enrollment (status, current step, steps done, exit reason,
end) and its step runs (step, type, status, outcome, due, held due, start and end times, A/B
version, error, attempts) are equal.
PATHS_AGREE_SEEDS=100 runs more seeds (about four seconds each).

What is normalised, and why it is no difference:
- ids: steps are compared by their place in the tree, records by position, the seller who
  completed a step by whether there was one;
- the A/B version: chosen by design from a hash of (step id, record id); here, for both tenants,
  from a hash of (the step's place, the record's position), so twin records get the same version
  and the split is still exercised;
- a send's delivery on side A is the test's stand-in for the outbox (the claim is the engine's
  `claim_sends`, windows included; then `sent`, or `failed` with the composer's reason for the
  record without an address, and `advance()`): the provider message id is not compared.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from saas.auth.models import Role, Tenant
from saas.engine import ab_split, activities, clock, services
from saas.engine.advance import advance
from saas.engine.caps import claim_sends
from saas.engine.conditions import email_decisions
from saas.engine.connect import connect_many, connect_record
from saas.engine.graph import StepGraph, load_graph
from saas.engine.models import Enrollment, StepRun
from saas.engine.sends import new_token
from saas.engine.tick import run_tick
from saas.errors import ServiceError
from saas.extensions import db
from saas.messaging import events
from saas.records.models import Record
from saas.sequences.models import Sequence
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence
from tests.engine.random_sequences import CALL_OUTCOMES, LIVE, branch, check
from tests.engine.test_tick import template

SEEDS = range(1, 1 + int(os.environ.get("PATHS_AGREE_SEEDS", "10")))
RECORDS = 12
ROUNDS = 10
ZONES = ["America/New_York", "Europe/Paris", "Australia/Lord_Howe", "America/Havana",
         "Mars/Olympus", "Pacific/Chatham", "", "America/Santiago", "UTC"]
NO_EMAIL = 5  # the record at this position has no email address: its sends fail
# Starts a day or so before daylight-saving changes (2026): New York and Havana (midnight)
# spring forward on 03-08; Lord Howe and Chatham fall back on 04-05; Santiago springs forward at
# midnight on 09-06; Lord Howe springs forward half an hour on 10-04; Paris falls back on 10-25
# (00:30 UTC on 10-24 is 02:30 in Paris: a day later, a repeated time); Havana falls back on 11-01.
STARTS = [datetime(2026, 3, 7, 3, 0, tzinfo=UTC), datetime(2026, 4, 4, 2, 0, tzinfo=UTC),
          datetime(2026, 9, 5, 2, 0, tzinfo=UTC), datetime(2026, 10, 3, 2, 0, tzinfo=UTC),
          datetime(2026, 10, 24, 0, 30, tzinfo=UTC), datetime(2026, 10, 31, 3, 0, tzinfo=UTC),
          datetime(2026, 11, 23, 20, 0, tzinfo=UTC)]
WINDOWS = [("09:00", "17:00"), ("00:00", "06:00"), ("02:00", "04:00"), ("08:30", "18:00"),
           ("00:00", "23:59")]
SEND_TYPES = ("auto_email", "auto_sms")
NO_ADDRESS = "The record has no email address."  # the composer's reason (saas.messaging.compose)


class Side:
    """One tenant, its sequence version and its records (by position)."""

    def __init__(self, app, tenant, seller_id: int, record_ids: list[int]):
        self.app, self.tenant, self.seller_id, self.record_ids = app, tenant, seller_id, record_ids
        self.sequence_id = 0
        self.keys: dict[int, str] = {}

    def inside(self):
        return _Inside(self.app, self.tenant.id)


class _Inside:
    def __init__(self, app, tenant_id: int):
        self.ctx = app.app_context()
        self.tenant = tenant_context(tenant_id)

    def __enter__(self):
        self.ctx.__enter__()
        self.tenant.__enter__()

    def __exit__(self, *exc):
        db.session.rollback()
        db.session.remove()
        self.tenant.__exit__(*exc)
        self.ctx.__exit__(*exc)


def _place_keys(graph: StepGraph) -> dict[int, str]:
    """Each step's place in the tree ('main0/yes1'), the same in both tenants."""
    keys: dict[int, str] = {}

    def key(step_id: int) -> str:
        if step_id not in keys:
            step = graph.steps[step_id]
            here = f"{step.branch}{step.position}"
            keys[step_id] = here if step.parent_id is None else f"{key(step.parent_id)}/{here}"
        return keys[step_id]

    for step_id in graph.steps:
        key(step_id)
    return keys


def _with_template(specs: list[dict], template_id: int) -> list[dict]:
    return json.loads(json.dumps(specs).replace('"template_id": -1',
                                                f'"template_id": {template_id}'))


def _state(side: Side) -> tuple[list, list]:
    """(what is compared, handles for acting) per record position."""
    enrollments = {e.record_id: e for e in db.session.execute(
        select(Enrollment).where(Enrollment.sequence_id == side.sequence_id)
        .execution_options(populate_existing=True)).scalars()}
    runs: dict[int, list[StepRun]] = {}
    for run in db.session.execute(
            select(StepRun).where(StepRun.sequence_id == side.sequence_id).order_by(StepRun.id)
            .execution_options(populate_existing=True)).scalars():
        runs.setdefault(run.enrollment_id, []).append(run)
    compared, handles = [], []
    for record_id in side.record_ids:
        e = enrollments.get(record_id)
        if e is None:
            compared.append(None)
            handles.append(None)
            continue
        mine = runs.get(e.id, [])
        compared.append((
            (e.status, side.keys.get(e.current_step_id), e.steps_done, e.exit_reason,
             e.ended_at),
            [(side.keys[r.step_id], r.step_type, r.status, r.outcome, r.due_at, r.started_at,
              r.completed_at, getattr(r, "held_due_at", None), r.ab_version, r.error,
              r.attempts, r.completed_by_id is not None)
             for r in mine]))
        handles.append((e.id, e.status, [(r.id, r.step_type, r.status) for r in mine]))
    return compared, handles


def _shown(state) -> str:
    if state is None:
        return "not connected"

    def row(values) -> str:
        return str(tuple(v.strftime("%Y-%m-%d %H:%MZ") if isinstance(v, datetime) else v
                         for v in values))

    return "\n".join([row(state[0]), *(f"  {row(run)}" for run in state[1])])


def _compare(a: Side, b: Side, when: str) -> list:
    with a.inside():
        state_a, handles = _state(a)
    with b.inside():
        state_b, handles_b = _state(b)
    for position, (one, other) in enumerate(zip(state_a, state_b, strict=True)):
        assert one == other, (
            f"{when}: record {position} (zone {ZONES[position % len(ZONES)]!r}) differs\n"
            f"single-record path: {_shown(one)}\nbatch path:         {_shown(other)}")
    return [(h, hb) for h, hb in zip(handles, handles_b, strict=True)]


# --- the same decisions on both sides ---------------------------------------------------------

def _decide(rng: random.Random, pairs: list) -> list[tuple]:
    """Actions per record position, drawn once: (position, action, index of the run, arg)."""
    actions: list[tuple] = []
    for position, (handle, _) in enumerate(pairs):
        if handle is None:
            continue
        _, status, runs = handle
        live = [i for i, (_, _, s) in enumerate(runs) if s in LIVE]
        if status == "active" and live:
            index = live[0]
            _, step_type, run_status = runs[index]
            roll = rng.random()
            if run_status == "open" and roll < 0.45:
                outcome = rng.choice(CALL_OUTCOMES) if step_type == "call" else None
                actions.append((position, "complete", index, outcome))
            elif run_status == "open" and roll < 0.6:
                actions.append((position, "skip", index, None))
            elif step_type == "wait" and run_status == "waiting" and roll < 0.08:
                actions.append((position, "skip_wait", index, None))
        for index, (_, step_type, run_status) in enumerate(runs):
            sent = (step_type == "auto_email" and run_status == "sent") or (
                step_type == "email" and run_status == "completed")
            if sent and rng.random() < 0.25:
                kind = rng.choice(["open", "open", "click", "click", "reply"])
                actions.append((position, "event", index, kind))
        roll = rng.random()
        if status in ("active", "paused") and roll < 0.02:
            actions.append((position, "disconnect", None, None))
        elif status in ("active", "paused") and roll < 0.1:
            actions.append((position, "resume" if status == "paused" else "pause", None, None))
    return actions


def _apply(side: Side, pairs: list, actions: list[tuple], which: int) -> list:
    """Apply the actions to one side (which: 0 = A, 1 = B); returns what each answered."""
    answers = []
    with side.inside():
        for position, action, index, arg in actions:
            enrollment_id, _, runs = pairs[position][which]
            run_id = runs[index][0] if index is not None else None
            try:
                if action == "complete":
                    answer = activities.complete_activity(run_id, side.seller_id, outcome=arg)
                elif action == "skip":
                    answer = activities.skip_activity(run_id, side.seller_id)
                elif action == "skip_wait":
                    answer = activities.skip_wait(run_id, side.seller_id)
                elif action == "event":
                    answer = events.record(kind=arg, provider="sendgrid",
                                           provider_event_id=f"{run_id}:{arg}", step_run_id=run_id)
                else:
                    enrollment = db.session.get(Enrollment, enrollment_id)
                    getattr(services, action)(enrollment)
                    answer = True
                db.session.commit()
            except ServiceError as error:
                db.session.rollback()
                answer = str(error)
            answers.append(answer)
    return answers


# --- the single-record path ---------------------------------------------------------------------

def _single_record_path(side: Side) -> int:
    """Everything due in tenant A, one record at a time through advance(); returns how many
    step runs it moved on."""
    moved = 0
    with side.inside():
        now = clock.now()
        graph = load_graph(side.sequence_id)
        token = new_token()
        for _ in range(100):
            due = db.session.execute(
                select(StepRun).join(Enrollment, Enrollment.id == StepRun.enrollment_id)
                .where(StepRun.sequence_id == side.sequence_id,
                       StepRun.status.in_(("waiting", "pending")), StepRun.due_at <= now,
                       Enrollment.status == "active")
                .order_by(StepRun.due_at, StepRun.id)
                .execution_options(populate_existing=True)).scalars().all()
            if not due:
                return moved
            for run in due:
                enrollment = db.session.execute(
                    select(Enrollment).where(Enrollment.id == run.enrollment_id)
                    .with_for_update().execution_options(populate_existing=True)).scalar_one()
                if run.step_type in SEND_TYPES:
                    claimed, _ = claim_sends(side.tenant.id, [run], now, token)
                    if not claimed:  # deferred to the window's next opening
                        db.session.commit()
                        continue
                    db.session.refresh(run)
                    email = db.session.execute(
                        select(Record.email).where(Record.id == run.record_id)).scalar()
                    run.status = "sent" if email else "failed"
                    run.error = None if email else NO_ADDRESS
                    run.completed_at, run.provider, run.claim_token = now, "outbox", None
                    advance(enrollment, run, now=now)
                elif run.step_type == "email_condition":
                    outcome = email_decisions(graph, graph.steps[run.step_id], [enrollment.id],
                                              timed_out=True)[enrollment.id]
                    run.status, run.completed_at, run.outcome = "completed", now, outcome
                    run.started_at = run.started_at or now
                    advance(enrollment, run, branch=outcome, now=now)
                else:
                    assert run.step_type == "wait", run.step_type
                    run.status, run.completed_at, run.outcome = "completed", now, "expired"
                    run.started_at = run.started_at or now
                    advance(enrollment, run, now=now)
                moved += 1
                db.session.commit()
    raise AssertionError("the single-record path never settled")


def _next_due(side: Side) -> timedelta | None:
    """How long until the next step run of a running enrollment falls due."""
    with side.inside():
        due = db.session.execute(
            select(func.min(StepRun.due_at))
            .join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .where(StepRun.sequence_id == side.sequence_id,
                   StepRun.status.in_(("waiting", "pending")),
                   Enrollment.status == "active")).scalar()
        return None if due is None else max(due - clock.now(), timedelta(seconds=1))


def _move_on(app, a: Side, minutes: int | None) -> None:
    """The clock moves (`minutes`, else to the next due time); A's due work goes one record at
    a time, then the tick does B's."""
    delta = timedelta(minutes=minutes) if minutes else _next_due(a) or timedelta(hours=6)
    with app.app_context():
        clock.move_forward(delta)
    _single_record_path(a)
    with a.inside():  # nothing of A's is left for the tick
        assert not db.session.execute(
            select(StepRun.id).join(Enrollment, Enrollment.id == StepRun.enrollment_id)
            .where(StepRun.status.in_(("waiting", "pending")), StepRun.due_at <= clock.now(),
                   Enrollment.status == "active")).first()
    with app.app_context():  # ticks run every few seconds: until nothing is due at this time
        for _ in range(20):
            totals = run_tick()
            assert not totals["failed_tenants"], totals
            if not totals["claimed"]:
                return
    raise AssertionError("the tick never settled")


def _check_both(a: Side, b: Side, *, finished: bool = False) -> dict[str, int]:
    with a.inside():
        check(a.sequence_id, finished=finished, outbox=False)
    with b.inside():
        return check(b.sequence_id, finished=finished)


@pytest.mark.parametrize("seed", SEEDS)
def test_single_record_and_batch_paths_agree(app, make_tenant, make_user, add_records,
                                             monkeypatch, seed):
    rng = random.Random(seed)
    start = rng.choice(STARTS) + timedelta(minutes=rng.randrange(0, 36 * 60, 15))
    monkeypatch.setattr(clock, "utcnow", lambda: start)  # moved only by clock.move_forward
    tenant_zone = rng.choice(["Europe/Paris", "America/New_York", "UTC"])
    window = None
    if rng.random() < 0.7:
        opens, closes = rng.choice(WINDOWS)
        window = {"days": sorted(rng.sample(range(7), rng.randint(3, 7))), "start": opens,
                  "end": closes}
    settings = {"exit_on_reply": rng.random() < 0.5, "allow_skip_wait": True}
    if window:
        settings["window"] = window
    specs = branch(rng, -1, [], 0, rich=True)

    sides = []
    for name in ("single", "batch"):
        tenant = make_tenant(name)
        seller = make_user(tenant, roles=[Role.SELLER], name=f"Seller {name}")
        with app.app_context():
            db.session.execute(update(Tenant).where(Tenant.id == tenant.id)
                               .values(time_zone=tenant_zone))
            db.session.commit()
        ids = add_records(
            tenant, RECORDS, owner_id=seller.id,
            time_zone=lambda i: ZONES[i % len(ZONES)],
            email=lambda i: None if i == NO_EMAIL else f"person{i}@example.com",
            country=lambda i: "FR" if i % 3 == 0 else "US")
        side = Side(app, tenant, seller.id, ids)
        with side.inside():
            sequence = build_sequence(_with_template(specs, template()), settings=settings)
            db.session.commit()
            side.sequence_id = sequence.id
            side.keys = _place_keys(load_graph(sequence.id))
        sides.append(side)
    a, b = sides

    # The A/B version by the step's place and the record's position (ids differ by tenant).
    places = {**a.keys, **b.keys}
    positions = {rid: i for side in sides for i, rid in enumerate(side.record_ids)}

    def bucket(step_id: int, record_id: int) -> int:
        digest = hashlib.sha256(f"{places[step_id]}:{positions[record_id]}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % 10_000

    monkeypatch.setattr(ab_split, "bucket", bucket)
    with a.inside():  # connected at the same engine time, one record at a time in A
        lineage = db.session.get(Sequence, a.sequence_id).lineage_id
        for record in db.session.execute(select(Record).where(Record.id.in_(a.record_ids))
                                         .order_by(Record.id)).scalars().all():
            connect_record(record, lineage)
        db.session.commit()
    with b.inside():  # and in bulk in B
        connect_many(b.record_ids, db.session.get(Sequence, b.sequence_id).lineage_id)
        db.session.commit()
    where = f"seed {seed}, start {start:%Y-%m-%d %H:%M}Z, window {window}, specs {specs}"

    pairs = _compare(a, b, f"connected ({where})")
    for round_ in range(ROUNDS):
        actions = _decide(rng, pairs)
        answers = [_apply(side, pairs, actions, which) for which, side in enumerate(sides)]
        assert answers[0] == answers[1], (where, actions, answers)
        _compare(a, b, f"round {round_}, after the actions {actions} ({where})")
        _check_both(a, b)
        minutes = rng.choice([None, 30, 60, 90, 180, 360, 24 * 60])  # None: the next due time
        _move_on(app, a, minutes and minutes + rng.choice([0, 7, 15]))
        pairs = _compare(a, b, f"round {round_}, after the clock moved ({where})")
        _check_both(a, b)
    for round_ in range(40):  # then everything is worked until every record has finished
        for side in sides:
            with side.inside():
                for enrollment in db.session.execute(select(Enrollment).where(
                        Enrollment.sequence_id == side.sequence_id,
                        Enrollment.status == "paused")).scalars().all():
                    services.resume(enrollment)
                for run in db.session.execute(select(StepRun).where(
                        StepRun.sequence_id == side.sequence_id, StepRun.status == "open")
                        .order_by(StepRun.id)).scalars().all():
                    activities.complete_activity(run.id, side.seller_id, outcome="connected")
                db.session.commit()
        _compare(a, b, f"finishing {round_}, after the actions ({where})")
        if not {"active", "paused"} & set(_check_both(a, b)):
            break
        _move_on(app, a, None)  # to the next due time (a send waits for its window)
        _compare(a, b, f"finishing {round_}, after the clock moved ({where})")
    statuses = _check_both(a, b, finished=True)
    assert sum(statuses.values()) == RECORDS and "active" not in statuses, (where, statuses)
