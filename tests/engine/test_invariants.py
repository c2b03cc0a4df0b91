"""Property: whatever sequence is built and whatever sellers, recipients and the clock do, the
engine keeps its invariants. Random valid sequences (waits, tasks, calls, manual and automated
emails, A/B tests, field updates, email and call conditions with their Yes/No branches), thirty
records, random completions, skips (of activities and of waits), pauses, resumes,
disconnections and message events, the clock moved and the tick run, round after round. After
every round:

- a running (active or paused) enrollment has exactly one live step run (open, waiting, pending
  or sending), on its current step; an ended one has none;
- each enrollment's step runs follow one path of the tree: the first step, then each step the
  next on its branch or, after a condition, the first of the branch its outcome names;
- no step run was sent twice (one outbox message per automated send).

In the end every enrollment has ended, on the last step of its path.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from saas.engine import activities, clock, services
from saas.engine.connect import connect_many
from saas.engine.graph import load_graph
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import events
from saas.messaging.models import OutboxMessage
from tests.engine.factories import build_sequence
from tests.engine.test_tick import template

LIVE = ("open", "waiting", "pending", "sending")
ENDED = ("completed", "exited", "disconnected")
EMAIL_TYPES = ("email", "auto_email", "ab_test")
DECISIONS = ("email_condition", "call_condition")


def _plain(rng: random.Random, template_id: int) -> dict:
    kind = rng.choice(["wait", "task", "call", "email", "auto_email", "update_field", "ab_test"])
    if kind == "ab_test":
        return {"type": "ab_test", "config": {
            "display_name": "Subject", "split_a": 50, "metric": "opens", "ends": "auto",
            "end_at": None, "default_version": "A",
            "versions": {"A": {"type": rng.choice(["email", "auto_email"]), "name": "Short",
                               "template_id": template_id},
                         "B": {"type": "auto_email", "name": "Long",
                               "template_id": template_id}}}}
    if kind == "wait":
        return {"type": "wait", "config": {"days": 0, "hours": rng.randint(1, 3)}}
    if kind == "auto_email":
        return {"type": "auto_email", "config": {"template_id": template_id}}
    if kind == "email":
        return {"type": "email", "config": {"template_id": None}}
    if kind == "update_field":
        return {"type": "update_field", "config": {"field": "status", "value": "contacted"}}
    return {"type": kind}


def _branch(rng: random.Random, template_id: int, before: list[str], depth: int) -> list[dict]:
    """A valid branch: plain steps (never ending on a wait), then perhaps a condition whose
    kind has its email or call step on the path before it."""
    steps = [_plain(rng, template_id) for _ in range(rng.randint(1, 3))]
    if steps[-1]["type"] == "wait":
        steps.append({"type": "task"})
    path = before + [s["type"] for s in steps]
    choices = [kind for kind, needs in (("email_condition", EMAIL_TYPES), ("call_condition",
                                                                           ("call",)))
               if any(t in needs for t in path)]
    if choices and depth < 2 and rng.random() < 0.7:
        kind = rng.choice(choices)
        config = ({"events": [rng.choice(["opened", "clicked"])], "match": "any",
                   "limit_days": 0, "limit_hours": rng.randint(1, 3),
                   "move_on_event": rng.random() < 0.5}
                  if kind == "email_condition" else {"outcomes": ["connected"]})
        condition = {"type": kind, "config": config}
        for side in ("yes", "no"):
            condition[side] = (_branch(rng, template_id, path, depth + 1)
                               if rng.random() < 0.8 else [])
        steps.append(condition)
    return steps


def _check(sequence_id: int, *, finished: bool = False) -> dict[str, int]:
    graph = load_graph(sequence_id)
    enrollments = db.session.execute(select(Enrollment).where(
        Enrollment.sequence_id == sequence_id).execution_options(populate_existing=True)
    ).scalars().all()
    runs: dict[int, list[StepRun]] = {}
    for run in db.session.execute(select(StepRun).where(StepRun.sequence_id == sequence_id)
                                  .order_by(StepRun.id)).scalars():
        runs.setdefault(run.enrollment_id, []).append(run)
    for e in enrollments:
        mine = runs.get(e.id, [])
        live = [r for r in mine if r.status in LIVE]
        where = f"enrollment {e.id} ({e.status}): {[(r.step_type, r.status) for r in mine]}"
        if e.status in ("active", "paused"):
            assert len(live) == 1 and live[0].step_id == e.current_step_id, where
        else:
            assert e.status in ENDED and not live, where
        assert mine and mine[0].step_id == graph.first().id, where
        for before, after in zip(mine, mine[1:], strict=False):
            info = graph.steps[before.step_id]
            expected = (graph.first(info.id, before.outcome) if info.type in DECISIONS
                        else graph.after(info.id))
            assert expected is not None and after.step_id == expected.id, where
        if finished:
            last = graph.steps[mine[-1].step_id]
            assert e.status in ENDED, where
            if e.status == "completed":
                end = (graph.first(last.id, mine[-1].outcome) if last.type in DECISIONS
                       else graph.after(last.id))
                assert end is None, where
    sends = db.session.execute(select(OutboxMessage.step_run_id, func.count())
                               .group_by(OutboxMessage.step_run_id)).all()
    assert all(count == 1 for _, count in sends)
    sent = db.session.execute(select(func.count()).select_from(StepRun).where(
        StepRun.sequence_id == sequence_id, StepRun.step_type == "auto_email",
        StepRun.status == "sent")).scalar_one()
    assert sent == len(sends)
    statuses: dict[str, int] = {}
    for e in enrollments:
        statuses[e.status] = statuses.get(e.status, 0) + 1
    return statuses


def _act(rng: random.Random, sequence_id: int, seller_id: int) -> None:
    """The seller works some open activities; recipients open, click or reply to some sends."""
    for run in db.session.execute(select(StepRun).where(
            StepRun.sequence_id == sequence_id, StepRun.status == "open")).scalars().all():
        roll = rng.random()
        if roll < 0.45:
            outcome = rng.choice(["connected", "no_answer"]) if run.step_type == "call" \
                else None
            activities.complete_activity(run.id, seller_id, outcome=outcome)
        elif roll < 0.6:
            activities.skip_activity(run.id, seller_id)
    for run in db.session.execute(select(StepRun).where(
            StepRun.sequence_id == sequence_id, StepRun.step_type == "wait",
            StepRun.status == "waiting")).scalars().all():
        if rng.random() < 0.1:
            activities.skip_wait(run.id, seller_id)
    for enrollment in db.session.execute(select(Enrollment).where(
            Enrollment.sequence_id == sequence_id,
            Enrollment.status.in_(("active", "paused")))).scalars().all():
        roll = rng.random()
        if roll < 0.05:
            services.disconnect(enrollment)
        elif roll < 0.15:
            (services.resume if enrollment.status == "paused" else services.pause)(enrollment)
    for run in db.session.execute(select(StepRun).where(
            StepRun.sequence_id == sequence_id, StepRun.step_type == "auto_email",
            StepRun.status == "sent")).scalars().all():
        if rng.random() < 0.3:
            kind = rng.choice(["open", "open", "click", "reply"])
            events.record(kind=kind, provider="sendgrid", provider_event_id=f"{run.id}:{kind}",
                          step_run=run)
    db.session.commit()


@pytest.mark.parametrize("seed", range(1, 13))  # 60 seeds pass too (about a minute)
def test_the_engine_keeps_its_invariants(app, world, seed):
    rng = random.Random(seed)
    ids = world.add(30)
    with world.inside():
        specs = _branch(rng, template(), [], 0)
        sequence = build_sequence(specs, settings={"exit_on_reply": rng.random() < 0.5,
                                                   "allow_skip_wait": True})
        connect_many(ids, sequence.lineage_id)
        db.session.commit()
        sequence_id = sequence.id
    for _ in range(12):
        with world.inside():
            _act(rng, sequence_id, world.seller.id)
            _check(sequence_id)
        with app.app_context():
            clock.move_forward(timedelta(minutes=rng.choice([30, 60, 90])))
            run_tick()
        with world.inside():
            _check(sequence_id)
    for _ in range(40):  # then everything is worked until every record has finished
        with world.inside():
            for enrollment in db.session.execute(select(Enrollment).where(
                    Enrollment.sequence_id == sequence_id,
                    Enrollment.status == "paused")).scalars().all():
                services.resume(enrollment)
            for run in db.session.execute(select(StepRun).where(
                    StepRun.sequence_id == sequence_id, StepRun.status == "open")).scalars():
                activities.complete_activity(run.id, world.seller.id, outcome="connected")
            db.session.commit()
            if not {"active", "paused"} & set(_check(sequence_id)):
                break
        with app.app_context():
            clock.move_forward(timedelta(hours=4))
            run_tick()
    with world.inside():
        statuses = _check(sequence_id, finished=True)
    assert sum(statuses.values()) == 30 and "active" not in statuses, (specs, statuses)
