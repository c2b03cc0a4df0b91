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
- `mixed_transitions_per_s`: `--mixed-enrollments` records (default 20,000, at most
  `--enrollments`) of the same tenant connected to a mixed sequence that takes the one-by-one
  path: wait 1 hour -> A/B test (two automated emails, a running test) -> update a field ->
  field condition -> (yes) call condition -> (no) email condition (opened, 1 hour) -> (no) task.
  The tick moves them through it: the A/B choice, the field update and both decisions record by
  record (advance_from), the emails claimed and delivered through the outbox (the default
  provider: rendered, stored, the enrollment moved on) inside the tick, the email condition
  timing out in bulk. Counted: every step run of that sequence that ended (completed or sent),
  over the ticks' wall time (six per enrollment);
- `mixed_off_tick_transitions_per_s`: the next `--mixed-enrollments` records (as many as are
  left) through a second copy of that sequence the way production runs it (SENDS_OFF_TICK,
  the default outside tests): the tick moves them on, the send sweep of the tenant's shard
  (`send_sweep`, the job a worker runs) claims, composes, stores and moves them on, turn after
  turn, one tenant served by one turn at a time; tick and sweep alternate in process until
  neither finds work (see `_tick_and_sweep`). Counted as above, over both's wall time;
- `working_time_transitions_per_s`: `--working-enrollments` records (default: `--enrollments`)
  of the same tenant connected to the same wait 1 hour -> wait 1 day -> call sequence with
  "Count waits in working time" on (the tenant in Europe/Paris, the French public holidays of
  this year and the next as closure days): the connect, then the tick moving them through both
  waits, the engine clock moved past the latest due time each time (waits end in working time:
  the next working day's hours, not an hour later). Compare with `transitions_per_s`;
- `rq_job_per_step_per_s`: the wait-wait-call transitions done the naive way on `--naive-steps`
  steps of another tenant: one RQ job per due step run (load it, complete it, advance() it,
  commit), as production would run it: two worker processes, each an RQ `SimpleWorker` (the job
  runs in the worker, no fork) with the app built once and one database connection kept for all
  its jobs; timed from the first job's start to the last job's end.

Prints one JSON line last: {"enrollments", "transitions_per_s", "connect_seconds",
"mixed_enrollments", "mixed_transitions_per_s", "mixed_complete",
"mixed_off_tick_enrollments", "mixed_off_tick_transitions_per_s", "mixed_off_tick_complete",
"working_time_enrollments",
"working_time_transitions_per_s", "working_time_connect_seconds", "rq_job_per_step_per_s",
"ratio"} (ratio:
transitions_per_s over rq_job_per_step_per_s). Not a test: nothing here asserts a timing.
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
from saas.auth.models import Tenant
from saas.engine.abtests import start_tests
from saas.engine.connect_job import run_connect_job
from saas.engine.models import ConnectJob, Enrollment, StepRun
from saas.engine.send_jobs import shard_of
from saas.engine.send_sweeps import send_sweep
from saas.engine.tick import run_tick
from saas.extensions import db
from saas.segments.models import Segment
from saas.sequences.models import Sequence, Step
from saas.templates_.models import MessageTemplate
from saas.tenancy import tenant_context
from tests.engine.factories import build_sequence
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

def _config() -> dict:
    return {"APP_ENV": "test", "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "ENGINE_CLOCK_OFFSET": 0.0}


def _sequence(tenant_id: int, name: str, settings: dict | None = None) -> int:
    with tenant_context(tenant_id):
        sequence = Sequence(name=name, record_type="lead", status="active",
                            settings=settings or {})
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


def _mixed_sequence(tenant_id: int) -> int:
    """The mixed sequence (see the module's docstring); returns its id."""
    with tenant_context(tenant_id):
        template = MessageTemplate(kind="email", name="Hello", language="en",
                                   subject="{{ record.first_name }}, a quick question",
                                   html_body="<p>Hello {{ record.first_name }} at "
                                             "{{ record.company }},</p><p>Shall we talk?</p>",
                                   text_body="")
        db.session.add(template)
        db.session.flush()
        ab = {"display_name": "Subject", "split_a": 50, "metric": "opens", "ends": "auto",
              "end_at": None, "default_version": "A",
              "versions": {"A": {"type": "auto_email", "name": "Short",
                                 "template_id": template.id},
                           "B": {"type": "auto_email", "name": "Long",
                                 "template_id": template.id}}}
        sequence = build_sequence([
            {"type": "wait", "config": {"days": 0, "hours": 1}},
            {"type": "ab_test", "name": "Hello A/B", "config": ab},
            {"type": "update_field", "config": {"field": "status", "value": "contacted"}},
            {"type": "field_condition", "config": {"rules": {"op": "and", "rules": [
                {"field": "status", "operator": "equals", "value": "contacted"}]}},
             "yes": [{"type": "call_condition", "config": {"outcomes": ["connected"]},
                      "no": [{"type": "email_condition", "config": {
                          "events": ["opened"], "match": "any", "limit_days": 0,
                          "limit_hours": 1, "move_on_event": True},
                          "no": [{"type": "task", "name": "Follow up"}]}]}]},
        ], name="Mixed")
        start_tests(sequence.id)
        db.session.commit()
        return sequence.id


def _segment(tenant_id: int, limit: int | None = None, offset: int = 0) -> int:
    with tenant_context(tenant_id):
        segment = Segment(name="Everyone", record_type="lead", status="active",
                          rules={"op": "and", "rules": []})
        db.session.add(segment)
        db.session.flush()
        db.session.execute(text(
            "INSERT INTO segment_member (tenant_id, segment_id, record_id, joined_at) "
            "SELECT :t, :s, id, now() FROM record WHERE tenant_id = :t ORDER BY id LIMIT :n"
            " OFFSET :o"), {"t": tenant_id, "s": segment.id, "n": limit or 2_000_000_000,
                            "o": offset})
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


def _mixed(app, tenant_id: int, n: int, off_tick: bool = False) -> tuple[float, int, bool]:
    """(transitions/s, transitions, whether every record went the whole way) of `n` records
    through the mixed sequence. The tenant's senders may send them all: a tenant sending
    thousands of emails at once raises its senders' caps (the defaults, 30 an hour and 30
    seconds apart, would defer all but a few and leave only the waits to count).
    `off_tick`: the next `n` records, as production runs them (SENDS_OFF_TICK: the tick moves
    the sequence on and the send sweep of the tenant's shard sends, see `_tick_and_sweep`)."""
    tenant = db.session.execute(select(Tenant).where(Tenant.id == tenant_id)).scalar_one()
    tenant.settings = {**(tenant.settings or {}), "sender_caps": {
        "daily_cap": n * 10, "hourly_cap": n * 10, "min_gap_seconds": 0}}
    db.session.commit()
    sequence_id = _mixed_sequence(tenant_id)
    segment_id = _segment(tenant_id, n, offset=n if off_tick else 0)
    _connect(tenant_id, sequence_id, segment_id)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE enrollment"))
        conn.execute(text("ANALYZE step_run"))
    base = app.config["ENGINE_CLOCK_OFFSET"]
    seconds = 0.0
    app.config["SENDS_OFF_TICK"] = off_tick
    try:
        for later in (timedelta(hours=1, minutes=1), timedelta(hours=2, minutes=2)):
            app.config["ENGINE_CLOCK_OFFSET"] = base + later.total_seconds()
            seconds += (_tick_and_sweep(tenant_id) if off_tick else _tick_until_idle(app)[1])
    finally:
        app.config["SENDS_OFF_TICK"] = False
    with tenant_context(tenant_id):
        ended = dict(db.session.execute(text(
            "SELECT step_type, count(*) FROM step_run WHERE tenant_id = :t AND sequence_id = :s"
            " AND status IN ('completed', 'sent') GROUP BY step_type"),
            {"t": tenant_id, "s": sequence_id}).all())
        tasks = db.session.execute(text(
            "SELECT count(*) FROM step_run WHERE tenant_id = :t AND sequence_id = :s"
            " AND step_type = 'task' AND status = 'open'"),
            {"t": tenant_id, "s": sequence_id}).scalar()
        db.session.rollback()
    transitions = sum(ended.values())
    print(f"mixed{' off the tick' if off_tick else ''}: {n} enrollments, {transitions} "
          f"transitions in {seconds:.2f} s ({ended}); "
          f"{tasks} tasks open", file=sys.stderr)
    complete = transitions == MIXED_STEPS_ENDED * n and tasks == n
    if not complete:
        print(f"mixed: NOT every record went the whole way ({MIXED_STEPS_ENDED * n} step runs "
              f"and {n} tasks expected)", file=sys.stderr)
    return (transitions / seconds if seconds else 0.0), transitions, complete


MIXED_STEPS_ENDED = 6  # wait, A/B email, field update, field, call and email conditions


def _tick_and_sweep(tenant_id: int) -> float:
    """Seconds until nothing is due, production's way: a tick (which, with SENDS_OFF_TICK, only
    moves the sequence on and would enqueue the sweeps), then the send sweep of the tenant's
    shard (`send_sweep`, the RQ job a worker runs: the tenant's turns, each claiming and
    delivering its due sends chunk by chunk and moving the enrollments on), again until both
    found nothing. In process and one after the other; in production they run on two workers,
    which this sequence barely overlaps (its sends wait for the tick's waits, and the tick's
    email conditions for the sends)."""
    seconds = 0.0
    while True:
        started = time.perf_counter()
        counts = run_tick(budget_seconds=600, per_tenant=10000)
        swept = send_sweep(shard_of(tenant_id))
        seconds += time.perf_counter() - started
        if not counts["claimed"] and not swept["claimed"]:
            return seconds


def _latest_due(tenant_id: int, sequence_id: int):
    with tenant_context(tenant_id):
        latest = db.session.execute(text(
            "SELECT max(due_at) FROM step_run WHERE tenant_id = :t AND sequence_id = :s"
            " AND status = 'waiting'"), {"t": tenant_id, "s": sequence_id}).scalar()
        db.session.rollback()
    return latest


def _working_time(app, tenant_id: int, segment_id: int) -> tuple[float, float, int]:
    """(transitions/s, connect seconds, transitions) of the segment's records through the
    wait-wait-call sequence counted in working time (see the module's docstring)."""
    from saas.calendars.models import ClosureDay
    from saas.calendars.services import preset_days
    from saas.engine import clock
    from saas.engine.windows import clear_zone_cache

    with tenant_context(tenant_id):
        db.session.execute(text("UPDATE tenant SET time_zone = 'Europe/Paris' WHERE id = :t"),
                           {"t": tenant_id})
        year = clock.now().year
        db.session.add_all([ClosureDay(day=day, name=name)
                            for day, name in preset_days("fr", [year, year + 1])])
        db.session.commit()
    clear_zone_cache()
    sequence_id = _sequence(tenant_id, "Working time", {"working_time": True})
    connect_seconds = _connect(tenant_id, sequence_id, segment_id)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE enrollment"))
        conn.execute(text("ANALYZE step_run"))
    transitions, seconds = 0, 0.0
    for _ in range(2):
        latest = _latest_due(tenant_id, sequence_id)
        if latest is None:
            break
        app.config["ENGINE_CLOCK_OFFSET"] += (latest - clock.now()).total_seconds() + 60
        done, spent = _tick_until_idle(app)
        transitions, seconds = transitions + done, seconds + spent
    print(f"working time: connected in {connect_seconds:.2f} s; {transitions} transitions in "
          f"{seconds:.2f} s", file=sys.stderr)
    return (transitions / seconds if seconds else 0.0), connect_seconds, transitions


def naive_step(tenant_id: int, step_run_id: int) -> None:
    """One RQ job per step: load, complete, advance(), commit. Runs in the app context the
    worker (worker.runner.AppWorker) opens for each job."""
    from saas.engine import clock
    from saas.engine.advance import advance

    with tenant_context(tenant_id):
        run = db.session.execute(select(StepRun).where(StepRun.id == step_run_id)
                                 .with_for_update()).scalar_one()
        if run.status != "waiting":
            db.session.rollback()
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
    workers = [subprocess.Popen([sys.executable, "-m", "tests.perf.bench_engine",
                                 "--naive-worker"], env=env, stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    spans = [json.loads(worker.communicate()[0].strip().splitlines()[-1]) for worker in workers]
    spans = [span for span in spans if span["jobs"]]
    with tenant_context(tenant_id):
        done = db.session.execute(select(StepRun.id).where(
            StepRun.sequence_id == sequence_id, StepRun.status == "completed")).scalars().all()
        db.session.rollback()
    if len(done) != len(ids) or not spans:
        raise SystemExit(f"naive: {len(done)} of {len(ids)} steps done")
    seconds = max(s["last"] for s in spans) - min(s["first"] for s in spans)
    print(f"naive: {len(ids)} steps in {seconds:.2f} s by {len(spans)} SimpleWorkers "
          f"({[s['jobs'] for s in spans]} jobs)", file=sys.stderr)
    return len(ids) / seconds


class _Span:
    """When a naive worker's first job started and its last ended (wall clock, for the parent
    to combine across processes)."""

    first: float | None = None
    last: float | None = None
    jobs = 0


def _naive_worker() -> None:
    """Two of these run the naive jobs as production runs its jobs: the worker's own AppWorker
    (worker/runner.py: an RQ SimpleWorker, each job in this process with no fork, in a fresh app
    context), the app built once, its pool holding one database connection for all the jobs
    (pool_size 1). Prints its span as one JSON line."""
    from worker.runner import AppWorker

    app = create_app({**_config(),
                      "ENGINE_CLOCK_OFFSET": float(os.environ["BENCH_CLOCK_OFFSET"]),
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": 1,
                                                    "max_overflow": 0}})

    class Timed(AppWorker):
        def perform_job(self, job, queue):
            _Span.first = _Span.first or time.time()
            try:
                return super().perform_job(job, queue)
            finally:
                _Span.last, _Span.jobs = time.time(), _Span.jobs + 1

    redis = Redis.from_url(REDIS_URL)
    Timed([Queue(QUEUE, connection=redis)], connection=redis, app=app).work(
        burst=True, with_scheduler=False, logging_level="WARNING")
    print(json.dumps({"first": _Span.first, "last": _Span.last, "jobs": _Span.jobs}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--naive-steps", type=int, default=3000)
    parser.add_argument("--mixed-enrollments", type=int, default=20_000)
    parser.add_argument("--working-enrollments", type=int, default=None,
                        help="records through the working-time variant (default: "
                             "--enrollments; 0 skips it)")
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
        working_n = min(args.enrollments if args.working_enrollments is None
                        else args.working_enrollments, args.enrollments)
        working_per_s, working_connect = 0.0, 0.0
        if working_n:  # before the mixed sequence: nothing else of the tenant is due
            working_per_s, working_connect, _ = _working_time(
                app, bench_tenant, _segment(bench_tenant, working_n))
        mixed_n = min(args.mixed_enrollments, args.enrollments)
        mixed_per_s, _, mixed_complete = _mixed(app, bench_tenant, mixed_n)
        off_n = min(mixed_n, args.enrollments - mixed_n)
        off_per_s, off_complete = 0.0, False
        if off_n:  # the next records, through production's send path
            off_per_s, _, off_complete = _mixed(app, bench_tenant, off_n, off_tick=True)
        app.config["ENGINE_CLOCK_OFFSET"] = timedelta(hours=1, minutes=1).total_seconds()
        naive = _naive(app, neighbour, min(args.naive_steps, max(args.enrollments // 10, 1)))
    per_s = transitions / seconds if seconds else 0.0
    print(json.dumps({"enrollments": args.enrollments, "transitions_per_s": round(per_s),
                      "connect_seconds": round(connect_seconds, 2),
                      "mixed_enrollments": mixed_n,
                      "mixed_transitions_per_s": round(mixed_per_s),
                      "mixed_complete": mixed_complete,
                      "mixed_off_tick_enrollments": off_n,
                      "mixed_off_tick_transitions_per_s": round(off_per_s),
                      "mixed_off_tick_complete": off_complete,
                      "working_time_enrollments": working_n,
                      "working_time_transitions_per_s": round(working_per_s),
                      "working_time_connect_seconds": round(working_connect, 2),
                      "rq_job_per_step_per_s": round(naive, 1),
                      "ratio": round(per_s / naive, 1) if naive else None}))


if __name__ == "__main__":
    main()
