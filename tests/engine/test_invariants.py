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
from sqlalchemy import select

from saas.engine import activities, clock, services
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.messaging import events
from tests.engine.factories import build_sequence
from tests.engine.random_sequences import branch as _branch
from tests.engine.random_sequences import check as _check
from tests.engine.test_tick import template


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
                          step_run_id=run.id)
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
