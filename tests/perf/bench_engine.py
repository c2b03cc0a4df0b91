"""Benchmark: the sequence engine's bulk tick against the naive way (one RQ job per step).

    python -m tests.perf.bench_engine --enrollments 100000

Builds the schema with the migrations in TEST_DATABASE_URL (default: the local `bench_engine`
database, created if missing) with the records in bulk SQL, puts them all in one segment, then:

- `connect_seconds`: connecting the segment to a sequence (wait 1 hour -> wait 1 day -> call) by
  the real background connect job (INSERT ... SELECT per chunk of 10,000, first step runs
  written in the same statement, a commit per chunk, ENGINE_TICK_WORKERS chunks at a time);
- `transitions_per_s`: the engine clock moved past each wait, the tick (run_tick, in process,
  with its default ENGINE_TICK_WORKERS threads as a worker runs it) claims the due runs per
  tenant with FOR UPDATE SKIP LOCKED and moves them on in bulk: waits expiring into the next
  wait (due in the recipient's zone), then into the call activity;
- `rq_job_per_step_per_s`: the same transitions done the naive way on `--naive-steps` steps of
  another tenant: one RQ job per due step run (load it, complete it, advance() it, commit), run by
  two forking RQ workers.

Prints one JSON line last: {"enrollments", "transitions_per_s", "connect_seconds",
"rq_job_per_step_per_s", "ratio"}. Not a test: nothing here asserts a timing.
"""

# ruff: noqa: S603, S608 - the commands are this Python; the SQL holds no user input.

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from redis import Redis
from rq import Queue
from sqlalchemy import select, text

from saas import create_app
from saas.engine.connect_job import run_connect_job
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.segments.models import Segment
from saas.sequences.models import Sequence, Step
from saas.tenancy import tenant_context
from tests.perf.common import build, ensure_database

DATABASE_URL = os.environ.get("TEST_DATABASE_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/bench_engine")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")
QUEUE = "bench-engine-naive"

FILL = """
INSERT INTO record (tenant_id, record_type, first_name, last_name, company, email, status,
                    owner_id, time_zone, custom, created_at, updated_at)
SELECT :tenant, 'lead', 'First' || g, 'Last' || g, 'Company ' || (g % 1000),
       'p' || g || '@t' || :tenant || '.example', 'new', :owner,
       (ARRAY['Europe/Paris','America/New_York','UTC','Asia/Tokyo'])[1 + g % 4],
       '{{}}'::jsonb, now(), now()
FROM generate_series(1, :n) AS g
"""

_APP = None


def _config() -> dict:
    return {"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "ENGINE_CLOCK_OFFSET": 0.0}


def _sequence(tenant_id: int, name: str) -> int:
    with tenant_context(tenant_id):
        sequence = Sequence(name=name, record_type="lead", status="active", settings={})
        db.session.add(sequence)
        db.session.flush()
        sequence.lineage_id = sequence.id
        for position, (kind, config) in enumerate([("wait", {"days": 0, "hours": 1}),
                                                   ("wait", {"days": 1, "hours": 0}),
                                                   ("call", {})]):
            db.session.add(Step(sequence_id=sequence.id, branch="main", position=position,
                                type=kind, name=f"{kind} {position}", config=config))
        db.session.commit()
        return sequence.id


def _segment(tenant_id: int, limit: int | None = None) -> int:
    with tenant_context(tenant_id):
        segment = Segment(name="Everyone", record_type="lead", status="active",
                          rules={"op": "and", "rules": []})
        db.session.add(segment)
        db.session.flush()
        db.session.execute(text(
            "INSERT INTO segment_member (tenant_id, segment_id, record_id, joined_at) "
            "SELECT :t, :s, id, now() FROM record WHERE tenant_id = :t ORDER BY id LIMIT :n"),
            {"t": tenant_id, "s": segment.id, "n": limit or 2_000_000_000})
        db.session.commit()
        return segment.id


def _connect(tenant_id: int, sequence_id: int, segment_id: int) -> float:
    with tenant_context(tenant_id):
        job = ConnectJob(sequence_id=sequence_id, segment_id=segment_id, total=0)
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    started = time.perf_counter()
    run_connect_job(job_id, tenant_id)
    return time.perf_counter() - started


def _tick_until_idle(app) -> tuple[int, float]:
    transitions, seconds = 0, 0.0
    while True:
        started = time.perf_counter()
        counts = run_tick(budget_seconds=600, per_tenant=10000)
        seconds += time.perf_counter() - started
        transitions += counts["transitions"]
        if not counts["claimed"]:
            return transitions, seconds


def naive_step(tenant_id: int, step_run_id: int) -> None:
    """One RQ job per step: load, complete, advance(), commit."""
    from saas.engine import clock
    from saas.engine.advance import advance

    global _APP
    if _APP is None:
        _APP = create_app(_config())
    with _APP.app_context():
        db.engine.dispose(close=False)  # a forked child opens its own connections
        with tenant_context(tenant_id):
            run = db.session.execute(select(StepRun).where(StepRun.id == step_run_id)
                                     .with_for_update()).scalar_one()
            if run.status != "waiting":
                return
            run.status, run.completed_at, run.outcome = "completed", clock.now(), "expired"
            enrollment = db.session.execute(select(Enrollment).where(
                Enrollment.id == run.enrollment_id)).scalar_one()
            advance(enrollment, run)
            db.session.commit()


def _naive(app, tenant_id: int, steps: int) -> float:
    sequence_id = _sequence(tenant_id, "Naive")
    segment_id = _segment(tenant_id, steps)
    _connect(tenant_id, sequence_id, segment_id)
    with tenant_context(tenant_id):
        ids = db.session.execute(select(StepRun.id).where(
            StepRun.sequence_id == sequence_id, StepRun.status == "waiting")).scalars().all()
        db.session.rollback()
    redis = Redis.from_url(REDIS_URL)
    queue = Queue(QUEUE, connection=redis)
    queue.empty()
    for run_id in ids:
        queue.enqueue("tests.perf.bench_engine.naive_step", tenant_id, run_id, result_ttl=0)
    env = {**os.environ, "BENCH_CLOCK_OFFSET": str(app.config["ENGINE_CLOCK_OFFSET"])}
    started = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-m", "tests.perf.bench_engine",
                                 "--naive-worker"], env=env) for _ in range(2)]
    for worker in workers:
        worker.wait()
    return len(ids) / (time.perf_counter() - started)


