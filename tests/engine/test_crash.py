"""Crash test: real worker processes (`python -m worker`) on PostgreSQL and Redis run 2,000
enrollments through automated steps (an outbox email, a wait, a field update, a wait) while workers
are SIGKILLed at random moments and Redis is flushed once. At the end every enrollment has
finished, no step ran twice and none was lost. Bounded well under a minute."""

# ruff: noqa: S603, S311 - the commands are this Python and this project; randomness is a drill.

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

from sqlalchemy import func, select, text

from saas.engine import clock
from saas.engine.connect import connect_many
from saas.engine.models import Enrollment, StepRun
from saas.extensions import db
from saas.messaging.models import OutboxMessage
from saas.templates_.models import MessageTemplate
from tests.conftest import TEST_DATABASE_URL, TEST_REDIS_URL, app_config
from tests.engine.factories import build_sequence

ENROLLMENTS = 2000
WORKERS = 3
KILLS = 4
DEADLINE = 50.0
SPEED = 1500  # engine seconds per real second


def _worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "--set", "TICK_SECONDS=1",
         "--set", "ENGINE_SENDING_LEASE=3", "--set", "ENGINE_TICK_STALE=4",
         "--set", "ENGINE_TICK_BUDGET=3", "--set", "ENGINE_BATCH_PER_TENANT=500"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _counts(world) -> dict:
    with world.inside():
        enrollments = dict(db.session.execute(select(Enrollment.status, func.count())
                                              .group_by(Enrollment.status)).all())
        runs = dict(db.session.execute(select(StepRun.status, func.count())
                                       .group_by(StepRun.status)).all())
        messages = db.session.execute(select(func.count()).select_from(OutboxMessage)
                                      ).scalar_one()
        distinct = db.session.execute(select(func.count(OutboxMessage.step_run_id.distinct()))
                                      ).scalar_one()
    return {"enrollments": enrollments, "runs": runs, "messages": messages,
            "distinct_messages": distinct}


def test_workers_killed_and_redis_flushed_lose_nothing_and_repeat_nothing(app, world,
                                                                         redis_conn):
    ids = world.add(ENROLLMENTS)
    with world.inside():
        template = MessageTemplate(kind="email", name="Hello", subject="Hi {{ record.first_name }}",
                                   html_body="<p>Hello {{ record.first_name }}</p>", text_body="")
        db.session.add(template)
        db.session.flush()
        auto = {"type": "auto_email", "config": {"template_id": template.id}}
        seq = build_sequence([{**auto, "name": "First"},
                              {"type": "wait", "name": "Wait", "config": {"hours": 1}},
                              {"type": "update_field", "name": "Contacted",
                               "config": {"field": "status", "value": "contacted"}},
                              {"type": "wait", "name": "Wait again", "config": {"hours": 2}}])
        connect_many(ids, seq.lineage_id)
        db.session.commit()

    config = app_config()
    env = {**os.environ, **{k: str(v) for k, v in config.items() if isinstance(v, str)},
           "DATABASE_URL": TEST_DATABASE_URL, "REDIS_URL": TEST_REDIS_URL,
           "WORKER_LOG_LEVEL": "WARNING"}
    rng = random.Random(6)
    offset = 0.0
    workers = [_worker(env) for _ in range(WORKERS)]
    kills, flushed, turns = 0, False, 0
    started = time.monotonic()
    next_kill = started + rng.uniform(1.0, 3.0)
    try:
        while time.monotonic() - started < DEADLINE:
            # The engine clock runs SPEED times real time (five engine minutes every 0.2 s: the
            # first wait ends after ~2.4 s), by the wall clock, not by turns of this loop: on a
            # loaded machine a turn can take seconds, and the waits must still end.
            now = time.monotonic()
            offset = (now - started) * SPEED
            redis_conn.set(clock.OFFSET_KEY, repr(offset))
            turns += 1
            if kills < KILLS and now >= next_kill:
                victim = rng.randrange(len(workers))
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait()
                workers[victim] = _worker(env)
                kills += 1
                next_kill = now + rng.uniform(1.0, 3.0)
                if kills == 2 and not flushed:
                    redis_conn.flushdb()  # the queue, the tick job, the clock: all gone
                    redis_conn.set(clock.OFFSET_KEY, repr(offset))
                    flushed = True
            if kills >= KILLS:
                counts = _counts(world)
                if counts["enrollments"] == {"completed": ENROLLMENTS}:
                    break
            time.sleep(0.2)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGKILL)
            worker.wait()
    counts = _counts(world)
    elapsed = time.monotonic() - started
    print(f"\ncrash test: {ENROLLMENTS} enrollments, {kills} workers SIGKILLed, Redis flushed "
          f"{int(flushed)}x, {elapsed:.1f} s ({turns} turns, engine clock +{offset / 3600:.1f} h)"
          f": enrollments {counts['enrollments']}, step runs "
          f"{counts['runs']}, outbox messages {counts['messages']} "
          f"({counts['distinct_messages']} distinct step runs)")
    assert kills == KILLS and flushed
    assert counts["enrollments"] == {"completed": ENROLLMENTS}  # every one finished
    assert counts["runs"] == {"sent": ENROLLMENTS, "completed": 3 * ENROLLMENTS}  # none lost
    assert counts["messages"] == counts["distinct_messages"] == ENROLLMENTS  # none twice
    with world.inside():
        per_enrollment = db.session.execute(
            select(func.count()).select_from(StepRun).group_by(StepRun.enrollment_id)
            .having(func.count() != 4)).all()
        assert per_enrollment == []
        # No foreign key checks these (engine/models.py): every step run has its enrollment,
        # every enrollment its sequence version.
        orphans = db.session.execute(text(
            "SELECT (SELECT count(*) FROM step_run s WHERE NOT EXISTS "
            "(SELECT 1 FROM enrollment e WHERE e.id = s.enrollment_id)), "
            "(SELECT count(*) FROM enrollment e WHERE NOT EXISTS "
            "(SELECT 1 FROM sequence q WHERE q.id = e.sequence_id))")).one()
        assert tuple(orphans) == (0, 0)