def _naive_worker() -> None:
    """Two of these run the naive jobs: rq's default Worker (a fork per job)."""
    from rq import Worker

    import tests.perf.bench_engine as jobs  # the module RQ imports the job from

    jobs._APP = create_app({**_config(),
                            "ENGINE_CLOCK_OFFSET": float(os.environ["BENCH_CLOCK_OFFSET"])})
    Worker([Queue(QUEUE, connection=Redis.from_url(REDIS_URL))],
           connection=Redis.from_url(REDIS_URL)).work(burst=True, logging_level="WARNING")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--naive-steps", type=int, default=3000)
    parser.add_argument("--naive-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_worker:
        _naive_worker()
        return
    ensure_database(DATABASE_URL)
    app = create_app(_config())
    ids = build(app, args.enrollments, FILL, None)
    bench_tenant, neighbour = ids["bench"][0], ids["neighbour"][0]
    with app.app_context():
        sequence_id = _sequence(bench_tenant, "Bench")
        segment_id = _segment(bench_tenant)
        connect_seconds = _connect(bench_tenant, sequence_id, segment_id)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE enrollment"))
            conn.execute(text("VACUUM ANALYZE step_run"))
        app.config["ENGINE_CLOCK_OFFSET"] = timedelta(hours=1, minutes=1).total_seconds()
        first, first_s = _tick_until_idle(app)
        app.config["ENGINE_CLOCK_OFFSET"] = timedelta(days=1, hours=3).total_seconds()
        second, second_s = _tick_until_idle(app)
        transitions, seconds = first + second, first_s + second_s
        with tenant_context(bench_tenant):
            open_calls = db.session.execute(text(
                "SELECT count(*) FROM step_run WHERE tenant_id = :t AND status = 'open'"),
                {"t": bench_tenant}).scalar()
            db.session.rollback()
        print(f"connected {args.enrollments} in {connect_seconds:.2f} s; {transitions} "
              f"transitions in {seconds:.2f} s; {open_calls} call activities open",
              file=sys.stderr)
        app.config["ENGINE_CLOCK_OFFSET"] = timedelta(hours=1, minutes=1).total_seconds()
        naive = _naive(app, neighbour, min(args.naive_steps, max(args.enrollments // 10, 1)))
    per_s = transitions / seconds if seconds else 0.0
    print(json.dumps({"enrollments": args.enrollments, "transitions_per_s": round(per_s),
                      "connect_seconds": round(connect_seconds, 2),
                      "rq_job_per_step_per_s": round(naive, 1),
                      "ratio": round(per_s / naive, 1) if naive else None}))


if __name__ == "__main__":
    main()
